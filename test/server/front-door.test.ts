/**
 * The front door: proxied POSTs reach their handler without Fastify, found by the route table; all
 * else is Fastify's. The table's matching and a handler that throws (units), then the real proxy: a
 * trailing slash and a query on a proxied path, what stays Fastify's (405, 404), a refusal's record,
 * and a request that arrives while the proxy shuts down (503 in its client's format).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { RequestRecord } from '../../src/observability/lifecycle.ts';
import { frontDoor } from '../../src/server/front-door.ts';
import { type ProxiedRoute, ProxiedRoutes } from '../../src/server/routes.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import {
  type FakeUpstream,
  reply,
  startFakeUpstream,
  TEST_ACCESS_TOKEN,
  withDelivery,
} from '../support/fake-upstream.ts';

const route = (mode: 'api' | 'sdk', url: string): ProxiedRoute => ({
  mode,
  format: 'anthropic',
  url,
  handle: async () => {},
});

describe('ProxiedRoutes', () => {
  const table = new ProxiedRoutes();
  const api = route('api', '/api/v1/messages');
  const sdk = route('sdk', '/sdk/v1/messages');
  const session = route('sdk', '/sdk/:sessionId/v1/messages');
  table.add(api, '/api', '/v1/messages');
  table.add(sdk, '/sdk', '/v1/messages');
  table.add(session, '/sdk/:sessionId', '/v1/messages');

  it('finds a path as it is, with a trailing slash, doubled slashes, a query', () => {
    assert.equal(table.find('/api/v1/messages')?.route, api);
    assert.equal(table.find('/api/v1/messages/')?.route, api);
    // A base URL that ends in `/`, joined naively; an empty session segment is no session.
    assert.equal(table.find('/api//v1/messages')?.route, api);
    assert.equal(table.find('//api/v1//messages?x=//y')?.route, api);
    assert.equal(table.find('/sdk//v1/messages')?.route, sdk);
    assert.equal(table.find('/api/v1/messages?beta=true')?.route, api);
    assert.equal(table.find('/sdk/v1/messages')?.route, sdk);
  });

  it('reads the session segment, decoded', () => {
    assert.deepEqual(table.find('/sdk/trip-1/v1/messages'), { route: session, sessionId: 'trip-1' });
    assert.deepEqual(table.find('/sdk/a%20b/v1/messages/?x=1'), { route: session, sessionId: 'a b' });
  });

  it('finds nothing for other paths, an empty, overlong or malformed segment (Fastify answers)', () => {
    for (const url of [
      '/',
      '/api',
      '/api/v1/message',
      '/api/x/v1/messages',
      `/sdk/${'s'.repeat(101)}/v1/messages`,
      '/sdk/%E0%A4%A/v1/messages',
      '/sdk/a/b/v1/messages',
    ])
      assert.equal(table.find(url), undefined, url);
    assert.ok(table.find(`/sdk/${'s'.repeat(100)}/v1/messages`));
  });
});

describe('frontDoor', () => {
  it('a handler that fails (a bug) ends its connection; the server keeps serving', async () => {
    const routes = new ProxiedRoutes();
    routes.add(
      {
        ...route('api', '/api/v1/messages'),
        handle: async (p) => {
          if ((p.body as { fail?: boolean }).fail) throw new Error('a bug');
          p.res.end('ok');
        },
      },
      '/api',
      '/v1/messages',
    );
    const lines: string[] = [];
    const server = createServer(
      frontDoor({
        routes,
        fastify: (_req, res) => res.writeHead(404).end(),
        log: pino({}, { write: (l: string) => lines.push(l) }),
        requestIdOf: () => 'req_test',
        admit: () => {},
        readBody: async (req) => JSON.parse((await req.toArray()).join('')),
        refuse: (_req, res) => res.writeHead(400).end(),
        closing: () => false,
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    try {
      const post = (body: unknown) =>
        fetch(`${url}/api/v1/messages`, { method: 'POST', body: JSON.stringify(body) });
      await assert.rejects(post({ fail: true }), /fetch failed/);
      assert.match(lines.join(''), /"reqId":"req_test".*"msg":"unexpected error"/);
      assert.equal(await (await post({})).text(), 'ok');
      assert.equal((await fetch(`${url}/elsewhere`)).status, 404);
    } finally {
      server.close();
    }
  });
});

describe('the front door in a running proxy', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;
  const records: RequestRecord[] = [];
  const body = JSON.stringify({
    model: 'claude-sonnet-4-5',
    max_tokens: 32,
    messages: [{ role: 'user', content: 'hi' }],
  });
  const post = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${proxy.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
      body,
    });

  before(async () => {
    fake = await startFakeUpstream();
    proxy = await startProxy({
      settings: { upstream: { base_url: fake.url } },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
    });
    proxy.proxy.lifecycle.subscribe((ev, r) => ev === 'end' && records.push(r));
  });
  after(async () => {
    await proxy.close();
    await fake.close();
  });

  it('answers a proxied path with a trailing slash and a query, naming the route in the record', async () => {
    fake.enqueue(reply.text('Hi there.'));
    const res = await post('/api/v1/messages/?beta=true', { 'x-request-id': 'front-door-1' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), 'front-door-1');
    assert.equal(((await res.json()) as { type: string }).type, 'message');
    const up = fake.messages().at(-1);
    assert.deepEqual([up?.path, up?.query.beta], ['/v1/messages', 'true']);
    const record = records.find((r) => r.id === 'front-door-1');
    assert.equal(record?.route, '/api/v1/messages');
    assert.equal(record?.status, 200);
  });

  it('ignores doubled slashes (a base URL ending in `/`), on Fastify’s routes too', async () => {
    fake.enqueue(reply.text('Hi there.'));
    const res = await post('/api//v1/messages');
    assert.equal(res.status, 200);
    const models = await fetch(`${proxy.url}/api//v1/models`);
    assert.equal(models.status, 200);
    assert.equal(((await models.json()) as { object: string }).object, 'list');
  });

  it('leaves other methods and unknown paths to Fastify: 405 and 404 in the path’s format', async () => {
    const get = await fetch(`${proxy.url}/api/v1/messages`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    // The method is refused before any body is read: an empty or broken one is not the problem.
    for (const body of [undefined, '{broken']) {
      const del = await fetch(`${proxy.url}/api/v1/models/claude-sonnet-4-5`, {
        method: 'DELETE',
        headers: { 'content-type': 'application/json' },
        body,
      });
      assert.equal(del.status, 405, `DELETE with body ${body}`);
      assert.equal(del.headers.get('allow'), 'GET');
      const put = await fetch(`${proxy.url}/api/v1/messages`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body,
      });
      assert.equal(put.status, 405, `PUT with body ${body}`);
    }
    const missing = await post('/api/v1/chat/completion');
    assert.equal(missing.status, 404);
    assert.match(JSON.stringify(await missing.json()), /No route for POST \/api\/v1\/chat\/completion/);
  });

  it('refuses a body that is not JSON before the handler, with a record of the refusal', async () => {
    const res = await post('/api/v1/chat/completions', {
      'content-type': 'text/plain',
      'x-request-id': 'front-door-415',
    });
    assert.equal(res.status, 415);
    const err = (await res.json()) as { error: { type: string; message: string } };
    assert.equal(err.error.type, 'invalid_request_error');
    assert.match(err.error.message, /application\/json/);
    await new Promise((r) => setImmediate(r));
    const record = records.find((r) => r.id === 'front-door-415');
    assert.equal(record?.format, 'openai');
    assert.equal(record?.status, 415);
  });

  it('a request that arrives while the proxy shuts down gets 503 in its client’s format', async () => {
    const own = await startProxy({
      settings: { upstream: { base_url: fake.url } },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
    });
    // The first request waits on the upstream; the second has begun on the same connection (so the
    // connection is not idle, and shutdown keeps it) and its last bytes come once the shutdown began.
    fake.enqueue(withDelivery(reply.text('Hi there.'), { firstByteDelayMs: 300 }));
    const { hostname: host, port } = new URL(own.url);
    const socket = net.connect(Number(port), host);
    const request = (path: string) =>
      `POST ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk;
    });
    const ended = new Promise((resolve) => socket.on('close', resolve));
    const seen = fake.received.length;
    const calls = fake.messages().length;
    const second = request('/api/v1/chat/completions');
    const cut = second.indexOf('\r\n') + 2;
    let closing: Promise<void> | undefined;
    try {
      socket.write(request('/api/v1/messages') + second.slice(0, cut));
      await fake.waitForRequest((r) => r.seq > seen && r.path === '/v1/messages');
      closing = own.close();
      socket.write(second.slice(cut));
      await ended;
    } finally {
      socket.destroy();
      await (closing ?? own.close());
    }
    assert.equal(fake.messages().length, calls + 1, 'the second request never went upstream');
    const answers = text.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 2, text);
    assert.match(answers[0]!, /^HTTP\/1\.1 200 /);
    assert.match(answers[1]!, /^HTTP\/1\.1 503 /);
    assert.match(answers[1]!, /connection: close/i);
    assert.match(answers[1]!, /x-request-id: req_[0-9a-f]{32}/i);
    const payload = JSON.parse(answers[1]!.slice(answers[1]!.indexOf('\r\n\r\n') + 4)) as {
      error: { type: string; message: string };
    };
    assert.match(payload.error.message, /shutting down/);
    // OpenAI's shape: no top-level `type` (Anthropic's errors carry "type": "error").
    assert.equal((payload as { type?: string }).type, undefined);
  });
});
