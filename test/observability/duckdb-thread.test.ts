/**
 * The DuckDB access log on its own thread (what `ccproxy serve` runs): every store call crosses to
 * the thread and back with the same answers as the in-process store, open errors come back as
 * errors, a batch crosses as columns in one message (encoded a slice per turn), a thread
 * that dies fails only the calls it held and the next call starts a new one, and
 * close() writes everything it was handed before the thread ends.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { DuckDbStore } from '../../src/observability/access-log/duckdb/store.ts';
import { DuckDbThreadStore, SLICE_ROWS } from '../../src/observability/access-log/duckdb/thread-store.ts';
import { toRow } from '../../src/observability/access-log/row.ts';
import { createPricing } from '../../src/observability/pricing.ts';
import { record, tempDir } from './helpers.ts';

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
  const post = worker.postMessage.bind(worker);
  const handedOver = new Promise<void>((resolve) => {
    worker.postMessage = (m: unknown, transfer?: ArrayBuffer[]) => {
      post(m, transfer);
      resolve();
    };
  });
  const held = store.insertBatch(batch);
  await handedOver;
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

test('a batch is encoded a slice per turn, then crosses in one message, its values moved, not copied', async (t) => {
  const file = path.join(tempDir(t), 'log.duckdb');
  const store = await DuckDbThreadStore.open(file);
  const batch = rows(SLICE_ROWS * 2 + 37, 's');
  // Each message to the thread, the buffers it moved, and how many turns of the event loop passed.
  const worker = (store as unknown as { worker: Worker }).worker;
  const post = worker.postMessage.bind(worker);
  const sent: Array<{ op: string; rows: number; moved: number; turn: number }> = [];
  let turn = 0;
  let counting = true;
  const count = () => {
    turn++;
    if (counting) setImmediate(count);
  };
  setImmediate(count);
  worker.postMessage = (m: { op: string; args: Array<{ count?: number }> }, transfer?: ArrayBuffer[]) => {
    sent.push({ op: m.op, rows: m.args[0]?.count ?? 0, moved: transfer?.length ?? 0, turn });
    post(m, transfer);
  };
  await store.insertBatch(batch);
  counting = false;
  assert.deepEqual(
    sent.map(({ op, rows, moved }) => [op, rows, moved]),
    [['insertColumns', SLICE_ROWS * 2 + 37, 1]],
  );
  // Requests kept moving while it was encoded: three slices, three turns.
  assert.ok(sent[0]!.turn >= 2, JSON.stringify(sent));
  const ids = (await store.query({ order: 'asc', limit: 10_000 })).rows.map((r) => r.id);
  assert.deepEqual(
    ids,
    batch.map((r) => r.id),
  );
  await store.close();
});

test('close() waits for a batch still being encoded', async (t) => {
  const file = path.join(tempDir(t), 'log.duckdb');
  const store = await DuckDbThreadStore.open(file);
  const insert = store.insertBatch(rows(SLICE_ROWS * 3, 'c'));
  await store.close();
  await insert;
  const again = await DuckDbStore.open(file, { readOnly: true });
  t.after(() => again.close());
  assert.equal((await again.status()).rows, SLICE_ROWS * 3);
});
