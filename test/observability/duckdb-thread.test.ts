/**
 * The DuckDB access log on its own thread (what `ccproxy serve` runs): every store call crosses to
 * the thread and back with the same answers as the in-process store, open errors come back as
 * errors, a thread that dies fails only the calls it held and the next call starts a new one, and
 * close() writes everything it was handed before the thread ends. Its writer runs there too: rows
 * are handed over within milliseconds, in slices, counted until written, logged through the
 * server's logger, and none is lost at close; a thread that dies counts the rows it held as dropped.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { DuckDbStore } from '../../src/observability/access-log/duckdb/store.ts';
import { DuckDbThreadStore } from '../../src/observability/access-log/duckdb/thread-store.ts';
import { HAND_OVER_MS, SLICE_ROWS } from '../../src/observability/access-log/duckdb/thread-writer.ts';
import { toRow } from '../../src/observability/access-log/row.ts';
import type { WriterLog } from '../../src/observability/access-log/writer.ts';
import { createPricing } from '../../src/observability/pricing.ts';
import { record, tempDir, waitFor } from './helpers.ts';

const pricing = createPricing();
const rows = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) =>
    toRow(
      record({ id: `${prefix}-${i}`, startedAt: Date.parse('2026-12-01T10:00:00Z') + i * 1000 }),
      pricing,
    ),
  );

/** The same questions to the thread and to the file opened in-process afterwards. */
test('every call crosses to the thread and back with the in-process answers', async (t) => {
  const file = path.join(tempDir(t), 'nested', 'log.duckdb');
  const store = await DuckDbThreadStore.open(file);
  const written = rows(120, 'r');
  await store.insertBatch(written.slice(0, 70));
  await store.insertBatch(written.slice(70));
  await store.insertCaptures([
    { id: 'r-3', ts: written[3]!.ts, size_bytes: 9, truncated: false, doc: '{"a":"b"}' },
  ]);

  const page = await store.query({ order: 'asc', limit: 50 });
  assert.equal(page.rows.length, 50);
  assert.equal(page.rows[0]!.id, 'r-0');
  assert.ok(page.next_cursor);
  const next = await store.query({ order: 'asc', limit: 100, cursor: page.next_cursor! });
  assert.equal(next.rows.length, 70);
  const analytics = await store.aggregate({ bucketS: 60 });
  assert.equal(analytics.totals.requests, 120);
  assert.equal((await store.status()).rows, 120);
  assert.equal(await store.captures.getCapture('r-3'), '{"a":"b"}');
  assert.deepEqual(await store.captures.captureStats(), { rows: 1, bytes: 9 });
  assert.equal(await store.prune(written[10]!.ts), 10);
  const beforeClose = await store.query({ order: 'desc', limit: 1000 });
  const agg = await store.aggregate({ bucketS: 60 });
  await store.close();
  await assert.rejects(store.status(), /closed/);

  const same = await DuckDbStore.open(file, { readOnly: true });
  t.after(() => same.close());
  assert.deepEqual(await same.query({ order: 'desc', limit: 1000 }), beforeClose);
  assert.deepEqual(await same.aggregate({ bucketS: 60 }), agg);
  if (process.platform !== 'win32') assert.equal(fs.statSync(file).mode & 0o777, 0o600);
});

test('a file that cannot be opened is an error of open(), and a later open works', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'log.duckdb');
  fs.mkdirSync(file);
  await assert.rejects(DuckDbThreadStore.open(file), (err: Error) => {
    assert.match(err.message, /log\.duckdb/);
    return true;
  });
  fs.rmdirSync(file);
  const store = await DuckDbThreadStore.open(file);
  await store.close();
});

test('a thread that dies fails the calls it held; the next call starts a new one on the same file', async (t) => {
  const store = await DuckDbThreadStore.open(path.join(tempDir(t), 'log.duckdb'));
  t.after(() => store.close());
  await store.insertBatch(rows(5, 'before'));
  // What a crash of the thread looks like from here: the worker ends under a call (20,000 rows keep
  // the thread busy for far longer than the next statement takes to stop it).
  const worker = (store as unknown as { worker: Worker }).worker;
  const batch = rows(20_000, 'held');
  const held = store.insertBatch(batch);
  await worker.terminate();
  await assert.rejects(held, /DuckDB thread stopped/);
  await store.insertBatch(rows(3, 'after'));
  const ids = (await store.query({ order: 'asc', limit: 10_000 })).rows.map((r) => r.id);
  assert.ok(ids.includes('before-4') && ids.includes('after-2'), ids.join(' '));
});

test('close() writes every batch handed over before it, even ones still queued', async (t) => {
  const file = path.join(tempDir(t), 'log.duckdb');
  const store = await DuckDbThreadStore.open(file);
  const inserts = [0, 1, 2, 3].map((b) => store.insertBatch(rows(500, `b${b}`)));
  await store.close();
  await Promise.all(inserts);
  const again = await DuckDbStore.open(file, { readOnly: true });
  t.after(() => again.close());
  assert.equal((await again.status()).rows, 2000);
});

/** A logger that keeps what it is given. */
function keeper() {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) =>
    lines.push({ level, obj, msg });
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error') } as unknown as WriterLog };
}

const WRITER = { batchSize: 2000, flushIntervalMs: 60_000, retentionDays: 0 };

