/**
 * No connection outlives its welcome (issue 18, item 3). About 20,000 clients sending a body a byte
 * at a time once used every file descriptor: now a request must arrive within `server.body_timeout_s`,
 * a refused one ends its connection, and connections are capped in total and per client address.
 * Answers are not bounded by any of it: a stream or a silent long answer outlasts the deadline.
 *
 * Every wait is for an event (a close, an answer); the short deadlines are settings, never asserts.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { postHead, type RawClient, rawClient } from '../helpers/raw-http.ts';
import { until, within } from '../resilience/harness.ts';
import {
  type FakeUpstream,
  reply,
  startFakeUpstream,
  TEST_ACCESS_TOKEN,
  withDelivery,
} from '../support/fake-upstream.ts';

const TOKEN = 'ccp_connections-test-token-0123456789abcdefghij';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Start a body and then send one more byte of it every `everyMs`, forever (until the server ends it). */
function tricklers(port: number, n: number, headers: Record<string, string> = {}, everyMs = 250) {
  const clients: RawClient[] = [];
  for (let i = 0; i < n; i++) {
    const c = rawClient(port, postHead('/api/v1/messages', 100_000, headers));
    c.socket.write('{"messages":[');
    clients.push(c);
  }
  const timer = setInterval(() => {
    for (const c of clients) if (!c.socket.destroyed && c.socket.writable) c.socket.write(' ');
  }, everyMs);
  return {
    clients,
    connected: Promise.all(clients.map((c) => new Promise((r) => c.socket.once('connect', r)))),
    closed: Promise.all(clients.map((c) => c.closed)).finally(() => clearInterval(timer)),
    stop() {
      clearInterval(timer);
      for (const c of clients) c.socket.destroy();
    },
  };
}

/** How many connections the proxy holds right now. */
function openConnections(p: TestProxy): Promise<number> {
  return new Promise((resolve, reject) =>
    p.proxy.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
  );
}

/** GET a path on a connection of its own (never one from a pool), closing it after. */
function get(port: number, path: string, host = '127.0.0.1', extra = '') {
  return rawClient(
    port,
    `GET ${path} HTTP/1.1\r\nhost: ${host}:${port}\r\nconnection: close\r\n${extra}\r\n`,
    host,
  );
}

describe('slow uploads', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;
  let port: number;

  before(async () => {
    fake = await startFakeUpstream();
    proxy = await startProxy({
      settings: { upstream: { base_url: fake.url }, server: { body_timeout_s: 1 } },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
      logLevel: 'warn',
    });
    port = Number(new URL(proxy.url).port);
  });
  after(async () => {
    await proxy?.close();
    await fake?.close();
  });

  it('500 trickling connections are all closed at the body deadline; the proxy serves on meanwhile', async () => {
    const t = tricklers(port, 500);
    try {
      await within(30_000, '500 connections open', t.connected);
      // While all 500 are held open (they cannot be closed before the deadline): health, and real work.
      const health = get(port, '/health/live');
      const client = new Anthropic({ baseURL: `${proxy.url}/api`, apiKey: 'x', maxRetries: 0 });
      const answer = client.messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 16,
        messages: [{ role: 'user', content: 'still there?' }],
      });
      assert.equal((await within(30_000, '/health', health.response)).status, 200);
      assert.equal((await within(30_000, 'a real request', answer)).type, 'message');

      await within(60_000, 'every trickling connection closed by the proxy', t.closed);
      const answers = (await Promise.allSettled(t.clients.map((c) => c.response)))
        .filter((a) => a.status === 'fulfilled')
        .map((a) => (a as PromiseFulfilledResult<{ status: number; json: any }>).value);
      assert.ok(answers.length > 0, 'the timed-out clients are told why');
      for (const a of answers) {
        assert.equal(a.status, 408);
        assert.equal(a.json.error.type, 'timeout_error', 'in the format of the route they were sending to');
        assert.match(a.json.error.message, /server\.body_timeout_s/);
      }
      assert.equal(fake.messages().filter((m) => JSON.stringify(m.body).includes('still there?')).length, 1);
      await until('the proxy holding none of them', async () => (await openConnections(proxy)) <= 1, 10_000);
    } finally {
      t.stop();
    }
  });

  it('a stream and a silent non-streamed answer that outlast the deadline are not cut', async () => {
    const streamGate = deferred();
    const heldGate = deferred();
    const text = 'one two three four five six';
    fake.enqueue(
      withDelivery(reply.text(text, { deltas: 6 }), { pauseAfterEvents: 4, resume: streamGate.promise }),
    );
    const openai = new OpenAI({ baseURL: `${proxy.url}/api/v1`, apiKey: 'x', maxRetries: 0 });
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      messages: [{ role: 'user', content: 'stream, slowly' }],
    });
    const it = stream[Symbol.asyncIterator]();
    let got = '';
    while (!got) {
      const { value, done } = await within(20_000, 'the first delta', it.next());
      assert.equal(done, false);
      got += value.choices[0]?.delta?.content ?? '';
    }

    fake.enqueue(async () => {
      await heldGate.promise;
      return reply.text('worth the wait');
    });
    const anthropic = new Anthropic({ baseURL: `${proxy.url}/api`, apiKey: 'x', maxRetries: 0 });
    const held = anthropic.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'take your time' }],
    });
    await within(
      20_000,
      'the held request upstream',
      fake.waitForRequest((r) => JSON.stringify(r.body).includes('take your time')),
    );

    // A request started after both: once the proxy has cut it, both are past the deadline too.
    const late = tricklers(port, 1);
    await within(30_000, 'a later slow upload cut', late.closed);
    assert.equal((await late.clients[0]!.response).status, 408);

    streamGate.resolve();
    heldGate.resolve();
    for (;;) {
      const { value, done } = await within(20_000, 'the rest of the stream', it.next());
      if (done) break;
      got += value.choices[0]?.delta?.content ?? '';
    }
    assert.equal(got, text);
    const message = await within(20_000, 'the held answer', held);
    assert.equal(message.content[0]?.type === 'text' && message.content[0].text, 'worth the wait');
  });
});

