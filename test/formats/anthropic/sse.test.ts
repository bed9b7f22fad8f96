import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accumulate, MessageAccumulator } from '../../../src/formats/anthropic/accumulate.ts';
import { decodeEvents, encodeEvent, parseEventData, SseReader } from '../../../src/formats/anthropic/sse.ts';
import type { Message, StreamEvent } from '../../../src/formats/anthropic/types.ts';
import { SseUsageTap } from '../../../src/formats/anthropic/usage-tap.ts';
import { anthropicSse, fixtureNames, readChunks, readJsonFixture } from '../../support/fixtures.ts';

const STREAMS = fixtureNames('anthropic', '.chunks.txt');

function decodeAll(bytes: Uint8Array, splits: number[]): StreamEvent[] {
  const reader = new SseReader();
  const out: StreamEvent[] = [];
  let at = 0;
  for (const s of [...splits, bytes.length]) {
    for (const m of reader.push(bytes.subarray(at, s))) out.push(parseEventData(m));
    at = s;
  }
  for (const m of reader.end()) out.push(parseEventData(m));
  return out;
}

describe('Anthropic SSE', () => {
  it('encodes events exactly as the API frames them', () => {
    assert.equal(encodeEvent({ type: 'ping' }), 'event: ping\ndata: {"type":"ping"}\n\n');
  });

  for (const name of STREAMS) {
    it(`${name}: decoding gives the same events whatever byte the input is split at`, () => {
      const bytes = Buffer.from(anthropicSse(name));
      const expected = readChunks<StreamEvent>('anthropic', name);
      assert.deepEqual(decodeAll(bytes, []), expected);
      for (let i = 1; i < bytes.length; i++)
        assert.deepEqual(decodeAll(bytes, [i]), expected, `split at ${i}`);
    });

    it(`${name}: the usage tap reads the same usage whatever byte the input is split at`, () => {
      const bytes = Buffer.from(anthropicSse(name));
      const acc = new MessageAccumulator();
      for (const ev of readChunks<StreamEvent>('anthropic', name)) acc.push(ev);
      const want = acc.message();
      for (let i = 0; i <= bytes.length; i += i < 200 ? 1 : 7) {
        const tap = new SseUsageTap();
        tap.push(bytes.subarray(0, i));
        tap.push(bytes.subarray(i));
        const got = tap.end();
        assert.deepEqual(got.usage, want.usage, `split at ${i}`);
        assert.equal(got.stopReason, want.stop_reason ?? undefined);
        assert.equal(got.model, want.model);
      }
    });
  }

  it('multi-byte characters split across chunks survive', async () => {
    const text = 'héllo 👋 世界';
    const ev: StreamEvent = { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } };
    const bytes = Buffer.from(encodeEvent(ev));
    for (let i = 1; i < bytes.length; i++) {
      const got = decodeAll(bytes, [i]);
      assert.deepEqual(got, [ev]);
    }
  });

  it('a malformed event is an upstream error naming what came', async () => {
    async function* body() {
      yield Buffer.from('event: message_start\ndata: {not json\n\n');
    }
    await assert.rejects(
      accumulate(decodeEvents(body())),
      (err: Error & { kind?: string }) =>
        err.kind === 'upstream' && /malformed stream event: \{not json/.test(err.message),
    );
  });

  it('accumulated streams equal the recorded non-streaming messages where both exist', () => {
    for (const name of [
      'anthropic-text',
      'anthropic-json-other-tool.1',
      'anthropic-tool-no-args',
      'anthropic-clear-thinking.1',
    ]) {
      const acc = new MessageAccumulator();
      for (const ev of readChunks<StreamEvent>('anthropic', name)) acc.push(ev);
      const msg = acc.message();
      const json = readJsonFixture<Message>('anthropic', name);
      assert.equal(msg.content.length, json.content.length, name);
      assert.deepEqual(
        msg.content.map((b) => b.type),
        json.content.map((b) => b.type),
        name,
      );
    }
  });

  it('empty tool input becomes {}', () => {
    const acc = new MessageAccumulator();
    for (const ev of readChunks('anthropic', 'anthropic-tool-no-args')) acc.push(ev);
    const tool = acc.message().content.find((b) => b.type === 'tool_use') as { input: unknown };
    assert.deepEqual(tool.input, {});
  });

  it('final usage comes from message_delta', () => {
    const acc = new MessageAccumulator();
    for (const ev of readChunks('anthropic', 'anthropic-message-delta-input-tokens')) acc.push(ev);
    assert.equal(acc.message().usage.input_tokens, 61);
  });
});
