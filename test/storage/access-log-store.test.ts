/**
 * One query suite, two stores: the same rows go into the DuckDB file and into PostgreSQL, and every
 * page, filter, cursor walk and analytics answer must come back the same from both (floating-point
 * sums and percentiles to 1e-9 relative; everything else exactly). Then what only PostgreSQL has:
 * idempotent batches, migrations under concurrency, a newer schema refused, the read-only open.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { migrate } from '../../src/observability/access-log/duckdb/schema.ts';
import { DuckDbStore } from '../../src/observability/access-log/duckdb/store.ts';
import { PgAccessLogStore } from '../../src/observability/access-log/postgres/store.ts';
import {
  type AccessLogRow,
  COLUMN_TYPES,
  type ColumnType,
  ROW_COLUMNS,
} from '../../src/observability/access-log/row.ts';
import type { AccessLogStore, AnalyticsQuery, LogQuery } from '../../src/observability/access-log/store.ts';
import { StorageUnavailableError } from '../../src/storage/errors.ts';
import { PgDatabase } from '../../src/storage/postgres/database.ts';
import { SCHEMA_VERSION } from '../../src/storage/postgres/migrations.ts';
import { freePort } from '../helpers/net.ts';
import { tempDir } from '../observability/helpers.ts';
import { postgresSkip, startPostgres, type TestPostgres } from '../support/postgres.ts';

const silent = pino({ level: 'silent' });
const T0 = Date.parse('2026-11-20T10:00:00Z');
const MIN = 60_000;

/** A small deterministic generator, so a failure names a reproducible data set. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** 600 rows over three days: every column varied, nulls where the schema allows them, awkward ids. */
function rows(): AccessLogRow[] {
  const r = rng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const out: AccessLogRow[] = [];
  const ids = ['req_a', 'req_B', 'REQ-c', 'req.d', 'req_é', 'req_%', 'req__x'];
  for (let i = 0; i < 600; i++) {
    const status = pick([200, 200, 200, 200, 400, 429, 500, 529, null] as const);
    const failed = status === null ? r() < 0.5 : status >= 400;
    const model = pick(['claude-sonnet-5-5', 'claude-opus-5-5', 'mystery, "quoted"', null] as const);
    const stream = r() < 0.6;
    const input = Math.floor(r() * 5000);
    out.push({
      // Several rows share a millisecond: the cursor's (ts, id) tie-break has work to do.
      id: `${pick(ids)}_${String(i).padStart(4, '0')}`,
      ts: T0 + Math.floor(r() * 3 * 24 * 60) * MIN + (i % 3),
      mode: pick(['api', 'api', 'sdk']),
      format: pick(['anthropic', 'openai', 'responses']),
      method: 'POST',
      path: '/api/v1/messages',
      client_model: pick([model, 'gpt-4o', null]),
      upstream_model: model,
      stream,
      status,
      error_kind: failed ? pick(['rate_limited', 'overloaded', 'upstream', 'timeout']) : null,
      duration_ms: r() < 0.05 ? null : Math.round(r() * 30_000 * 1000) / 1000,
      ttft_ms: stream && !failed ? Math.round(r() * 2000 * 1000) / 1000 : null,
      input_tokens: input,
      output_tokens: Math.floor(r() * 2000),
      cache_read_tokens: r() < 0.5 ? 0 : Math.floor(r() * 50_000),
      cache_write_tokens: r() < 0.7 ? 0 : Math.floor(r() * 5000),
      cache_write_1h_tokens: 0,
      cost_usd: model === null || model.startsWith('mystery') ? null : (input * 3 + r() * 1000) / 1e6,
      stop_reason: failed ? null : pick(['end_turn', 'max_tokens', 'tool_use']),
      retries: Math.floor(r() * 3),
      sdk_turns: r() < 0.2 ? Math.floor(r() * 5) : null,
      sdk_cost_usd: r() < 0.2 ? r() : null,
      user_agent: pick(['openai/5.0', 'claude-cli/2.1', 'x, "y"\n', null]),
      upstream_request_id: r() < 0.5 ? `req_up_${i}` : null,
      client_aborted: r() < 0.05,
      ...pick([
        { account: 'work', billing: 'subscription' as const },
        { account: 'payg', billing: 'api_key' as const },
        { account: null, billing: null },
      ]),
    });
  }
  return out;
}

