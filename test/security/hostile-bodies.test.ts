/**
 * Bodies that used to cost the proxy dearly or reach clients as broken pipes (issue 18, item 2;
 * issue 13, item 5):
 * - a body nested millions of levels deep is refused from its first bytes, before any parsing, while
 *   the proxy goes on answering;
 * - a body that is not JSON by its Content-Type, or is compressed, gets 415 in the client's own format;
 * - a body over `server.max_body_bytes` gets its 413 through to a client that writes 50 MB before
 *   reading, raw or through the real SDKs (which then do not retry).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { request } from 'undici';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { postHead, rawClient } from '../helpers/raw-http.ts';
import { within } from '../resilience/harness.ts';
import { type FakeUpstream, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

const MB = 1024 * 1024;

const FORMATS = [
  { format: 'anthropic', path: '/api/v1/messages' },
  { format: 'openai', path: '/api/v1/chat/completions' },
  { format: 'responses', path: '/api/v1/responses' },
] as const;

const VALID: Record<string, unknown> = {
  anthropic: { model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
  openai: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] },
  responses: { model: 'gpt-4o', input: 'hi', store: false },
};

/** The error as the client's format shapes it: Anthropic's `{type:"error",error}` or OpenAI's `{error}`. */
function errorIn(format: string, json: any): { type: string; message: string; code?: string | null } {
  if (format === 'anthropic') {
    assert.equal(json?.type, 'error', JSON.stringify(json));
    return json.error;
  }
  assert.deepEqual(
    Object.keys(json?.error ?? {}).sort(),
    ['code', 'message', 'param', 'type'],
    JSON.stringify(json),
  );
  return json.error;
}

