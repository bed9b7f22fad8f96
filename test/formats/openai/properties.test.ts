/**
 * Property tests of the OpenAI frontend (issue 3):
 * (a) the stream reassembles to exactly the non-streaming translation of the same message;
 * (b) splitting the upstream's SSE bytes anywhere changes no output byte;
 * (c) generated OpenAI requests translate to requests the fake upstream's validator accepts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeEvent, parseEventData, SseReader } from '../../../src/formats/anthropic/sse.ts';
import type { StreamEvent } from '../../../src/formats/anthropic/types.ts';
import { openaiFrontend } from '../../../src/formats/openai/index.ts';
import { cut } from '../../helpers/cut.ts';
import { validateAnthropicRequest } from '../../support/anthropic-validator.ts';
import { anthropicStream, openaiRequest, renderSetup } from './arbitraries.ts';
import { accumulate, META, options, parsedFor, reassemble, renderStream } from './helpers.ts';

describe('openai frontend properties', () => {
  it('(a) the stream reassembles to renderMessage of the accumulated message', () => {
    fc.assert(
      fc.property(anthropicStream, renderSetup, (events, setup) => {
        const parsed = parsedFor(setup.hints);
        const opts = options({ reasoningOutput: setup.reasoning });
        const { completion, done } = reassemble(renderStream(events, parsed, opts));
        assert.ok(done);
        assert.deepEqual(completion, openaiFrontend.renderMessage(accumulate(events), parsed, META, opts));
      }),
      { numRuns: 300 },
    );
  });

  it('(b) splitting the SSE bytes anywhere gives the same frames', () => {
    const split = fc.array(fc.nat(), { maxLength: 40 });
    fc.assert(
      fc.property(anthropicStream, renderSetup, split, (events, setup, cuts) => {
        const parsed = parsedFor(setup.hints);
        const opts = options({ reasoningOutput: setup.reasoning });
        const direct = renderStream(events, parsed, opts);

        const bytes = new TextEncoder().encode(events.map(encodeEvent).join(''));
        const reader = new SseReader();
        const renderer = openaiFrontend.streamRenderer(parsed, META, opts);
        let out = '';
        const feed = (msgs: ReturnType<SseReader['push']>) => {
          for (const m of msgs) out += renderer.push(parseEventData(m) as StreamEvent);
        };
        for (const chunk of cut(bytes, cuts)) feed(reader.push(chunk));
        feed(reader.end());
        out += renderer.end();
        assert.equal(out, direct);
      }),
      { numRuns: 200 },
    );
  });

  it('(c) generated OpenAI requests translate to requests the upstream accepts', () => {
    fc.assert(
      fc.property(openaiRequest, (body) => {
        const parsed = openaiFrontend.parseRequest(structuredClone(body), options());
        const result = validateAnthropicRequest(JSON.parse(JSON.stringify(parsed.request)));
        assert.deepEqual(result, { ok: true }, JSON.stringify(parsed.request));
      }),
      { numRuns: 500 },
    );
  });
});
