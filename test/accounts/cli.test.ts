/**
 * `ccproxy accounts list|pause|resume` and the accounts in `ccproxy status` and `/health`, against a
 * real running proxy with several accounts (the fake upstream behind it). The commands run
 * in-process where the text is checked and as the real CLI where exit codes and the token matter.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { list, setPaused } from '../../src/cli/accounts.ts';
import { ProxyClient } from '../../src/cli/proxy-client.ts';
import { statusReport } from '../../src/cli/status.ts';
import { settingsSchema } from '../../src/config/schema.ts';
import { freePort } from '../helpers/net.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { runCli } from '../security/cli.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';
import { API_KEY, accountOf, TOKEN_A, TOKEN_B } from './helpers.ts';

const TOKEN = 'accounts-cli-token-0123456789';

/** Where a command writes: what it printed to stdout and to stderr. */
function sink() {
  const s = {
    out: '',
    err: '',
    toOut: (t: string) => {
      s.out += t;
    },
    toErr: (t: string) => {
      s.err += t;
    },
  };
  return s;
}

describe('ccproxy accounts, status and health with several accounts', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;
  let client: ProxyClient;
  let cwd: string;
  const clock = Date.now();
  const settings = (token = TOKEN) => settingsSchema.parse({ security: { auth_token: token } });

  before(async () => {
    fake = await startFakeUpstream({
      accessTokens: [TOKEN_A, TOKEN_B],
      apiKeys: [API_KEY],
      rateLimit: { fiveHourUtilization: 0.42, sevenDayUtilization: 0.17 },
    });
    proxy = await startProxy({
      settings: {
        upstream: { base_url: fake.url },
        security: { auth_token: TOKEN },
        accounts: {
          list: [
            { name: 'a', oauth_token: TOKEN_A },
            { name: 'b', oauth_token: TOKEN_B },
            { name: 'payg', api_key: API_KEY },
            { name: 'old', oauth_token: 'sk-ant-oat01-old', enabled: false },
          ] as never,
        },
      },
      app: { clock: () => clock },
      logLevel: 'silent',
    });
    client = new ProxyClient(settings(), proxy.url);
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-accounts-cli-'));
  });
  after(async () => {
    await proxy?.close();
    await fake?.close();
    if (cwd) fs.rmSync(cwd, { recursive: true, force: true });
  });
  beforeEach(() => {
    fake.reset();
    for (const name of ['a', 'b']) {
      const a = proxy.proxy.accounts.get(name)!;
      a.recovered();
      a.paused = false;
    }
  });

  const ask = () =>
    new Anthropic({ baseURL: `${proxy.url}/api`, apiKey: TOKEN, maxRetries: 0 }).messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 8,
      messages: [{ role: 'user', content: `hi ${Math.random()}` }],
    });
  const env = () => ({ PATH: process.env.PATH, HOME: cwd, SECURITY__AUTH_TOKEN: TOKEN });

  it('list: each account with its kind, state, window utilisation and reset; never a token', async () => {
    await ask();
    proxy.proxy.accounts.get('b')!.cool(clock + 3600_000, 'usage window exhausted (429 rejected)');
    const t = sink();
    assert.equal(await list(client, false, t.toOut, t.toErr, new Date(clock)), 0, t.err);
    const out = t.out;
    assert.match(out, /^4 accounts, strategy priority\n/);
    assert.match(
      out,
      /^ {2}a {4}\s+oauth_token\s+ok · 5h 42% · 7d 17% · resets \d{4}-\d\d-\d\d \d\d:\d\d \(in /m,
    );
    assert.match(
      out,
      /^ {2}b {4}\s+oauth_token\s+cooling until .* \(in 1h\): usage window exhausted \(429 rejected\)$/m,
    );
    assert.match(out, /^ {2}payg\s+api_key \(spill-over off\)\s+ok$/m);
    assert.match(out, /^ {2}old\s+oauth_token\s+disabled$/m);
    assert.match(out, /spill-over off \(accounts\.spill_over\): api_key accounts are not used/);
    assert.doesNotMatch(out, /sk-ant-/);

    const json = sink();
    assert.equal(await list(client, true, json.toOut, json.toErr), 0);
    const parsed = JSON.parse(json.out);
    assert.deepEqual(
      parsed.accounts.map((a: { name: string; state: string }) => [a.name, a.state]),
      [
        ['a', 'ok'],
        ['b', 'cooling'],
        ['payg', 'ok'],
        ['old', 'disabled'],
      ],
    );
    assert.doesNotMatch(json.out, /sk-ant-/);
  });

  it('status lists the accounts; health warns while one cannot answer and fails when none can', async () => {
    proxy.proxy.accounts.get('a')!.paused = true;
    const r = await statusReport(
      settingsSchema.parse({
        security: { auth_token: TOKEN },
        server: { port: Number(new URL(proxy.url).port) },
      }),
    );
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, /\n\nAccounts\n {2}a .*paused · 5h 42%.*\n {2}b .*ok\n/);
    assert.doesNotMatch(r.text, /Credentials|Plan limits/, 'the accounts replace the one credential’s rows');
    assert.doesNotMatch(r.text, /sk-ant-/);
    const health = await (await fetch(`${proxy.url}/health`)).json();
    assert.equal(health.status, 'warn');
    assert.match(health.checks['credentials:login'][0].output, /some cannot answer: a: paused/);

    // b paused too: only the API key is left, and spill-over is off, so nothing can answer.
    proxy.proxy.accounts.get('b')!.paused = true;
    const ready = await fetch(`${proxy.url}/health/ready`);
    assert.equal(ready.status, 503);
    await ready.body?.cancel();

    // A client then gets a clear error in its own format, saying what to do; nothing went upstream.
    const openai = new OpenAI({ baseURL: `${proxy.url}/api/v1`, apiKey: TOKEN, maxRetries: 0 });
    const err = await openai.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
      .then(
        () => assert.fail('answered with every account paused'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof OpenAI.APIError);
    assert.equal(err.status, 503);
    assert.match(
      err.message,
      /No account can answer now — a: paused; b: paused; payg: api_key \(spill-over only\) \(api_key accounts are used only with accounts\.spill_over = true\)\. Resume an account with `ccproxy accounts resume NAME`/,
    );
    assert.equal(fake.messages().length, 0);
  });

  it('pause and resume through the real CLI: requests move off the paused account and back', async () => {
    const port = String(new URL(proxy.url).port);
    const paused = await runCli(['accounts', 'pause', 'a', '--port', port], { cwd, env: env() });
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, /^Paused:\n {2}a\s+oauth_token\s+paused/);
    await ask();
    assert.deepEqual(fake.messages().map(accountOf), ['b']);

    const resumed = await runCli(['accounts', 'resume', 'a', '--url', proxy.url], { cwd, env: env() });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /^Resumed:\n {2}a\s+oauth_token\s+ok/);
    await ask();
    assert.deepEqual(fake.messages().map(accountOf), ['b', 'a']);
  });

  it('an unknown name, a refused token or no proxy: exit code 1 with what to do', async () => {
    const unknown = await runCli(['accounts', 'pause', 'nope', '--url', proxy.url], { cwd, env: env() });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /No enabled account is named "nope"; the accounts are a, b, payg/);

    const t = sink();
    assert.equal(
      await setPaused(new ProxyClient(settings('wrong'), proxy.url), 'a', 'pause', t.toOut, t.toErr),
      1,
    );
    assert.match(t.err, /refused the token: set security\.auth_token/);
    assert.equal(proxy.proxy.accounts.get('a')!.paused, false);

    const down = await runCli(['accounts', 'list', '--port', String(await freePort())], { cwd, env: env() });
    assert.equal(down.code, 1);
    assert.match(
      down.stderr,
      /no proxy answers at http:\/\/127\.0\.0\.1:\d+ \(connection refused\)\. Start it/,
    );
  });
});

describe('ccproxy accounts without [[accounts.list]]', () => {
  it('list shows the one credential as `default`; pause says there is nothing to pause', async () => {
    const fake = await startFakeUpstream();
    const proxy = await startProxy({
      settings: { upstream: { base_url: fake.url } },
      env: { CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-test-token' },
      logLevel: 'silent',
    });
    try {
      const c = new ProxyClient(settingsSchema.parse({}), proxy.url);
      const t = sink();
      assert.equal(await list(c, false, t.toOut, t.toErr), 0, t.err);
      assert.match(t.out, /^No accounts configured .*\n {2}default\s+\S+\s+ok/);
      assert.equal(await setPaused(c, 'default', 'pause', t.toOut, t.toErr), 1);
      assert.match(t.err, /No accounts are configured \(accounts\.list\)/);
    } finally {
      await proxy.close();
      await fake.close();
    }
  });
});
