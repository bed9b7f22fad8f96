/**
 * Answers the API cut short, and refusals, through the real Claude Code binary against the fake
 * upstream. When a stream fails midway Claude Code calls the API again — not streamed after an
 * `event: error`, streamed after a dropped connection — and that second answer is what the agent
 * said: the client must get it, or an error, never the first answer's beginning marked complete.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProxyError } from '../../../src/errors.ts';
import type { StreamEvent } from '../../../src/formats/anthropic/types.ts';
import { reply } from '../../support/fake-upstream.ts';
import {
  type Harness,
  messageOf,
  processes,
  request,
  startHarness,
  streamedText,
  textOf,
} from './harness.ts';

const FULL = 'This answer will be complete in the end.';

/** The stream's events, and the error it ended with (if any). */
async function streamOf(h: Harness, content: string): Promise<{ events: StreamEvent[]; error?: unknown }> {
  const events: StreamEvent[] = [];
  try {
    const r = await h.backend.send(request([{ role: 'user', content }], { stream: true }), h.ctx());
    assert.equal(r.type, 'stream');
    if (r.type === 'stream') for await (const ev of r.events) events.push(ev);
  } catch (error) {
    return { events, error };
  }
  return { events };
}

function stopReason(events: StreamEvent[]): string | null | undefined {
  const end = events.findLast((e) => e.type === 'message_delta');
  return end?.type === 'message_delta' ? end.delta.stop_reason : undefined;
}

describe('SDK mode: an answer the API cut short', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
    assert.equal((await processes(h.backend)).running, 0);
  });

  it('not streamed: the answer of Claude Code’s second call, whole', async () => {
    h.fake.reset();
    h.fake.enqueue(
      reply.streamError({ afterEvents: 4, text: 'A first answer, cut off soon.' }),
      reply.text(FULL),
    );
    const msg = messageOf(await h.backend.send(request([{ role: 'user', content: 'hi' }]), h.ctx()));
    assert.equal(textOf(msg.content), FULL);
    assert.equal(msg.stop_reason, 'end_turn');
    const calls = h.fake.messages().map((m) => (m.body as { stream?: boolean }).stream);
    assert.deepEqual(calls, [true, false], 'Claude Code called again, not streamed');
  });

  it('not streamed, connection dropped: the answer of the streamed second call, whole', async () => {
    h.fake.reset();
    h.fake.enqueue(reply.drop(6, reply.text('A first answer, dropped.', { deltas: 6 })), reply.text(FULL));
    const msg = messageOf(await h.backend.send(request([{ role: 'user', content: 'hi' }]), h.ctx()));
    assert.equal(textOf(msg.content), FULL);
    assert.equal(msg.content.length, 1);
  });

  it('streamed: the rest of the answer when the second call continues the text sent', async () => {
    h.fake.reset();
    h.fake.enqueue(reply.streamError({ afterEvents: 4, text: FULL }), reply.text(FULL));
    const { events, error } = await streamOf(h, 'hi');
    assert.equal(error, undefined);
    assert.equal(streamedText(events), FULL, 'what was sent, then the rest');
    assert.equal(stopReason(events), 'end_turn');
    assert.equal(events.at(-1)?.type, 'message_stop');
  });

  it('streamed: an error, not a cut answer, when the second call says something else', async () => {
    h.fake.reset();
    h.fake.enqueue(
      reply.streamError({ afterEvents: 4, text: 'A first answer, cut off soon.' }),
      reply.text('Another answer altogether.'),
    );
    const { events, error } = await streamOf(h, 'hi');
    assert.ok(error instanceof ProxyError, 'the stream ends with an error');
    assert.equal(error.kind, 'upstream');
    assert.match(error.message, /cut off/);
    assert.ok(!events.some((e) => e.type === 'message_stop'), 'never marked complete');
    const sent = streamedText(events);
    assert.ok(
      sent !== '' && 'A first answer, cut off soon.'.startsWith(sent),
      'only the first answer’s start',
    );
  });

  it('streamed, connection dropped: the streamed second call continues the text', async () => {
    h.fake.reset();
    h.fake.enqueue(reply.drop(6, reply.text(FULL, { deltas: 6 })), reply.text(FULL, { deltas: 3 }));
    const { events, error } = await streamOf(h, 'hi');
    assert.equal(error, undefined);
    assert.equal(streamedText(events), FULL);
    assert.equal(stopReason(events), 'end_turn');
  });
});

describe('SDK mode: a refusal', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  it('is an answer with stop_reason refusal and the API’s stop_details, not an error', async () => {
    const msg = messageOf(
      await h.backend.send(request([{ role: 'user', content: 'x [[fake:refusal]]' }]), h.ctx()),
    );
    assert.equal(msg.stop_reason, 'refusal');
    assert.deepEqual(msg.content, [], 'not Claude Code’s "API Error" wording');
    assert.match(String((msg.stop_details as { explanation?: string }).explanation), /Usage Policy/);
  });

  it('streamed: ends with stop_reason refusal', async () => {
    const { events, error } = await streamOf(h, 'y [[fake:refusal]]');
    assert.equal(error, undefined);
    assert.equal(stopReason(events), 'refusal');
    assert.equal(events.at(-1)?.type, 'message_stop');
  });
});
