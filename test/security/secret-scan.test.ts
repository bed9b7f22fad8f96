/**
 * No secret ever reaches a log line, an error body, the access log, `config show`, the status and
 * health endpoints, or the auth commands' output. A whole session runs with logs at debug — a login
 * through the running proxy and one through the CLI, requests in every format (and SDK mode when it
 * is there), a refresh after an upstream 401, a dead refresh token, bad tokens and bad bodies — and
 * then everything written or answered is scanned for every token string the session saw.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { info } from '../../src/cli/auth/info.ts';
import { login } from '../../src/cli/auth/login.ts';
import { refresh } from '../../src/cli/auth/refresh.ts';
import { validate } from '../../src/cli/auth/validate.ts';
import {
  type AuthDir,
  authSettings,
  context,
  fakeUrls,
  playBrowser,
  scriptedIO,
  tempDir,
} from '../auth/helpers.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { runCli } from './cli.ts';

const PROXY_TOKEN = 'ccp_secret-scan-proxy-token-4f9c2a7e1b8d3c6a5e0f';
const WRONG_TOKEN = 'ccp_secret-scan-wrong-token-000000000000000000000';

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

describe('secret scan of a whole session', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;
  let d: AuthDir;
  /** Everything a person or a client could read: [where, text]. */
  const seen: Array<[string, string]> = [];

  before(async () => {
    fake = await startFakeUpstream({ oauth: { tokenDelayMs: 20 } });
    d = tempDir();
    proxy = await startProxy({
      logLevel: 'debug',
      settings: {
        ...fakeUrls(fake),
        security: { auth_token: PROXY_TOKEN },
        observability: { enabled: true },
        claude: { timeout_s: 30 },
      },
    });
  });
  after(async () => {
    await proxy?.close();
    await fake?.close();
    d?.cleanup();
  });

  async function call(
    where: string,
    method: 'GET' | 'POST',
    p: string,
    opts: { body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ) {
    const res = await request(`${proxy.url}${p}`, {
      method,
      headers: {
        'x-api-key': PROXY_TOKEN,
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
    });
    const text = await res.body.text();
    seen.push([`${where}: ${method} ${p} → ${res.statusCode}`, `${JSON.stringify(res.headers)}\n${text}`]);
    return { status: res.statusCode, text };
  }

  const messages = (content: string, extra: Record<string, unknown> = {}) => ({
    model: 'claude-sonnet-4-5',
    max_tokens: 32,
    messages: [{ role: 'user', content }],
    ...extra,
  });

  it('runs the session', async () => {
    // 1. Log in through the running proxy (its /oauth/callback saves the pair and switches to it).
    const viaProxy = scriptedIO({ browser: (url) => playBrowser(url) });
    const cliSettings = authSettings(fake, d, { security: { auth_token: PROXY_TOKEN } });
    assert.equal(
      await login(context(cliSettings, viaProxy), { server: proxy.url, timeout: '60' }),
      0,
      viaProxy.stderr,
    );
    await viaProxy.browsed();
    seen.push(['login --server output', viaProxy.stdout + viaProxy.stderr]);
    assert.equal(proxy.proxy.tokens.state().kind, 'ccproxy');

    // 2. Requests in every format, streamed and not, through the proxy.
    assert.equal((await call('api', 'POST', '/api/v1/messages', { body: messages('hello') })).status, 200);
    assert.equal(
      (await call('api', 'POST', '/api/v1/messages?beta=true', { body: messages('hi', { stream: true }) }))
        .status,
      200,
    );
    await call('api', 'POST', '/api/v1/messages/count_tokens', {
      body: { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'x' }] },
    });
    await call('api', 'GET', '/api/v1/models', { headers: { 'anthropic-version': '2023-06-01' } });
    await call('openai', 'POST', '/api/v1/chat/completions', {
      body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] },
    });
    await call('openai', 'POST', '/api/v1/chat/completions', {
      body: { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] },
      headers: { authorization: `Bearer ${PROXY_TOKEN}`, 'x-api-key': '' },
    });
    if (proxy.proxy.backends.sdk) {
      await call('sdk', 'POST', '/sdk/v1/messages', { body: messages('Say hi.') });
      await call('sdk', 'POST', '/sdk/v1/chat/completions', {
        body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] },
      });
    }

    // 3. Errors: no token, wrong token in each header, bad JSON, upstream errors, unknown path, bad Host.
    await call('err', 'POST', '/api/v1/messages', { body: messages('x'), headers: { 'x-api-key': '' } });
    await call('err', 'POST', '/api/v1/messages', {
      body: messages('x'),
      headers: { 'x-api-key': WRONG_TOKEN },
    });
    await call('err', 'POST', '/api/v1/chat/completions', {
      body: { model: 'gpt-4o', messages: [] },
      headers: { 'x-api-key': '', authorization: `Bearer ${WRONG_TOKEN}` },
    });
    await call('err', 'POST', '/api/v1/messages', { raw: '{"model": ' });
    await call('err', 'POST', '/api/v1/messages', { body: messages('[[fake:rate_limit]]') });
    await call('err', 'POST', '/api/v1/messages', { body: messages('[[fake:api_error]]') });
    await call('err', 'POST', '/api/v1/messages', {
      body: messages('[[fake:stream_error]]', { stream: true }),
    });
    await call('err', 'GET', '/nope');
    await call('err', 'GET', '/api/status', { headers: { host: 'evil.example' } });

    // 4. A refresh: the upstream rejects the access token early; the proxy refreshes once and retries.
    const before = fake.oauth.refreshCalls;
    fake.credentials.expire(fake.oauth.lastAccessToken!);
    assert.equal(
      (await call('refresh', 'POST', '/api/v1/messages', { body: messages('after expiry') })).status,
      200,
    );
    assert.equal(fake.oauth.refreshCalls, before + 1);

    // 5. Status, health, metrics and logs endpoints as they are now.
    for (const p of ['/api/status', '/health', '/health/ready', '/metrics', '/logs/status', '/logs/query'])
      await call('status', 'GET', p);

    // 6. The auth commands against the proxy's store, and a CLI login of its own.
    const store = proxy.settings.auth.credentials_file;
    const cli = authSettings(fake, d, { auth: { credentials_file: store } });
    for (const [name, run] of [
      ['info', (io: ReturnType<typeof scriptedIO>) => info(context(cli, io), {})],
      ['info --json', (io: ReturnType<typeof scriptedIO>) => info(context(cli, io), { json: true })],
      ['validate', (io: ReturnType<typeof scriptedIO>) => validate(context(cli, io))],
      ['refresh', (io: ReturnType<typeof scriptedIO>) => refresh(context(cli, io))],
    ] as const) {
      const io = scriptedIO();
      assert.equal(await run(io), 0, `${name}: ${io.stderr}`);
      seen.push([`auth ${name}`, io.stdout + io.stderr]);
    }
    const own = scriptedIO({ browser: (url) => playBrowser(url) });
    assert.equal(await login(context(authSettings(fake, d), own), {}), 0, own.stderr);
    await own.browsed();
    seen.push(['auth login', own.stdout + own.stderr]);

    // 7. A dead refresh token: the proxy says to log in again, without echoing anything.
    const live = JSON.parse(fs.readFileSync(store, 'utf8')).claudeAiOauth;
    for (const i of fake.oauth.issued) {
      fake.oauth.revoke(i.refreshToken);
      fake.credentials.expire(i.accessToken);
    }
    await call('dead', 'POST', '/api/v1/messages', { body: messages('dead') });
    await call('dead', 'GET', '/api/status');
    await call('dead', 'GET', '/health');
    const dead = scriptedIO();
    await validate(context(cli, dead));
    seen.push(['auth validate (dead)', dead.stdout + dead.stderr]);

    // 8. `config show`, with the proxy token and a subscription token in the environment.
    const env = {
      ...process.env,
      HOME: d.dir,
      XDG_CONFIG_HOME: path.join(d.dir, 'xdg'),
      SECURITY__AUTH_TOKEN: PROXY_TOKEN,
      CLAUDE_CODE_OAUTH_TOKEN: live.accessToken,
    };
    for (const args of [
      ['config', 'show'],
      ['config', 'show', '--json'],
    ]) {
      const r = await runCli(args, { cwd: d.dir, env });
      assert.equal(r.code, 0, r.stderr);
      seen.push([args.join(' '), r.stdout + r.stderr]);
    }
  });

  it('finds no token string anywhere', async () => {
    await proxy.proxy.close(); // flushes the access log and anything buffered
    const secrets = new Map<string, string>([
      [PROXY_TOKEN, 'the proxy token'],
      [WRONG_TOKEN, 'a wrong proxy token a client sent'],
    ]);
    for (const i of fake.oauth.issued) {
      secrets.set(i.accessToken, `access token (${i.grant})`);
      secrets.set(i.refreshToken, `refresh token (${i.grant})`);
    }
    for (const r of fake.received.filter((x) => x.path === '/v1/oauth/token')) {
      const b = r.body as Record<string, string>;
      if (b.code) secrets.set(b.code, 'authorization code');
      if (b.code_verifier) secrets.set(b.code_verifier, 'PKCE verifier');
      if (b.refresh_token) secrets.set(b.refresh_token, 'refresh token sent');
    }
    assert.ok(secrets.size >= 10, `secrets collected: ${secrets.size}`);

    const places: Array<[string, string]> = [['proxy log (debug)', proxy.logs()], ...seen];
    // Every file either side wrote, except the credential stores themselves.
    const stores = new Set(
      [proxy.settings.auth.credentials_file, d.store, d.claudeFile].map((f) => path.resolve(f)),
    );
    for (const f of [...filesUnder(proxy.dir), ...filesUnder(d.dir)]) {
      if (stores.has(path.resolve(f))) continue;
      places.push([
        `file ${path.relative(path.dirname(proxy.dir), f)}`,
        fs.readFileSync(f).toString('latin1'),
      ]);
    }
    assert.ok(proxy.logs().split('\n').length > 10, 'debug logging produced lines to scan');
    if (process.env.SECRET_SCAN_DUMP)
      for (const [where, text] of places) console.log(`--- ${where}\n${text}`);
    // The scan can see a token when there is one: the store holds the latest pair.
    const latest = fake.oauth.issued.at(-1)!;
    assert.ok(fs.readFileSync(d.store, 'utf8').includes(latest.accessToken));

    const leaks: string[] = [];
    for (const [where, text] of places)
      for (const [secret, what] of secrets) if (text.includes(secret)) leaks.push(`${what} in ${where}`);
    assert.deepEqual(leaks, []);

    // And the stores hold them only with mode 0600.
    for (const f of [proxy.settings.auth.credentials_file, d.store])
      assert.equal(fs.statSync(f).mode & 0o777, 0o600, f);
  });
});
