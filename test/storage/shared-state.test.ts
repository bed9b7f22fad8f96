/**
 * The shared-state contract, run against the in-process implementation and against PostgreSQL with
 * two "instances" (two databases handles, as two ccproxy processes would have): values and versions,
 * compare-and-set, prefixes, the lock (exclusive across instances, its writes committed or discarded
 * together, a timeout), and change notices heard by the other instance — also after its notice
 * connection was cut.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { LockTimeoutError } from '../../src/storage/errors.ts';
import { PgDatabase } from '../../src/storage/postgres/database.ts';
import { PgSharedState } from '../../src/storage/postgres/shared-state.ts';
import { MemorySharedState, type SharedEntry, type SharedState } from '../../src/storage/shared-state.ts';
import { waitFor } from '../observability/helpers.ts';
import { postgresSkip, startPostgres, type TestPostgres } from '../support/postgres.ts';

const silent = pino({ level: 'silent' });

interface Pair {
  a: SharedState;
  b: SharedState;
}

/** The contract: `a` and `b` are two instances sharing one state (the same object in memory). */
function contract(name: string, open: () => Promise<Pair>, opts: { skip?: string | false } = {}) {
  describe(`shared state: ${name}`, { skip: opts.skip }, () => {
    let a: SharedState;
    let b: SharedState;
    before(async () => {
      ({ a, b } = await open());
    });

    test('get, set, versions, compare-and-set, delete, list by prefix', async () => {
      assert.equal(await a.get('k:1'), undefined);
      const v1 = await a.set('k:1', { until: 123, why: 'rate_limited' });
      assert.ok(v1);
      assert.deepEqual(v1.value, { until: 123, why: 'rate_limited' });
      assert.deepEqual(await b.get('k:1'), v1, 'the other instance reads the same entry');

      assert.equal(await b.set('k:1', 'stale', { ifVersion: v1.version + 1000 }), undefined);
      assert.equal(await b.set('k:1', 'exists', { ifVersion: 0 }), undefined, 'ifVersion 0: only if absent');
      const v2 = await b.set('k:1', [1, 2, 3], { ifVersion: v1.version });
      assert.ok(v2 && v2.version > v1.version);
      assert.deepEqual((await a.get('k:1'))?.value, [1, 2, 3]);
      assert.ok(await a.set('k:new', true, { ifVersion: 0 }));

      await a.set('k:2', 2);
      await a.set('k_other', 'not under k:');
      await a.set('k%:x', 'percent');
      assert.deepEqual(
        (await b.list('k:')).map((e) => e.key),
        ['k:1', 'k:2', 'k:new'],
      );
      assert.deepEqual(
        (await b.list('k%')).map((e) => e.key),
        ['k%:x'],
        'a prefix is literal',
      );

      assert.equal(await b.delete('k:2'), true);
      assert.equal(await b.delete('k:2'), false);
      assert.equal(await a.get('k:2'), undefined);
      const again = await a.set('k:2', 'back');
      assert.ok(again && again.version > v2.version, 'versions only grow, even across a delete');

      const mutable = { n: 1 };
      await a.set('k:copy', mutable);
      mutable.n = 2;
      assert.deepEqual((await a.get('k:copy'))?.value, { n: 1 }, 'the stored value is a copy');
      await assert.rejects(a.set('k:bad', undefined), TypeError);
    });

    test('withLock is exclusive across instances; its writes commit together or not at all', async () => {
      await a.set('counter', 0);
      let inside = 0;
      let most = 0;
      const bump = (s: SharedState) =>
        s.withLock('refresh:acct', async (tx) => {
          inside++;
          most = Math.max(most, inside);
          const e = (await tx.get<number>('counter'))!;
          await new Promise((r) => setTimeout(r, 2));
          await tx.set('counter', e.value + 1);
          inside--;
        });
      await Promise.all(Array.from({ length: 20 }, (_, i) => bump(i % 2 ? a : b)));
      assert.equal(most, 1, 'one holder at a time');
      assert.equal((await a.get('counter'))?.value, 20, 'no lost update');

      await assert.rejects(
        b.withLock('refresh:acct', async (tx) => {
          await tx.set('counter', -1);
          await tx.set('token', 'rotated');
          assert.equal((await tx.get('counter'))?.value, -1, 'the transaction reads its own writes');
          throw new Error('refresh failed');
        }),
        /refresh failed/,
      );
      assert.equal((await a.get('counter'))?.value, 20, 'rolled back');
      assert.equal(await a.get('token'), undefined);

      // Other keys are not held up by a held lock.
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      let entered!: () => void;
      const inLock = new Promise<void>((r) => {
        entered = r;
      });
      const holder = a.withLock('refresh:acct', async () => {
        entered();
        await held;
      });
      await inLock;
      assert.equal(await b.withLock('refresh:other', async () => 'free'), 'free');
      await assert.rejects(
        b.withLock('refresh:acct', async () => 'never', { timeoutMs: 200 }),
        (err: Error) => err instanceof LockTimeoutError && /refresh:acct/.test(err.message),
      );
      release();
      await holder;
      assert.equal(await b.withLock('refresh:acct', async () => 'after', { timeoutMs: 30_000 }), 'after');
    });

    test('a change made by one instance is heard by the other (and by itself)', async () => {
      const heardB: Array<[string, SharedEntry | undefined]> = [];
      const heardA: string[] = [];
      const offB = b.subscribe('cool:', (key, e) => heardB.push([key, e]));
      const offA = a.subscribe('cool:', (key) => heardA.push(key));
      try {
        // Listening starts in the background: keep writing until the first notice arrives.
        let n = 0;
        await waitFor(async () => {
          await a.set('cool:work', { until: ++n });
          return heardB.length > 0;
        }, 'the first notice');
        const set = await a.set('cool:work', { until: 'final' });
        await waitFor(() => heardB.some(([, e]) => e?.version === set!.version), 'the final value');
        const last = heardB.findLast(([k]) => k === 'cool:work')!;
        assert.deepEqual(last[1]?.value, { until: 'final' });
        await a.set('other:x', 1); // not under the prefix
        await a.withLock('cool:personal', async (tx) => tx.set('cool:personal', 'in a lock'));
        await waitFor(() => heardB.some(([k]) => k === 'cool:personal'), 'a write made under a lock');
        await b.delete('cool:work');
        await waitFor(() => heardB.some(([k, e]) => k === 'cool:work' && e === undefined), 'the delete');
        await waitFor(() => heardA.includes('cool:personal'), 'the writer hears itself too');
        assert.ok(!heardB.some(([k]) => k === 'other:x'));
      } finally {
        offA();
        offB();
      }
    });
  });
}

