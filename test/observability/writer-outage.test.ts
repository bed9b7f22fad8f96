/**
 * The access-log writer while its store cannot be reached (a database that is down): rows are kept
 * and retried with backoff, nothing is lost when it comes back, the buffer stays bounded (oldest
 * dropped, one warning), and shutdown waits a bounded time and says how many rows it could not write.
 * A fake store and a fake clock: no real waiting, no timing asserts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger } from 'pino';
import { type AccessLogRow, toRow } from '../../src/observability/access-log/row.ts';
import type { AccessLogStore } from '../../src/observability/access-log/store.ts';
import { AccessLogWriter } from '../../src/observability/access-log/writer.ts';
import { createPricing } from '../../src/observability/pricing.ts';
import { StorageUnavailableError } from '../../src/storage/errors.ts';
import { record, silent, waitFor } from './helpers.ts';

/** A store that is "down" until told otherwise, counting its attempts. */
function flakyStore() {
  const written: AccessLogRow[] = [];
  const s = {
    down: true,
    attempts: 0,
    written,
    store: {
      async insertBatch(rows: readonly AccessLogRow[]) {
        s.attempts++;
        if (s.down)
          throw new StorageUnavailableError(
            'PostgreSQL at postgres://x@db/ccproxy is unavailable: ECONNREFUSED',
          );
        written.push(...rows);
      },
      prune: async () => 0,
    } as unknown as AccessLogStore,
  };
  return s;
}

/** A logger that remembers its lines by level. */
function recordingLog() {
  const lines: Array<[string, string]> = [];
  const log = silent.child({});
  for (const level of ['warn', 'info', 'error'] as const) {
    log[level] = ((obj: unknown, msg?: string) => {
      lines.push([level, typeof obj === 'string' ? obj : (msg ?? '')]);
    }) as Logger['warn'];
  }
  return { log, lines };
}

const row = () => toRow(record(), createPricing());

test('while the store is down nothing is dropped; when it is back every row is written, in order', async (t) => {
  const s = flakyStore();
  const { log, lines } = recordingLog();
  let clock = 1_000_000;
  const writer = new AccessLogWriter(s.store, {
    batchSize: 10,
    flushIntervalMs: 5,
    retentionDays: 0,
    log,
    now: () => clock,
  });
  t.after(() => writer.close());
  const pushed: string[] = [];
  for (let i = 0; i < 35; i++) {
    const r = row();
    pushed.push(r.id);
    writer.push(r);
  }
  await waitFor(() => s.attempts >= 1, 'a first attempt');
  const attempts = s.attempts;
  assert.equal(writer.stats.dropped, 0);
  assert.equal(writer.pending, 35);
  assert.equal(writer.stats.unavailable_since, 1_000_000);
  // Backing off: with the clock still, the timer does not try again.
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(s.attempts, attempts, 'no new attempt before the backoff has passed');
  // Time passes: it tries again (and fails again), then waits longer each time.
  for (let i = 0; i < 6; i++) {
    const before = s.attempts;
    clock += 10_000;
    await waitFor(() => s.attempts > before, 'another attempt');
  }
  assert.equal(writer.stats.dropped, 0);
  assert.equal(lines.filter(([, m]) => /cannot be reached/.test(m)).length, 1, 'one warning per outage');

  s.down = false;
  clock += 10_000;
  await waitFor(() => s.written.length === 35, 'every row written');
  assert.deepEqual(
    s.written.map((r) => r.id),
    pushed,
  );
  assert.equal(writer.stats.unavailable_since, null);
  assert.equal(writer.stats.written, 35);
  assert.ok(lines.some(([l, m]) => l === 'info' && /store is back/.test(m)));
});

test('the buffer is bounded during an outage: the oldest rows go first, with one warning', async (t) => {
  const s = flakyStore();
  const { log, lines } = recordingLog();
  const writer = new AccessLogWriter(s.store, {
    batchSize: 10,
    flushIntervalMs: 60_000,
    retentionDays: 0,
    log,
    maxBuffered: 100,
    closeTimeoutMs: 0,
  });
  t.after(() => writer.close());
  const pushed: string[] = [];
  for (let i = 0; i < 250; i++) {
    const r = row();
    pushed.push(r.id);
    writer.push(r);
  }
  assert.equal(writer.stats.dropped, 150);
  assert.equal(lines.filter(([, m]) => /dropping the oldest/.test(m)).length, 1);
  s.down = false;
  assert.equal(await writer.flush(10_000), true);
  assert.deepEqual(
    s.written.map((r) => r.id),
    pushed.slice(150),
    'the newest rows are kept',
  );
});

test('shutdown waits a bounded time for the store, then says how many rows were not written', async () => {
  const s = flakyStore();
  const { log, lines } = recordingLog();
  const writer = new AccessLogWriter(s.store, {
    batchSize: 10,
    flushIntervalMs: 60_000,
    retentionDays: 0,
    log,
    closeTimeoutMs: 300,
  });
  for (let i = 0; i < 23; i++) writer.push(row());
  await writer.close();
  assert.ok(s.attempts >= 1, 'it tried');
  const msg = lines.find(([l]) => l === 'error')?.[1] ?? '';
  assert.match(msg, /23 rows could not be written before shutdown/);
  assert.equal(writer.stats.dropped, 23);
  assert.equal(writer.pending, 0);
});

test('a store that comes back during shutdown gets everything', async () => {
  const s = flakyStore();
  const { log, lines } = recordingLog();
  const writer = new AccessLogWriter(s.store, {
    batchSize: 10,
    flushIntervalMs: 60_000,
    retentionDays: 0,
    log,
    closeTimeoutMs: 60_000,
  });
  for (let i = 0; i < 23; i++) writer.push(row());
  const closing = writer.close();
  await waitFor(() => s.attempts >= 2, 'two attempts while closing');
  s.down = false;
  await closing;
  assert.equal(s.written.length, 23);
  assert.ok(!lines.some(([l]) => l === 'error'));
});
