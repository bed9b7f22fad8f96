import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { request } from 'undici';
import { EXIT_CODES } from '../../src/auth/errors.ts';
import { info } from '../../src/cli/auth/info.ts';
import { logout } from '../../src/cli/auth/logout.ts';
import { refresh } from '../../src/cli/auth/refresh.ts';
import { validate } from '../../src/cli/auth/validate.ts';
import { startConnectProxy } from '../helpers/connect-proxy.ts';
import { startProxy } from '../helpers/proxy.ts';
import { runCli } from '../security/cli.ts';
import {
  type FakeUpstream,
  startFakeUpstream,
  TEST_ACCESS_TOKEN,
  TEST_REFRESH_TOKEN,
} from '../support/fake-upstream.ts';
import {
  type AuthDir,
  authSettings,
  context,
  fakeUrls,
  mode,
  oauthDoc,
  scriptedIO,
  tempDir,
  writeJson,
} from './helpers.ts';

const HOUR = 3_600_000;

describe('ccproxy auth info|validate|refresh|logout', () => {
  let fake: FakeUpstream;
  let d: AuthDir;

  before(async () => {
    fake = await startFakeUpstream();
  });
  after(async () => {
    await fake.close();
    d?.cleanup();
  });
  beforeEach(() => {
    fake.reset();
    // The fake rotates refresh tokens (one use each): every test starts with a live one.
    fake.oauth.refreshTokens.set(TEST_REFRESH_TOKEN, 'live');
    d?.cleanup();
    d = tempDir();
  });

  const fresh = (over: Record<string, unknown> = {}) =>
    oauthDoc({
      accessToken: TEST_ACCESS_TOKEN,
      refreshToken: TEST_REFRESH_TOKEN,
      expiresAt: Date.now() + 8 * HOUR,
      subscriptionType: 'max',
      ...over,
    });
  /** Settings listing two accounts: `work` with a credentials_file, `ci` with an oauth_token. */
  const withAccounts = () =>
    authSettings(fake, d, {
      accounts: {
        list: [
          { name: 'work', credentials_file: `${d.dir}/work.json` },
          { name: 'ci', oauth_token: 'sk-ant-oat01-ci-token-00000000000000' },
        ],
      },
    });
  const noSecrets = (text: string, ...secrets: string[]) => {
    for (const s of secrets) assert.ok(!text.includes(s), `a secret leaked: ${s.slice(0, 16)}…`);
  };

  describe('info', () => {
    it('shows source, plan, account and organisation from the profile, scopes, expiry, masked tokens', async () => {
      writeJson(d.store, fresh());
      const io = scriptedIO();
      assert.equal(await info(context(authSettings(fake, d), io), {}), 0, io.stderr);
      assert.match(io.stdout, /Source: +ccproxy credentials \(.*credentials\.json\)/);
      assert.match(io.stdout, /Subscription: +max/);
      assert.match(io.stdout, /Account: +test\.user@example\.com/);
      assert.match(io.stdout, /Organisation: +test\.user@example\.com's Organization \(claude_max\)/);
      assert.match(io.stdout, /Scopes: +user:inference user:profile/);
      assert.match(io.stdout, /Expires: +\d{4}-\d\d-\d\dT.* \(in 7h 59m\)/);
      assert.match(io.stdout, /Access token: +sk-ant-o…0000/);
      assert.match(io.stdout, /Status: +ok/);
      assert.equal(fake.oauth.profileCalls, 1);
      const profile = fake.received.find((r) => r.path === '/api/oauth/profile')!;
      assert.equal(profile.headers.authorization, `Bearer ${TEST_ACCESS_TOKEN}`);
      noSecrets(io.stdout + io.stderr, TEST_ACCESS_TOKEN, TEST_REFRESH_TOKEN);
    });

    it('says when the Claude CLI’s credentials are the ones in use, and --json', async () => {
      writeJson(d.claudeFile, fresh({ subscriptionType: 'pro' }));
      const io = scriptedIO();
      assert.equal(await info(context(authSettings(fake, d), io), {}), 0);
      assert.match(io.stdout, /Source: +Claude CLI credentials/);
      assert.match(io.stdout, /shared with Claude Code/);
      const json = scriptedIO();
      assert.equal(await info(context(authSettings(fake, d), json), { json: true }), 0);
      const doc = JSON.parse(json.stdout);
      assert.equal(doc.kind, 'claude-cli');
      assert.equal(doc.email, 'test.user@example.com');
      assert.equal(doc.access_token, 'sk-ant-o…0000');
      noSecrets(json.stdout, TEST_ACCESS_TOKEN, TEST_REFRESH_TOKEN);
    });

    it('lists shadowed sources and an env token', async () => {
      writeJson(d.store, fresh());
      writeJson(d.claudeFile, fresh());
      const io = scriptedIO();
      await info(context(authSettings(fake, d), io, { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN }), {});
      assert.match(io.stdout, /Source: +environment variable CLAUDE_CODE_OAUTH_TOKEN/);
      assert.match(io.stdout, /Expires: +unknown \(long-lived token\)/);
      assert.match(io.stdout, /Also found: +ccproxy credentials/);
      assert.match(io.stdout, /Also found: +Claude CLI credentials/);
    });

    it('with nothing found says what to run, exit 1', async () => {
      const io = scriptedIO();
      assert.equal(await info(context(authSettings(fake, d), io), {}), 1);
      assert.match(io.stdout, /ccproxy auth login/);
      // A file that holds no login is no warning; one that is broken says how.
      for (const [doc, warning] of [
        [{ mcpOAuth: {} }, undefined],
        [{ claudeAiOauth: null }, undefined],
        [[], /does not hold a JSON object/],
        ['sk-ant-oat01-pasted', /does not hold a JSON object/],
      ] as const) {
        writeJson(d.claudeFile, doc);
        const again = scriptedIO();
        assert.equal(await info(context(authSettings(fake, d), again), {}), 1);
        if (warning) assert.match(again.stderr, warning);
        else assert.doesNotMatch(again.stderr, /Credentials file/);
      }
      // The real command says it once (its logger said it a second time).
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-info-'));
      try {
        fs.mkdirSync(path.join(home, '.claude'));
        fs.writeFileSync(path.join(home, '.claude', '.credentials.json'), '{broken');
        const r = await runCli(['auth', 'info'], { cwd: home, env: { PATH: process.env.PATH, HOME: home } });
        assert.equal(r.stderr.split('is not valid JSON').length - 1, 1, r.stderr);
      } finally {
        fs.rmSync(home, { recursive: true, force: true });
      }
    });
  });

  describe('validate', () => {
    it('confirms a working token with one cheap upstream call (exit 0)', async () => {
      writeJson(d.store, fresh());
      const io = scriptedIO();
      assert.equal(await validate(context(authSettings(fake, d), io)), 0, io.stderr);
      assert.match(io.stdout, /^Valid:/);
      const calls = fake.received.filter((r) => r.path === '/v1/models');
      assert.equal(calls.length, 1);
      assert.equal(calls[0].headers.authorization, `Bearer ${TEST_ACCESS_TOKEN}`);
      assert.match(String(calls[0].headers['anthropic-beta']), /oauth-2025-04-20/);
      assert.equal(fake.oauth.refreshCalls, 0);
    });

    it('refreshes an expiring token first and writes the rotated pair back (0600)', async () => {
      writeJson(d.store, fresh({ expiresAt: Date.now() + 60_000 }));
      const io = scriptedIO();
      assert.equal(await validate(context(authSettings(fake, d), io)), 0, io.stderr);
      assert.equal(fake.oauth.refreshCalls, 1);
      const saved = JSON.parse(fs.readFileSync(d.store, 'utf8')).claudeAiOauth;
      assert.equal(saved.accessToken, fake.oauth.lastAccessToken);
      assert.notEqual(saved.refreshToken, TEST_REFRESH_TOKEN);
      assert.equal(mode(d.store), 0o600);
    });

    it('after a 401 refreshes once and tries again', async () => {
      writeJson(d.store, fresh());
      fake.credentials.expire(TEST_ACCESS_TOKEN); // revoked early, though the file says 8 hours
      const io = scriptedIO();
      assert.equal(await validate(context(authSettings(fake, d), io)), 0, io.stderr);
      assert.equal(fake.oauth.refreshCalls, 1);
      fake.credentials.accessTokens.add(TEST_ACCESS_TOKEN);
      fake.credentials.expiredTokens.delete(TEST_ACCESS_TOKEN);
    });

    it('a rejected token with no way to refresh: exit 1', async () => {
      writeJson(d.store, oauthDoc({ accessToken: 'sk-ant-oat01-unknown-token-0000000000' }));
      const io = scriptedIO();
      assert.equal(await validate(context(authSettings(fake, d), io)), 1);
      assert.match(io.stderr, /Invalid: .* rejected the token .*401/);
    });

    it('a dead refresh token: exit 6, re-login required', async () => {
      writeJson(
        d.store,
        fresh({ expiresAt: Date.now() - 1000, refreshToken: 'sk-ant-ort01-dead-refresh-000000000' }),
      );
      const io = scriptedIO();
      assert.equal(await validate(context(authSettings(fake, d), io)), EXIT_CODES.invalid_grant);
      assert.match(io.stderr, /Re-login required/);
    });

    it('an unreachable upstream: exit 8', async () => {
      writeJson(d.store, fresh());
      const io = scriptedIO();
      const settings = authSettings(fake, d, { upstream: { base_url: 'http://127.0.0.1:9' } });
      assert.equal(await validate(context(settings, io)), EXIT_CODES.unreachable);
    });

    it('goes through upstream.proxy_url, like requests do', async () => {
      const tunnel = await startConnectProxy(fake.port);
      try {
        writeJson(d.store, fresh());
        const io = scriptedIO();
        // `api.example.invalid` cannot resolve: only the proxy's tunnel reaches the fake upstream.
        const upstream = { base_url: `http://api.example.invalid:${fake.port}`, proxy_url: tunnel.url };
        assert.equal(await validate(context(authSettings(fake, d, { upstream }), io)), 0, io.stderr);
        assert.match(io.stdout, /^Valid:/);
        assert.deepEqual(tunnel.tunnels, [`api.example.invalid:${fake.port}`]);
        assert.equal(fake.received.filter((r) => r.path === '/v1/models').length, 1);
      } finally {
        await tunnel.close();
      }
    });
  });

  describe('refresh', () => {
    it('refreshes now, writes the pair back where it came from, prints it masked', async () => {
      writeJson(d.claudeFile, { ...fresh(), other: 'kept' });
      const io = scriptedIO();
      assert.equal(await refresh(context(authSettings(fake, d), io)), 0, io.stderr);
      assert.equal(fake.oauth.refreshCalls, 1);
      const doc = JSON.parse(fs.readFileSync(d.claudeFile, 'utf8'));
      assert.equal(doc.claudeAiOauth.accessToken, fake.oauth.lastAccessToken);
      assert.equal(doc.other, 'kept');
      assert.equal(mode(d.claudeFile), 0o600);
      assert.match(io.stdout, /Refreshed\. Access token sk-ant-o…/);
      noSecrets(io.stdout, fake.oauth.lastAccessToken!, fake.oauth.issued.at(-1)!.refreshToken);
    });

    it('an env token cannot be refreshed: exit 1 with the reason', async () => {
      const io = scriptedIO();
      const ctx = context(authSettings(fake, d), io, { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN });
      assert.equal(await refresh(ctx), 1);
      assert.match(io.stderr, /long-lived token/);
    });

    it('invalid_grant: re-login required everywhere — the CLI, a proxy started later, /health, /api/status', async () => {
      const dead = 'sk-ant-ort01-revoked-refresh-000000000';
      writeJson(d.store, fresh({ refreshToken: dead }));
      const io = scriptedIO();
      assert.equal(await refresh(context(authSettings(fake, d), io)), EXIT_CODES.invalid_grant);
      assert.match(io.stderr, /re-login required/);
      const before = JSON.parse(fs.readFileSync(d.store, 'utf8'));
      assert.equal(before.claudeAiOauth.refreshToken, dead, 'credentials are left alone');

      const again = scriptedIO();
      assert.equal(await refresh(context(authSettings(fake, d), again)), EXIT_CODES.invalid_grant);
      assert.equal(fake.oauth.refreshCalls, 1, 'a known-dead token is not tried again');

      const shown = scriptedIO();
      assert.equal(await info(context(authSettings(fake, d), shown), {}), EXIT_CODES.invalid_grant);
      assert.match(shown.stdout, /Status: +re-login required/);

      // A proxy using the same store knows it too, and says what to run.
      const proxy = await startProxy({
        settings: { ...fakeUrls(fake), auth: { ...fakeUrls(fake).auth, credentials_file: d.store } },
      });
      try {
        const health = await request(`${proxy.url}/health`);
        assert.equal(health.statusCode, 503);
        const h = (await health.body.json()) as {
          status: string;
          checks: Record<string, Array<{ output: string }>>;
        };
        assert.equal(h.status, 'fail');
        assert.match(h.checks['credentials:login'][0].output, /Re-login required/);
        const status = await request(`${proxy.url}/api/status`);
        const s = (await status.body.json()) as { credentials: { relogin_required: boolean } };
        assert.equal(s.credentials.relogin_required, true);
        const res = await request(`${proxy.url}/api/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'claude-sonnet-4-5',
            max_tokens: 10,
            messages: [{ role: 'user', content: 'hi' }],
          }),
        });
        assert.equal(res.statusCode, 401);
        const body = (await res.body.json()) as { error: { type: string; message: string } };
        assert.equal(body.error.type, 'authentication_error');
        assert.match(body.error.message, /ccproxy auth login/);
      } finally {
        await proxy.close();
      }

      // A new login brings a new refresh token: the state clears by itself.
      writeJson(d.store, fresh());
      const ok = scriptedIO();
      assert.equal(await info(context(authSettings(fake, d), ok), {}), 0);
      assert.match(ok.stdout, /Status: +ok/);
    });
  });

  describe('--account NAME (a listed credentials_file account)', () => {
    it("info, refresh and validate read and write that account's file, not the default login", async () => {
      // The default login is somewhere else and must stay untouched.
      writeJson(d.store, fresh({ accessToken: 'sk-ant-oat01-default-0000000000000000' }));
      writeJson(`${d.dir}/work.json`, fresh({ expiresAt: Date.now() - 1000 }));
      const before = fs.readFileSync(d.store, 'utf8');

      let io = scriptedIO();
      assert.equal(await info(context(withAccounts(), io), { account: 'work', json: true }), 0, io.stderr);
      const doc = JSON.parse(io.stdout);
      assert.equal(doc.account, 'work');
      assert.match(doc.source, /^account work \(.*work\.json\)$/);
      assert.match(doc.status, /ccproxy auth refresh --account work/);
      assert.deepEqual(doc.also_found, []);

      io = scriptedIO();
      assert.equal(await refresh(context(withAccounts(), io), { account: 'work' }), 0, io.stderr);
      assert.match(io.stdout, /written back to account work/);
      const work = JSON.parse(fs.readFileSync(`${d.dir}/work.json`, 'utf8'));
      assert.equal(work.claudeAiOauth.accessToken, fake.oauth.lastAccessToken);
      assert.equal(mode(`${d.dir}/work.json`), 0o600);

      io = scriptedIO();
      assert.equal(await validate(context(withAccounts(), io), { account: 'work' }), 0, io.stderr);
      assert.match(io.stdout, /Valid: .* accepted the token from account work/);
      assert.equal(fake.messages().length, 0, 'a model-list probe, not a message');
      assert.equal(fs.readFileSync(d.store, 'utf8'), before);
      noSecrets(io.stdout, fake.oauth.lastAccessToken!);
    });

    it('an unknown name, an oauth_token account and a missing login each say what to do', async () => {
      let io = scriptedIO();
      assert.equal(await info(context(withAccounts(), io), { account: 'nope' }), EXIT_CODES.usage);
      assert.match(io.stderr, /--account "nope": the settings list only "work", "ci"/);

      io = scriptedIO();
      assert.equal(await validate(context(withAccounts(), io), { account: 'ci' }), EXIT_CODES.usage);
      assert.match(io.stderr, /holds an oauth_token in the settings/);
      assert.doesNotMatch(io.stderr, /sk-ant-oat01-ci/);

      io = scriptedIO();
      assert.equal(await refresh(context(withAccounts(), io), { account: 'work' }), EXIT_CODES.failed);
      assert.match(
        io.stderr,
        /No login in .*work\.json for account "work"\. Run `ccproxy auth login --account work`/,
      );
    });
  });

  describe('logout --account NAME', () => {
    it("removes that account's login only, keeping the file's other keys and the default login", async () => {
      writeJson(d.store, fresh());
      writeJson(`${d.dir}/work.json`, { ...fresh(), mcpOAuth: { keep: 'me' } });
      const before = fs.readFileSync(d.store, 'utf8');
      const no = scriptedIO({ interactive: true, answers: ['n'] });
      assert.equal(await logout(context(withAccounts(), no), { account: 'work' }), 1);
      assert.match(no.prompts[0]!, /Remove the login of account work in .*work\.json\? \[y\/N\]/);
      const io = scriptedIO();
      assert.equal(await logout(context(withAccounts(), io), { account: 'work', yes: true }), 0, io.stderr);
      assert.deepEqual(JSON.parse(fs.readFileSync(`${d.dir}/work.json`, 'utf8')), {
        mcpOAuth: { keep: 'me' },
      });
      assert.equal(mode(`${d.dir}/work.json`), 0o600);
      assert.equal(fs.readFileSync(d.store, 'utf8'), before);
      assert.match(io.stdout, /Removed the login of account work .*`ccproxy auth login --account work`/);

      const again = scriptedIO();
      assert.equal(await logout(context(withAccounts(), again), { account: 'work', yes: true }), 0);
      assert.match(again.stdout, /Nothing to remove: .*work\.json holds no login for account "work"/);
    });

    it('an unknown name, an oauth_token account and --claude-cli with it are usage errors', async () => {
      let io = scriptedIO();
      assert.equal(
        await logout(context(withAccounts(), io), { account: 'nope', yes: true }),
        EXIT_CODES.usage,
      );
      assert.match(io.stderr, /--account "nope": the settings list only "work", "ci"/);
      io = scriptedIO();
      assert.equal(await logout(context(withAccounts(), io), { account: 'ci', yes: true }), EXIT_CODES.usage);
      assert.match(
        io.stderr,
        /holds an oauth_token in the settings: there is no login to show, refresh or remove/,
      );
      io = scriptedIO();
      const both = { account: 'work', yes: true, claudeCli: true };
      assert.equal(await logout(context(withAccounts(), io), both), EXIT_CODES.usage);
      assert.match(io.stderr, /--account and --claude-cli name different logins/);
    });
  });

  describe('logout', () => {
    it('--yes removes ccproxy’s store only and says what is used now', async () => {
      writeJson(d.store, fresh());
      writeJson(d.claudeFile, fresh());
      const io = scriptedIO();
      assert.equal(await logout(context(authSettings(fake, d), io), { yes: true }), 0, io.stderr);
      assert.equal(fs.existsSync(d.store), false);
      assert.equal(fs.existsSync(d.claudeFile), true);
      assert.match(io.stdout, /now uses Claude CLI credentials .*--claude-cli/);
    });

    it('asks first; anything but yes removes nothing', async () => {
      writeJson(d.store, fresh());
      const no = scriptedIO({ interactive: true, answers: ['n'] });
      assert.equal(await logout(context(authSettings(fake, d), no), {}), 1);
      assert.match(no.prompts[0], /Remove ccproxy's credentials in .*\? \[y\/N\]/);
      assert.equal(fs.existsSync(d.store), true);
      const yes = scriptedIO({ interactive: true, answers: ['y'] });
      assert.equal(await logout(context(authSettings(fake, d), yes), {}), 0);
      assert.equal(fs.existsSync(d.store), false);
      assert.match(yes.stdout, /No credentials remain/);
    });

    it('without a terminal and without --yes refuses (exit 2)', async () => {
      writeJson(d.store, fresh());
      const io = scriptedIO({ interactive: false });
      assert.equal(await logout(context(authSettings(fake, d), io), {}), EXIT_CODES.usage);
      assert.equal(fs.existsSync(d.store), true);
    });

    it('--claude-cli also removes the Claude CLI’s login, keeping the rest of its file', async () => {
      writeJson(d.claudeFile, { ...fresh(), mcpOAuth: { keep: 'me' } });
      const io = scriptedIO();
      assert.equal(await logout(context(authSettings(fake, d), io), { yes: true, claudeCli: true }), 0);
      assert.deepEqual(JSON.parse(fs.readFileSync(d.claudeFile, 'utf8')), { mcpOAuth: { keep: 'me' } });
      assert.equal(mode(d.claudeFile), 0o600);
    });

    it('with nothing stored says so', async () => {
      const io = scriptedIO();
      assert.equal(await logout(context(authSettings(fake, d), io), { yes: true }), 0);
      assert.match(io.stdout, /Nothing to remove/);
    });
  });
});