contract('in process', async () => {
  const s = new MemorySharedState();
  return { a: s, b: s };
});

describe('shared state in PostgreSQL', { skip: postgresSkip() }, () => {
  let pg: TestPostgres;
  const dbs: PgDatabase[] = [];
  const states: PgSharedState[] = [];
  const open = async (url: string) => {
    const db = new PgDatabase({ url, poolSize: 4, log: silent });
    dbs.push(db);
    const s = new PgSharedState(db, silent);
    states.push(s);
    return s;
  };
  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    for (const s of states) await s.close();
    for (const d of dbs) await d.close();
    await pg?.close();
  });

  contract('two instances on PostgreSQL', async () => {
    const url = await pg.createDatabase('shared');
    return { a: await open(url), b: await open(url) };
  });

  test('a listener whose connection is cut reconnects and still hears what changed meanwhile', async () => {
    const url = await pg.createDatabase('reconnect');
    const a = await open(url);
    const b = await open(url);
    const heard: Array<[string, unknown]> = [];
    const off = b.subscribe('acct:', (key, e) => heard.push([key, e?.value]));
    try {
      let n = 0;
      await waitFor(async () => {
        await a.set('acct:probe', ++n);
        return heard.length > 0;
      }, 'b listening');
      await a.set('acct:gone', 'soon deleted');
      await waitFor(() => heard.some(([k]) => k === 'acct:gone'), 'acct:gone heard');
      // Cut b's notice connection, and change things before it can be back.
      const cut = await pg.sql<{ ok: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE query = 'LISTEN ccproxy_shared_state'`,
        [],
        'reconnect',
      );
      assert.equal(cut.length, 1, 'one listening connection');
      await a.set('acct:work', { cooling_until: 42 });
      await a.delete('acct:gone');
      await waitFor(
        () =>
          heard.some(([k, v]) => k === 'acct:work' && (v as { cooling_until: number })?.cooling_until === 42),
        'the change made while b was away',
      );
      await waitFor(
        () => heard.some(([k, v]) => k === 'acct:gone' && v === undefined),
        'the delete made meanwhile',
      );
    } finally {
      off();
    }
  });
});
