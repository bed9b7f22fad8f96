/**
 * The resilience suite's bench: a fake upstream, a real ccproxy with observability on (metrics and a
 * real DuckDB access log in a temp dir), a client of its own (an undici Agent closed at the end, so
 * its sockets are not mistaken for the proxy's), and the checks every scenario shares: each answer
 * in its client's own shape, every wait bounded, one access-log row per request, and no socket or
 * timer left behind once everything is closed.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { Settings } from '../../src/config/schema.ts';
import {
  type Answer,
  bodyFor,
  type ClientFormat,
  FORMATS,
  PATHS,
  streamComplete,
} from '../helpers/formats.ts';
import { type DeepPartial, type StartOptions, startProxy, type TestProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

/** Resolve with `p`, or fail naming `what` once `ms` have passed: no wait in this suite is unbounded. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no outcome within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Poll `fn` until it returns something truthy, for at most `ms` (generous: a bound, not a timing check). */
export async function until<T>(what: string, fn: () => T | Promise<T>, ms = 30_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

/** The open handles and requests keeping the event loop alive, by type. */
export function activeResources(): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) out.set(r, (out.get(r) ?? 0) + 1);
  return out;
}

/** Wait (bounded) until no resource type has more instances than in `before`. */
export async function assertNoLeaks(before: Map<string, number>, what = 'after closing'): Promise<void> {
  let extra: string[] = [];
  const settled = await until(
    'handles to close',
    () => {
      const now = activeResources();
      extra = [...now]
        .filter(([k, n]) => n > (before.get(k) ?? 0))
        .map(([k, n]) => `${k} ${before.get(k) ?? 0}→${n}`);
      return extra.length === 0;
    },
    5000,
  ).catch(() => false);
  assert.ok(settled, `${what}: resources left open: ${extra.join(', ')}`);
}

export interface Bench {
  fake: FakeUpstream;
  proxy: TestProxy;
  agent: Agent;
  /** Request ids sent so far, in order (each gets one access-log row). */
  sent: string[];
  /** POST a body in a format; `id` becomes the request id (and so the access-log row's id). */
  post(format: ClientFormat, body: unknown, opts?: PostOptions): Promise<Answer>;
  /** GET (or another method, without a body) a path of the proxy over the bench's own connections. */
  get(path: string, method?: 'GET' | 'DELETE'): Promise<Answer>;
  /** Access-log rows by request id, once the writer has stored all of `ids` (bounded wait). */
  rows(ids?: string[]): Promise<Map<string, Row>>;
  close(): Promise<void>;
}

export interface PostOptions {
  id?: string;
  /** Default POST (a GET or DELETE sends no body). */
  method?: 'POST' | 'GET' | 'DELETE';
  headers?: Record<string, string>;
  path?: string;
  /** Raw body text instead of JSON. */
  raw?: string;
  deadlineMs?: number;
}

export type Row = Record<string, any>;

let seq = 0;
export const nextId = (prefix: string) => `${prefix}-${++seq}`;

/** How the bench's proxy gets its upstream and credentials, when not the default ones. */
export interface BenchOptions {
  /** A fake upstream to share (the caller closes it); default a new one, closed with the bench. */
  fake?: FakeUpstream;
  /** The proxy's credentials (default: the test token in CLAUDE_CODE_OAUTH_TOKEN). */
  credentials?: Pick<StartOptions, 'env' | 'credentials' | 'claudeCredentials'>;
}

