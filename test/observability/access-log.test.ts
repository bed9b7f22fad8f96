import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import fastify from 'fastify';
import { DuckDbStore } from '../../src/observability/access-log/duckdb/store.ts';
import { type AccessLogRow, toRow } from '../../src/observability/access-log/row.ts';
import type { AccessLogStore } from '../../src/observability/access-log/store.ts';
import { AccessLogWriter } from '../../src/observability/access-log/writer.ts';
import { createObservability } from '../../src/observability/index.ts';
import { Lifecycle } from '../../src/observability/lifecycle.ts';
import { createPricing } from '../../src/observability/pricing.ts';
import { emitRequest, record, settingsWith, silent, tempDir, waitFor } from './helpers.ts';

/** Read the table straight from the file, as any DuckDB client would. */
async function readFile(file: string, sql = 'SELECT * FROM requests ORDER BY ts, id') {
  const db = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const conn = await db.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJS();
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

async function open(file: string, over: Record<string, unknown> = {}) {
  const lifecycle = new Lifecycle();
  const obs = await createObservability({
    settings: settingsWith({ access_log: true, duckdb_path: file, flush_interval_ms: 50, ...over }),
    lifecycle,
    log: silent,
    version: 'test',
  });
  return { lifecycle, obs };
}

test('rows read back from the DuckDB file: tokens, cost, TTFT, error kinds, both modes and all formats', async (t) => {
  const file = path.join(tempDir(t), 'nested', 'dir', 'log.duckdb');
  const { lifecycle, obs } = await open(file);
  const t0 = Date.parse('2026-11-20T10:00:00Z');
  emitRequest(lifecycle, {
    id: 'a-ok',
    startedAt: t0,
    usage: { input: 1000, output: 500, cacheRead: 2000, cacheWrite: 100, cacheWrite1h: 40 },
    ttfbMs: 123.4567,
    durationMs: 2000,
    stopReason: 'end_turn',
    upstreamRequestId: 'req_up_1',
  });
  emitRequest(lifecycle, {
    id: 'b-openai-err',
    startedAt: t0 + 1000,
    format: 'openai',
    route: '/api/v1/chat/completions',
    clientModel: 'gpt-4o',
    upstreamModel: 'claude-sonnet-5-5',
    status: 429,
    errorKind: 'rate_limited',
    stream: false,
  });
  emitRequest(lifecycle, {
    id: 'c-sdk',
    startedAt: t0 + 2000,
    mode: 'sdk',
    format: 'responses',
    route: '/sdk/v1/responses',
    upstreamModel: 'claude-opus-5-5',
    usage: { input: 10, output: 20 },
    sdkTurns: 3,
    sdkCostUsd: 0.5,
    stream: false,
  });
  emitRequest(lifecycle, {
    id: 'd-midstream',
    startedAt: t0 + 3000,
    upstreamModel: 'unknown-model',
    clientModel: 'unknown-model',
    usage: { input: 5 },
    errorKind: 'overloaded',
  });
  emitRequest(lifecycle, { id: 'e-status-only', startedAt: t0 + 4000, status: 502, usage: undefined });
  await obs.close();

  const rows = await readFile(file);
  assert.equal(rows.length, 5);
  const [a, b, c, d, e] = rows;
  assert.equal(a!.id, 'a-ok');
  assert.equal((a!.ts as Date).toISOString(), '2026-11-20T10:00:00.000Z');
  assert.equal(a!.mode, 'api');
  assert.equal(a!.format, 'anthropic');
  assert.equal(a!.path, '/api/v1/messages');
  assert.equal(a!.input_tokens, 1000);
  assert.equal(a!.output_tokens, 500);
  assert.equal(a!.cache_read_tokens, 2000);
  assert.equal(a!.cache_write_tokens, 100);
  assert.equal(a!.cache_write_1h_tokens, 40);
  assert.equal(a!.ttft_ms, 123.457);
  assert.equal(a!.duration_ms, 2000);
  assert.equal(a!.status, 200);
  assert.equal(a!.error_kind, null);
  assert.equal(a!.stop_reason, 'end_turn');
  assert.equal(a!.upstream_request_id, 'req_up_1');
  assert.equal(a!.user_agent, 'test-agent/1.0');
  const costA = (1000 * 2 + 500 * 10 + 2000 * 0.1 + 60 * 2.5 + 40 * 4) / 1e6;
  assert.ok(Math.abs((a!.cost_usd as number) - costA) < 1e-12);

  assert.equal(b!.format, 'openai');
  assert.equal(b!.client_model, 'gpt-4o');
  assert.equal(b!.status, 429);
  assert.equal(b!.error_kind, 'rate_limited');
  assert.equal(b!.ttft_ms, null, 'no TTFT for a non-streamed answer');
  assert.equal(b!.cost_usd, 0, 'a priced model with no tokens costs 0');

  assert.equal(c!.mode, 'sdk');
  assert.equal(c!.format, 'responses');
  assert.equal(c!.sdk_turns, 3);
  assert.equal(c!.sdk_cost_usd, 0.5);
  assert.ok(Math.abs((c!.cost_usd as number) - (10 * 4 + 20 * 20) / 1e6) < 1e-12);

  assert.equal(d!.error_kind, 'overloaded');
  assert.equal(d!.ttft_ms, null, 'no TTFT when the request failed');
  assert.equal(d!.cost_usd, null, 'an unknown model costs null');

  assert.equal(e!.error_kind, 'upstream', 'a 5xx without a kind gets one from its status');
});

test('counts past the INTEGER columns are kept at their bound, not refused with their batch', async (t) => {
  const file = path.join(tempDir(t), 'log.duckdb');
  const store = await DuckDbStore.open(file);
  const pricing = createPricing();
  const wild = toRow(
    record({ id: 'wild', usage: { input: 3e9, output: 12.6, cacheRead: -5 }, sdkTurns: 2.5, retries: 1e6 }),
    pricing,
  );
  assert.deepEqual(
    [wild.input_tokens, wild.output_tokens, wild.cache_read_tokens, wild.sdk_turns],
    [2 ** 31 - 1, 13, 0, 3],
  );
  await store.insertBatch([toRow(record({ id: 'tame' }), pricing), wild]);
  await store.close();
  const [r] = await readFile(file, "SELECT input_tokens, retries FROM requests WHERE id = 'wild'");
  assert.deepEqual(r, { input_tokens: 2 ** 31 - 1, retries: 32767 });
  assert.equal((await readFile(file)).length, 2);
});

/** A batch into a log whose table was altered by `sql` is refused with `reason`, and nothing is written. */
async function refusedAfter(t: TestContext, sql: string, reason: RegExp): Promise<void> {
  const file = path.join(tempDir(t), 'log.duckdb');
  await (await DuckDbStore.open(file)).close();
  const db = await DuckDBInstance.create(file);
  const conn = await db.connect();
  await conn.run(sql);
  conn.closeSync();
  db.closeSync();
  const store = await DuckDbStore.open(file);
  t.after(() => store.close());
  await assert.rejects(store.insertBatch([toRow(record(), createPricing())]), reason);
  assert.equal((await store.status()).rows, 0);
}

test('a table with a column this build does not write refuses the batch with a reason, not a crash', (t) =>
  refusedAfter(
    t,
    'ALTER TABLE requests ADD COLUMN extra VARCHAR',
    /has 29 columns where this ccproxy writes 28/,
  ));

// Rows are written in each type's own layout (chunk.ts): a wider column must not get a SMALLINT's.
test('a column of another type than this build writes refuses the batch with a reason, not a crash', (t) =>
  refusedAfter(
    t,
    'ALTER TABLE requests ALTER COLUMN status TYPE INTEGER',
    /column status is INTEGER where this ccproxy writes smallint/,
  ));

test('rows survive close and reopen', async (t) => {
  const file = path.join(tempDir(t), 'log.duckdb');
  let { lifecycle, obs } = await open(file);
  for (let i = 0; i < 3; i++) emitRequest(lifecycle, { id: `first-${i}` });
  await obs.close();

  ({ lifecycle, obs } = await open(file));
  for (let i = 0; i < 2; i++) emitRequest(lifecycle, { id: `second-${i}` });
  const app = fastify();
  await obs.register(app);
  t.after(() => app.close());
  await obs.close();

  const ids = (await readFile(file, 'SELECT id FROM requests ORDER BY id')).map((r) => r.id);
  assert.deepEqual(ids, ['first-0', 'first-1', 'first-2', 'second-0', 'second-1']);
});

test('nothing is lost at close under a burst of thousands of records', async (t) => {
  const file = path.join(tempDir(t), 'burst.duckdb');
  const { lifecycle, obs } = await open(file, { batch_size: 500, flush_interval_ms: 60_000 });
  const n = 7321;
  for (let i = 0; i < n; i++) emitRequest(lifecycle, { usage: { input: 1, output: 2 } });
  await obs.close();
  emitRequest(lifecycle); // after close: ignored, never thrown
  const [r] = await readFile(
    file,
    'SELECT count(*)::INTEGER AS n, sum(output_tokens)::INTEGER AS out FROM requests',
  );
  assert.equal(r!.n, n);
  assert.equal(r!.out, 2 * n);
});

test('writes happen in batches while running, without waiting for close', async (t) => {
  const file = path.join(tempDir(t), 'live.duckdb');
  const store = await DuckDbStore.open(file);
  t.after(() => store.close());
  const writer = new AccessLogWriter(store, {
    batchSize: 10,
    flushIntervalMs: 30,
    retentionDays: 0,
    log: silent,
  });
  t.after(() => writer.close());
  const lifecycle = new Lifecycle();
  const pricing = createPricing();
  lifecycle.subscribe((event, r) => {
    if (event === 'end') writer.push(toRow(r, pricing));
  });
  for (let i = 0; i < 25; i++) emitRequest(lifecycle);
  const deadline = Date.now() + 30_000;
  while (((await store.status()).rows ?? 0) < 25) {
    assert.ok(Date.now() < deadline, 'rows were not written');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(writer.stats.written, 25);
  assert.equal(writer.pending, 0);
});

test('a burst bigger than a batch is written batch after batch, not one batch per interval', async (t) => {
  const file = path.join(tempDir(t), 'burst-live.duckdb');
  const store = await DuckDbStore.open(file);
  const writer = new AccessLogWriter(store, {
    batchSize: 100,
    flushIntervalMs: 600_000,
    retentionDays: 0,
    log: silent,
  });
  t.after(async () => {
    await writer.close();
    await store.close();
  });
  const pricing = createPricing();
  for (let i = 0; i < 1000; i++) writer.push(toRow(record(), pricing));
  assert.ok(writer.pending > 0, 'nothing is written inside push');
  await waitFor(() => writer.stats.written === 1000, 'every batch written', 10_000);
  assert.equal((await store.status()).rows, 1000);
});

test('a failing store is counted and never breaks a request; a batch is retried once, then dropped', async (t) => {
  let fail = true;
  const written: AccessLogRow[] = [];
  const store: AccessLogStore = {
    async insertBatch(rows) {
      if (fail) throw new Error('disk on fire');
      written.push(...rows);
    },
    query: async () => ({ rows: [], next_cursor: null }),
    aggregate: async () => {
      throw new Error('unused');
    },
    status: async () => ({
      kind: 'fake',
      location: '-',
      rows: 0,
      oldest: null,
      newest: null,
      size_bytes: null,
      schema_version: 1,
    }),
    prune: async () => 0,
    close: async () => {},
  };
  const warnings: string[] = [];
  const log = silent.child({});
  log.warn = ((_obj: unknown, msg: string) => {
    warnings.push(msg);
  }) as typeof log.warn;
  const writer = new AccessLogWriter(store, { batchSize: 5, flushIntervalMs: 60_000, retentionDays: 0, log });
  t.after(() => writer.close());
  for (let i = 0; i < 5; i++) writer.push(toRow(record(), createPricing()));
  await writer.flush();
  assert.equal(writer.stats.failures, 2);
  assert.equal(writer.stats.dropped, 5);
  assert.equal(writer.stats.last_error, 'disk on fire');
  assert.equal(warnings.length, 1, 'one warning, not one per failure');

  fail = false;
  writer.push(toRow(record(), createPricing()));
  await writer.flush();
  assert.equal(written.length, 1);
  assert.equal(writer.stats.written, 1);
});

test('the buffer is bounded while the store is stuck', async (t) => {
  let release = () => {};
  const stuck = new Promise<void>((resolve) => {
    release = resolve;
  });
  const store = { insertBatch: () => stuck, prune: async () => 0 } as unknown as AccessLogStore;
  const writer = new AccessLogWriter(store, {
    batchSize: 10,
    flushIntervalMs: 60_000,
    retentionDays: 0,
    log: silent,
    maxBuffered: 100,
  });
  t.after(() => {
    release();
    return writer.close();
  });
  for (let i = 0; i < 250; i++) writer.push(toRow(record(), createPricing()));
  assert.ok(writer.pending <= 100);
  assert.equal(writer.stats.dropped, 150);
});

test('an unopenable file leaves proxying alone and the logs API says why', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'is-a-dir.duckdb');
  fs.mkdirSync(file);
  const { lifecycle, obs } = await open(file);
  emitRequest(lifecycle); // must not throw
  const app = fastify();
  await obs.register(app);
  t.after(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/logs/status' });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().error.type, 'api_error');
  assert.match(res.json().error.message, /unavailable/);
  await obs.close();
});

test('retention prunes rows older than retention_days when the log is opened', async (t) => {
  const file = path.join(tempDir(t), 'old.duckdb');
  let { lifecycle, obs } = await open(file, { retention_days: 0 });
  const day = 86_400_000;
  emitRequest(lifecycle, { id: 'old', startedAt: Date.now() - 40 * day });
  emitRequest(lifecycle, { id: 'recent', startedAt: Date.now() - 2 * day });
  await obs.close();

  ({ lifecycle, obs } = await open(file, { retention_days: 30 }));
  const app = fastify();
  await obs.register(app);
  t.after(() => app.close());
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = (await app.inject({ method: 'GET', url: '/logs/status' })).json();
    if (status.writer.pruned === 1) break;
    assert.ok(Date.now() < deadline, 'old rows were not pruned');
    await new Promise((r) => setTimeout(r, 20));
  }
  await obs.close();
  assert.deepEqual(
    (await readFile(file, 'SELECT id FROM requests')).map((r) => r.id),
    ['recent'],
  );
});
