/**
 * Accounts across two ccproxy instances sharing one real PostgreSQL (storage.url): one refresh of a
 * rotating token across both, a cooldown one instance learns used by the other, a pause through
 * one instance obeyed by the other, and both instances' access-log rows, with their accounts, in
 * one table.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, reply, startFakeUpstream, TEST_REFRESH_TOKEN } from '../support/fake-upstream.ts';
import { postgresSkip, startPostgres, type TestPostgres } from '../support/postgres.ts';
import { accountOf, TOKEN_A, TOKEN_B, until } from './helpers.ts';

describe('accounts across instances on one PostgreSQL', { skip: postgresSkip() }, () => {
  let pg: TestPostgres;
  let fake: FakeUpstream;
  let one: TestProxy;
  let two: TestProxy;
  const exhausted = new Set<string>();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-team-accounts-'));

  /** Each instance has its own copy of the refreshable account's file, as on two machines. */
  const credentials = (name: string) => {
    const file = path.join(dir, `${name}.json`);
    fs.writeFileSync(
      file,
      JSON.stringify({
        claudeAiOauth: {
          accessToken: 'sk-ant-oat01-shared-about-to-expire-0000000000000000000000',
          refreshToken: TEST_REFRESH_TOKEN,
          expiresAt: Date.now() + 60_000,
        },
      }),
      { mode: 0o600 },
    );
    return file;
  };

  const start = (url: string, file: string) =>
    startProxy({
      logLevel: 'info',
      settings: {
        upstream: { base_url: fake.url },
        auth: { token_url: `${fake.url}/v1/oauth/token` },
        storage: { url },
        observability: { access_log: true, flush_interval_ms: 50 },
        accounts: {
          list: [
            { name: 'a', oauth_token: TOKEN_A },
            { name: 'b', oauth_token: TOKEN_B },
            { name: 'shared', credentials_file: file, priority: -1 },
          ] as never,
        },
      },
    });

  const ask = (p: TestProxy, text: string) =>
    new Anthropic({ baseURL: `${p.url}/api`, apiKey: 'x', maxRetries: 0 }).messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 16,
      messages: [{ role: 'user', content: text }],
    });

  before(async () => {
    pg = await startPostgres();
    fake = await startFakeUpstream({ accessTokens: [TOKEN_A, TOKEN_B], oauth: { tokenDelayMs: 300 } });
    const url = await pg.createDatabase('accounts');
    one = await start(url, credentials('one'));
    two = await start(url, credentials('two'));
    await one.proxy.storage.ready();
    await two.proxy.storage.ready();
  });

  after(async () => {
    await one?.close().catch(() => {});
    await two?.close().catch(() => {});
    await fake?.close();
    await pg?.close();
  });

  beforeEach(() => {
    fake.reset();
    exhausted.clear();
    fake.handle((r) => (exhausted.has(accountOf(r)) ? reply.rateLimited({ exhausted: true }) : undefined));
  });

  test('a cooldown one instance learns is used by the other', async () => {
    exhausted.add('a');
    await ask(one, 'first');
    assert.deepEqual(fake.messages().map(accountOf), ['a', 'b']);
    const cooled = one.proxy.accounts.get('a')!.cooldown!;
    await until(() => two.proxy.accounts.get('a')?.cooldown?.until === cooled.until, 'instance two hears it');
    fake.reset();
    fake.handle(() => undefined);
    await ask(two, 'second');
    await ask(two, 'third');
    assert.deepEqual(fake.messages().map(accountOf), ['b', 'b']);
    const status = (await (await fetch(`${two.url}/accounts`)).json()) as {
      accounts: Array<{ name: string; state: string }>;
    };
    assert.equal(status.accounts.find((x) => x.name === 'a')?.state, 'cooling');
  });

  test('a pause through one instance is obeyed by the other; resume lifts it (and the cooldown)', async () => {
    const res = await fetch(`${one.url}/accounts/b/pause`, { method: 'POST' });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { account: { state: string } }).account.state, 'paused');
    await until(() => two.proxy.accounts.get('b')?.paused === true, 'instance two hears the pause');
    for (const name of ['a', 'b']) await fetch(`${one.url}/accounts/${name}/resume`, { method: 'POST' });
    await until(
      () =>
        two.proxy.accounts.get('b')?.paused === false && two.proxy.accounts.get('a')?.cooldown === undefined,
      'instance two hears the resumes',
    );
    await ask(two, 'after resume');
    assert.deepEqual(fake.messages().map(accountOf), ['a']);
    const unknown = await fetch(`${one.url}/accounts/nobody/pause`, { method: 'POST' });
    assert.equal(unknown.status, 404);
    assert.match(
      ((await unknown.json()) as { error: { message: string } }).error.message,
      /No enabled account is named "nobody"/,
    );
  });

  test('exactly one refresh of a rotating token across both instances', async () => {
    // Only the refreshable account can answer: both instances need its token at once.
    for (const name of ['a', 'b']) await fetch(`${one.url}/accounts/${name}/pause`, { method: 'POST' });
    await until(
      () => two.proxy.accounts.get('a')?.paused === true && two.proxy.accounts.get('b')?.paused === true,
    );
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => ask(i % 2 ? one : two, `refresh ${i}`)),
    );
    assert.equal(answers.length, 20);
    assert.equal(fake.oauth.refreshCalls, 1);
    const fresh = fake.oauth.lastAccessToken!;
    assert.ok(fake.messages().every((r) => r.headers.authorization === `Bearer ${fresh}`));
    // Each instance keeps its own file current too (for its next start).
    for (const name of ['one', 'two'])
      assert.equal(
        JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')).claudeAiOauth.accessToken,
        fresh,
      );
    for (const name of ['a', 'b']) await fetch(`${one.url}/accounts/${name}/resume`, { method: 'POST' });
    await until(
      () => two.proxy.accounts.get('a')?.paused === false && two.proxy.accounts.get('b')?.paused === false,
    );
  });

  test("both instances' rows are in one table, each naming its account", async () => {
    await ask(one, 'row one');
    await ask(two, 'row two');
    await until(async () => {
      const rows = await pg.sql<{ n: string }>(
        `SELECT count(*) AS n FROM ccproxy_requests WHERE account IS NOT NULL AND billing = 'subscription'`,
        [],
        'accounts',
      );
      return Number(rows[0]?.n) >= fake.messages().length;
    }, 'the rows of both instances');
    const byAccount = await pg.sql<{ account: string }>(
      'SELECT DISTINCT account FROM ccproxy_requests ORDER BY account',
      [],
      'accounts',
    );
    assert.deepEqual(
      byAccount.map((r) => r.account),
      ['a', 'b', 'shared'],
    );
    const tokens = await pg.sql<{ value: string }>(
      `SELECT value::text FROM ccproxy_shared_state WHERE key = 'account:shared:tokens'`,
      [],
      'accounts',
    );
    assert.equal(tokens.length, 1, 'the rotated pair is in the shared state');
  });
  // Last: it takes the database down.
  test('PostgreSQL down: requests still flow and fail over; a pause made meanwhile reaches the other instance when it is back', async () => {
    await pg.stop();
    try {
      exhausted.add('a');
      await ask(one, 'during the outage');
      assert.deepEqual(
        fake.messages().map(accountOf),
        ['a', 'b'],
        'failover works on what the instance knows',
      );
      const res = await fetch(`${one.url}/accounts/b/pause`, { method: 'POST' });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { account: { state: string }; shared: boolean };
      assert.deepEqual([body.account.state, body.shared], ['paused', false]);
      assert.equal(two.proxy.accounts.get('b')?.paused, false, 'instance two cannot have heard it yet');
      fake.reset();
      await ask(two, 'instance two during the outage');
      assert.equal(fake.messages().length > 0, true);
    } finally {
      await pg.start();
    }
    await until(
      () => two.proxy.accounts.get('b')?.paused === true,
      'instance two hears the pause once the database is back',
    );
    await until(() => two.proxy.accounts.get('a')?.cooldown !== undefined, 'and the cooldown');
    assert.equal(
      one.proxy.accounts.get('b')?.paused,
      true,
      'what was heard back did not undo it on instance one',
    );
  });
});
