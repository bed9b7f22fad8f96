/**
 * The SSE usage tap works on bytes (events cut at blank lines, text deltas skipped undecoded), so
 * its answers are checked against the SSE parser's on the recorded streams, however the bytes are
 * cut, and on the framings the API never sends but SSE allows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MessageAccumulator } from '../../../src/formats/anthropic/accumulate.ts';
import { SseReader } from '../../../src/formats/anthropic/sse.ts';
import type { StreamEvent } from '../../../src/formats/anthropic/types.ts';
import { eventFields, SseUsageTap, type TapResult } from '../../../src/formats/anthropic/usage-tap.ts';
import { cut } from '../../helpers/cut.ts';
import { anthropicSse, fixtureNames, readChunks } from '../../support/fixtures.ts';

const STREAMS = fixtureNames('anthropic', '.chunks.txt');

function tapOf(chunks: Uint8Array[]): TapResult {
  const tap = new SseUsageTap();
  for (const c of chunks) tap.push(c);
  return tap.end();
}

function expected(name: string): TapResult {
  const acc = new MessageAccumulator();
  for (const ev of readChunks<StreamEvent>('anthropic', name)) acc.push(ev);
  const msg = acc.message();
  return { model: msg.model, usage: msg.usage, stopReason: msg.stop_reason ?? undefined };
}

describe('the SSE usage tap', () => {
  for (const name of STREAMS) {
    it(`${name}: the same answer one byte at a time, cut anywhere, and framed with CRLF`, () => {
      const bytes = Buffer.from(anthropicSse(name));
      const want = expected(name);
      assert.deepEqual(tapOf([bytes]), want);
      assert.deepEqual(tapOf([...bytes].map((b) => Uint8Array.of(b))), want, 'one byte per chunk');
      fc.assert(
        fc.property(fc.array(fc.nat(), { maxLength: 12 }), (at) => {
          assert.deepEqual(tapOf(cut(bytes, at)), want);
        }),
        { numRuns: 60 },
      );
      const crlf = Buffer.from(anthropicSse(name).replaceAll('\n', '\r\n'));
      assert.deepEqual(tapOf(cut(crlf, [crlf.length >> 1])), want, 'CRLF');
    });
  }

  it('reads an in-stream error event', () => {
    const sse =
      'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":3,"output_tokens":1}}}\n\n' +
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}\n\n' +
      'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
    const got = tapOf(cut(Buffer.from(sse), [7, 150]));
    assert.equal(got.errorType, 'overloaded_error');
    assert.equal(got.model, 'claude-x');
    assert.deepEqual(got.usage, { input_tokens: 3, output_tokens: 1 });
  });

  it('events without an event line, comments and extra blank lines still go through the parser', () => {
    const sse =
      ': a comment\n\n\n\n' +
      'data: {"type":"ping"}\n\n' +
      'event:message_start\ndata: {"type":"message_start","message":{"model":"m","usage":{"input_tokens":5,"output_tokens":0}}}\n\n' +
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}';
    const got = tapOf([Buffer.from(sse)]);
    assert.equal(got.model, 'm');
    assert.equal(got.stopReason, 'end_turn');
    assert.equal(got.usage?.input_tokens, 5);
    assert.equal(got.usage?.output_tokens, 9);
  });

  it('a broken event is not counted and does not stop the tap', () => {
    const sse =
      'event: message_start\ndata: {not json\n\n' +
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":2}}\n\n';
    const got = tapOf([Buffer.from(sse)]);
    assert.equal(got.stopReason, 'max_tokens');
    assert.equal(got.usage?.output_tokens, 2);
  });

  it('an event that never ends past 16 MB is let go without throwing', () => {
    const tap = new SseUsageTap();
    tap.push(
      Buffer.from(
        'event: message_start\ndata: {"type":"message_start","message":{"model":"m","usage":{"input_tokens":1,"output_tokens":0}}}\n\n',
      ),
    );
    const mb = Buffer.alloc(1024 * 1024, 'a');
    tap.push(Buffer.from('event: content_block_delta\ndata: '));
    for (let i = 0; i < 17; i++) tap.push(mb);
    tap.push(Buffer.from('\n\n'));
    assert.equal(tap.end().model, 'm');
  });

  it("reads an event's fields as the SSE parser does, without one", () => {
    const line = fc.oneof(
      fc.constantFrom(
        'event: message_start',
        'event:message_delta',
        'event:',
        'event: x y',
        ': note',
        'id: 7',
        'retry: 10',
      ),
      fc.string({ maxLength: 8 }).map((t) => `data: ${t.replace(/[\r\n]/g, '')}`),
      fc.string({ maxLength: 8 }).map((t) => `data:${t.replace(/[\r\n]/g, '')}`),
      fc.constant('data: héllo ✓'),
    );
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 6 }), fc.boolean(), (lines, bom) => {
        const text = `${lines.join('\n')}\n`;
        const bytes = Buffer.concat([Buffer.from(bom ? [0xef, 0xbb, 0xbf] : []), Buffer.from(text)]);
        const reader = new SseReader();
        const parsed = [...reader.push(bytes), ...reader.push('\n'), ...reader.end()];
        const got = eventFields(bytes, 0, bytes.length, true);
        if (parsed.length === 0) return assert.equal(got, undefined);
        assert.deepEqual(got, { event: parsed[0]!.event, data: parsed[0]!.data });
      }),
      { numRuns: 300 },
    );
  });
});
