/**
 * The outbound HTTP client (src/http-client.ts): NO_PROXY rules, the proxy the environment names,
 * and each phase's timeout against a real local server.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  createAgent,
  envProxyFor,
  HttpTimeout,
  noProxyMatches,
  readText,
  send,
} from '../../src/http-client.ts';

describe('NO_PROXY', () => {
  const cases: [string, string, boolean][] = [
    ['https://api.anthropic.com', '*', true],
    ['https://api.anthropic.com', 'anthropic.com', true],
    ['https://api.anthropic.com', '.anthropic.com', true],
    ['https://api.anthropic.com', '*.anthropic.com', true],
    ['https://anthropic.com', '.anthropic.com', true],
    ['https://notanthropic.com', 'anthropic.com', false],
    ['https://api.anthropic.com', 'example.com, api.anthropic.com', true],
    ['https://api.anthropic.com', 'example.com other.org', false],
    ['https://api.anthropic.com', 'api.anthropic.com:443', true],
    ['https://api.anthropic.com', 'api.anthropic.com:8443', false],
    ['http://10.1.2.3:8080', '10.1.2.3:8080', true],
    ['http://[fd00::1]:8080', '[fd00::1]', true],
    ['https://API.Anthropic.com', 'api.anthropic.COM', true],
  ];
  for (const [url, noProxy, expected] of cases) {
    it(`${url} with NO_PROXY=${JSON.stringify(noProxy)} → ${expected ? 'direct' : 'proxied'}`, () => {
      assert.equal(noProxyMatches(new URL(url), noProxy), expected);
    });
  }

  it('the environment names a proxy by scheme; loopback and NO_PROXY go direct', () => {
    const env = { HTTPS_PROXY: 'http://s:3128', HTTP_PROXY: 'http://p:3128', NO_PROXY: 'internal.example' };
    assert.equal(envProxyFor(new URL('https://api.anthropic.com/x'), env), 'http://s:3128');
    assert.equal(envProxyFor(new URL('http://api.anthropic.com/x'), env), 'http://p:3128');
    assert.equal(envProxyFor(new URL('https://console.internal.example'), env), undefined);
    assert.equal(envProxyFor(new URL('http://127.0.0.1:9/x'), env), undefined);
    assert.equal(envProxyFor(new URL('https://api.anthropic.com'), {}), undefined);
  });
});

describe('send', () => {
  let server: http.Server;
  let origin: URL;
  const seen: { path: string; length?: string; body: string }[] = [];
  before(async () => {
    server = http.createServer(async (req, res) => {
      let body = '';
      for await (const c of req) body += c;
      seen.push({ path: req.url!, length: req.headers['content-length'], body });
      if (req.url === '/silent') return; // never answers
      if (req.url === '/stall') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first'); // then nothing
        return;
      }
      res.end(`echo ${body}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const timeouts = { connectMs: 1_000, firstByteMs: 1_000, idleMs: 1_000 };

  it('sends the body with its length and reuses the kept-alive connection', async () => {
    const agent = await createAgent(origin, { connections: 4, keepAliveMs: 5_000 });
    const sockets = new Set();
    for (const text of ['one', 'twö']) {
      const res = await send(origin, '/echo?x=1', {
        method: 'POST',
        headers: {},
        body: text,
        agent,
        timeouts,
      });
      sockets.add(res.body.socket);
      assert.equal(res.status, 200);
      assert.equal(await readText(res.body), `echo ${text}`);
    }
    assert.deepEqual(
      seen.slice(-2).map((s) => [s.path, s.length]),
      [
        ['/echo?x=1', '3'],
        ['/echo?x=1', '4'],
      ],
    );
    assert.equal(sockets.size, 1, 'one connection for both');
    agent.destroy();
  });

  it('writes the head as node would: Host, the length, a list value line by line, no header twice', async () => {
    const heads: string[][] = [];
    const onRequest = (req: http.IncomingMessage) => heads.push(req.rawHeaders);
    server.on('request', onRequest);
    const sendWith = async (method: string, headers: http.OutgoingHttpHeaders, body?: string) => {
      const res = await send(origin, '/echo', { method, headers, body, timeouts });
      await readText(res.body);
    };
    await sendWith(
      'POST',
      { 'x-list': ['a', 'b'], 'x-num': 7, HOST: 'elsewhere', 'Content-Length': '99' },
      'hi',
    );
    await sendWith('POST', {}); // node sends a length of 0, not a chunked body
    await sendWith('GET', {});
    server.off('request', onRequest);
    const pairs = (raw: string[]) =>
      raw.flatMap((v, i) => (i % 2 ? [] : [`${v.toLowerCase()}: ${raw[i + 1]}`]));
    assert.deepEqual(pairs(heads[0]!), [
      'x-list: a',
      'x-list: b',
      'x-num: 7',
      `host: ${origin.host}`,
      'content-length: 2',
      'connection: keep-alive',
    ]);
    assert.deepEqual(pairs(heads[1]!), [
      `host: ${origin.host}`,
      'content-length: 0',
      'connection: keep-alive',
    ]);
    assert.deepEqual(pairs(heads[2]!), [`host: ${origin.host}`, 'connection: keep-alive']);
  });

  it('no response headers in time: HttpTimeout first_byte', async () => {
    await assert.rejects(
      send(origin, '/silent', { method: 'GET', headers: {}, timeouts: { ...timeouts, firstByteMs: 200 } }),
      (err) => err instanceof HttpTimeout && err.phase === 'first_byte',
    );
  });

  it('a timeout of 0 is no limit', async () => {
    const none = { connectMs: 0, firstByteMs: 0, idleMs: 0 };
    const res = await send(origin, '/echo', { method: 'POST', headers: {}, body: 'x', timeouts: none });
    assert.equal(await readText(res.body), 'echo x');
  });

  it('a body that stalls: the body fails with HttpTimeout idle', async () => {
    const res = await send(origin, '/stall', {
      method: 'GET',
      headers: {},
      timeouts: { ...timeouts, idleMs: 200 },
    });
    await assert.rejects(readText(res.body), (err) => err instanceof HttpTimeout && err.phase === 'idle');
  });

  it('an abort stops the request before and after the headers', async () => {
    const early = new AbortController();
    const pending = send(origin, '/silent', { method: 'GET', headers: {}, signal: early.signal, timeouts });
    setTimeout(() => early.abort(), 50);
    await assert.rejects(pending, { name: 'AbortError' });

    const late = new AbortController();
    const res = await send(origin, '/stall', { method: 'GET', headers: {}, signal: late.signal, timeouts });
    late.abort();
    await assert.rejects(readText(res.body));
    assert.ok(res.body.destroyed);
  });

  it('an invalid header value is a rejection, not a throw', async () => {
    await assert.rejects(
      send(origin, '/echo', { method: 'GET', headers: { 'x-bad': 'a\nb' }, timeouts }),
      /Invalid character/,
    );
  });

  it('waiting on a proxy that never opens the tunnel: the connect timeout and an abort answer at once', async () => {
    const held = new Set<import('node:net').Socket>();
    const silent = (await import('node:net')).createServer((c) => held.add(c));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const target = new URL('http://api.example.invalid:9');
    const agent = await createAgent(target, {
      connections: 4,
      keepAliveMs: 1000,
      proxy: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
    });
    try {
      const slow = { connectMs: 200, firstByteMs: 60_000, idleMs: 0 };
      await assert.rejects(
        send(target, '/v1/messages', { method: 'POST', headers: {}, body: '{}', agent, timeouts: slow }),
        (e: unknown) => e instanceof HttpTimeout && e.phase === 'connect',
      );
      // No connect limit: an abort (the client hung up) still ends the wait.
      const none = { connectMs: 0, firstByteMs: 0, idleMs: 0 };
      const ac = new AbortController();
      const pending = send(target, '/v1/messages', {
        method: 'POST',
        headers: {},
        agent,
        timeouts: none,
        signal: ac.signal,
      });
      setTimeout(() => ac.abort(new Error('client left')), 50);
      await assert.rejects(pending, { name: 'AbortError' });
    } finally {
      agent.destroy();
      for (const c of held) c.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});
