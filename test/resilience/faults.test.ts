/**
 * The upstream's bad days, in every client format, streamed and not: each fault gives the client the
 * right status or error event in its own shape, retries happen exactly as specified (counted at the
 * fake), nothing hangs, the proxy keeps serving, each request has one correct access-log row,
 * retries are counted in the metrics, and no socket or timer outlives the proxy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assembledText,
  bodyFor,
  type ClientFormat,
  errorOf,
  FORMATS,
  streamComplete,
  typeFor,
} from '../helpers/formats.ts';
import { freePort } from '../helpers/net.ts';
import { type FakeResponse, type ReceivedRequest, reply } from '../support/fake-upstream.ts';
import {
  activeResources,
  assertNoLeaks,
  assertServing,
  type Bench,
  nextId,
  type Row,
  startBench,
} from './harness.ts';

type Kind = 'upstream' | 'timeout' | 'overloaded' | 'rate_limited' | 'invalid_request';

interface Scenario {
  name: string;
  /** Which requests to make: streamed, not, or both. */
  streams: boolean[];
  /** The fake's answers to one request's attempts, in order. */
  script: () => FakeResponse[];
  /** Status the client sees. */
  status: number;
  /** The error the client is told about (status body or stream error frame), in its own format. */
  error?: { kind: Kind; message: RegExp };
  /** The answer's text, for scenarios that end well. */
  text?: string;
  /** Requests the fake receives for one client request. */
  attempts: number;
  /** The access-log row's error_kind. */
  rowKind: string | null;
  /** The metrics label of the retries, when there are any. */
  reason?: string;
  /** For pass-through (Anthropic) clients, when they differ: the upstream's bytes go through as they are. */
  anthropic?: { status: number; check: (text: string) => void; rowKind: string | null };
  /** The client must see this header. */
  header?: string;
}

const ANSWER = 'The fault is behind us now.';
const ok = () => reply.text(ANSWER, { deltas: 5 });

