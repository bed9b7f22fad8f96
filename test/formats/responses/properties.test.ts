/**
 * Property tests of the Responses frontend:
 * (a) the stream's events reassemble to exactly the non-streaming translation of the same message
 *     (the terminal `response.completed`/`.incomplete` object, and the items rebuilt from deltas);
 * (b) generated Responses requests translate to requests the fake upstream's validator accepts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { responsesFrontend } from '../../../src/formats/responses/index.ts';
import { validateAnthropicRequest } from '../../support/anthropic-validator.ts';
import { anthropicStream } from '../openai/arbitraries.ts';
import { renderHints, responsesRequest } from './arbitraries.ts';
import { accumulate, META, options, parsedFor, reassemble, renderStream } from './helpers.ts';

describe('responses frontend properties', () => {
  it('(a) the stream reassembles to renderMessage of the accumulated message', () => {
    fc.assert(
      fc.property(anthropicStream, renderHints, (events, hints) => {
        const parsed = parsedFor(hints);
        const { output, terminal } = reassemble(renderStream(events, parsed));
        const whole = responsesFrontend.renderMessage(accumulate(events), parsed, META, options());
        assert.deepEqual(terminal.response, whole);
        assert.deepEqual(output, (whole as { output: unknown }).output);
      }),
      { numRuns: 300 },
    );
  });

  it('(b) generated Responses requests translate to requests the upstream accepts', () => {
    fc.assert(
      fc.property(responsesRequest, (body) => {
        const parsed = responsesFrontend.parseRequest(structuredClone(body), options());
        const result = validateAnthropicRequest(JSON.parse(JSON.stringify(parsed.request)));
        assert.deepEqual(result, { ok: true }, JSON.stringify(parsed.request));
      }),
      { numRuns: 500 },
    );
  });
});
