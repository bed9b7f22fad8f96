/**
 * The fault matrix: every row of fault-table.ts in every client format, streamed and not where it
 * applies, each cell sent twice at once — as raw HTTP (status, exact error shape, the upstream bytes)
 * and through the format's real client library (what the SDK makes of it) — against one fake
 * upstream and one proxy with metrics and a real DuckDB access log (plus a proxy for each credential
 * fault). For every cell: the status, the error in the client's own shape or the answer's text, the
 * requests the upstream received, one access-log row with the right status, error kind and retries,
 * the retries in the metrics; after every row the proxy still serves in every format; at the end no
 * socket or timer outlives the proxies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { Settings } from '../../src/config/schema.ts';
import {
  type Answer,
  assembledText,
  bodyFor,
  type ClientFormat,
  type ClientOutcome,
  codeFor,
  errorOf,
  FORMATS,
  PATHS,
  streamBegan,
  streamComplete,
  typeFor,
  viaClient,
} from '../helpers/formats.ts';
import { freePort } from '../helpers/net.ts';
import type { DeepPartial } from '../helpers/proxy.ts';
import {
  type FakeResponse,
  type FakeUpstream,
  type ReceivedRequest,
  startFakeUpstream,
  TEST_ACCESS_TOKEN,
  TEST_REFRESH_TOKEN,
} from '../support/fake-upstream.ts';
import {
  type CellContext,
  EXPIRING,
  type Expect,
  ok,
  type ProxyKind,
  SCENARIOS,
  type Scenario,
} from './fault-table.ts';
import {
  activeResources,
  assertNoLeaks,
  assertServing,
  type Bench,
  type BenchOptions,
  nextId,
  type Row,
  startBench,
  within,
} from './harness.ts';

/** The header that ties a request at the fake to its cell (client headers reach the upstream). */
const CELL = 'x-fault-cell';

const cellOf = (r: ReceivedRequest) => r.headers[CELL] as string | undefined;

async function retryCounts(b: Bench): Promise<Map<string, number>> {
  const { text } = await b.get('/metrics');
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^ccproxy_upstream_retries_total\{mode="api",reason="(\w+)"\} (\d+)/gm))
    out.set(m[1]!, Number(m[2]));
  return out;
}

/** One request of a row: a format, streamed or not, raw or through the client library. */
interface Run {
  format: ClientFormat;
  stream: boolean;
  via: 'raw' | 'client';
  id: string;
  expect: Expect;
}

/** The row's expectation for one format: its own fields, then the format's differences. */
function expectFor(s: Scenario, format: ClientFormat): Expect {
  const { formats, ...own } = s;
  return { ...own, ...formats?.[format] };
}

/** What the client library must make of a cell, unless the row says otherwise. */
function checkClient(e: Expect, format: ClientFormat, o: ClientOutcome, what: string): void {
  if (e.client) {
    e.client(o);
    return;
  }
  if (e.text !== undefined) {
    assert.ok(o.ok, `${what}: ${JSON.stringify(o)}`);
    assert.equal(o.text, e.text, what);
    return;
  }
  assert.ok(!o.ok && o.apiError, `${what}: the SDK's own API error, not ${o.ok ? 'an answer' : o.message}`);
  if (o.ok || !e.error) return;
  // A status error carries the status; an error event in a stream that began has none.
  assert.equal(o.status, e.status >= 400 ? e.status : undefined, `${what}: status`);
  assert.equal(o.type, typeFor(e.error.kind, format), `${what}: type`);
  if (format !== 'anthropic') assert.equal(o.code, codeFor(e.error.kind), `${what}: code`);
  assert.match(o.message, e.error.message, what);
  if (e.header) assert.ok(o.headers?.get(e.header), `${what}: ${e.header} reaches the SDK`);
}

/** What the raw answer must be. */
async function checkRaw(e: Expect, r: Run, a: Answer, ctx: CellContext, what: string): Promise<void> {
  assert.equal(a.status, e.status, `${what}: ${a.text.slice(0, 400)}`);
  if (e.header) assert.ok(a.headers[e.header], `${what}: ${e.header} reaches the client`);
  if (e.error) {
    const err = errorOf(r.format, a);
    assert.ok(err, `${what}: an error in the client's format: ${a.text.slice(0, 400)}`);
    assert.equal(err.type, typeFor(e.error.kind, r.format), `${what}: type`);
    assert.match(err.message, e.error.message, what);
    if (r.format !== 'anthropic') {
      assert.equal(err.code, codeFor(e.error.kind), `${what}: code`);
      if (e.error.param !== undefined) assert.equal(err.param, e.error.param, `${what}: param`);
    }
    if (r.stream && a.status === 200) {
      assert.ok(!streamComplete(r.format, a.text), `${what}: not "complete"`);
      // Translated streams: the answer had begun the proper way before the error ended it.
      if (r.format !== 'anthropic') assert.ok(streamBegan(r.format, a.text), `${what}: began`);
    }
  }
  if (e.text !== undefined) {
    assert.equal(assembledText(r.format, a), e.text, what);
    if (r.stream) assert.ok(streamComplete(r.format, a.text), `${what}: complete`);
  }
  await e.check?.(a, ctx);
}

