/**
 * Behind a corporate proxy: upstream calls go through HTTPS_PROXY / upstream.proxy_url (an HTTP
 * CONNECT tunnel), NO_PROXY is honoured, and a malformed proxy URL stops start-up with a clear message.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import pino from 'pino';
import { fetchProfile } from '../../src/auth/oauth.ts';
import { TokenManager } from '../../src/auth/token-manager.ts';
import { Upstream } from '../../src/backends/api/upstream.ts';
import { settingsSchema } from '../../src/config/schema.ts';
import { authSettings, oauthDoc, silentLog, tempDir, writeJson } from '../auth/helpers.ts';
import { type ConnectProxy, startConnectProxy } from '../helpers/connect-proxy.ts';
import { bodyFor } from '../helpers/formats.ts';
import { startProxy } from '../helpers/proxy.ts';
import { within } from '../resilience/harness.ts';
import {
  type FakeUpstream,
  startFakeUpstream,
  TEST_ACCESS_TOKEN,
  TEST_REFRESH_TOKEN,
} from '../support/fake-upstream.ts';

describe('upstream through an HTTP proxy', () => {
  let fake: FakeUpstream;
  let proxyServer: ConnectProxy;
  before(async () => {
    fake = await startFakeUpstream();
    proxyServer = await startConnectProxy(fake.port);
  });
  after(async () => {
    await proxyServer.close();
    await fake.close();
  });

  // `api.example.invalid` cannot resolve: only the proxy's tunnel reaches the fake upstream.
  const remoteBase = () => `http://api.example.invalid:${fake.port}`;
  /** A minimal Messages request, sent raw: the status and error body are what is looked at. */
  const postMessage = (base: string) =>
    fetch(`${base}/api/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(bodyFor('anthropic', false, 'x')),
    });

  for (const via of ['HTTPS_PROXY', 'upstream.proxy_url'] as const) {
    it(`goes through ${via}`, async () => {
      const before = proxyServer.tunnels.length;
      const proxy = await startProxy({
        settings: {
          upstream: {
            base_url: remoteBase(),
            ...(via === 'upstream.proxy_url' ? { proxy_url: proxyServer.url } : {}),
          },
        },
        env: {
          CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN,
          ...(via === 'HTTPS_PROXY' ? { HTTPS_PROXY: proxyServer.url } : {}),
        },
        logLevel: 'warn',
      });
      try {
        const client = new Anthropic({ baseURL: `${proxy.url}/api`, apiKey: 'dummy', maxRetries: 0 });
        const msg = await client.messages.create({
          model: 'claude-sonnet-5-5',
          max_tokens: 64,
          messages: [{ role: 'user', content: 'Through the proxy?' }],
        });
        assert.equal(msg.type, 'message');
        assert.ok(proxyServer.tunnels.length > before, 'a tunnel was opened');
        assert.equal(proxyServer.tunnels.at(-1), `api.example.invalid:${fake.port}`);
        assert.equal(fake.messages().at(-1)!.headers.authorization, `Bearer ${TEST_ACCESS_TOKEN}`);
      } finally {
        await proxy.close();
      }
    });
  }

  it('the OAuth refresh and profile calls go through upstream.proxy_url too', async () => {
    const d = tempDir();
    try {
      writeJson(
        d.claudeFile,
        oauthDoc({
          accessToken: TEST_ACCESS_TOKEN,
          refreshToken: TEST_REFRESH_TOKEN,
          expiresAt: Date.now() - 1000,
        }),
      );
      const remote = `http://auth.example.invalid:${fake.port}`;
      const settings = authSettings(fake, d, {
        upstream: { base_url: remoteBase(), proxy_url: proxyServer.url },
        auth: { token_url: `${remote}/v1/oauth/token`, profile_url: `${remote}/api/oauth/profile` },
      });
      const tokens = new TokenManager({ settings, env: {}, log: silentLog() });
      const before = proxyServer.tunnels.length;
      const fresh = await tokens.getAccessToken();
      assert.notEqual(fresh, TEST_ACCESS_TOKEN, 'refreshed');
      assert.equal(proxyServer.tunnels.at(-1), `auth.example.invalid:${fake.port}`);
      const profile = await fetchProfile(settings, fresh);
      // auth.example.invalid cannot resolve: answers came through the tunnel (kept alive for both).
      assert.ok(profile.email, 'the profile answered');
      assert.ok(proxyServer.tunnels.length > before);
    } finally {
      d.cleanup();
    }
  });

  it('a proxy that never opens the tunnel is bounded by upstream.timeouts.connect_s', async () => {
    // Takes the connection, reads the CONNECT (so it sees the end of it), never answers.
    const held = new Set<net.Socket>();
    const silent = net.createServer((s) => held.add(s.resume()));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const proxy = await startProxy({
      settings: {
        upstream: {
          base_url: remoteBase(),
          proxy_url: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`,
          timeouts: { connect_s: 1, first_byte_s: 120 },
          retry: { max_attempts: 1 },
        },
      },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
      logLevel: 'silent',
    });
    try {
      const started = Date.now();
      const res = await postMessage(proxy.url);
      const body = (await res.json()) as { error: { message: string } };
      assert.equal(res.status, 504);
      assert.match(
        body.error.message,
        /connecting to the upstream \S+ through the proxy after 1s \(upstream\.timeouts\.connect_s\)/,
      );
      // Not the 120 s of first_byte_s (a bound, not a timing: the test has no tighter one).
      assert.ok(Date.now() - started < 60_000);
      // The socket to the proxy went with the request, though the CONNECT was never answered.
      assert.equal(held.size, 1);
      const [socket] = held;
      if (!socket!.destroyed && !socket!.readableEnded)
        await within(10_000, 'the unanswered tunnel closed', once(socket!, 'close'));
    } finally {
      await proxy.close();
      for (const s of held) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('a proxy that asks for credentials: with them in the URL it tunnels, without them a 502 that says so', async () => {
    const guarded = await startConnectProxy(fake.port, 'alice:s3cr%t');
    const withCredentials = (credentials: string) =>
      startProxy({
        settings: {
          upstream: {
            base_url: remoteBase(),
            proxy_url: guarded.url.replace('//', `//${credentials}`),
            retry: { max_attempts: 1 },
          },
        },
        env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
        logLevel: 'silent',
      });
    try {
      const good = await withCredentials('alice:s3cr%25t@');
      try {
        const res = await postMessage(good.url);
        assert.equal(res.status, 200);
        assert.equal(guarded.tunnels.length, 1);
      } finally {
        await good.close();
      }
      for (const credentials of ['', 'alice:wrong@']) {
        const bad = await withCredentials(credentials);
        try {
          const res = await postMessage(bad.url);
          assert.equal(res.status, 502);
          const { error } = (await res.json()) as { error: { type: string; message: string } };
          assert.equal(error.type, 'api_error');
          assert.match(
            error.message,
            new RegExp(
              `^The proxy 127\\.0\\.0\\.1:\\d+ \\(upstream\\.proxy_url, ${credentials ? 'credentials given' : 'no credentials'}\\) refused the tunnel to the upstream: HTTP 407 .* http://user:password@host:port`,
            ),
          );
          assert.doesNotMatch(error.message, /wrong|alice/, 'the credentials are not repeated');
        } finally {
          await bad.close();
        }
      }
    } finally {
      await guarded.close();
    }
  });

  it('NO_PROXY bypasses the proxy (the host then cannot be reached: 502)', async () => {
    const before = proxyServer.tunnels.length;
    const proxy = await startProxy({
      settings: { upstream: { base_url: remoteBase(), retry: { max_attempts: 1 } } },
      env: {
        CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN,
        HTTPS_PROXY: proxyServer.url,
        NO_PROXY: 'api.example.invalid',
      },
      logLevel: 'silent',
    });
    try {
      const res = await postMessage(proxy.url);
      assert.equal(res.status, 502);
      assert.equal(((await res.json()) as { type: string }).type, 'error');
      assert.equal(proxyServer.tunnels.length, before);
    } finally {
      await proxy.close();
    }
  });

  it('a loopback upstream never goes through a proxy; a malformed proxy URL is named', () => {
    const tokens = new TokenManager({
      settings: settingsSchema.parse({}),
      env: {},
      log: pino({ level: 'silent' }),
    });
    // Constructing is enough to see the choice: a malformed proxy would throw here.
    const env = { HTTPS_PROXY: 'not a url' };
    const loopback = settingsSchema.parse({ upstream: { base_url: fake.url } });
    assert.doesNotThrow(() => new Upstream(loopback, tokens, env));
    const remote = settingsSchema.parse({ upstream: { base_url: remoteBase() } });
    assert.throws(() => new Upstream(remote, tokens, env), /HTTPS_PROXY\/HTTP_PROXY is not a URL/);
    // A malformed proxy URL may still hold a password: the message does not repeat it.
    assert.throws(
      () => new Upstream(remote, tokens, { HTTPS_PROXY: 'http://me:hunter2@proxy:port' }),
      (err: Error) => /is not a URL/.test(err.message) && !err.message.includes('hunter2'),
    );
    // upstream.proxy_url itself is checked with the other settings (test/config).
    assert.throws(() => settingsSchema.parse({ upstream: { proxy_url: 'not a url' } }), /expected a URL/);
  });
});