const SCENARIOS: Scenario[] = [
  {
    name: 'reset before headers on every attempt',
    streams: [false, true],
    script: () => [reply.reset(), reply.reset(), reply.reset()],
    status: 502,
    error: { kind: 'upstream', message: /closed unexpectedly/ },
    attempts: 3,
    rowKind: 'upstream',
    reason: 'connection',
  },
  {
    name: 'reset before headers once, then an answer',
    streams: [false, true],
    script: () => [reply.reset(), ok()],
    status: 200,
    text: ANSWER,
    attempts: 2,
    rowKind: null,
    reason: 'connection',
  },
  {
    name: 'reset mid-stream (no retry once the stream began)',
    streams: [true],
    script: () => [reply.drop(4, reply.text(ANSWER, { deltas: 6 }), 'reset')],
    status: 200,
    error: { kind: 'upstream', message: /failed mid-response/ },
    attempts: 1,
    rowKind: 'upstream',
  },
  {
    name: 'connection closed mid-stream',
    streams: [true],
    script: () => [reply.drop(4, reply.text(ANSWER, { deltas: 6 }))],
    status: 200,
    error: { kind: 'upstream', message: /failed mid-response|ended before/ },
    attempts: 1,
    rowKind: 'upstream',
  },
  {
    name: 'stall before the first byte',
    streams: [false, true],
    script: () => [reply.stall()],
    status: 504,
    error: { kind: 'timeout', message: /first_byte_s/ },
    attempts: 1,
    rowKind: 'timeout',
  },
  {
    name: 'stall mid-stream',
    streams: [true],
    script: () => [reply.stallMidStream(3)],
    status: 200,
    error: { kind: 'timeout', message: /stalled.*idle_s/ },
    attempts: 1,
    rowKind: 'timeout',
  },
  {
    name: 'a storm of 500s',
    streams: [false, true],
    script: () => [reply.apiError(), reply.apiError(), reply.apiError()],
    status: 500,
    error: { kind: 'upstream', message: /Internal server error/ },
    attempts: 3,
    rowKind: 'upstream',
    reason: 'server_error',
  },
  {
    name: 'a storm of 529s',
    streams: [false, true],
    script: () => [reply.overloaded(), reply.overloaded(), reply.overloaded()],
    status: 529,
    error: { kind: 'overloaded', message: /Overloaded/ },
    attempts: 3,
    rowKind: 'overloaded',
    reason: 'overloaded',
  },
  {
    name: 'two 529s, then an answer',
    streams: [false, true],
    script: () => [reply.overloaded(), reply.overloaded(), ok()],
    status: 200,
    text: ANSWER,
    attempts: 3,
    rowKind: null,
    reason: 'overloaded',
  },
  {
    name: '429 without retry-after: one retry after backoff, then the 429',
    streams: [false, true],
    script: () => [
      reply.rateLimited({ retryAfter: undefined }),
      reply.rateLimited({ retryAfter: undefined }),
    ],
    status: 429,
    error: { kind: 'rate_limited', message: /rate limit/ },
    attempts: 2,
    rowKind: 'rate_limited',
    reason: 'rate_limited',
  },
  {
    name: '429 with retry-after-ms, then an answer',
    streams: [false, true],
    script: () => [reply.rateLimited({ retryAfter: undefined, retryAfterMs: 20 }), ok()],
    status: 200,
    text: ANSWER,
    attempts: 2,
    rowKind: null,
    reason: 'rate_limited',
  },
  {
    name: '429 whose retry-after is beyond the wait budget: passed on at once, with retry-after',
    streams: [false, true],
    script: () => [reply.rateLimited({ retryAfter: 3600 })],
    status: 429,
    error: { kind: 'rate_limited', message: /rate limit/ },
    attempts: 1,
    rowKind: 'rate_limited',
    header: 'retry-after',
  },
  {
    name: 'a stream whose first event is an error (before any answer)',
    streams: [true],
    script: () => [
      reply.events([{ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }]),
    ],
    status: 529,
    error: { kind: 'overloaded', message: /Overloaded/ },
    attempts: 1,
    rowKind: 'overloaded',
    anthropic: {
      status: 200,
      check: (text) => assert.match(text, /^event: error\n/, 'passed through as it came'),
      rowKind: 'overloaded',
    },
  },
  {
    name: 'malformed SSE: a data line that is not JSON',
    streams: [true],
    script: () => [reply.malformed('json')],
    status: 200,
    error: { kind: 'upstream', message: /malformed stream event/ },
    attempts: 1,
    rowKind: 'upstream',
    anthropic: {
      status: 200,
      check: (text) => assert.match(text, /"type":"text_de$/m, 'the upstream bytes, unchanged'),
      rowKind: null,
    },
  },
  {
    name: 'malformed SSE: a stream that stops before message_stop',
    streams: [true],
    script: () => [reply.malformed('truncated')],
    status: 200,
    error: { kind: 'upstream', message: /ended before the answer was complete/ },
    attempts: 1,
    rowKind: 'upstream',
    anthropic: {
      status: 200,
      check: (text) => assert.ok(!text.includes('message_stop'), 'passed through as it came'),
      rowKind: null,
    },
  },
  {
    // The API quotes bad input back: an error can be larger than the proxy holds (64 kB).
    name: 'a 400 too large to hold whole: still a 400 with its type and the start of its message',
    streams: [false, true],
    script: () => [
      reply.error(
        400,
        'invalid_request_error',
        `messages.0.content.0: Input tag '${'x'.repeat(200_000)}' is not one of`,
      ),
    ],
    status: 400,
    error: {
      kind: 'invalid_request',
      message: /^messages\.0\.content\.0: Input tag 'xxxx.*… \(cut short\)$/,
    },
    attempts: 1,
    rowKind: 'invalid_request',
  },
  {
    name: 'an HTML error page (retried as a 502)',
    streams: [false, true],
    script: () => [reply.html(502), reply.html(502), reply.html(502)],
    status: 502,
    error: {
      kind: 'upstream',
      message: /answered HTTP 502 with a body that is not an Anthropic error: <html>/,
    },
    attempts: 3,
    rowKind: 'upstream',
    reason: 'server_error',
  },
  {
    name: 'an HTML page with status 200',
    streams: [false, true],
    script: () => [{ ...reply.html(200), status: 200 }],
    status: 502,
    error: { kind: 'upstream', message: /answered HTTP 200 with text\/html instead of/ },
    attempts: 1,
    rowKind: 'upstream',
  },
];

/** The prompt a request carried, whatever shape the frontend gave its content. */
export function promptOf(r: ReceivedRequest): string {
  const messages = (r.body as { messages?: Array<{ content: unknown }> } | undefined)?.messages ?? [];
  const last = messages.at(-1)?.content;
  if (typeof last === 'string') return last;
  if (Array.isArray(last)) return last.map((b: { text?: string }) => b.text ?? '').join('');
  return '';
}

async function retryCounts(b: Bench): Promise<Map<string, number>> {
  const { text } = await b.get('/metrics');
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^ccproxy_upstream_retries_total\{mode="api",reason="(\w+)"\} (\d+)/gm))
    out.set(m[1]!, Number(m[2]));
  return out;
}