/** Send `r`'s request and hang up after the first bytes; resolves once the upstream saw it go. */
async function hangUp(b: Bench, r: Run, fake: FakeUpstream): Promise<Answer> {
  const ac = new AbortController();
  // The bench's own connections: an abort destroys the socket, as a client that leaves does.
  const res = await request(`${b.proxy.url}${PATHS[r.format]}`, {
    method: 'POST',
    dispatcher: b.agent,
    headers: { 'content-type': 'application/json', 'x-request-id': r.id, [CELL]: r.id },
    body: JSON.stringify(bodyFor(r.format, r.stream)),
    signal: ac.signal,
  });
  b.sent.push(r.id);
  await res.body[Symbol.asyncIterator]().next();
  ac.abort();
  const upstream = await fake.waitForRequest((x) => cellOf(x) === r.id);
  assert.deepEqual(await within(10_000, 'the upstream request to end', upstream.ended), { aborted: true });
  return { status: res.statusCode, headers: res.headers, text: '', json: undefined };
}

describe('fault matrix: every bad request and upstream fault, in every client format', () => {
  let fake: FakeUpstream;
  let closed = false;
  let resources: Map<string, number>;
  const benches = new Map<ProxyKind, Promise<Bench>>();
  /** Per-cell scripts and arrival times at the fake. */
  const scripts = new Map<string, FakeResponse[]>();
  const arrivals = new Map<string, number[]>();

  /** The proxies, started when a row first needs one; all share the one fake upstream. */
  function benchFor(kind: ProxyKind): Promise<Bench> {
    let b = benches.get(kind);
    if (!b) {
      b = startKind(kind);
      benches.set(kind, b);
    }
    return b;
  }

  async function startKind(kind: ProxyKind): Promise<Bench> {
    const oauth = { auth: { token_url: `${fake.url}/v1/oauth/token` } };
    const start = (settings: DeepPartial<Settings>, credentials?: BenchOptions['credentials']) =>
      startBench(settings, {}, {}, { fake, credentials });
    switch (kind) {
      case 'main':
        // Refreshable credentials, so that a 401 can be answered with a refresh.
        return start(
          { ...oauth, server: { max_body_bytes: 64 * 1024 } },
          {
            credentials: {
              claudeAiOauth: {
                accessToken: TEST_ACCESS_TOKEN,
                refreshToken: TEST_REFRESH_TOKEN,
                expiresAt: Date.now() + 8 * 3600_000,
              },
            },
          },
        );
      case 'refused':
        return start({ upstream: { base_url: `http://127.0.0.1:${await freePort()}` } });
      case 'no-credentials':
        return start({}, { env: {} });
      case 'dead-refresh':
        return start(oauth, {
          credentials: {
            claudeAiOauth: {
              accessToken: 'sk-ant-oat01-expired-token-0000000000',
              refreshToken: 'sk-ant-ort01-dead-000000000',
              expiresAt: Date.now() - 1000,
            },
          },
        });
      case 'expiring':
        fake.oauth.refreshTokens.set(EXPIRING.refreshToken, 'live');
        // A hundred requests at once on a shared machine: no tight upstream deadline here.
        return start(
          { ...oauth, upstream: { timeouts: { first_byte_s: 60, idle_s: 60 } } },
          {
            claudeCredentials: {
              claudeAiOauth: { ...EXPIRING, expiresAt: Date.now() + 60_000, subscriptionType: 'max' },
              otherKey: 'kept',
            },
          },
        );
    }
  }

  before(async () => {
    resources = activeResources();
    fake = await startFakeUpstream();
    fake.handle((r) => {
      const cell = cellOf(r);
      if (!cell) return undefined;
      arrivals.set(cell, [...(arrivals.get(cell) ?? []), Date.now()]);
      return scripts.get(cell)?.shift();
    });
  });
  after(async () => {
    if (closed) return;
    for (const b of benches.values()) await (await b).close();
    await fake?.close();
  });

  for (const s of SCENARIOS) {
    it(s.name, { todo: s.todo }, async () => {
      const b = await benchFor(s.proxy ?? 'main');
      const metricsBefore = await retryCounts(b);
      const refreshesBefore = fake.oauth.refreshCalls;
      // The token endpoint takes a while, so that concurrent requests pile up behind one refresh.
      if (s.proxy === 'expiring') fake.oauth.tokenDelayMs = 100;

      const runs: Run[] = [];
      for (const format of s.only ?? FORMATS)
        for (const stream of s.streams)
          for (let i = 0; i < (s.repeat ?? 1); i++)
            for (const via of s.request || s.hangUp ? (['raw'] as const) : (['raw', 'client'] as const)) {
              const id = nextId(`fault-${format}-${stream ? 'stream' : 'whole'}-${via}`);
              scripts.set(id, s.script?.() ?? []);
              runs.push({ format, stream, via, id, expect: expectFor(s, format) });
            }

      const contextOf = (r: Run): CellContext => ({
        format: r.format,
        stream: r.stream,
        arrivals: arrivals.get(r.id) ?? [],
        get: (path, method) => b.get(path, method),
      });
      const send = async (r: Run): Promise<Answer | ClientOutcome> => {
        if (s.hangUp) return hangUp(b, r, fake);
        if (r.via === 'client') {
          b.sent.push(r.id);
          return within(
            15_000,
            `${r.format} client ${r.id}`,
            viaClient({
              url: b.proxy.url,
              format: r.format,
              stream: r.stream,
              prompt: r.id,
              headers: { 'x-request-id': r.id, [CELL]: r.id },
            }),
          );
        }
        const req = s.request?.(r.format, r.stream, r.id);
        return b.post(r.format, req?.body ?? bodyFor(r.format, r.stream, r.id), {
          id: r.id,
          method: req?.method,
          path: req?.path,
          raw: req?.raw,
          headers: { [CELL]: r.id },
        });
      };
      const answers: Array<Answer | ClientOutcome> = [];
      if (s.sequential) for (const r of runs) answers.push(await send(r));
      else answers.push(...(await Promise.all(runs.map(send))));

      const logged = runs.filter((r) => r.expect.row !== false);
      const rows = await b.rows(logged.map((r) => r.id));
      for (const [i, r] of runs.entries()) {
        const e = r.expect;
        const what = `${r.format} stream=${r.stream} ${r.via}`;
        const received = fake.received.filter((x) => cellOf(x) === r.id);
        assert.equal(received.length, e.attempts, `${what}: requests the upstream received`);
        if (r.via === 'client') checkClient(e, r.format, answers[i] as ClientOutcome, what);
        else await checkRaw(e, r, answers[i] as Answer, contextOf(r), what);

        if (e.row === false) {
          // No route, no row: it must not count as a request sent.
          b.sent.splice(b.sent.indexOf(r.id), 1);
          continue;
        }
        const row: Row = rows.get(r.id)!;
        const want = e.row ?? {};
        assert.equal(row.format, r.format, what);
        assert.equal(row.stream, r.stream, `${what}: row stream`);
        assert.equal(row.status, want.status ?? e.status, `${what}: row status`);
        assert.equal(
          row.error_kind,
          want.kind !== undefined ? want.kind : (e.error?.kind ?? null),
          `${what}: row error_kind`,
        );
        assert.equal(
          row.retries,
          want.retries ?? Math.max(0, e.attempts - 1),
          `${what}: retries in the access log`,
        );
        assert.equal(row.client_aborted, want.clientAborted ?? false, `${what}: client_aborted`);
      }

      if (s.reason) {
        const metricsAfter = await retryCounts(b);
        const added = (metricsAfter.get(s.reason) ?? 0) - (metricsBefore.get(s.reason) ?? 0);
        const retries = runs.reduce(
          (n, r) => n + ((r.expect.row || undefined)?.retries ?? Math.max(0, r.expect.attempts - 1)),
          0,
        );
        assert.equal(added, retries, `ccproxy_upstream_retries_total{reason="${s.reason}"}`);
      }
      fake.oauth.tokenDelayMs = 0;
      await s.after?.({
        refreshes: fake.oauth.refreshCalls - refreshesBefore,
        requests: runs.length,
        get: (path, method) => b.get(path, method),
        proxy: b.proxy,
        tokensUsed: new Set(
          fake.received
            .filter((x) => runs.some((r) => r.id === cellOf(x)))
            .map((x) => String(x.headers.authorization)),
        ),
      });
      if (s.serving !== false) await assertServing(b, ok);
    });
  }

  it('every request has exactly one access-log row; no socket or timer outlives the proxies', async () => {
    for (const pending of benches.values()) {
      const b = await pending;
      const rows = await b.rows();
      assert.equal(rows.size, new Set(b.sent).size);
      const status = (await b.get('/api/status')).json;
      assert.equal(status.concurrency.in_flight, 0, 'every upstream response was let go');
      await b.close();
    }
    await fake.close();
    closed = true;
    await assertNoLeaks(resources);
  });
});
