/**
 * OpenAI format, bad input and upstream faults on /api/v1/chat/completions: each gets the right
 * status and an OpenAI-shaped error (`{"error":{"message","type","param","code"}}`) a person can act
 * on, a stream that fails after it began ends with a `data: {"error":…}` frame, and the proxy keeps
 * serving afterwards. The Anthropic-format twin is test/api/faults.test.ts.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import OpenAI from 'openai';
import { freePort } from '../helpers/net.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, reply, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

const BODY = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** An OpenAI error body: exactly `error.{message,type,param,code}`. */
function assertOpenAIError(
  r: { json: any; headers?: Headers },
  type: string,
  message?: RegExp,
  extra: { param?: string | null; code?: string | null } = {},
) {
  const err = r.json?.error;
  assert.ok(err, `not an OpenAI error: ${JSON.stringify(r.json)}`);
  assert.deepEqual(Object.keys(r.json), ['error']);
  assert.deepEqual(Object.keys(err).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(err.type, type);
  assert.equal(typeof err.message, 'string');
  if (message) assert.match(err.message, message);
  if ('param' in extra) assert.equal(err.param, extra.param);
  if ('code' in extra) assert.equal(err.code, extra.code);
  if (r.headers) assert.ok(r.headers.get('x-request-id'), 'x-request-id on every error');
}

/** The `data:` payloads of an SSE body, in order. */
function frames(text: string): string[] {
  return text
    .split('\n\n')
    .filter((f) => f.startsWith('data: '))
    .map((f) => f.slice('data: '.length));
}

describe('OpenAI format: bad input and faults', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;
  let url: string;

  before(async () => {
    fake = await startFakeUpstream();
    proxy = await startProxy({
      settings: {
        upstream: { base_url: fake.url, timeouts: { first_byte_s: 1, idle_s: 1 } },
        server: { max_body_bytes: 64 * 1024 },
      },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
    });
    url = `${proxy.url}/api/v1/chat/completions`;
  });
  after(async () => {
    await proxy.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());
  afterEach(async () => {
    // After every case the proxy still serves, streamed and not.
    fake.enqueue(reply.text('still here'));
    const ok = await post(url, BODY);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.choices[0].message.content, 'still here');
    fake.enqueue(reply.text('still streaming'));
    const streamed = await post(url, { ...BODY, stream: true });
    assert.equal(streamed.status, 200);
    assert.equal(frames(streamed.text).at(-1), '[DONE]');
  });

  it('malformed JSON → 400 invalid_request_error saying so', async () => {
    const r = await post(url, '{"model": ');
    assert.equal(r.status, 400);
    assertOpenAIError(r, 'invalid_request_error', /not valid JSON/, { param: null, code: null });
    assert.equal(fake.messages().length, 0);
  });

  it('empty body → 400', async () => {
    const r = await post(url, '');
    assert.equal(r.status, 400);
    assertOpenAIError(r, 'invalid_request_error', /empty/);
  });

  it('missing model or messages, or a body that is not an object → 400 naming the field', async () => {
    for (const field of ['model', 'messages']) {
      const body: Record<string, unknown> = { ...BODY };
      delete body[field];
      const r = await post(url, body);
      assert.equal(r.status, 400, field);
      assertOpenAIError(r, 'invalid_request_error', new RegExp(`^${field}: `), { param: field });
    }
    const empty = await post(url, { ...BODY, messages: [] });
    assertOpenAIError(empty, 'invalid_request_error', /^messages: must contain at least one/, {
      param: 'messages',
    });
    const role = await post(url, { ...BODY, messages: [{ role: 'robot', content: 'x' }] });
    assertOpenAIError(role, 'invalid_request_error', /'robot' is not one of/, {
      param: 'messages[0].role',
    });
    const arr = await post(url, [1, 2]);
    assert.equal(arr.status, 400);
    assertOpenAIError(arr, 'invalid_request_error', /JSON object/);
    assert.equal(fake.messages().length, 0);
  });

  it('a body over server.max_body_bytes → 413 request_too_large', async () => {
    const r = await post(url, { ...BODY, messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] });
    assert.equal(r.status, 413);
    assertOpenAIError(r, 'invalid_request_error', /max_body_bytes/, { code: 'request_too_large' });
  });

  it('wrong method → 405 with Allow, in OpenAI shape; so is the model list', async () => {
    const wm = await fetch(url);
    assert.equal(wm.status, 405);
    assert.equal(wm.headers.get('allow'), 'POST');
    assertOpenAIError(
      { json: await wm.json(), headers: wm.headers },
      'invalid_request_error',
      /Method GET is not allowed.*use POST/,
    );
    const models = await fetch(`${proxy.url}/api/v1/models`, { method: 'DELETE' });
    assert.equal(models.status, 405);
    assertOpenAIError({ json: await models.json() }, 'invalid_request_error', /use GET/);
  });

  it('an unknown model (upstream 404) → 404 not_found_error in OpenAI shape', async () => {
    fake.enqueue(reply.error(404, 'not_found_error', 'model: gpt-nope'));
    const r = await post(url, { ...BODY, model: 'claude-nope' });
    assert.equal(r.status, 404);
    assertOpenAIError(r, 'not_found_error', /model: gpt-nope/);
  });

  it('upstream 400 → 400 in OpenAI shape with the upstream message', async () => {
    fake.enqueue(reply.invalidRequest('messages.0.content: bad'));
    const r = await post(url, BODY);
    assert.equal(r.status, 400);
    assertOpenAIError(r, 'invalid_request_error', /messages\.0\.content: bad/);
    assert.ok(r.headers.get('request-id'), "the upstream's request-id is passed on");
  });

  it('upstream 400 on a stream request → 400 JSON, not an event stream', async () => {
    fake.enqueue(reply.invalidRequest('max_tokens: too large'));
    const r = await post(url, { ...BODY, stream: true });
    assert.equal(r.status, 400);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    assertOpenAIError(r, 'invalid_request_error', /max_tokens: too large/);
  });

  it('upstream HTML error page → 502 quoting its status and a snippet', async () => {
    fake.enqueue(reply.html(502), reply.html(502), reply.html(502));
    const r = await post(url, BODY);
    assert.equal(r.status, 502);
    assertOpenAIError(r, 'server_error', /answered HTTP 502 .*not an Anthropic error: .*html/i);
  });

  it('upstream 200 with an HTML page instead of JSON (a captive portal) → 502 quoting it', async () => {
    fake.enqueue({ ...reply.html(200), status: 200 });
    const r = await post(url, BODY);
    assert.equal(r.status, 502);
    assertOpenAIError(r, 'server_error', /answered HTTP 200 with text\/html instead of JSON: <html>/);
  });

  it('upstream 200 with an HTML page instead of an event stream → 502', async () => {
    fake.enqueue(reply.html(200));
    const r = await post(url, { ...BODY, stream: true });
    assert.equal(r.status, 502);
    assertOpenAIError(r, 'server_error', /instead of an event stream/);
  });

  it('upstream stalls before the first byte → 504 naming the setting', async () => {
    fake.enqueue(reply.stall());
    const r = await post(url, BODY);
    assert.equal(r.status, 504);
    assertOpenAIError(r, 'server_error', /first_byte_s/, { code: 'timeout' });
  });

  it('upstream stalls before the first byte of a stream → 504 JSON', async () => {
    fake.enqueue(reply.stall());
    const r = await post(url, { ...BODY, stream: true });
    assert.equal(r.status, 504);
    assertOpenAIError(r, 'server_error', /first_byte_s/);
  });

  it('upstream stalls mid-stream → an error frame naming idle_s, then the stream closes (no [DONE])', async () => {
    fake.enqueue(reply.stallMidStream(4));
    const r = await post(url, { ...BODY, stream: true });
    assert.equal(r.status, 200);
    const data = frames(r.text);
    assert.ok(data.length >= 2, 'the answer had begun');
    assert.equal(JSON.parse(data[0]).choices[0].delta.role, 'assistant');
    const last = JSON.parse(data.at(-1)!);
    assertOpenAIError({ json: last }, 'server_error', /stalled.*idle_s/, { code: 'timeout' });
    assert.ok(!data.includes('[DONE]'));
  });

  it('upstream drops the connection mid-stream → an error frame, then the stream closes', async () => {
    for (const dropWith of ['close', 'reset'] as const) {
      fake.enqueue(reply.drop(4, undefined, dropWith));
      const r = await post(url, { ...BODY, stream: true });
      assert.equal(r.status, 200, dropWith);
      const data = frames(r.text);
      const last = JSON.parse(data.at(-1)!);
      assertOpenAIError({ json: last }, 'server_error', /failed mid-response/);
      assert.ok(!data.includes('[DONE]'), dropWith);
      assert.ok(
        data.every((d) => !d.includes('"finish_reason":"')),
        `${dropWith}: no finish_reason for a broken answer`,
      );
    }
  });

  it('an upstream stream that ends without message_stop → an error frame, not a silent "stop"', async () => {
    fake.enqueue(reply.malformed('truncated'));
    const r = await post(url, { ...BODY, stream: true });
    assert.equal(r.status, 200);
    const data = frames(r.text);
    assert.ok(!data.includes('[DONE]'));
    assert.ok(
      data.every((d) => !d.includes('"finish_reason":"')),
      'no finish_reason',
    );
    assertOpenAIError(
      { json: JSON.parse(data.at(-1)!) },
      'server_error',
      /ended before the answer was complete/,
    );
  });

  it('an upstream event stream with no events at all → 502', async () => {
    fake.enqueue(reply.malformed('garbage'));
    const r = await post(url, { ...BODY, stream: true });
    assert.equal(r.status, 502);
    assertOpenAIError(r, 'server_error', /no events|ended before/);
  });

  it('a malformed event mid-stream → an error frame quoting it', async () => {
    fake.enqueue(reply.malformed('json'));
    const r = await post(url, { ...BODY, stream: true });
    const data = frames(r.text);
    assertOpenAIError({ json: JSON.parse(data.at(-1)!) }, 'server_error', /malformed stream event/);
  });

  it('an error event mid-stream → the same error as an OpenAI error frame', async () => {
    fake.enqueue(reply.streamError({ afterEvents: 3, type: 'api_error', message: 'Internal server error' }));
    const r = await post(url, { ...BODY, stream: true });
    const data = frames(r.text);
    assertOpenAIError({ json: JSON.parse(data.at(-1)!) }, 'server_error', /Internal server error/);
    assert.ok(!data.includes('[DONE]'));
  });

  it('the openai SDK sees a mid-stream drop as an error, not a short answer', async () => {
    fake.enqueue(reply.drop(4));
    const client = new OpenAI({ baseURL: `${proxy.url}/api/v1`, apiKey: 'x', maxRetries: 0 });
    await assert.rejects(
      client.chat.completions
        .stream({ ...BODY, messages: [{ role: 'user', content: 'x' }] })
        .finalChatCompletion(),
      (err: unknown) => err instanceof OpenAI.APIError && /failed mid-response/.test(err.message),
    );
  });

  it('a client that disconnects mid-stream aborts the upstream request', async () => {
    fake.enqueue(reply.slow(200, reply.text('a b c d e f g h', { deltas: 8 })));
    const ac = new AbortController();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...BODY, stream: true }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    const upstream = await fake.waitForRequest((r) => r.path === '/v1/messages');
    assert.deepEqual(await upstream.ended, { aborted: true });
  });
});

