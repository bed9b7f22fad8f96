import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { createObservability, type Observability } from '../../src/observability/index.ts';
import { Lifecycle } from '../../src/observability/lifecycle.ts';
import { registerLogsApi } from '../../src/observability/logs-api/routes.ts';
import { readSse } from '../helpers/sse.ts';
import { emitRequest, settingsWith, silent, tempDir, waitFor } from './helpers.ts';

const T0 = Date.parse('2026-11-20T10:00:00Z');
const MIN = 60_000;

/**
 * Ten requests, one a minute from T0, durations 100..1000 ms:
 * 0-5 api/anthropic sonnet-5-5 (ok, streamed, 1000 in / 100 out each)
 * 6   api/openai opus-5-5 429 rate_limited
 * 7   sdk/anthropic opus-5-5 ok, not streamed
 * 8   api/openai unknown model, ok, tokens but no price
 * 9   api/anthropic sonnet-5-5 529 overloaded, one hour later
 */
function seed(lifecycle: Lifecycle) {
  for (let i = 0; i < 10; i++) {
    const base = { id: `req_${i}`, startedAt: T0 + i * MIN, durationMs: (i + 1) * 100, ttfbMs: 50 };
    if (i <= 5) emitRequest(lifecycle, { ...base, usage: { input: 1000, output: 100 } });
    else if (i === 6) {
      emitRequest(lifecycle, {
        ...base,
        format: 'openai',
        route: '/api/v1/chat/completions',
        clientModel: 'gpt-4o',
        upstreamModel: 'claude-opus-5-5',
        status: 429,
        errorKind: 'rate_limited',
      });
    } else if (i === 7) {
      emitRequest(lifecycle, {
        ...base,
        mode: 'sdk',
        route: '/sdk/v1/messages',
        upstreamModel: 'claude-opus-5-5',
        clientModel: 'opus',
        stream: false,
        usage: { input: 10, output: 10 },
      });
    } else if (i === 8) {
      emitRequest(lifecycle, {
        ...base,
        format: 'openai',
        route: '/api/v1/chat/completions',
        clientModel: '=cmd|calc',
        upstreamModel: 'mystery, "quoted"',
        usage: { input: 7 },
      });
    } else {
      emitRequest(lifecycle, { ...base, startedAt: T0 + 60 * MIN, status: 529, errorKind: 'overloaded' });
    }
  }
}

