/**
 * Several ccproxy instances on one PostgreSQL (storage.url), through the real proxy and the real
 * Anthropic SDK: access-log rows from every instance in one table, visible through any instance's
 * logs API and `ccproxy usage`; shared state one instance sets seen by the other; and PostgreSQL
 * stopped for 10 s in the middle of a load — requests keep flowing, an instance even starts while it
 * is down, and once it is back every row is there, once. Shutdown during an outage says what it
 * could not write.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { usageReport } from '../../src/cli/usage.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { waitFor } from '../observability/helpers.ts';
import { type FakeUpstream, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';
import { postgresSkip, startPostgres, type TestPostgres } from '../support/postgres.ts';

const PASSWORD = 'team-secret-pw-7f3a9c';

describe('team: several instances on one PostgreSQL', { skip: postgresSkip() }, () => {
  let pg: TestPostgres;
  let fake: FakeUpstream;
  let url: string;
  const proxies: TestProxy[] = [];
  let a: TestProxy;
  let b: TestProxy;

  const start = async (over: Record<string, unknown> = {}) => {
    const p = await startProxy({
      logLevel: 'info',
      settings: {
        upstream: { base_url: fake.url, retry: { max_attempts: 1 } },
        observability: { access_log: true, flush_interval_ms: 50, retention_days: 0 },
        storage: { url, ...over },
      },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
    });
    proxies.push(p);
    return p;
  };

  const ask = (p: TestProxy, id: string) =>
    new Anthropic({ baseURL: `${p.url}/api`, apiKey: 'x', maxRetries: 0 }).messages.create(
      { model: 'claude-sonnet-5-5', max_tokens: 32, messages: [{ role: 'user', content: `hello ${id}` }] },
      { headers: { 'x-request-id': id } },
    );

  const get = async (p: TestProxy, path: string) => {
    const res = await fetch(`${p.url}${path}`);
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    return res;
  };

  const ids = async (sql = 'SELECT id FROM ccproxy_requests') =>
    (await pg.sql<{ id: string }>(sql, [], 'team')).map((r) => r.id);

  before(async () => {
    pg = await startPostgres();
    fake = await startFakeUpstream();
    // Trust authentication ignores the password; it is here to prove it never shows.
    url = (await pg.createDatabase('team')).replace('ccproxy@', `ccproxy:${PASSWORD}@`);
    a = await start();
    b = await start();
    await a.proxy.storage.ready();
    await b.proxy.storage.ready();
  });

  after(async () => {
    for (const p of proxies) await p.close().catch(() => {});
    await fake?.close();
    await pg?.close();
  });

  test('rows from both instances are in one table, read alike through either one', async () => {
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) sent.push(`a-${i}`);
    for (let i = 0; i < 7; i++) sent.push(`b-${i}`);
    await Promise.all(sent.map((id) => ask(id.startsWith('a') ? a : b, id)));
    await waitFor(async () => (await ids()).length === sent.length, 'twelve rows');

    for (const p of [a, b]) {
      const q = await (await get(p, '/logs/query?limit=100&order=asc')).json();
      assert.deepEqual(q.rows.map((r: { id: string }) => r.id).sort(), [...sent].sort());
      const an = await (await get(p, '/logs/analytics')).json();
      assert.equal(an.totals.requests, 12);
      assert.equal(an.by_model[0].model, 'claude-sonnet-5-5');
      const csv = await (await get(p, '/logs/export?order=asc')).text();
      assert.equal(csv.trim().split('\r\n').length, 13);
      const status = await (await get(p, '/logs/status')).json();
      assert.equal(status.store.kind, 'postgres');
      assert.equal(status.store.rows, 12);
      assert.ok(status.store.location.includes('ccproxy:****@127.0.0.1'), status.store.location);
    }

    // `ccproxy usage` with no server answering reads the database itself.
    const report = await usageReport(a.settings, { server: false });
    assert.match(report, /from postgres:\/\/ccproxy:\*\*\*\*@127\.0\.0\.1:\d+\/team/);
    assert.match(report, /claude-sonnet-5-5\s+12\s+0/);
  });

  test('shared state: a value one instance sets is heard by the other; withLock is exclusive across them', async () => {
    const heard: unknown[] = [];
    const off = b.proxy.storage.shared.subscribe('cooldown:', (_key, e) => heard.push(e?.value));
    try {
      let n = 0;
      // The other instance hears within a second; the bound here is only a hang guard.
      await waitFor(
        async () => {
          await a.proxy.storage.shared.set('cooldown:work', { until: ++n });
          return heard.length > 0;
        },
        'b hears a change a made',
        30_000,
      );
    } finally {
      off();
    }

    let inside = 0;
    let most = 0;
    await a.proxy.storage.shared.set('refreshes', 0);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).proxy.storage.shared.withLock('refresh:work', async (tx) => {
          most = Math.max(most, ++inside);
          const e = await tx.get<number>('refreshes');
          await tx.set('refreshes', e!.value + 1);
          inside--;
        }),
      ),
    );
    assert.equal(most, 1);
    assert.equal((await b.proxy.storage.shared.get('refreshes'))?.value, 10);
  });

  test('PostgreSQL stopped for 10 s mid-load: requests flow, and once it is back no row is lost', async () => {
    const before = (await ids()).length;
    const sent: string[] = [];
    const failures: string[] = [];
    let stop = false;
    let seq = 0;
    const targets = [a, b];
    const byC: string[] = [];
    const worker = async () => {
      while (!stop) {
        const n = seq++;
        const id = `load-${n}`;
        const target = targets[n % targets.length]!;
        try {
          await ask(target, id);
          sent.push(id);
          if (target === targets[2]) byC.push(id);
        } catch (err) {
          failures.push(`${id}: ${(err as Error).message}`);
        }
      }
    };
    const load = Array.from({ length: 4 }, worker);

    await waitFor(() => sent.length >= 20, 'some load before the outage');
    await pg.stop();
    const atStop = sent.length;
    // An instance that starts while the database is down still serves.
    const c = await start();
    targets.push(c);
    await new Promise((r) => setTimeout(r, 10_000));
    // /logs/status still answers, and says what is wrong (team.md: writer.unavailable_since).
    for (const p of [a, c]) {
      const status = (await (await get(p, '/logs/status')).json()) as {
        store: { kind: string; rows: number | null; unavailable?: string };
        writer: { unavailable_since: number | null };
      };
      assert.equal(status.store.kind, 'postgres');
      assert.equal(status.store.rows, null);
      assert.ok(status.store.unavailable, 'the store says why it cannot be read');
      assert.ok(!status.store.unavailable.includes(PASSWORD));
      assert.equal(typeof status.writer.unavailable_since, 'number');
    }
    const duringOutage = sent.length - atStop;
    await pg.start();
    await waitFor(() => sent.length >= atStop + duringOutage + 20, 'some load after the outage');
    stop = true;
    await Promise.all(load);

    assert.deepEqual(failures, [], 'no request failed because of the database');
    assert.ok(duringOutage > 0, 'requests were answered during the outage');
    assert.ok(byC.length > 0, 'the instance started during the outage answered too');
    await waitFor(
      async () => (await ids()).length === before + sent.length,
      `all ${sent.length} rows written after the outage`,
      120_000,
    );
    const stored = new Set(await ids(`SELECT id FROM ccproxy_requests WHERE id LIKE 'load-%'`));
    assert.equal(stored.size, sent.length);
    for (const id of sent) assert.ok(stored.has(id), `${id} is in the table`);

    for (const p of [a, b, c]) {
      assert.match(p.logs(), /the store cannot be reached/);
      assert.match(p.logs(), /the store is back/);
    }
    for (const p of proxies) assert.ok(!p.logs().includes(PASSWORD), 'the password never reaches a log line');
  });

  test('shutting down while PostgreSQL is down says how many rows were not written', async () => {
    const d = await start({ flush_timeout_s: 0.5 });
    await d.proxy.storage.ready();
    await pg.stop();
    try {
      for (let i = 0; i < 3; i++) await ask(d, `shutdown-${i}`);
      await d.close();
      assert.match(d.logs(), /3 rows could not be written before shutdown/);
    } finally {
      await pg.start();
    }
  });
});