describe('OpenAI format: upstream unreachable', () => {
  it('connection refused → 502 naming the upstream, streamed or not', async () => {
    const port = await freePort();
    const proxy = await startProxy({
      settings: {
        upstream: { base_url: `http://127.0.0.1:${port}`, retry: { max_attempts: 2, base_delay_ms: 1 } },
      },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
    });
    try {
      for (const stream of [false, true]) {
        const r = await post(`${proxy.url}/api/v1/chat/completions`, { ...BODY, stream });
        assert.equal(r.status, 502);
        assertOpenAIError(
          r,
          'server_error',
          new RegExp(`Cannot reach the upstream http://127.0.0.1:${port}: connection refused`),
        );
      }
      // The model list still answers, from the built-in list.
      const models = await (await fetch(`${proxy.url}/api/v1/models`)).json();
      assert.equal(models.object, 'list');
      assert.ok(models.data.some((m: { id: string }) => m.id === 'gpt-4o'));
    } finally {
      await proxy.close();
    }
  });

  it('no credentials → 401 authentication_error that says what to run', async () => {
    const fake = await startFakeUpstream();
    const proxy = await startProxy({ settings: { upstream: { base_url: fake.url } } });
    try {
      const r = await post(`${proxy.url}/api/v1/chat/completions`, BODY);
      assert.equal(r.status, 401);
      assertOpenAIError(r, 'authentication_error', /ccproxy auth login/);
    } finally {
      await proxy.close();
      await fake.close();
    }
  });
});