/** Deep equality, numbers compared to 1e-9 relative (sums and interpolations round differently). */
function same(a: unknown, b: unknown, where = '$'): void {
  if (typeof a === 'number' && typeof b === 'number') {
    const ok = a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
    assert.ok(ok, `${where}: ${a} !== ${b}`);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    assert.equal(a.length, b.length, `${where}: length`);
    for (const [i, x] of a.entries()) same(x, b[i], `${where}[${i}]`);
    return;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${where}: keys`);
    for (const k of Object.keys(a)) same((a as never)[k], (b as never)[k], `${where}.${k}`);
    return;
  }
  assert.equal(a, b, where);
}

const FILTERS: Array<Omit<LogQuery, 'order' | 'limit'>> = [
  {},
  { from: T0 + 12 * 60 * MIN, to: T0 + 40 * 60 * MIN },
  { model: 'claude-opus-5-5' },
  { model: 'gpt-4o' },
  { mode: 'sdk', format: 'openai' },
  { status: '5xx' },
  { status: 429 },
  { error: true },
  { error: false, stream: true },
  { errorKind: 'overloaded' },
  { minDurationMs: 20_000 },
  { q: 'REQ_' },
  { q: '%' },
  { q: '_x' },
];

async function walk(store: AccessLogStore, q: Omit<LogQuery, 'cursor'>): Promise<AccessLogRow[][]> {
  const pages: AccessLogRow[][] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await store.query({ ...q, cursor });
    pages.push(page.rows);
    if (!page.next_cursor) return pages;
    cursor = page.next_cursor;
  }
}

describe('the access-log stores answer alike', { skip: postgresSkip() }, () => {
  let pg: TestPostgres;
  let duck: DuckDbStore;
  let db: PgDatabase;
  let post: PgAccessLogStore;
  const data = rows();
  const cleanups: Array<() => unknown> = [];

  before(async () => {
    pg = await startPostgres();
    duck = await DuckDbStore.open(path.join(tempDir({ after: (fn) => cleanups.push(fn) }), 'log.duckdb'));
    db = new PgDatabase({ url: await pg.createDatabase('suite'), poolSize: 4, log: silent });
    post = new PgAccessLogStore(db);
    for (let i = 0; i < data.length; i += 250) {
      await duck.insertBatch(data.slice(i, i + 250));
      await post.insertBatch(data.slice(i, i + 250));
    }
  });

  after(async () => {
    await duck?.close();
    await db?.close();
    await pg?.close();
    for (const fn of cleanups) await fn();
  });

  test('every row reads back the same, in both orders, page by page', async () => {
    for (const order of ['asc', 'desc'] as const) {
      for (const f of FILTERS) {
        const q = { ...f, order, limit: 37 };
        const a = await walk(duck, q);
        const b = await walk(post, q);
        same(b, a, `${order} ${JSON.stringify(f)}`);
      }
    }
    const all = (await walk(post, { order: 'asc', limit: 10_000 })).flat();
    assert.equal(all.length, data.length);
    const byId = new Map(data.map((r) => [r.id, r]));
    for (const r of all) same(r, byId.get(r.id), r.id);
  });

  test('analytics: totals, percentiles, groupings and buckets', async () => {
    const queries: AnalyticsQuery[] = [];
    for (const bucketS of [60, 3600, 86_400]) {
      for (const f of [FILTERS[0], FILTERS[1], FILTERS[4], FILTERS[7], FILTERS[8]])
        queries.push({ ...f, bucketS });
    }
    queries.push(
      { from: T0 - 86_400_000, to: T0 - 3_600_000, bucketS: 3600 },
      { mode: 'nothing', bucketS: 60 },
    );
    for (const q of queries) {
      const a = await duck.aggregate(q);
      const b = await post.aggregate(q);
      same(b, a, JSON.stringify(q));
    }
    const totals = (await post.aggregate({ bucketS: 3600 })).totals;
    assert.equal(totals.requests, data.length);
    assert.equal(
      totals.input_tokens,
      data.reduce((s, r) => s + r.input_tokens, 0),
    );
  });

  test('both tables have the columns, in order, of the types row.ts says (COLUMN_TYPES)', async () => {
    const duckTypes: Record<ColumnType, string> = {
      text: 'VARCHAR',
      timestamp: 'TIMESTAMP',
      boolean: 'BOOLEAN',
      smallint: 'SMALLINT',
      integer: 'INTEGER',
      double: 'DOUBLE',
    };
    const pgTypes: Record<ColumnType, string> = {
      text: 'text',
      timestamp: 'timestamp with time zone',
      boolean: 'boolean',
      smallint: 'smallint',
      integer: 'integer',
      double: 'double precision',
    };
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    await migrate(conn);
    const inDuck = (
      await conn.runAndReadAll(
        "SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_name = 'requests' ORDER BY ordinal_position",
      )
    ).getRowObjectsJS();
    conn.closeSync();
    instance.closeSync();
    assert.deepEqual(
      inDuck,
      ROW_COLUMNS.map((c) => ({ name: c, type: duckTypes[COLUMN_TYPES[c]] })),
    );
    const inPg = await db.query(
      "SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_name = 'ccproxy_requests' ORDER BY ordinal_position",
    );
    assert.deepEqual(
      inPg.rows,
      ROW_COLUMNS.map((c) => ({ name: c, type: pgTypes[COLUMN_TYPES[c]] })),
    );
  });

  test('status and pruning', async () => {
    const [a, b] = [await duck.status(), await post.status()];
    assert.equal(b.kind, 'postgres');
    assert.match(b.location, /^postgres:\/\/ccproxy@127\.0\.0\.1:\d+\/suite$/);
    assert.equal(b.schema_version, SCHEMA_VERSION);
    assert.ok((b.size_bytes ?? 0) > 0);
    for (const k of ['rows', 'oldest', 'newest'] as const) assert.equal(b[k], a[k], k);

    const cut = T0 + 24 * 60 * MIN;
    const expected = data.filter((r) => r.ts < cut).length;
    assert.equal(await post.prune(cut), expected);
    assert.equal(await duck.prune(cut), expected);
    same(await post.aggregate({ bucketS: 3600 }), await duck.aggregate({ bucketS: 3600 }));
  });
});

describe('the PostgreSQL store on its own', { skip: postgresSkip() }, () => {
  let pg: TestPostgres;
  before(async () => {
    pg = await startPostgres();
  });
  after(() => pg?.close());

  test('a batch written twice (a lost acknowledgement) adds nothing', async () => {
    const db = new PgDatabase({ url: await pg.createDatabase('twice'), poolSize: 2, log: silent });
    try {
      const store = new PgAccessLogStore(db);
      const batch = rows().slice(0, 50);
      await store.insertBatch(batch);
      await store.insertBatch(batch);
      assert.equal((await store.status()).rows, 50);
    } finally {
      await db.close();
    }
  });

  test('instances starting together migrate once; a newer schema is refused; readers never migrate', async () => {
    const url = await pg.createDatabase('migrate');
    const reader = new PgDatabase({ url, poolSize: 1, log: silent, readOnly: true });
    await assert.rejects(reader.ready(), /holds no ccproxy data yet/);
    await reader.close();

    const dbs = Array.from({ length: 4 }, () => new PgDatabase({ url, poolSize: 2, log: silent }));
    try {
      const versions = await Promise.all(dbs.map((d) => d.ready()));
      assert.deepEqual(
        versions,
        dbs.map(() => SCHEMA_VERSION),
      );
      const applied = await pg.sql<{ version: number }>(
        'SELECT version FROM ccproxy_schema_migrations ORDER BY version',
        [],
        'migrate',
      );
      assert.deepEqual(
        applied.map((r) => r.version),
        Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
      );
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
    }

    await pg.sql(
      'INSERT INTO ccproxy_schema_migrations (version) VALUES ($1)',
      [SCHEMA_VERSION + 1],
      'migrate',
    );
    const newer = new PgDatabase({ url, poolSize: 1, log: silent });
    try {
      await assert.rejects(
        newer.ready(),
        new RegExp(`newer ccproxy \\(schema ${SCHEMA_VERSION + 1}, this one knows ${SCHEMA_VERSION}\\)`),
      );
      await assert.rejects(new PgAccessLogStore(newer).insertBatch(rows().slice(0, 1)), (err: Error) => {
        assert.ok(!(err instanceof StorageUnavailableError), 'a schema problem is not an outage');
        return true;
      });
    } finally {
      await newer.close();
    }
  });

  test('an unreachable server is a StorageUnavailableError naming it without its password', async () => {
    const port = await freePort();
    const db = new PgDatabase({
      url: `postgres://ccproxy:hunter2-secret@127.0.0.1:${port}/nowhere`,
      poolSize: 1,
      log: silent,
    });
    try {
      const err = await new PgAccessLogStore(db).insertBatch(rows().slice(0, 1)).then(
        () => assert.fail('no server, yet the write succeeded'),
        (e: Error) => e,
      );
      assert.ok(err instanceof StorageUnavailableError, String(err));
      assert.match(
        err.message,
        new RegExp(`postgres://ccproxy:\\*\\*\\*\\*@127\\.0\\.0\\.1:${port}/nowhere`),
      );
      assert.doesNotMatch(err.message, /hunter2/);
    } finally {
      await db.close();
    }
  });
});
