/**
 * Request capture through the real proxy (observability.capture = "all"), with the real Anthropic
 * and OpenAI SDKs: for Anthropic, OpenAI chat and Responses requests, streamed and not, the four
 * parts — the client's request, the upstream request as sent, the upstream's answer (a stream event
 * by event, with times) and what the client got.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { CLAUDE_CODE_IDENTITY } from '../../src/backends/api/system-prompt.ts';
import type { Capture, CapturedPart } from '../../src/observability/capture/types.ts';
import { reply } from '../support/fake-upstream.ts';
import { type CaptureRig, json, PROXY_TOKEN, startCaptureRig } from './helpers.ts';

const times = (p: CapturedPart | null) => (p?.events ?? []).map((e) => e.t);
const ascending = (ts: number[]) => ts.every((t, i) => i === 0 || t >= ts[i - 1]!);

function checkUpstreamRequest(c: Capture, stream: boolean) {
  const up = c.upstream_request!;
  assert.equal(up.method, 'POST');
  assert.match(up.url!, /\/v1\/messages$/);
  assert.equal(up.headers.authorization, 'Bearer [REDACTED]');
  assert.match(up.headers['anthropic-beta']!, /oauth-2025-04-20/);
  const body = json(up.body!.text) as { system: Array<{ text: string }>; stream?: boolean };
  assert.equal(body.system[0]!.text, CLAUDE_CODE_IDENTITY, 'the injected system prompt is in what went up');
  assert.equal(body.stream === true, stream);
}

describe('request capture through the proxy', () => {
  let rig: CaptureRig;
  let anthropic: Anthropic;
  let openai: OpenAI;

  before(async () => {
    rig = await startCaptureRig();
    anthropic = new Anthropic({ baseURL: `${rig.proxy.url}/api`, apiKey: PROXY_TOKEN, maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${rig.proxy.url}/api/v1`, apiKey: PROXY_TOKEN, maxRetries: 0 });
  });
  after(() => rig.close());

  test('Anthropic, not streamed: the pass-through answer is the upstream body, byte for byte', async () => {
    rig.fake.enqueue(reply.text('Captured answer.'));
    const msg = await anthropic.messages.create(
      {
        model: 'claude-sonnet-5-5',
        max_tokens: 64,
        system: 'Be brief.',
        messages: [{ role: 'user', content: 'hi' }],
      },
      { headers: { 'x-request-id': 'cap_anthropic_plain' } },
    );
    const { status, body } = await rig.detail('cap_anthropic_plain');
    assert.equal(status, 200);
    assert.equal(body.row?.status, 200);
    const c = body.capture!;
    assert.equal(c.mode, 'api');
    assert.equal(c.format, 'anthropic');
    assert.equal(c.truncated, false);
    assert.equal(c.client_request.method, 'POST');
    assert.equal(c.client_request.url, '/api/v1/messages');
    // This SDK sends its key as a Bearer token (API version 2026-10-21).
    assert.equal(c.client_request.headers.authorization, 'Bearer [REDACTED]');
    assert.deepEqual((json(c.client_request.body!.text) as { system: string }).system, 'Be brief.');
    assert.equal(c.translated_request, null);
    checkUpstreamRequest(c, false);
    assert.equal(c.upstream_response!.status, 200);
    assert.equal((json(c.upstream_response!.body!.text) as { id: string }).id, msg.id);
    assert.equal(c.response!.status, 200);
    assert.equal(c.response!.headers['x-request-id'], 'cap_anthropic_plain');
    assert.equal(c.response!.body!.text, c.upstream_response!.body!.text);
  });

  test('Anthropic, streamed: the upstream events with their arrival times', async () => {
    rig.fake.enqueue(reply.text('One two three four.', { deltas: 4 }));
    const stream = anthropic.messages.stream(
      { model: 'claude-sonnet-5-5', max_tokens: 64, messages: [{ role: 'user', content: 'count' }] },
      { headers: { 'x-request-id': 'cap_anthropic_stream' } },
    );
    await stream.finalMessage();
    const c = (await rig.detail('cap_anthropic_stream')).body.capture!;
    checkUpstreamRequest(c, true);
    const events = c.upstream_response!.events!;
    assert.deepEqual(
      events.map((e) => e.event).filter((e) => e !== 'ping'),
      [
        'message_start',
        'content_block_start',
        'content_block_delta',
        'content_block_delta',
        'content_block_delta',
        'content_block_delta',
        'content_block_stop',
        'message_delta',
        'message_stop',
      ],
    );
    assert.ok(ascending(times(c.upstream_response)), 'times never go back');
    assert.equal((json(events[0]!.data) as { type: string }).type, 'message_start');
    assert.equal(c.response!.body!.text, c.upstream_response!.body!.text);
    assert.deepEqual(c.response!.events, c.upstream_response!.events);
  });

  test('OpenAI chat, not streamed and streamed: the translation and both answers', async () => {
    rig.fake.enqueue(reply.text('From the OpenAI side.'));
    const chat = await openai.chat.completions.create(
      {
        model: 'claude-sonnet-5-5',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'hello' },
        ],
      },
      { headers: { 'x-request-id': 'cap_openai_plain' } },
    );
    let c = (await rig.detail('cap_openai_plain')).body.capture!;
    assert.equal(c.format, 'openai');
    assert.equal(c.client_request.url, '/api/v1/chat/completions');
    assert.equal(c.client_request.headers.authorization, 'Bearer [REDACTED]');
    assert.equal((json(c.client_request.body!.text) as { messages: unknown[] }).messages.length, 2);
    // The translation: the system message became `system`, before ccproxy added its own block.
    const translated = c.translated_request as { system: unknown; messages: unknown[] };
    assert.equal(translated.messages.length, 1);
    checkUpstreamRequest(c, false);
    assert.equal((json(c.upstream_response!.body!.text) as { type: string }).type, 'message');
    const answered = json(c.response!.body!.text) as { id: string; object: string };
    assert.equal(answered.id, chat.id);
    assert.equal(answered.object, 'chat.completion');

    rig.fake.enqueue(reply.text('Streamed chat.', { deltas: 3 }));
    const stream = await openai.chat.completions.create(
      { model: 'claude-sonnet-5-5', stream: true, messages: [{ role: 'user', content: 'stream' }] },
      { headers: { 'x-request-id': 'cap_openai_stream' } },
    );
    for await (const _ of stream) {
    }
    c = (await rig.detail('cap_openai_stream')).body.capture!;
    checkUpstreamRequest(c, true);
    assert.ok(c.upstream_response!.events!.some((e) => e.event === 'message_stop'));
    const out = c.response!.events!;
    assert.equal(out.at(-1)!.data, '[DONE]');
    assert.ok(
      out.some(
        (e) =>
          (json(e.data === '[DONE]' ? 'null' : e.data) as { object?: string })?.object ===
          'chat.completion.chunk',
      ),
    );
    assert.ok(ascending(times(c.response)));
  });

  test('Responses API, not streamed and streamed', async () => {
    rig.fake.enqueue(reply.text('A response.'));
    await openai.responses.create(
      { model: 'claude-sonnet-5-5', input: 'hello', instructions: 'Be brief.' },
      { headers: { 'x-request-id': 'cap_responses_plain' } },
    );
    let c = (await rig.detail('cap_responses_plain')).body.capture!;
    assert.equal(c.format, 'responses');
    checkUpstreamRequest(c, false);
    assert.equal((json(c.response!.body!.text) as { object: string }).object, 'response');

    rig.fake.enqueue(reply.text('A streamed response.', { deltas: 3 }));
    const stream = await openai.responses.create(
      { model: 'claude-sonnet-5-5', input: 'stream', stream: true },
      { headers: { 'x-request-id': 'cap_responses_stream' } },
    );
    for await (const _ of stream) {
    }
    c = (await rig.detail('cap_responses_stream')).body.capture!;
    checkUpstreamRequest(c, true);
    assert.equal(c.response!.events!.at(-1)!.event, 'response.completed');
    assert.ok(c.upstream_response!.events!.length >= 7);
  });

  test('an unknown id is a 404 in the logs API shape; /logs/query lists captured requests', async () => {
    const missing = await rig.detail('no_such_request');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error?.type, 'not_found_error');
    assert.match(missing.body.error!.message, /no_such_request/);
    // The longest id a client may choose (128 characters) is found like any other.
    const long = `c${'0123456789'.repeat(12)}long_id`.slice(0, 128);
    rig.fake.enqueue(reply.text('Long id.'));
    await anthropic.messages.create(
      { model: 'claude-sonnet-5-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-request-id': long } },
    );
    const found = await rig.detail(long);
    assert.equal(found.status, 200);
    assert.equal(found.body.capture?.id, long);

    // Odd ids are just unknown ones: a long one (quoted cut short), path-like, encoded, not ASCII.
    for (const odd of ['x'.repeat(5000), '../logs/status', 'a%2Fb', 'ü🙂', "'; DROP TABLE captures; --"]) {
      const r = await rig.detail(odd);
      assert.equal(r.status, 404, odd.slice(0, 20));
      assert.equal(r.body.error?.type, 'not_found_error');
      assert.ok(r.body.error!.message.length < 400);
    }
    // Guarded like the other logs routes: no token, or another one, gets nothing of the capture.
    for (const headers of [{}, { authorization: 'Bearer not-the-token' }] as Array<Record<string, string>>) {
      const r = await fetch(`${rig.proxy.url}/logs/requests/cap_anthropic_plain`, { headers });
      assert.equal(r.status, 401);
      const text = await r.text();
      assert.ok(!text.includes('client_request'), text);
    }

    const res = await fetch(`${rig.proxy.url}/logs/query?captured=true&limit=100`, {
      headers: { authorization: `Bearer ${PROXY_TOKEN}` },
    });
    const page = (await res.json()) as { rows: Array<{ id: string }> };
    const ids = page.rows.map((r) => r.id);
    for (const id of ['cap_anthropic_plain', 'cap_openai_stream', 'cap_responses_plain'])
      assert.ok(ids.includes(id), id);
    const status = (await (
      await fetch(`${rig.proxy.url}/logs/status`, { headers: { authorization: `Bearer ${PROXY_TOKEN}` } })
    ).json()) as { capture: { mode: string; stored: { rows: number } } };
    assert.equal(status.capture.mode, 'all');
    assert.ok(status.capture.stored.rows >= 6);
  });
});
