import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { request } from 'undici';
import { EXIT_CODES } from '../../src/auth/errors.ts';
import { parsePasted } from '../../src/auth/login.ts';
import { login } from '../../src/cli/auth/login.ts';
import { type StartOptions, startProxy } from '../helpers/proxy.ts';
import { runCli } from '../security/cli.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import {
  type AuthDir,
  authSettings,
  type BrowserVisit,
  context,
  fakeUrls,
  mode,
  oauthDoc,
  playBrowser,
  scriptedIO,
  tempDir,
  writeJson,
} from './helpers.ts';

describe('ccproxy auth login', () => {
  let fake: FakeUpstream;
  let d: AuthDir;

  before(async () => {
    fake = await startFakeUpstream();
  });
  after(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    fake.oauth.consent = 'allow';
    d?.cleanup();
    d = tempDir();
  });
  after(() => d?.cleanup());

  const stored = (file = d.store) => JSON.parse(fs.readFileSync(file, 'utf8')).claudeAiOauth;

  it('logs in end to end: browser → local callback → token exchange with PKCE → profile → store (0600)', async () => {
    let visit: BrowserVisit | undefined;
    const io = scriptedIO({
      browser: async (url) => {
        visit = await playBrowser(url);
      },
    });
    const code = await login(context(authSettings(fake, d), io), { timeout: '60' });
    await io.browsed();
    assert.equal(code, 0, io.stderr);

    // The authorize request: exactly Claude Code's parameters.
    const authorize = fake.received.find((r) => r.path === '/oauth/authorize')!;
    const q = authorize.query;
    assert.equal(q.code, 'true');
    assert.equal(q.client_id, '9d1c250a-e61b-44d9-88ed-5944d1962f5e');
    assert.equal(q.response_type, 'code');
    assert.match(q.redirect_uri, /^http:\/\/localhost:\d+\/callback$/);
    assert.equal(q.scope, 'org:create_api_key user:profile user:inference');
    assert.equal(q.code_challenge_method, 'S256');
    assert.match(q.state, /^[\w-]{43}$/);

    // The token request: a JSON body with the verifier that hashes to the challenge, and the state.
    const token = fake.received.find((r) => r.path === '/v1/oauth/token')!;
    assert.match(String(token.headers['content-type']), /application\/json/);
    const body = token.body as Record<string, string>;
    assert.deepEqual(Object.keys(body).sort(), [
      'client_id',
      'code',
      'code_verifier',
      'grant_type',
      'redirect_uri',
      'state',
    ]);
    assert.equal(body.grant_type, 'authorization_code');
    assert.equal(body.redirect_uri, q.redirect_uri);
    assert.equal(body.state, q.state);
    assert.equal(createHash('sha256').update(body.code_verifier).digest('base64url'), q.code_challenge);
    assert.equal(body.code, visit!.redirect.searchParams.get('code'));

    // The browser was told it worked; the pair is stored, private, with the plan from the profile.
    assert.equal(visit!.status, 200);
    assert.match(visit!.page!, /Logged in/);
    const issued = fake.oauth.issued.at(-1)!;
    const saved = stored();
    assert.equal(saved.accessToken, issued.accessToken);
    assert.equal(saved.refreshToken, issued.refreshToken);
    assert.equal(saved.subscriptionType, 'max');
    assert.ok(saved.expiresAt > Date.now());
    assert.equal(mode(d.store), 0o600);
    assert.match(io.stdout, /Logged in as test\.user@example\.com/);
    assert.ok(!io.stdout.includes(issued.accessToken) && !io.stdout.includes(issued.refreshToken));
  });

  it('--no-browser prints a clickable URL and waits for it to be opened elsewhere', async () => {
    const io = scriptedIO();
    const done = login(context(authSettings(fake, d), io), { browser: false, timeout: '60' });
    const [url] = await io.waitFor(/http:\/\/127\.0\.0\.1:\d+\/oauth\/authorize\?\S+/);
    const visit = await playBrowser(url);
    assert.equal(await done, 0, io.stderr);
    assert.equal(io.opened.length, 0, 'no browser was started');
    assert.equal(visit.status, 200);
    assert.equal(stored().accessToken, fake.oauth.lastAccessToken);
  });

  it('--manual shows the URL and takes the pasted code#state', async () => {
    const io = scriptedIO({
      answers: [
        async () => {
          const [url] = io.stdout.match(/http:\/\/127\.0\.0\.1:\d+\/oauth\/authorize\?\S+/)!;
          const { redirect } = await playBrowser(url, { follow: false });
          // The OAuth server's own page (not a local server) receives the code and shows code#state.
          assert.equal(redirect.origin + redirect.pathname, `${fake.url}/oauth/code/callback`);
          return `${redirect.searchParams.get('code')}#${redirect.searchParams.get('state')}`;
        },
      ],
    });
    assert.equal(
      await login(context(authSettings(fake, d), io), { manual: true, timeout: '60' }),
      0,
      io.stderr,
    );
    assert.deepEqual(io.prompts, ['Code: ']);
    assert.equal(io.opened.length, 0);
    assert.equal(stored().accessToken, fake.oauth.lastAccessToken);
    assert.equal(mode(d.store), 0o600);
  });

  it('reads a pasted code in any of the shapes people paste', () => {
    assert.deepEqual(parsePasted(' abc#st '), { code: 'abc', state: 'st' });
    assert.deepEqual(parsePasted('abc'), { code: 'abc' });
    assert.deepEqual(parsePasted('https://x.test/oauth/code/callback?code=abc&state=st'), {
      code: 'abc',
      state: 'st',
      error: undefined,
      error_description: undefined,
    });
    assert.deepEqual(parsePasted('"abc#st"'), { code: 'abc', state: 'st' });
  });

  describe('failures end with their own exit code and leave credentials untouched', () => {
    const existing = oauthDoc({
      accessToken: 'sk-ant-oat01-existing-access-000000',
      refreshToken: 'sk-ant-ort01-existing-refresh-00000',
    });
    const untouched = () => assert.deepEqual(JSON.parse(fs.readFileSync(d.store, 'utf8')), existing);

    it('a callback with the wrong state (local callback)', async () => {
      writeJson(d.store, existing);
      let visit: BrowserVisit | undefined;
      const io = scriptedIO({
        browser: async (url) => {
          visit = await playBrowser(url, { alter: (u) => u.searchParams.set('state', 'forged') });
        },
      });
      const code = await login(context(authSettings(fake, d), io), { timeout: '60' });
      await io.browsed();
      assert.equal(code, EXIT_CODES.state_mismatch);
      assert.match(io.stderr, /different state/);
      assert.equal(visit!.status, 400);
      assert.match(visit!.page!, /Login failed/);
      assert.equal(fake.oauth.codeExchanges, 0, 'the code was never exchanged');
      untouched();
    });

    it('a pasted code#state with the wrong state (manual)', async () => {
      writeJson(d.store, existing);
      const io = scriptedIO({
        answers: [
          async () => {
            const [url] = io.stdout.match(/http:\/\/127\.0\.0\.1:\d+\/oauth\/authorize\?\S+/)!;
            const { redirect } = await playBrowser(url, { follow: false });
            return `${redirect.searchParams.get('code')}#not-the-state`;
          },
        ],
      });
      assert.equal(
        await login(context(authSettings(fake, d), io), { manual: true }),
        EXIT_CODES.state_mismatch,
      );
      assert.equal(fake.oauth.codeExchanges, 0);
      untouched();
    });

    it('a denied consent', async () => {
      writeJson(d.store, existing);
      fake.oauth.consent = 'deny';
      let visit: BrowserVisit | undefined;
      const io = scriptedIO({
        browser: async (url) => {
          visit = await playBrowser(url);
        },
      });
      assert.equal(await login(context(authSettings(fake, d), io), {}), EXIT_CODES.denied);
      await io.browsed();
      assert.match(io.stderr, /declined/);
      assert.equal(visit!.status, 403);
      untouched();
    });

    it('an expired or invalid code', async () => {
      writeJson(d.store, existing);
      const io = scriptedIO({
        answers: [
          async () => {
            const [url] = io.stdout.match(/http:\/\/127\.0\.0\.1:\d+\/oauth\/authorize\?\S+/)!;
            const state = new URL(url).searchParams.get('state');
            return `expired-code-123#${state}`;
          },
        ],
      });
      assert.equal(
        await login(context(authSettings(fake, d), io), { manual: true }),
        EXIT_CODES.invalid_grant,
      );
      assert.match(io.stderr, /not accepted \(invalid_grant/);
      untouched();
    });

    it('nobody comes back before the timeout (and the callback server is closed)', async () => {
      writeJson(d.store, existing);
      const io = scriptedIO();
      const done = login(context(authSettings(fake, d), io), { browser: false, timeout: '0.2' });
      const [redirect] = await io.waitFor(/http:\/\/localhost:\d+\/callback/);
      assert.equal(await done, EXIT_CODES.timeout);
      assert.match(io.stderr, /did not finish within 0\.2s/);
      await assert.rejects(request(`${redirect}?code=x&state=y`));
      untouched();
    });

    it('manual mode with nothing pasted before the timeout', async () => {
      writeJson(d.store, existing);
      const io = scriptedIO();
      assert.equal(
        await login(context(authSettings(fake, d), io), { manual: true, timeout: '0.2' }),
        EXIT_CODES.timeout,
      );
      untouched();
    });

    it('--file refuses to overwrite a file that is not ccproxy’s store without --force', async () => {
      const other = oauthDoc({ accessToken: 'sk-ant-oat01-claude-cli-000000000' });
      writeJson(d.claudeFile, { ...other, mcpOAuth: { keep: 'me' } });
      const io = scriptedIO();
      const code = await login(context(authSettings(fake, d), io), { file: d.claudeFile, manual: true });
      assert.equal(code, EXIT_CODES.file_exists);
      assert.match(io.stderr, /--force/);
      assert.equal(fake.oauth.authorizeCalls, 0, 'refused before any login started');
      assert.deepEqual(JSON.parse(fs.readFileSync(d.claudeFile, 'utf8')), {
        ...other,
        mcpOAuth: { keep: 'me' },
      });
    });
  });

  it('--file with --force replaces the login and keeps the file’s other keys', async () => {
    writeJson(d.claudeFile, {
      ...oauthDoc({ accessToken: 'sk-ant-oat01-old-000000000000' }),
      mcpOAuth: { keep: 'me' },
    });
    const io = scriptedIO({ browser: (url) => playBrowser(url) });
    assert.equal(
      await login(context(authSettings(fake, d), io), { file: d.claudeFile, force: true }),
      0,
      io.stderr,
    );
    const doc = JSON.parse(fs.readFileSync(d.claudeFile, 'utf8'));
    assert.equal(doc.claudeAiOauth.accessToken, fake.oauth.lastAccessToken);
    assert.deepEqual(doc.mcpOAuth, { keep: 'me' });
    assert.equal(mode(d.claudeFile), 0o600);
    assert.match(io.stdout, /Claude Code uses this login too/);
    assert.equal(fs.existsSync(d.store), false);
  });

  it('says when the Claude CLI’s credentials exist and are used, and when the env token wins', async () => {
    writeJson(
      d.claudeFile,
      oauthDoc({ accessToken: 'sk-ant-oat01-claude-cli-000000000', subscriptionType: 'pro' }),
    );
    const io = scriptedIO({ browser: (url) => playBrowser(url) });
    const code = await login(
      context(authSettings(fake, d), io, { CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-env-00000000' }),
      {},
    );
    assert.equal(code, 0, io.stderr);
    assert.match(io.stdout, /Found the Claude CLI's credentials at .*\.credentials\.json .*pro plan/);
    assert.match(io.stdout, /CLAUDE_CODE_OAUTH_TOKEN is set/);
    assert.ok(!io.stdout.includes('sk-ant-oat01-claude-cli-000000000'));
  });

  it('uses the configured callback port', async () => {
    const probe = await startProxy({ settings: { server: { port: 0 } } });
    const port = Number(new URL(probe.url).port);
    await probe.close(); // a port that was free a moment ago
    const io = scriptedIO({ browser: (url) => playBrowser(url) });
    const settings = authSettings(fake, d, { auth: { callback_port: port } });
    assert.equal(await login(context(settings, io), {}), 0, io.stderr);
    assert.equal(
      fake.received.find((r) => r.path === '/oauth/authorize')!.query.redirect_uri,
      `http://localhost:${port}/callback`,
    );
  });

  describe('through a running proxy (GET /oauth/callback)', () => {
    const start = (over: StartOptions = {}) =>
      startProxy({
        ...over,
        settings: { ...fakeUrls(fake), ...(over.settings ?? {}) } as StartOptions['settings'],
      });

    it('finishes the login in the proxy, which uses the new credentials at once', async () => {
      const proxy = await start({ settings: { security: { auth_token: 'ccp_test_token_for_login_0001' } } });
      try {
        assert.equal(proxy.proxy.tokens.state().source, undefined);
        let visit: BrowserVisit | undefined;
        const io = scriptedIO({
          browser: async (url) => {
            visit = await playBrowser(url);
          },
        });
        const cli = authSettings(fake, d, { security: { auth_token: 'ccp_test_token_for_login_0001' } });
        // A login of its own here: not what --server replaces, so not named as such.
        writeJson(
          cli.auth.credentials_file,
          oauthDoc({ accessToken: 'sk-ant-oat01-local-login-0000000000' }),
        );
        assert.equal(await login(context(cli, io), { server: proxy.url, timeout: '60' }), 0, io.stderr);
        assert.doesNotMatch(io.stdout, /This replaces the login in/);
        fs.rmSync(cli.auth.credentials_file);
        await io.browsed();
        const q = fake.received.find((r) => r.path === '/oauth/authorize')!.query;
        assert.equal(q.redirect_uri, `${proxy.url}/oauth/callback`);
        assert.equal(visit!.status, 200);
        assert.match(visit!.page!, /Logged in/);
        const file = proxy.settings.auth.credentials_file;
        assert.equal(
          JSON.parse(fs.readFileSync(file, 'utf8')).claudeAiOauth.accessToken,
          fake.oauth.lastAccessToken,
        );
        assert.equal(mode(file), 0o600);
        assert.equal(proxy.proxy.tokens.state().kind, 'ccproxy');
        assert.equal(fs.existsSync(d.store), false, 'the CLI wrote nothing itself');
      } finally {
        await proxy.close();
      }
    });

    it('refuses a callback for a login it did not start, and needs the token to start one', async () => {
      const proxy = await start({ settings: { security: { auth_token: 'ccp_test_token_for_login_0002' } } });
      try {
        const res = await request(`${proxy.url}/oauth/callback?code=abc&state=forged`);
        assert.equal(res.statusCode, 400);
        assert.match(await res.body.text(), /Unknown or expired login/);
        assert.equal(fake.oauth.codeExchanges, 0);
        const start401 = await request(`${proxy.url}/oauth/login`, { method: 'POST' });
        assert.equal(start401.statusCode, 401);
        await start401.body.text();
        const io = scriptedIO();
        const code = await login(context(authSettings(fake, d), io), { server: proxy.url, timeout: '5' });
        assert.equal(code, EXIT_CODES.usage);
        assert.match(io.stderr, /answered 401/);
      } finally {
        await proxy.close();
      }
    });

    it('reports a denied consent back to the CLI', async () => {
      fake.oauth.consent = 'deny';
      const proxy = await start();
      try {
        const io = scriptedIO({ browser: (url) => playBrowser(url) });
        assert.equal(
          await login(context(authSettings(fake, d), io), { server: proxy.url, timeout: '60' }),
          EXIT_CODES.denied,
        );
        assert.equal(fs.existsSync(proxy.settings.auth.credentials_file), false);
      } finally {
        await proxy.close();
      }
    });
  });

  it('the real CLI exits with the state-mismatch code for a pasted code with a wrong state', async () => {
    const env = {
      ...process.env,
      HOME: d.dir,
      XDG_CONFIG_HOME: path.join(d.dir, 'config'),
      AUTH__AUTHORIZE_URL: `${fake.url}/oauth/authorize`,
      AUTH__TOKEN_URL: `${fake.url}/v1/oauth/token`,
      AUTH__PROFILE_URL: `${fake.url}/api/oauth/profile`,
      AUTH__CREDENTIALS_FILE: d.store,
      AUTH__CLAUDE_CREDENTIALS_FILE: d.claudeFile,
      CLAUDE_CODE_OAUTH_TOKEN: '',
    };
    // Run in the temp dir, so no .env or ccproxy.toml of the checkout is read.
    const {
      code,
      stdout: out,
      stderr: err,
    } = await runCli(['auth', 'login', '--manual'], {
      cwd: d.dir,
      env,
      input: 'some-code#some-other-state\n',
    });
    assert.equal(code, EXIT_CODES.state_mismatch, `${out}\n${err}`);
    assert.match(err, /different state/);
    assert.equal(fs.existsSync(d.store), false);
  });
});
