/**
 * `ccproxy auth login --account NAME` with the real OAuth flow against the fake upstream: a new
 * account gets its own file and a table in the user's settings file (which then loads and serves),
 * a listed account is logged in again in its own file, and bad input changes nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { EXIT_CODES } from '../../src/auth/errors.ts';
import { login } from '../../src/cli/auth/login.ts';
import { loadSettings } from '../../src/config/load.ts';
import {
  type AuthDir,
  authSettings,
  context,
  fakeUrls,
  mode,
  playBrowser,
  scriptedIO,
  tempDir,
} from '../auth/helpers.ts';
import { startProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { TOKEN_A } from './helpers.ts';

describe('ccproxy auth login --account', () => {
  let fake: FakeUpstream;
  let d: AuthDir;
  let settingsFile: string;

  before(async () => {
    fake = await startFakeUpstream({ accessTokens: [TOKEN_A] });
  });
  after(async () => {
    await fake.close();
    d?.cleanup();
  });
  beforeEach(() => {
    fake.reset();
    fake.oauth.consent = 'allow';
    d?.cleanup();
    d = tempDir();
    settingsFile = path.join(d.dir, 'config', 'config.toml');
  });

  const run = async (account: string, over: Record<string, unknown> = {}, extra = {}) => {
    const io = scriptedIO({ browser: (url) => playBrowser(url) });
    const ctx = { ...context(authSettings(fake, d, over), io, { ACCOUNTS_DIR: d.dir }), settingsFile };
    const code = await login(ctx, { timeout: '60', account, ...extra });
    await io.browsed();
    return { code, io };
  };
  const tokenIn = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')).claudeAiOauth.accessToken;

  it('a new account: its own file (0600), listed in the settings file, which then loads and serves', async () => {
    fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
    fs.writeFileSync(settingsFile, '# mine\n[[accounts.list]]\nname = "work"\noauth_token = "${TOKEN_A}"');
    const { code, io } = await run('personal');
    assert.equal(code, 0, io.stderr);
    const file = path.join(d.dir, 'ccproxy', 'accounts', 'personal.json');
    const issued = fake.oauth.lastAccessToken!;
    assert.equal(tokenIn(file), issued);
    assert.equal(mode(file), 0o600);
    assert.equal(fs.existsSync(d.store), false, 'the usual store is left alone');
    assert.match(io.stdout, /Logged in account "personal" as test\.user@example\.com, max plan/);
    assert.match(io.stdout, /Added account "personal" to .*config\.toml \(\[\[accounts\.list\]\]\)/);
    assert.ok(!io.stdout.includes(issued));
    const text = fs.readFileSync(settingsFile, 'utf8');
    assert.ok(text.startsWith('# mine\n'), 'the file is appended to, not rewritten');

    const loaded = loadSettings({ configFile: settingsFile, env: { TOKEN_A }, home: d.dir, cwd: d.dir });
    assert.deepEqual(
      loaded.settings.accounts.list.map((a) => [a.name, a.credentials_file ?? 'token']),
      [
        ['work', 'token'],
        ['personal', file],
      ],
    );

    // The proxy serves with it: the first account's token is refused, the new login answers.
    const proxy = await startProxy({
      settings: { ...fakeUrls(fake), accounts: loaded.settings.accounts as never },
      env: { TOKEN_A },
    });
    try {
      fake.credentials.accessTokens.delete(TOKEN_A);
      const client = new Anthropic({ baseURL: `${proxy.url}/api`, apiKey: 'x', maxRetries: 0 });
      const msg = await client.messages.create({
        model: 'claude-sonnet-5-5',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'hi' }],
      });
      assert.equal(msg.type, 'message');
      assert.equal(fake.messages().at(-1)!.headers.authorization, `Bearer ${issued}`);
    } finally {
      fake.credentials.accessTokens.add(TOKEN_A);
      await proxy.close();
    }
  });

  it('a settings file using the [[accounts]] shorthand goes on with it; a missing one is created', async () => {
    fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
    fs.writeFileSync(settingsFile, '[[accounts]]\nname = "work"\noauth_token = "x"\n');
    assert.equal((await run('second')).code, 0);
    assert.match(fs.readFileSync(settingsFile, 'utf8'), /\n\[\[accounts\]\]\nname = "second"\n/);

    fs.rmSync(settingsFile);
    const { code, io } = await run('third');
    assert.equal(code, 0, io.stderr);
    assert.match(fs.readFileSync(settingsFile, 'utf8'), /^\n\[\[accounts\.list\]\]\nname = "third"\n/);
    assert.equal(mode(settingsFile), 0o600);
  });

  it('an account the settings list is logged in again in its own file, settings untouched', async () => {
    const file = path.join(d.dir, 'teams', 'seat-1.json');
    const { code, io } = await run('seat-1', {
      accounts: { list: [{ name: 'seat-1', credentials_file: '${ACCOUNTS_DIR}/teams/seat-1.json' }] },
    });
    assert.equal(code, 0, io.stderr);
    assert.equal(tokenIn(file), fake.oauth.lastAccessToken);
    assert.equal(fs.existsSync(settingsFile), false);
    assert.match(io.stdout, /listed in the settings/);
  });

  it('bad input: a usage error that says why, and nothing is written', async () => {
    const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, RegExp]> = [
      ['no spaces', {}, {}, /--account "no spaces": use a name of letters/],
      [
        'work',
        { accounts: { list: [{ name: 'work', oauth_token: 'sk-ant-oat01-x' }] } },
        {},
        /Account "work" holds an oauth_token in the settings/,
      ],
      [
        'seat',
        { accounts: { list: [{ name: 'seat', credentials_file: '${NOT_SET_ANYWHERE}/x.json' }] } },
        {},
        /credentials_file names \$\{NOT_SET_ANYWHERE\}/,
      ],
      [
        'seat',
        { accounts: { list: [{ name: 'seat', credentials_file: '/tmp/seat.json' }] } },
        { file: '/tmp/other.json' },
        /reads its login from \/tmp\/seat\.json/,
      ],
      ['srv', {}, { server: 'http://127.0.0.1:1' }, /cannot be combined with --account/],
    ];
    const issuedBefore = fake.oauth.issued.length;
    for (const [name, over, extra, want] of cases) {
      const io = scriptedIO();
      const ctx = { ...context(authSettings(fake, d, over), io, {}), settingsFile };
      assert.equal(await login(ctx, { account: name, ...extra }), EXIT_CODES.usage, name);
      assert.match(io.stderr, want);
      assert.doesNotMatch(io.stderr, /sk-ant-oat01-x/);
    }
    assert.equal(fs.existsSync(settingsFile), false);
    assert.equal(fake.oauth.issued.length, issuedBefore, 'no login was started');
  });

  it('a settings file that writes the list inline is not changed; the table to add is printed', async () => {
    fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
    const inline = '[accounts]\nlist = [{ name = "work", oauth_token = "x" }]\n';
    fs.writeFileSync(settingsFile, inline);
    const { code, io } = await run('extra');
    assert.equal(code, 0, io.stderr);
    assert.equal(fs.readFileSync(settingsFile, 'utf8'), inline);
    assert.match(io.stdout, /Add the account to it by hand:\n\n\[\[accounts\.list\]\]\nname = "extra"/);
  });

  it('--file for a new account: saved there, but someone else’s file needs --force', async () => {
    const other = path.join(d.dir, 'elsewhere.json');
    fs.writeFileSync(other, '{}');
    const { code, io } = await run('elsewhere', {}, { file: other });
    assert.equal(code, EXIT_CODES.file_exists, io.stdout);
    const ok = await run('elsewhere', {}, { file: path.join(d.dir, 'fresh.json') });
    assert.equal(ok.code, 0, ok.io.stderr);
    assert.match(fs.readFileSync(settingsFile, 'utf8'), /credentials_file = ".*fresh\.json"/);
  });
});