export async function startBench(
  settings: DeepPartial<Settings> = {},
  fakeOpts: Parameters<typeof startFakeUpstream>[0] = {},
  app: StartOptions['app'] = {},
  opts: BenchOptions = {},
): Promise<Bench> {
  const fake = opts.fake ?? (await startFakeUpstream(fakeOpts));
  const base: DeepPartial<Settings> = {
    upstream: {
      base_url: fake.url,
      timeouts: { first_byte_s: 1, idle_s: 1, connect_s: 2 },
      retry: { base_delay_ms: 5 },
    },
    observability: { metrics: true, access_log: true, flush_interval_ms: 25 },
  };
  const proxy = await startProxy({
    settings: merge(base, settings),
    ...(opts.credentials ?? { env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN } }),
    logLevel: 'warn',
    app,
  });
  // One connection per concurrent request; keep-alive sockets are closed with the agent.
  const agent = new Agent({ connections: 512, keepAliveTimeout: 2000 });
  const sent: string[] = [];
  let closing: Promise<void> | undefined;

  const bench: Bench = {
    fake,
    proxy,
    agent,
    sent,
    async post(format, body, opts = {}) {
      const id = opts.id ?? nextId(format);
      sent.push(id);
      const res = await within(
        opts.deadlineMs ?? 15_000,
        `${format} ${id}`,
        (async () => {
          const method = opts.method ?? 'POST';
          const r = await request(`${proxy.url}${opts.path ?? PATHS[format]}`, {
            method,
            dispatcher: agent,
            headers: {
              'content-type': 'application/json',
              'x-request-id': id,
              ...(format === 'anthropic' ? { 'anthropic-version': '2023-06-01' } : {}),
              ...opts.headers,
            },
            body: method === 'POST' ? (opts.raw ?? JSON.stringify(body)) : undefined,
          });
          const text = await r.body.text();
          return { status: r.statusCode, headers: r.headers, text };
        })(),
      );
      let json: any;
      if (!String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        try {
          json = JSON.parse(res.text);
        } catch {}
      }
      return { ...res, json };
    },
    async get(path, method = 'GET') {
      const r = await within(
        10_000,
        `${method} ${path}`,
        request(`${proxy.url}${path}`, { method, dispatcher: agent }),
      );
      const text = await r.body.text();
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {}
      return { status: r.statusCode, headers: r.headers, text, json };
    },
    async rows(ids = sent) {
      const want = new Set(ids);
      let found = new Map<string, Row>();
      await until(
        `access-log rows for ${want.size} requests`,
        async () => {
          // Read only once the writer is idle (nothing pending, the count of rows written steady):
          // a read that overlaps an append has been seen to return the rows being appended with
          // garbage in their text and integer columns, intact when read again (an open issue).
          const written = async () => {
            const s = await request(`${proxy.url}/logs/status`, { dispatcher: agent });
            const w = ((await s.body.json()) as { writer: { pending: number; written: number } }).writer;
            return w.pending === 0 ? w.written : -1;
          };
          const before = await written();
          if (before < want.size) return false;
          await delay(30);
          if ((await written()) !== before) return false;
          const r = await request(`${proxy.url}/logs/query?limit=10000&order=asc`, { dispatcher: agent });
          const doc = (await r.body.json()) as { data?: Row[]; rows?: Row[] };
          const list = doc.data ?? doc.rows ?? [];
          found = new Map();
          const counts = new Map<string, number>();
          for (const row of list) {
            counts.set(row.id, (counts.get(row.id) ?? 0) + 1);
            found.set(row.id, row);
          }
          for (const [id, n] of counts)
            assert.equal(
              n,
              1,
              `one access-log row for ${id}, not ${n}: ${JSON.stringify(list.filter((x) => x.id === id).slice(0, 2))}`,
            );
          return [...want].every((id) => found.has(id));
        },
        10_000,
      );
      return found;
    },
    close() {
      closing ??= (async () => {
        await agent.close();
        await proxy.close();
        if (!opts.fake) await fake.close();
      })();
      return closing;
    },
  };
  return bench;
}

function merge<T>(a: T, b: unknown): T {
  if (!b || typeof b !== 'object' || Array.isArray(b)) return (b ?? a) as T;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b)) out[k] = merge(out[k], v);
  return out as T;
}

/** After a scenario, the proxy still answers a normal request in every format, streamed and not. */
export async function assertServing(b: Bench, reply: () => unknown): Promise<void> {
  for (const format of FORMATS) {
    for (const stream of [false, true]) {
      b.fake.enqueue(reply() as never);
      const a = await b.post(format, bodyFor(format, stream));
      assert.equal(a.status, 200, `${format} stream=${stream} still served: ${a.text.slice(0, 300)}`);
      if (stream) assert.ok(streamComplete(format, a.text), `${format} stream complete`);
    }
  }
}