describe('refused before the body arrived', () => {
  let proxy: TestProxy;
  let port: number;

  before(async () => {
    proxy = await startProxy({
      settings: { security: { auth_token: TOKEN }, server: { body_timeout_s: 1 } },
      logLevel: 'warn',
    });
    port = Number(new URL(proxy.url).port);
  });
  after(() => proxy?.close());

  it('a 401 or 415 comes at once, says Connection: close, and the connection ends by the deadline', async () => {
    const noToken = tricklers(port, 20);
    const wrongType = tricklers(port, 20, { 'x-api-key': TOKEN, 'content-type': 'text/plain' });
    try {
      for (const c of noToken.clients) {
        const r = await within(20_000, 'the 401', c.response);
        assert.equal(r.status, 401);
        assert.equal(r.headers.connection, 'close');
      }
      for (const c of wrongType.clients) {
        const r = await within(20_000, 'the 415', c.response);
        assert.equal(r.status, 415);
        assert.equal(r.headers.connection, 'close');
      }
      await within(60_000, 'refused connections closed', Promise.all([noToken.closed, wrongType.closed]));
      for (const c of [...noToken.clients, ...wrongType.clients])
        assert.equal(c.received.match(/HTTP\/1\.1 /g)?.length, 1, `one answer only: ${c.received}`);
    } finally {
      noToken.stop();
      wrongType.stop();
    }
  });
});

describe('shutdown', () => {
  it('a refused upload still arriving does not hold up closing the proxy', async () => {
    // No body deadline: only the shutdown itself can end that connection soon.
    const proxy = await startProxy({
      settings: { security: { auth_token: TOKEN }, server: { body_timeout_s: 0 } },
      logLevel: 'warn',
    });
    const port = Number(new URL(proxy.url).port);
    const t = tricklers(port, 3);
    try {
      for (const c of t.clients) assert.equal((await within(20_000, 'the 401', c.response)).status, 401);
      await within(20_000, 'the proxy closed', proxy.close());
      await within(20_000, 'the refused connections closed', t.closed);
    } finally {
      t.stop();
    }
  });
});

describe('connection caps', () => {
  it('server.max_connections: one more is refused, and welcome again once one closes', async () => {
    const proxy = await startProxy({ settings: { server: { max_connections: 8 } }, logLevel: 'warn' });
    const port = Number(new URL(proxy.url).port);
    const idle = tricklers(port, 8, {}, 60_000);
    try {
      await within(20_000, '8 connections', idle.connected);
      await until('the proxy holding 8', async () => (await openConnections(proxy)) === 8);
      const over = get(port, '/health/live');
      await assert.rejects(within(20_000, 'the ninth', over.response), /closed without an answer/);
      idle.clients[0]!.socket.destroy();
      await until('one closed', async () => (await openConnections(proxy)) === 7);
      const ok = get(port, '/health/live');
      assert.equal((await within(20_000, 'a connection after one closed', ok.response)).status, 200);
      await until('a warning logged', () => /server\.max_connections/.test(proxy.logs()));
    } finally {
      idle.stop();
      await proxy.close();
    }
  });

  // Connections to this machine's own network address come from that (non-loopback) address.
  const lan = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

  it('server.max_connections_per_client caps one network address; loopback clients are not counted', {
    skip: lan ? false : 'no non-loopback IPv4 address on this machine',
  }, async () => {
    const proxy = await startProxy({
      settings: {
        server: { host: '0.0.0.0', max_connections_per_client: 3 },
        security: { auth_token: TOKEN },
      },
      logLevel: 'warn',
    });
    const port = Number(new URL(proxy.url).port);
    const opened: RawClient[] = [];
    const open = (host: string) => {
      const c = rawClient(port, '', host);
      opened.push(c);
      return new Promise((r) => c.socket.once('connect', r));
    };
    try {
      await Promise.all([open(lan!), open(lan!), open(lan!)]);
      await until('the proxy holding 3', async () => (await openConnections(proxy)) === 3);
      const fourth = get(port, '/health/live', lan);
      await assert.rejects(
        within(20_000, 'a fourth from the address', fourth.response),
        /closed without an answer/,
      );
      // Loopback is the user's own machine: never capped per address.
      await Promise.all(Array.from({ length: 6 }, () => open('127.0.0.1')));
      assert.equal((await within(20_000, 'loopback', get(port, '/health/live').response)).status, 200);
      opened[0]!.socket.destroy();
      await until('one of the three closed', async () => (await openConnections(proxy)) === 8);
      const again = get(port, '/health/live', lan);
      assert.equal((await within(20_000, 'the address again', again.response)).status, 200);
      await until('a warning logged', () => /server\.max_connections_per_client/.test(proxy.logs()));
    } finally {
      for (const c of opened) c.socket.destroy();
      await proxy.close();
    }
  });
});