describe('hostile bodies', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;
  let port: number;

  before(async () => {
    fake = await startFakeUpstream();
    // Default limits: the real max_body_bytes (32 MB) is what the 50 MB uploads run into.
    proxy = await startProxy({
      settings: { upstream: { base_url: fake.url } },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
      logLevel: 'warn',
    });
    port = Number(new URL(proxy.url).port);
  });
  after(async () => {
    await proxy?.close();
    await fake?.close();
  });

  const health = async () => {
    const r = await request(`${proxy.url}/health/live`);
    await r.body.text();
    return r.statusCode;
  };

  it('30 MB nested 15 million levels deep: 400 before it has all arrived, /health answering meanwhile', async () => {
    const levels = 15_000_000;
    const deep = Buffer.alloc(2 * levels, '[');
    deep.fill(']', levels);
    const c = rawClient(port, postHead('/api/v1/messages', deep.length));
    // A third of the body, then hold the rest: the answer must not wait for it.
    assert.equal(await c.writeBody(deep.subarray(0, 10 * MB), MB), true);
    const res = await within(20_000, 'the 400 for a deep body', c.response);
    assert.equal(res.status, 400);
    assert.match(errorIn('anthropic', res.json).message, /nests deeper than 256 levels/);
    assert.equal(res.headers.connection, 'close');
    // The proxy is still receiving (and discarding) that body, and answers others all the same.
    assert.equal(await within(20_000, '/health meanwhile', health()), 200);
    assert.equal(await c.writeBody(deep.subarray(10 * MB), MB), true, 'the rest is read, not refused');
    assert.deepEqual(await within(20_000, 'the connection closed', c.closed), {});
    assert.equal(fake.messages().length, 0);
    assert.equal(await health(), 200);
  });

  it('millions of tiny objects (wide, not deep) are refused before parsing too', async () => {
    const wide = Buffer.from(`[${'{},'.repeat(2_000_000)}{}]`);
    const c = rawClient(port, postHead('/api/v1/chat/completions', wide.length));
    await c.writeBody(wide, MB);
    const res = await within(20_000, 'the 400 for a wide body', c.response);
    assert.equal(res.status, 400);
    assert.match(errorIn('openai', res.json).message, /more than 1000000 JSON objects, arrays and members/);
    await within(20_000, 'the connection closed', c.closed);
  });

  describe('Content-Type', () => {
    const refused = [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
    ];
    for (const { format, path } of FORMATS) {
      it(`${format}: a non-JSON type → 415 in the client's format, naming application/json`, async () => {
        for (const type of refused) {
          const r = await request(`${proxy.url}${path}`, {
            method: 'POST',
            headers: { 'content-type': type },
            body: JSON.stringify(VALID[format]),
          });
          const json = await r.body.json();
          assert.equal(r.statusCode, 415, `${type}: ${JSON.stringify(json)}`);
          const e = errorIn(format, json);
          assert.equal(e.type, 'invalid_request_error');
          assert.match(e.message, /Content-Type: application\/json/);
          assert.ok(e.message.includes(`"${type.split(';')[0]}"`), e.message);
        }
        const garbled = await request(`${proxy.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'not a media type' },
          body: '{}',
        });
        assert.equal(garbled.statusCode, 415);
        assert.match(errorIn(format, await garbled.body.json()).message, /application\/json/);
        assert.equal(fake.messages().length, 0);
      });
    }

    for (const { format, path } of FORMATS) {
      it(`${format}: a compressed body → 415 in the client's format, asking for it uncompressed`, async () => {
        for (const encoding of ['gzip', 'br', 'deflate, gzip']) {
          const r = await request(`${proxy.url}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-encoding': encoding },
            body: gzipSync(JSON.stringify(VALID[format])),
          });
          const json = await r.body.json();
          assert.equal(r.statusCode, 415, `${encoding}: ${JSON.stringify(json)}`);
          assert.equal(r.headers['accept-encoding'], 'identity');
          const e = errorIn(format, json);
          assert.equal(e.type, 'invalid_request_error');
          assert.ok(e.message.includes(`Content-Encoding "${encoding}"`), e.message);
          assert.match(e.message, /uncompressed/);
        }
        const identity = await request(`${proxy.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-encoding': 'identity' },
          body: JSON.stringify(VALID[format]),
        });
        await identity.body.text();
        assert.equal(identity.statusCode, 200);
      });
    }

    it('application/json with parameters, +json types and no Content-Type at all are JSON', async () => {
      fake.reset();
      for (const type of [
        'application/json; charset=utf-8',
        'APPLICATION/JSON',
        'application/vnd.api+json',
      ]) {
        const r = await request(`${proxy.url}/api/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': type },
          body: JSON.stringify(VALID.anthropic),
        });
        const text = await r.body.text();
        assert.equal(r.statusCode, 200, `${type}: ${text}`);
      }
      const body = Buffer.from(JSON.stringify(VALID.openai));
      const bare = rawClient(
        port,
        postHead('/api/v1/chat/completions', body.length, { 'content-type': '' }).replace(
          'content-type: \r\n',
          '',
        ),
      );
      await bare.write(body);
      const res = await within(20_000, 'an answer without Content-Type', bare.response);
      assert.equal(res.status, 200, res.body);
      bare.socket.destroy();
      assert.equal(fake.messages().length, 4);
    });
  });

  describe('50 MB written to a 32 MB limit: the 413 reaches the client', () => {
    const big = Buffer.alloc(50 * MB, 'a');
    for (const { format, path } of FORMATS) {
      for (const framing of ['content-length', 'chunked'] as const) {
        it(`${format}, ${framing}: written in 1 MB pieces, no broken pipe`, async () => {
          const chunked = framing === 'chunked';
          const c = rawClient(port, postHead(path, chunked ? undefined : big.length));
          const wrote = await c.writeBody(big, MB, { chunked });
          const res = await within(30_000, 'the 413', c.response);
          assert.equal(res.status, 413, res.body);
          assert.equal(res.headers.connection, 'close');
          const e = errorIn(format, res.json);
          assert.equal(e.type, format === 'anthropic' ? 'request_too_large' : 'invalid_request_error');
          if (format !== 'anthropic') assert.equal(e.code, 'request_too_large');
          assert.match(e.message, /server\.max_body_bytes/);
          assert.equal(wrote, true, 'the whole upload was taken (and thrown away)');
          assert.deepEqual(
            await within(30_000, 'the connection closed', c.closed),
            {},
            'no EPIPE or ECONNRESET',
          );
        });
      }
    }
    it('and the proxy serves on', async () => {
      fake.reset();
      const r = await request(`${proxy.url}/api/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(VALID.anthropic),
      });
      assert.equal(r.statusCode, 200);
      await r.body.text();
    });
  });

  describe("heads node's parser or its defaults refuse: answered in the route's format", () => {
    /** Write `head` (and nothing else) and read the one answer. */
    const answer = async (head: string) => {
      const c = rawClient(port, head);
      return c.response;
    };
    for (const { format, path } of FORMATS) {
      it(`${format}: headers too large (431), a doubled Content-Length (400), no Host (403), Expect: foo (417)`, async () => {
        const big = await answer(
          `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Big: ${'a'.repeat(20_000)}\r\nContent-Length: 2\r\n\r\n{}`,
        );
        assert.equal(big.status, 431);
        assert.match(errorIn(format, big.json).message, /headers are too large/);
        const twice = await answer(
          `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
        );
        assert.equal(twice.status, 400);
        errorIn(format, twice.json);
        const hostless = await answer(
          `POST ${path} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
        );
        assert.equal(hostless.status, 403);
        assert.match(errorIn(format, hostless.json).message, /Host "" is not allowed/);
        const expect = await answer(
          `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: foo\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
        );
        assert.equal(expect.status, 417);
        assert.match(errorIn(format, expect.json).message, /Expect: foo is not supported/);
        assert.equal(await health(), 200);
      });
    }
  });

  describe('Expect: 100-continue: the body is asked for only when it is wanted', () => {
    const head = (path: string, type: string, length: number, extra = '') =>
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n${extra}\r\n`;
    for (const { format, path } of FORMATS) {
      it(`${format}: a refused upload gets its 413/415 instead of 100 Continue; an accepted one 100, then its answer`, async () => {
        const tooBig = await rawClient(port, head(path, 'application/json', 40 * MB)).response;
        assert.equal(tooBig.status, 413, 'no 100 for a body that will be refused');
        const wrongType = await rawClient(port, head(path, 'text/plain', 2)).response;
        assert.equal(wrongType.status, 415);
        const body = JSON.stringify(VALID[format]);
        const ok = rawClient(port, head(path, 'application/json', Buffer.byteLength(body)));
        assert.equal((await ok.response).status, 100);
        await ok.write(body);
        await new Promise((r) => setTimeout(r, 50));
        while (!/\r\n\r\n[\s\S]*HTTP\/1\.1 200 /.test(ok.received) && !ok.ended)
          await new Promise((r) => setTimeout(r, 20));
        assert.match(ok.received, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
        ok.socket.destroy();
      });
    }
  });

  describe('the real SDKs sending 50 MB: a 413 error, and no retry', () => {
    const huge = 'x'.repeat(50 * MB);
    /** A fetch that counts the SDK's attempts. */
    const counting = () => {
      const calls = { n: 0 };
      const f: typeof fetch = (input, init) => {
        calls.n++;
        return fetch(input, init);
      };
      return { calls, fetch: f };
    };

    it('@anthropic-ai/sdk', async () => {
      const { calls, fetch } = counting();
      const client = new Anthropic({ baseURL: `${proxy.url}/api`, apiKey: 'x', maxRetries: 2, fetch });
      const err = await client.messages
        .create({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: huge }] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(err instanceof Anthropic.APIError, String(err));
      assert.equal(err.status, 413);
      assert.equal((err.error as any)?.error?.type, 'request_too_large');
      assert.equal(calls.n, 1, 'a 413 is not retried');
    });

    it('openai', async () => {
      const { calls, fetch } = counting();
      const client = new OpenAI({ baseURL: `${proxy.url}/api/v1`, apiKey: 'x', maxRetries: 2, fetch });
      const err = await client.chat.completions
        .create({ model: 'gpt-4o', messages: [{ role: 'user', content: huge }] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(err instanceof OpenAI.APIError, String(err));
      assert.equal(err.status, 413);
      assert.equal(err.code, 'request_too_large');
      assert.equal(calls.n, 1, 'a 413 is not retried');
    });
  });
});
