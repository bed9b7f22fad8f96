/**
 * The capture store on DuckDB and on PostgreSQL: captures expire after `capture_days` (an injected
 * clock, no waiting), the store stays under `capture_max_mb` (the oldest go first, one warning),
 * and a whole request captured through a proxy whose storage.url is PostgreSQL.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { DuckDbStore } from '../../src/observability/access-log/duckdb/store.ts';
import { PgAccessLogStore } from '../../src/observability/access-log/postgres/store.ts';
import { toRow } from '../../src/observability/access-log/row.ts';
import { RequestCapture } from '../../src/observability/capture/recorder.ts';
import type { CaptureStore } from '../../src/observability/capture/store.ts';
import { CaptureWriter } from '../../src/observability/capture/writer.ts';
import { createPricing } from '../../src/observability/pricing.ts';
import { PgDatabase } from '../../src/storage/postgres/database.ts';
import { record, silent, tempDir } from '../observability/helpers.ts';
import { reply } from '../support/fake-upstream.ts';
import { postgresSkip, startPostgres, type TestPostgres } from '../support/postgres.ts';
import { json, PROXY_TOKEN, startCaptureRig } from './helpers.ts';

const DAY = 86_400_000;
const T = Date.UTC(2026, 5, 1, 12);
const pricing = createPricing({});

function logSink() {
  const lines: string[] = [];
  const log = pino(
    { level: 'warn' },
    new Writable({
      write(chunk, _e, cb) {
        lines.push(chunk.toString());
        cb();
      },
    }),
  );
  return { log, lines };
}

/** A finished request and its capture: a 1 kB answer. */
function captured(id: string, startedAt: number) {
  const r = record({ id, startedAt });
  const c = new RequestCapture(r.t0, 64 * 1024, {
    method: 'POST',
    url: '/api/v1/messages',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from('{"model":"claude-sonnet-5-5"}'),
  });
  c.upstreamSent({ method: 'POST', url: 'https://upstream/v1/messages', headers: {}, body: '{}' });
  c.upstreamAnswered(200, { 'content-type': 'application/json' });
  c.upstreamData(Buffer.from(JSON.stringify({ text: 'x'.repeat(1000) })));
  c.sealed = true;
  r.capture = c;
  return { r, row: toRow(r, pricing) };
}

async function expiryAndBound(store: CaptureStore) {
  const { log, lines } = logSink();
  let now = T;
  const opts = {
    mode: 'all' as const,
    days: 7,
    secrets: () => [],
    flushIntervalMs: 10_000,
    log,
    now: () => now,
  };
  const w1 = new CaptureWriter(store, { ...opts, maxStoreBytes: 1024 * 1024 });
  for (const [id, age] of [
    ['old_1', 9 * DAY],
    ['old_2', 8 * DAY],
    ['recent', DAY],
  ] as const) {
    const { r, row } = captured(id, T - age);
    w1.finish(r, row);
  }
  assert.ok(await w1.flush());
  assert.ok(await store.getCapture('old_1'));
  // A week and a bit later by the clock: the two old ones go, the recent one stays.
  await w1.prune();
  assert.equal(await store.getCapture('old_1'), null);
  assert.equal(await store.getCapture('old_2'), null);
  assert.ok(await store.getCapture('recent'));
  now += 7 * DAY;
  await w1.prune();
  assert.equal(await store.getCapture('recent'), null);
  await w1.close();

  // The size bound: room for about three of these captures.
  const one = (await store.captureStats()).bytes;
  assert.equal(one, 0);
  const probe = captured('probe', now);
  const w2 = new CaptureWriter(store, { ...opts, maxStoreBytes: 1024 * 1024 });
  w2.finish(probe.r, probe.row);
  await w2.flush();
  await w2.close();
  const size = (await store.captureStats()).bytes;
  assert.ok(size > 1000);
  await store.pruneCaptures(now + 1);
  const w3 = new CaptureWriter(store, { ...opts, maxStoreBytes: Math.floor(size * 3.5) });
  for (let i = 0; i < 8; i++) {
    const { r, row } = captured(`seq_${i}`, now + i * 1000);
    w3.finish(r, row);
    await w3.flush();
  }
  await w3.close();
  const stats = await store.captureStats();
  assert.ok(stats.bytes <= size * 3.5, `${stats.bytes} bytes kept, bound ${size * 3.5}`);
  assert.ok(stats.rows >= 2 && stats.rows <= 3, `${stats.rows} rows kept`);
  assert.ok(await store.getCapture('seq_7'), 'the newest stays');
  assert.equal(await store.getCapture('seq_0'), null, 'the oldest went');
  const warnings = lines.filter((l) => l.includes('capture store is full'));
  assert.equal(warnings.length, 1, 'one warning, however many captures went');
}

describe('the capture store', () => {
  test('DuckDB: expiry by capture_days, the size bound', async (t) => {
    const dir = tempDir(t);
    const store = await DuckDbStore.open(path.join(dir, 'log.duckdb'));
    try {
      await expiryAndBound(store);
    } finally {
      await store.close();
    }
  });

  describe('PostgreSQL', { skip: postgresSkip() }, () => {
    let pg: TestPostgres;
    before(async () => {
      pg = await startPostgres();
    });
    after(() => pg?.close());

    test('expiry by capture_days, the size bound', async () => {
      const db = new PgDatabase({ url: await pg.createDatabase('captures'), poolSize: 2, log: silent });
      try {
        await expiryAndBound(new PgAccessLogStore(db));
      } finally {
        await db.close();
      }
    });

    test('a request captured through a proxy on storage.url', async () => {
      const rig = await startCaptureRig({ storage: { url: await pg.createDatabase('proxy') } });
      try {
        await rig.proxy.proxy.storage.ready();
        rig.fake.enqueue(reply.text('Stored in PostgreSQL.', { deltas: 2 }));
        const res = await fetch(`${rig.proxy.url}/api/v1/messages`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-api-key': PROXY_TOKEN,
            'x-request-id': 'pg_capture',
          },
          body: JSON.stringify({
            model: 'claude-sonnet-5-5',
            max_tokens: 64,
            stream: true,
            messages: [{ role: 'user', content: 'hi' }],
          }),
        });
        await res.text();
        const { status, body } = await rig.detail('pg_capture');
        assert.equal(status, 200);
        assert.equal(body.row?.id, 'pg_capture');
        const c = body.capture!;
        assert.equal(c.upstream_request!.headers.authorization, 'Bearer [REDACTED]');
        assert.ok(c.upstream_response!.events!.some((e) => e.event === 'message_stop'));
        assert.equal((json(c.client_request.body!.text) as { stream: boolean }).stream, true);
        const rows = await pg.sql<{ n: string }>('SELECT count(*) AS n FROM ccproxy_captures', [], 'proxy');
        assert.equal(Number(rows[0]!.n), 1);
      } finally {
        await rig.close();
      }
    });
  });
});