describe('resilience: upstream faults in every client format', () => {
  let bench: Bench;
  let resources: Map<string, number>;
  /** Per-prompt scripts: every request of a scenario runs at once, each with its own answers. */
  const scripts = new Map<string, FakeResponse[]>();

  before(async () => {
    resources = activeResources();
    bench = await startBench();
    bench.fake.handle((r) => scripts.get(promptOf(r))?.shift());
  });
  after(async () => {
    await bench?.close();
  });

  for (const s of SCENARIOS) {
    it(s.name, async () => {
      const metricsBefore = await retryCounts(bench);
      const runs: Array<{ format: ClientFormat; stream: boolean; prompt: string; id: string }> = [];
      for (const format of FORMATS)
        for (const stream of s.streams) {
          const prompt = nextId(`${s.name} ${format} stream=${stream}`);
          scripts.set(prompt, s.script());
          runs.push({ format, stream, prompt, id: nextId('fault') });
        }
      const answers = await Promise.all(
        runs.map((r) => bench.post(r.format, bodyFor(r.format, r.stream, r.prompt), { id: r.id })),
      );
      const rows = await bench.rows(runs.map((r) => r.id));

      for (const [i, r] of runs.entries()) {
        const a = answers[i]!;
        const what = `${r.format} stream=${r.stream}`;
        const received = bench.fake.received.filter((x) => promptOf(x) === r.prompt);
        assert.equal(received.length, s.attempts, `${what}: requests the upstream received`);
        const row: Row = rows.get(r.id)!;
        assert.equal(row.format, r.format, what);
        assert.equal(row.stream, r.stream, what);
        assert.equal(row.retries, s.attempts - 1, `${what}: retries in the access log`);
        assert.equal(row.client_aborted, false, what);

        if (r.format === 'anthropic' && s.anthropic) {
          assert.equal(a.status, s.anthropic.status, what);
          s.anthropic.check(a.text);
          assert.equal(row.status, s.anthropic.status, what);
          assert.equal(row.error_kind, s.anthropic.rowKind, what);
          continue;
        }
        assert.equal(a.status, s.status, `${what}: ${a.text.slice(0, 400)}`);
        assert.equal(row.status, s.status, `${what}: row status`);
        assert.equal(row.error_kind, s.rowKind, `${what}: row error_kind`);
        if (s.header) assert.ok(a.headers[s.header], `${what}: ${s.header} reaches the client`);
        if (s.error) {
          const e = errorOf(r.format, a);
          assert.ok(e, `${what}: an error in the client's format: ${a.text.slice(0, 400)}`);
          assert.equal(e.type, typeFor(s.error.kind, r.format), what);
          assert.match(e.message, s.error.message, what);
          if (r.stream && a.status === 200)
            assert.ok(!streamComplete(r.format, a.text), `${what}: not "complete"`);
        }
        if (s.text !== undefined) {
          assert.equal(assembledText(r.format, a), s.text, what);
          if (r.stream) assert.ok(streamComplete(r.format, a.text), what);
        }
      }

      const metricsAfter = await retryCounts(bench);
      if (s.reason) {
        const added = (metricsAfter.get(s.reason) ?? 0) - (metricsBefore.get(s.reason) ?? 0);
        assert.equal(
          added,
          runs.length * (s.attempts - 1),
          `ccproxy_upstream_retries_total{reason="${s.reason}"}`,
        );
      }
      await assertServing(bench, ok);
    });
  }

  it('429 with retry-after in seconds: the retry waits that long (checked at the fake)', async () => {
    const arrivals = new Map<string, number[]>();
    const runs = FORMATS.map((format) => ({ format, prompt: nextId(`retry-after ${format}`) }));
    for (const r of runs) scripts.set(r.prompt, [reply.rateLimited({ retryAfter: 1 }), ok()]);
    bench.fake.handle((req) => {
      const p = promptOf(req);
      arrivals.set(p, [...(arrivals.get(p) ?? []), Date.now()]);
      return scripts.get(p)?.shift();
    });
    try {
      const answers = await Promise.all(
        runs.map((r) => bench.post(r.format, bodyFor(r.format, false, r.prompt))),
      );
      for (const [i, r] of runs.entries()) {
        assert.equal(answers[i]!.status, 200, r.format);
        const [first, second] = arrivals.get(r.prompt)!;
        // A lower bound only: the proxy may not retry sooner than it was told.
        assert.ok(second! - first! >= 950, `${r.format}: waited ${second! - first!} ms`);
      }
    } finally {
      bench.fake.handle((req) => scripts.get(promptOf(req))?.shift());
    }
  });

  it('connection refused: every attempt made, then 502 naming the upstream', async () => {
    const port = await freePort();
    const refused = await startBench({ upstream: { base_url: `http://127.0.0.1:${port}` } });
    try {
      const runs = FORMATS.flatMap((format) =>
        [false, true].map((stream) => ({ format, stream, id: nextId('refused') })),
      );
      const answers = await Promise.all(
        runs.map((r) => refused.post(r.format, bodyFor(r.format, r.stream), { id: r.id })),
      );
      const rows = await refused.rows();
      for (const [i, r] of runs.entries()) {
        const a = answers[i]!;
        assert.equal(a.status, 502, r.format);
        const e = errorOf(r.format, a)!;
        assert.equal(e.type, typeFor('upstream', r.format));
        assert.match(
          e.message,
          new RegExp(`Cannot reach the upstream http://127.0.0.1:${port}: connection refused`),
        );
        const row = rows.get(r.id)!;
        assert.equal(row.retries, 2, 'upstream.retry.max_attempts = 3');
        assert.equal(row.error_kind, 'upstream');
      }
      const metrics = await retryCounts(refused);
      assert.equal(metrics.get('connection'), runs.length * 2);
      const status = (await refused.get('/api/status')).json;
      assert.match(status.last_upstream_error.message, /connection refused/);
    } finally {
      await refused.close();
    }
  });

  it('every request has exactly one access-log row; no socket or timer outlives the proxy', async () => {
    const rows = await bench.rows();
    assert.equal(rows.size, new Set(bench.sent).size);
    const status = (await bench.get('/api/status')).json;
    assert.equal(status.concurrency.in_flight, 0, 'every upstream response was let go');
    await bench.close();
    await assertNoLeaks(resources);
  });
});