/** The thread's messages, as they are posted, and the turn of this event loop each went in. */
function watch(store: DuckDbThreadStore) {
  const worker = (store as unknown as { worker: Worker }).worker;
  const post = worker.postMessage.bind(worker);
  const sent: Array<{ rows: number; turn: number; at: number }> = [];
  let turn = 0;
  let counting = true;
  const count = () => {
    turn++;
    if (counting) setImmediate(count);
  };
  setImmediate(count);
  worker.postMessage = (m: { rows?: unknown[] }) => {
    if (m.rows) sent.push({ rows: m.rows.length, turn, at: performance.now() });
    post(m);
  };
  return {
    sent,
    stop: () => {
      counting = false;
      worker.postMessage = post;
    },
  };
}

test("the thread's writer: rows handed over within milliseconds, counted until written, none lost at close", async (t) => {
  const file = path.join(tempDir(t), 'log.duckdb');
  const { log } = keeper();
  const store = await DuckDbThreadStore.open(file, { options: WRITER, log });
  const writer = store.writer!;
  const posts = watch(store);
  const pushedAt = performance.now();
  for (const r of rows(30, 'a')) writer.push(r);
  assert.equal(posts.sent.length, 0, 'nothing crosses inside push');
  assert.equal(writer.pending, 30);
  await waitFor(() => posts.sent.length === 1, 'the hand-over');
  assert.equal(posts.sent[0]!.rows, 30, 'one message for the rows of a few milliseconds');
  assert.ok(posts.sent[0]!.at - pushedAt >= HAND_OVER_MS - 1);
  // Handed over, not yet written: the thread's writer holds them for its batch (a minute here).
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(writer.pending, 30);
  assert.equal(writer.stats.written, 0);

  // A burst: slices of at most SLICE_ROWS, one per turn of the event loop.
  for (const r of rows(SLICE_ROWS * 2 + 37, 'b')) writer.push(r);
  assert.equal(await writer.flush(5000), true);
  posts.stop();
  assert.deepEqual(
    posts.sent.slice(1).map((s) => s.rows),
    [SLICE_ROWS, SLICE_ROWS, 37],
  );
  assert.ok(posts.sent[1]!.turn < posts.sent[2]!.turn && posts.sent[2]!.turn < posts.sent[3]!.turn);
  assert.deepEqual(
    { pending: writer.pending, written: writer.stats.written },
    { pending: 0, written: 30 + SLICE_ROWS * 2 + 37 },
  );

  // Pushed just before close: written all the same, and nothing is taken after.
  for (const r of rows(7, 'c')) writer.push(r);
  await store.close();
  writer.push(rows(1, 'late')[0]!);
  const again = await DuckDbStore.open(file, { readOnly: true });
  t.after(() => again.close());
  const ids = (await again.query({ order: 'asc', limit: 10_000 })).rows.map((r) => r.id);
  assert.equal(ids.length, 30 + SLICE_ROWS * 2 + 37 + 7);
  assert.ok(ids.includes('c-6') && !ids.includes('late-0'));
});

test("the thread's writer logs through the server's logger and reports what it pruned", async (t) => {
  const file = path.join(tempDir(t), 'log.duckdb');
  const old = await DuckDbStore.open(file);
  await old.insertBatch(rows(4, 'old').map((r) => ({ ...r, ts: Date.now() - 10 * 24 * 3600_000 })));
  await old.close();
  const { lines, log } = keeper();
  const store = await DuckDbThreadStore.open(file, { options: { ...WRITER, retentionDays: 1 }, log });
  t.after(() => store.close());
  await waitFor(() => store.writer!.stats.pruned === 4, 'the prune at start');
  const line = lines.find((l) => l.msg === 'access log: pruned old rows');
  assert.deepEqual(line && { level: line.level, rows: line.obj.rows }, { level: 'info', rows: 4 });
});

test('a thread that dies under the writer: the rows it held are dropped and said, the next go to a new thread', async (t) => {
  const file = path.join(tempDir(t), 'log.duckdb');
  const { lines, log } = keeper();
  const store = await DuckDbThreadStore.open(file, { options: { ...WRITER, batchSize: 5 }, log });
  t.after(() => store.close());
  const writer = store.writer!;
  for (const r of rows(5, 'written')) writer.push(r);
  await waitFor(() => writer.stats.written === 5, 'the first batch');
  for (const r of rows(3, 'held')) writer.push(r);
  assert.equal(await writer.flush(0), false, 'not written within 0 ms');
  // On the thread, waiting for a batch of 5 (or a minute).
  assert.deepEqual([writer.pending, writer.stats.written], [3, 5]);
  await (store as unknown as { worker: Worker }).worker.terminate();
  await waitFor(() => writer.stats.dropped === 3, 'the held rows counted as dropped');
  assert.equal(writer.pending, 0);
  assert.match(lines.find((l) => l.level === 'error')?.msg ?? '', /3 rows were lost with the DuckDB thread/);

  for (const r of rows(5, 'after')) writer.push(r);
  await waitFor(() => writer.stats.written === 10, 'the next batch, on a new thread');
  const ids = (await store.query({ order: 'asc', limit: 100 })).rows.map((r) => r.id);
  assert.ok(ids.includes('written-4') && ids.includes('after-4') && !ids.includes('held-0'), ids.join(' '));
});
