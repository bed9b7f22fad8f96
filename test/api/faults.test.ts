/**
 * API mode, bad input and upstream faults: each gets the right status and an Anthropic-shaped
 * error a person can act on, and the proxy keeps serving afterwards.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { freePort } from '../helpers/net.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import {
  type FakeUpstream,
  reply,
  startFakeUpstream,
  TEST_ACCESS_TOKEN,
  TEST_REFRESH_TOKEN,
} from '../support/fake-upstream.ts';

const BODY = { model: 'claude-sonnet-5-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] };

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
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

function assertAnthropicError(r: { json: any }, type: string, message?: RegExp) {
  assert.equal(r.json?.type, 'error', JSON.stringify(r.json));
  assert.equal(r.json.error.type, type);
  if (message) assert.match(r.json.error.message, message);
}

describe('API mode: bad input and faults', () => {
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
    url = `${proxy.url}/api/v1/messages`;
  });
  after(async () => {
    await proxy.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());
  afterEach(async () => {
    // After every case the proxy still serves.
    fake.enqueue(reply.text('still here'));
    const ok = await post(url, BODY);
    assert.equal(ok.status, 200);
    assert.equal(ok.json.content[0].text, 'still here');
  });

  it('malformed JSON → 400 invalid_request_error saying so', async () => {
    const r = await post(url, '{"model": ');
    assert.equal(r.status, 400);
    assertAnthropicError(r, 'invalid_request_error', /not valid JSON/);
    assert.equal(fake.messages().length, 0);
  });

  it('empty body → 400', async () => {
    const r = await post(url, '');
    assert.equal(r.status, 400);
    assertAnthropicError(r, 'invalid_request_error', /empty/);
  });

  it('missing model, messages or max_tokens → 400 naming the field', async () => {
    for (const field of ['model', 'messages', 'max_tokens']) {
      const body: Record<string, unknown> = { ...BODY };
      delete body[field];
      const r = await post(url, body);
      assert.equal(r.status, 400, field);
      assertAnthropicError(r, 'invalid_request_error', new RegExp(`^${field}: Field required`));
    }
    const r = await post(url, [1, 2]);
    assertAnthropicError(r, 'invalid_request_error', /JSON object/);
  });

  it('a body over server.max_body_bytes → 413 request_too_large', async () => {
    const r = await post(url, { ...BODY, messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] });
    assert.equal(r.status, 413);
    assertAnthropicError(r, 'request_too_large', /max_body_bytes/);
  });

  it('unknown path → 404 not_found_error; wrong method → 405 with Allow', async () => {
    const nf = await fetch(`${proxy.url}/api/v1/nothing`, { method: 'POST', body: '{}' });
    assert.equal(nf.status, 404);
    assertAnthropicError(
      { json: await nf.json() },
      'not_found_error',
      /No route for POST \/api\/v1\/nothing/,
    );
    const wm = await fetch(url);
    assert.equal(wm.status, 405);
    assert.equal(wm.headers.get('allow'), 'POST');
    assertAnthropicError({ json: await wm.json() }, 'invalid_request_error', /Method GET is not allowed/);
  });

  it('upstream HTML error page → 502 quoting its status and a snippet', async () => {
    fake.enqueue(reply.html(502), reply.html(502), reply.html(502));
    const r = await post(url, BODY);
    assert.equal(r.status, 502);
    assertAnthropicError(r, 'api_error', /answered HTTP 502 .*not an Anthropic error: .*html/i);
  });

  it('upstream 200 with an HTML page instead of JSON (a captive portal) → 502 quoting it', async () => {
    fake.enqueue({ ...reply.html(200), status: 200 });
    const r = await post(url, BODY);
    assert.equal(r.status, 502);
    assertAnthropicError(r, 'api_error', /answered HTTP 200 with text\/html instead of JSON: <html>/);
  });

  it('upstream 200 with bytes that are not an event stream → 502', async () => {
    fake.enqueue(reply.html(200));
    const r = await post(url, { ...BODY, stream: true });
    assert.equal(r.status, 502);
    assertAnthropicError(r, 'api_error', /instead of an event stream/);
  });

  it('upstream 400 passes through unchanged', async () => {
    fake.enqueue(reply.invalidRequest('messages.0.content: bad'));
    const r = await post(url, BODY);
    assert.equal(r.status, 400);
    assertAnthropicError(r, 'invalid_request_error', /messages\.0\.content: bad/);
    assert.ok(r.json.request_id, "the upstream's request_id is kept");
  });

  it('upstream stalls before the first byte → 504 naming the setting', async () => {
    fake.enqueue(reply.stall());
    const r = await post(url, BODY);
    assert.equal(r.status, 504);
    assertAnthropicError(r, 'timeout_error', /first_byte_s/);
  });

  it('upstream stalls mid-stream → the stream ends with an error event, not a hang', async () => {
    fake.enqueue(reply.stallMidStream(3));
    const client = new Anthropic({ baseURL: `${proxy.url}/api`, apiKey: 'x', maxRetries: 0 });
    await assert.rejects(
      client.messages.stream({ ...BODY, messages: [{ role: 'user', content: 'x' }] }).finalMessage(),
      /stalled|idle_s/,
    );
  });

  it('upstream drops the connection mid-stream → an error event', async () => {
    fake.enqueue(reply.drop(4));
    const client = new Anthropic({ baseURL: `${proxy.url}/api`, apiKey: 'x', maxRetries: 0 });
    await assert.rejects(
      client.messages.stream({ ...BODY, messages: [{ role: 'user', content: 'x' }] }).finalMessage(),
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
    const ended = await upstream.ended;
    assert.equal(ended.aborted, true, 'the fake saw its client (the proxy) go away');
  });
});

describe('API mode: upstream unreachable, credentials', () => {
  it('connection refused → 502 naming the upstream', async () => {
    const port = await freePort();
    const proxy = await startProxy({
      settings: {
        upstream: { base_url: `http://127.0.0.1:${port}`, retry: { max_attempts: 2, base_delay_ms: 1 } },
      },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
    });
    try {
      const r = await post(`${proxy.url}/api/v1/messages`, BODY);
      assert.equal(r.status, 502);
      assertAnthropicError(
        r,
        'api_error',
        new RegExp(`Cannot reach the upstream http://127.0.0.1:${port}: connection refused`),
      );
      const status = await (await fetch(`${proxy.url}/api/status`)).json();
      assert.match(status.last_upstream_error.message, /connection refused/);
    } finally {
      await proxy.close();
    }
  });

  it('no credentials → 401 authentication_error that says what to run', async () => {
    const fake = await startFakeUpstream();
    const proxy = await startProxy({ settings: { upstream: { base_url: fake.url } } });
    try {
      const r = await post(`${proxy.url}/api/v1/messages`, BODY);
      assert.equal(r.status, 401);
      assertAnthropicError(
        r,
        'authentication_error',
        /ccproxy auth login.*claude \/login.*CLAUDE_CODE_OAUTH_TOKEN/,
      );
      const res = await fetch(`${proxy.url}/health`);
      assert.equal(res.status, 503, 'a failing check is a 503: load balancers read the status code');
      assert.match(res.headers.get('content-type') ?? '', /application\/health\+json/);
      const health = await res.json();
      assert.equal(health.status, 'fail');
      assert.equal((await fetch(`${proxy.url}/health/ready`)).status, 503);
      assert.equal((await fetch(`${proxy.url}/health/live`)).status, 200);
    } finally {
      await proxy.close();
      await fake.close();
    }
  });

  it('an expiring token is refreshed once for 100 concurrent requests, and the rotated pair is saved 0600', async () => {
    const fake = await startFakeUpstream({ oauth: { tokenDelayMs: 100 } });
    const proxy = await startProxy({
      settings: { upstream: { base_url: fake.url }, auth: { token_url: `${fake.url}/v1/oauth/token` } },
      claudeCredentials: {
        claudeAiOauth: {
          accessToken: 'sk-ant-oat01-old-expiring-token-000000',
          refreshToken: TEST_REFRESH_TOKEN,
          expiresAt: Date.now() + 60_000,
          subscriptionType: 'max',
        },
        otherKey: 'kept',
      },
    });
    try {
      const results = await Promise.all(
        Array.from({ length: 100 }, () => post(`${proxy.url}/api/v1/messages`, BODY)),
      );
      assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200]));
      assert.equal(fake.oauth.refreshCalls, 1);
      const file = proxy.settings.auth.claude_credentials_file;
      const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
      assert.notEqual(saved.claudeAiOauth.refreshToken, TEST_REFRESH_TOKEN, 'rotated refresh token saved');
      assert.ok(saved.claudeAiOauth.expiresAt > Date.now() + 3600_000);
      assert.equal(saved.claudeAiOauth.subscriptionType, 'max');
      assert.equal(saved.otherKey, 'kept');
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      const used = new Set(fake.messages().map((m) => m.headers.authorization));
      assert.deepEqual([...used], [`Bearer ${saved.claudeAiOauth.accessToken}`]);
    } finally {
      await proxy.close();
      await fake.close();
    }
  });

  it('after an upstream 401 the proxy refreshes once and retries', async () => {
    const fake = await startFakeUpstream();
    const proxy = await startProxy({
      settings: { upstream: { base_url: fake.url }, auth: { token_url: `${fake.url}/v1/oauth/token` } },
      credentials: {
        claudeAiOauth: {
          accessToken: 'sk-ant-oat01-revoked-token-0000000000',
          refreshToken: TEST_REFRESH_TOKEN,
          expiresAt: Date.now() + 3600_000,
        },
      },
    });
    try {
      const r = await post(`${proxy.url}/api/v1/messages`, BODY);
      assert.equal(r.status, 200);
      assert.equal(fake.oauth.refreshCalls, 1);
      assert.equal(fake.messages().length, 2);
    } finally {
      await proxy.close();
      await fake.close();
    }
  });

  it('a dead refresh token (invalid_grant) → 401 saying to log in again, shown in /health and /api/status', async () => {
    const fake = await startFakeUpstream({ oauth: { refreshTokens: [] } });
    const proxy = await startProxy({
      settings: { upstream: { base_url: fake.url }, auth: { token_url: `${fake.url}/v1/oauth/token` } },
      credentials: {
        claudeAiOauth: {
          accessToken: 'sk-ant-oat01-expired-token-0000000000',
          refreshToken: 'sk-ant-ort01-dead-000000000',
          expiresAt: Date.now() - 1000,
        },
      },
    });
    try {
      const r = await post(`${proxy.url}/api/v1/messages`, BODY);
      assert.equal(r.status, 401);
      assertAnthropicError(r, 'authentication_error', /ccproxy auth login/);
      const again = await post(`${proxy.url}/api/v1/messages`, BODY);
      assert.equal(again.status, 401);
      assert.equal(fake.oauth.refreshCalls, 1, 'no retry storm against a dead refresh token');
      const status = await (await fetch(`${proxy.url}/api/status`)).json();
      assert.equal(status.credentials.relogin_required, true);
      const health = await (await fetch(`${proxy.url}/health`)).json();
      assert.match(JSON.stringify(health), /Re-login required/);
    } finally {
      await proxy.close();
      await fake.close();
    }
  });
});