describe('logs API', () => {
  let app: FastifyInstance;
  let obs: Observability;
  let lifecycle: Lifecycle;
  let dir: string;
  const cleanups: Array<() => unknown> = [];

  before(async () => {
    dir = tempDir({ after: (fn) => cleanups.push(fn) });
    lifecycle = new Lifecycle();
    obs = await createObservability({
      settings: settingsWith({
        access_log: true,
        duckdb_path: path.join(dir, 'log.duckdb'),
        flush_interval_ms: 20,
        retention_days: 0,
      }),
      lifecycle,
      log: silent,
      version: 'test',
      rateLimits: () => [{ name: 'unified_5h_utilization', value: 0.25 }],
    });
    app = fastify();
    await obs.register(app);
    seed(lifecycle);
    await waitFor(async () => (await get('/logs/status')).json().store.rows === 10, 'ten rows written');
  });

  after(async () => {
    await app.close();
    await obs.close();
    for (const fn of cleanups.reverse()) await fn();
  });

  const get = (url: string) => app.inject({ method: 'GET', url });
  const ids = async (qs: string) => {
    const res = await get(`/logs/query?${qs}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json().rows.map((r: { id: string }) => r.id) as string[];
  };

  test('status: store path, rows, oldest and newest, size, writer counters, rate limits', async () => {
    const s = (await get('/logs/status')).json();
    assert.equal(s.store.kind, 'duckdb');
    assert.equal(s.store.location, path.join(dir, 'log.duckdb'));
    assert.equal(s.store.rows, 10);
    assert.equal(s.store.oldest, T0);
    assert.equal(s.store.newest, T0 + 60 * MIN);
    assert.ok(s.store.size_bytes > 0);
    assert.equal(s.writer.written, 10);
    assert.equal(s.writer.failures, 0);
    assert.deepEqual(s.rate_limits, [{ name: 'unified_5h_utilization', value: 0.25 }]);
  });

  test('query: newest first by default, every column present', async () => {
    const res = (await get('/logs/query')).json();
    assert.equal(res.count, 10);
    assert.equal(res.next_cursor, null);
    assert.deepEqual(
      res.rows.map((r: { id: string }) => r.id),
      ['req_9', 'req_8', 'req_7', 'req_6', 'req_5', 'req_4', 'req_3', 'req_2', 'req_1', 'req_0'],
    );
    const r0 = res.rows.at(-1);
    assert.equal(r0.ts, T0);
    assert.equal(r0.input_tokens, 1000);
    assert.equal(r0.ttft_ms, 50);
    assert.equal(r0.stream, true);
    assert.ok(Math.abs(r0.cost_usd - (1000 * 2 + 100 * 10) / 1e6) < 1e-12);
  });

  test('query filters', async () => {
    assert.deepEqual(await ids('model=claude-opus-5-5&order=asc'), ['req_6', 'req_7']);
    assert.deepEqual(await ids('model=gpt-4o'), ['req_6'], 'the client model matches too');
    assert.deepEqual(await ids('mode=sdk'), ['req_7']);
    assert.deepEqual(await ids('format=openai&order=asc'), ['req_6', 'req_8']);
    assert.deepEqual(await ids('status=4xx'), ['req_6']);
    assert.deepEqual(await ids('status=529'), ['req_9']);
    assert.deepEqual(await ids('status=5xx'), ['req_9']);
    assert.deepEqual(await ids('error=true&order=asc'), ['req_6', 'req_9']);
    assert.equal((await ids('error=false')).length, 8);
    assert.deepEqual(await ids('error_kind=overloaded'), ['req_9']);
    assert.deepEqual(await ids('stream=false'), ['req_7']);
    assert.deepEqual(await ids('min_duration_ms=850&order=asc'), ['req_8', 'req_9']);
    assert.deepEqual(await ids('q=Q_3'), ['req_3'], 'id search is case-insensitive');
    assert.deepEqual(await ids('q=%25'), [], '% is literal in a search');
    const from = new Date(T0 + 2 * MIN).toISOString();
    assert.deepEqual(await ids(`from=${from}&to=${T0 + 4 * MIN}&order=asc`), ['req_2', 'req_3']);
    assert.deepEqual(await ids('from=-1h'), [], 'a time ago, relative to now');
    assert.deepEqual(await ids('mode=api&format=anthropic&error=false&order=asc'), [
      'req_0',
      'req_1',
      'req_2',
      'req_3',
      'req_4',
      'req_5',
    ]);
  });

  test('cursor paging walks every row once, in both orders', async () => {
    for (const order of ['desc', 'asc']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const qs: string = `limit=3&order=${order}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const res = (await get(`/logs/query?${qs}`)).json();
        seen.push(...res.rows.map((r: { id: string }) => r.id));
        cursor = res.next_cursor;
        pages++;
      } while (cursor);
      assert.equal(pages, 4);
      const all = Array.from({ length: 10 }, (_, i) => `req_${i}`);
      assert.deepEqual(seen, order === 'asc' ? all : all.reverse());
    }
    // Paging composes with filters.
    const page1 = (await get('/logs/query?mode=api&format=anthropic&limit=4&order=asc')).json();
    const page2 = (
      await get(`/logs/query?mode=api&format=anthropic&limit=4&order=asc&cursor=${page1.next_cursor}`)
    ).json();
    assert.deepEqual(
      [...page1.rows, ...page2.rows].map((r: { id: string }) => r.id),
      ['req_0', 'req_1', 'req_2', 'req_3', 'req_4', 'req_5', 'req_9'],
    );
    assert.equal(page2.next_cursor, null);
  });

  test('analytics: totals, success rate, percentiles, tokens and cost by model, mode and hour', async () => {
    const res = await get(`/logs/analytics?from=${T0}&to=${T0 + 2 * 3_600_000}`);
    assert.equal(res.statusCode, 200, res.body);
    const a = res.json();
    assert.equal(a.bucket_s, 3600);
    assert.equal(a.totals.requests, 10);
    assert.equal(a.totals.errors, 2);
    assert.equal(a.totals.success_rate, 0.8);
    assert.equal(a.totals.latency_p50_ms, 550);
    assert.equal(a.totals.latency_p95_ms, 955);
    assert.equal(a.totals.ttft_p50_ms, 50);
    assert.equal(a.totals.input_tokens, 6017);
    assert.equal(a.totals.output_tokens, 610);
    assert.equal(a.totals.unpriced, 1);
    const sonnet = (6000 * 2 + 600 * 10) / 1e6;
    const opus = (10 * 4 + 10 * 20) / 1e6;
    assert.ok(Math.abs(a.totals.cost_usd - (sonnet + opus)) < 1e-12);

    const byModel = Object.fromEntries(a.by_model.map((m: { model: string }) => [m.model, m]));
    assert.equal(byModel['claude-sonnet-5-5'].requests, 7);
    assert.equal(byModel['claude-sonnet-5-5'].errors, 1);
    assert.equal(byModel['claude-opus-5-5'].requests, 2);
    assert.equal(byModel['mystery, "quoted"'].unpriced, 1);
    const byMode = Object.fromEntries(
      a.by_mode.map((m: { mode: string; requests: number }) => [m.mode, m.requests]),
    );
    assert.deepEqual(byMode, { api: 9, sdk: 1 });
    const byFormat = Object.fromEntries(
      a.by_format.map((m: { format: string; requests: number }) => [m.format, m.requests]),
    );
    assert.deepEqual(byFormat, { anthropic: 8, openai: 2 });
    assert.deepEqual(a.by_error_kind.map((e: { kind: string; count: number }) => [e.kind, e.count]).sort(), [
      ['overloaded', 1],
      ['rate_limited', 1],
    ]);
    assert.deepEqual(
      a.timeseries.map((p: { t: number; requests: number; errors: number }) => [p.t, p.requests, p.errors]),
      [
        [T0, 9, 1],
        [T0 + 3_600_000, 1, 1],
      ],
    );
    const sonnetHour0 = a.timeseries_by_model.find(
      (p: { t: number; model: string }) => p.t === T0 && p.model === 'claude-sonnet-5-5',
    );
    assert.equal(sonnetHour0.requests, 6);
    assert.equal(sonnetHour0.input_tokens, 6000);
    assert.deepEqual(a.errors_by_kind, [
      { t: T0, kind: 'rate_limited', count: 1 },
      { t: T0 + 3_600_000, kind: 'overloaded', count: 1 },
    ]);

    const minutes = (
      await get(`/logs/analytics?from=${T0}&to=${T0 + 10 * MIN}&bucket=minute&mode=api`)
    ).json();
    assert.equal(minutes.timeseries.length, 8, 'one bucket per minute with api requests');
    assert.equal(minutes.totals.requests, 8);

    const empty = (await get(`/logs/analytics?from=${T0 - 7_200_000}&to=${T0 - 3_600_000}`)).json();
    assert.equal(empty.totals.requests, 0);
    assert.equal(empty.totals.success_rate, null);
    assert.equal(empty.totals.latency_p50_ms, null);
    assert.deepEqual(empty.timeseries, []);
  });

  test('CSV export: header, one line per row, quoting, formula injection defused', async () => {
    const res = await get('/logs/export?order=asc');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/csv/);
    assert.match(
      String(res.headers['content-disposition']),
      /attachment; filename="ccproxy-access-log-.*\.csv"/,
    );
    const lines = res.body.split('\r\n');
    assert.equal(lines.at(-1), '');
    assert.equal(lines.length, 12);
    assert.ok(
      lines[0]!.startsWith(
        'id,ts,mode,format,method,path,client_model,upstream_model,stream,status,error_kind',
      ),
    );
    assert.ok(
      lines[1]!.startsWith(`req_0,${new Date(T0).toISOString()},api,anthropic,POST,/api/v1/messages,`),
    );
    const line8 = lines[9]!;
    assert.ok(line8.includes(`,'=cmd|calc,"mystery, ""quoted""",`), line8);

    const limited = await get('/logs/export?limit=3&error=false');
    assert.equal(limited.body.split('\r\n').length, 5);
    const nd = await get('/logs/export?output=ndjson&mode=sdk');
    assert.match(String(nd.headers['content-type']), /^application\/x-ndjson/);
    const rows = nd.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      rows.map((r) => r.id),
      ['req_7'],
    );
  });

  test('bad parameters are a 400 naming the parameter', async () => {
    const cases: Array<[string, string]> = [
      ['/logs/query?modle=api', 'modle'],
      ['/logs/query?limit=0', 'limit'],
      ['/logs/query?limit=10001', 'limit'],
      ['/logs/query?limit=ten', 'limit'],
      ['/logs/query?order=up', 'order'],
      ['/logs/query?status=abc', 'status'],
      ['/logs/query?status=600', 'status'],
      ['/logs/query?from=yesterday', 'from'],
      ['/logs/query?from=2026-11-21&to=2026-11-20', 'to'],
      ['/logs/query?mode=api&mode=sdk', 'mode'],
      ['/logs/query?mode=cloud', 'mode'],
      ['/logs/query?format=xml', 'format'],
      ['/logs/query?error=maybe', 'error'],
      ['/logs/query?error_kind=oops', 'error_kind'],
      ['/logs/query?min_duration_ms=-5', 'min_duration_ms'],
      ['/logs/query?cursor=garbage', 'cursor'],
      ['/logs/analytics?bucket=1&from=-30d', 'bucket'],
      ['/logs/analytics?bucket=fortnight', 'bucket'],
      ['/logs/analytics?cursor=x', 'cursor'],
      ['/logs/export?output=xlsx', 'output'],
      ['/logs/export?limit=-1', 'limit'],
      ['/logs/stream?events=everything', 'events'],
      ['/logs/status?x=1', 'x'],
      // Own properties only, bounded times (a probe found these reaching SQL as NaN / overflowing).
      ['/logs/analytics?bucket=constructor', 'bucket'],
      ['/logs/analytics?bucket=__proto__', 'bucket'],
      ['/logs/analytics?bucket=toString', 'bucket'],
      ['/logs/analytics?bucket=hasOwnProperty', 'bucket'],
      ['/logs/query?to=99999999999999999999', 'to'],
      ['/logs/query?to=9223372036854775808', 'to'],
      ['/logs/analytics?from=1700000000000&to=9223372036854775807', 'to'],
      ['/logs/query?from=-9999999999999999w', 'from'],
      ['/logs/query?from=-300000000d', 'from'],
      ['/logs/query?to=%2B275760-09-13', 'to'],
      ['/logs/query?to=10000-01-01', 'to'],
      ['/logs/export?from=99999999999999999', 'from'],
      // Dates that do not exist, and words after one (Date.parse rolled and skipped them).
      ['/logs/analytics?from=2026-02-30', 'from'],
      ['/logs/query?from=2025-02-29', 'from'],
      ['/logs/query?to=2026-11-20T24:00:00Z', 'to'],
      ['/logs/query?from=2026-11-20%20Z%20(whatever)', 'from'],
      [`/logs/query?cursor=${Buffer.from(JSON.stringify([9e15, 'req_1'])).toString('base64url')}`, 'cursor'],
    ];
    for (const [url, param] of cases) {
      const res = await get(url);
      assert.equal(res.statusCode, 400, `${url} → ${res.statusCode}`);
      const body = res.json();
      assert.equal(body.error.type, 'invalid_request_error');
      assert.ok(body.error.message.includes(`'${param}'`), `${url}: ${body.error.message}`);
    }
    assert.match((await get('/logs/status?x=1')).json().error.message, /takes no parameters/);
    for (const ok of ['2024-02-29', '2026-11-20T10:00:00Z', '2026-11-20T10:00:00.123+02:00']) {
      assert.equal((await get(`/logs/query?from=${encodeURIComponent(ok)}`)).statusCode, 200, ok);
    }
  });

  test('/logs/stream delivers live events as SSE with valid JSON, filtered', async () => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const events: Array<{ event: string; data: unknown }> = [];
    const controller = new AbortController();
    const res = await fetch(`${address}/logs/stream?mode=sdk`, { signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    // Comments (keepalives) are not events; a read that ends with the abort below is the normal end.
    const pump = readSse(res.body!, (ev) =>
      events.push({ event: ev.event ?? 'message', data: JSON.parse(ev.data) }),
    ).catch(() => {});
    await waitFor(() => events.some((e) => e.event === 'ready'), 'the ready event');
    emitRequest(lifecycle, { id: 'live-api' }); // filtered out: mode=api
    emitRequest(lifecycle, { id: 'live-sdk', mode: 'sdk', usage: { input: 3, output: 4 } });
    const got = await waitFor(() => events.find((e) => e.event === 'request'), 'a request event', 2000);
    assert.equal((got.data as { id: string }).id, 'live-sdk');
    assert.equal((got.data as { output_tokens: number }).output_tokens, 4);
    assert.ok(events.some((e) => e.event === 'start' && (e.data as { id: string }).id === 'live-sdk'));
    assert.ok(!events.some((e) => (e.data as { id?: string }).id === 'live-api'));
    controller.abort();
    await pump;
  });
});

describe('logs API when the database fails', () => {
  test("a generic 500: the database error text stays in ccproxy's log", async () => {
    const dbText = 'Binder Error: Referenced column "secret_column" not found in FROM clause /home/u/db';
    const failing = () => Promise.reject(new Error(dbText));
    const logged: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void logged.push(line) });
    const app = fastify();
    registerLogsApi(app, {
      store: { query: failing, aggregate: failing, status: failing } as never,
      writer: { stats: {} } as never,
      hub: { size: 0 } as never,
      log,
      settings: { retention_days: 0, batch_size: 1, flush_interval_ms: 1 },
    });
    try {
      for (const url of ['/logs/query', '/logs/analytics', '/logs/status']) {
        const res = await app.inject({ method: 'GET', url });
        assert.equal(res.statusCode, 500, url);
        assert.equal(res.json().error.type, 'api_error');
        assert.doesNotMatch(res.body, /Binder|secret_column|\/home/, `${url} shows no database text`);
      }
      assert.ok(
        logged.some((l) => l.includes('secret_column')),
        'the details are logged',
      );
    } finally {
      await app.close();
    }
  });
});
