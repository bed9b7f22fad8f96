/**
 * `npm run soak`: a long run of mixed load against ccproxy (in a child process, observability on)
 * and the fake upstream of test/support (in another), with faults on: streams and not, Anthropic,
 * OpenAI and Responses clients, upstream 529/500/429 storms, resets, drops, stalls, HTML pages,
 * malformed streams, and clients that hang up. Every clean answer is checked word for word.
 *
 * At checkpoints the load pauses, the proxy drains and collects garbage, and its RSS, heap and open
 * handles are sampled; growth is the last checkpoint against the first one after warm-up.
 * Passes when growth stays under 10% and no answer was corrupted, hung or malformed.
 *
 *   npm run soak                        ten minutes, 32 clients
 *   npm run soak -- --minutes 3 --concurrency 48 --seed 7
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Pool } from 'undici';
import { assembledText, bodyFor, type ClientFormat, PATHS, streamComplete } from '../test/helpers/formats.ts';
import { sseEvents } from '../test/helpers/sse.ts';
import { DEFAULT_TEXT } from '../test/support/fake-upstream.ts';
import { seededRandom } from '../test/support/sse.ts';
import { type Child, start, startCcproxy, type Usage } from './child.ts';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return fallback;
  const v = args[i]!.includes('=') ? args[i]!.split('=')[1] : args[i + 1];
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number`);
  return n;
};
const MINUTES = arg('minutes', 10);
const CONCURRENCY = arg('concurrency', 32);
const SEED = arg('seed', 1);
const DURATION_MS = MINUTES * 60_000;
/** JIT, pools, DuckDB caches and the like settle in the first part of the run. */
const WARMUP_MS = arg('warmup-s', Math.min(120, Math.max(30, MINUTES * 12))) * 1000;
const CHECKPOINT_MS = arg('checkpoint-s', Math.max(30, MINUTES * 6)) * 1000;
const REQUEST_DEADLINE_MS = 30_000;
const GOAL = 0.1;

const random = seededRandom(SEED);
function pick<T>(choices: Array<[T, number]>): T {
  const total = choices.reduce((s, [, w]) => s + w, 0);
  let r = random() * total;
  for (const [v, w] of choices) {
    r -= w;
    if (r < 0) return v;
  }
  return choices.at(-1)![0];
}

/** Faults by `[[fake:…]]` directive, with how often each comes up among faulty requests. */
const FAULTS: Array<[string, number]> = [
  ['overloaded', 3],
  ['api_error', 2],
  ['rate_limit:0', 2],
  ['reset', 2],
  ['drop:3', 3],
  ['stall_mid:3', 1],
  ['stall', 1],
  ['html', 2],
  ['malformed', 2],
  ['stream_error', 2],
  ['slow:15', 3],
];

interface Tally {
  requests: number;
  clean: number;
  faults: number;
  disconnects: number;
  corrupted: number;
  malformed: number;
  hung: number;
  statuses: Map<number, number>;
  examples: string[];
}
const tally: Tally = {
  requests: 0,
  clean: 0,
  faults: 0,
  disconnects: 0,
  corrupted: 0,
  malformed: 0,
  hung: 0,
  statuses: new Map(),
  examples: [],
};
const note = (kind: 'corrupted' | 'malformed' | 'hung', what: string) => {
  tally[kind]++;
  if (tally.examples.length < 10) tally.examples.push(`${kind}: ${what.slice(0, 300)}`);
};

/** An answer that ended with an error says so in its client's format. */
function wellFormedFailure(format: ClientFormat, stream: boolean, status: number, text: string): boolean {
  if (status >= 400) {
    try {
      return typeof JSON.parse(text).error?.message === 'string';
    } catch {
      return false;
    }
  }
  if (!stream) {
    try {
      JSON.parse(text);
      return true;
    } catch {
      return false;
    }
  }
  if (streamComplete(format, text)) return true;
  const frames = sseEvents(text);
  if (format === 'anthropic') return frames.some((f) => f.event === 'error');
  if (format === 'openai') return frames.some((f) => f.data?.error);
  return frames.some((f) => f.data?.type === 'response.failed');
}

let seq = 0;
let paused = false;
let inFlight = 0;

async function one(pool: Pool): Promise<void> {
  const n = ++seq;
  const format = pick<ClientFormat>([
    ['anthropic', 4],
    ['openai', 4],
    ['responses', 2],
  ]);
  const stream = random() < 0.65;
  const fault = random() < 0.18 ? pick(FAULTS) : undefined;
  const leave = !fault && stream && random() < 0.03;
  const word = Math.floor(random() * 1e9).toString(36);
  const prompt = fault ? `soak ${n} [[fake:${fault}]]` : `[[fake:echo]] soak ${n} ${word}`;
  const expected = fault?.startsWith('slow')
    ? DEFAULT_TEXT
    : fault
      ? undefined
      : `You said: soak ${n} ${word}`;
  const ac = new AbortController();
  const deadline = setTimeout(() => ac.abort(new Error('deadline')), REQUEST_DEADLINE_MS);
  tally.requests++;
  if (fault) tally.faults++;
  else if (leave) tally.disconnects++;
  else tally.clean++;
  inFlight++;
  try {
    const res = await pool.request({
      method: 'POST',
      path: PATHS[format],
      headers: { 'content-type': 'application/json', 'x-request-id': `soak-${SEED}-${n}` },
      body: JSON.stringify(bodyFor(format, stream, prompt)),
      signal: ac.signal,
    });
    tally.statuses.set(res.statusCode, (tally.statuses.get(res.statusCode) ?? 0) + 1);
    let text = '';
    for await (const chunk of res.body) {
      text += chunk.toString();
      if (leave) {
        ac.abort();
        break;
      }
    }
    if (leave) return;
    const answer = { status: res.statusCode, headers: res.headers, text, json: undefined as unknown };
    if (!stream && res.statusCode === 200) {
      try {
        answer.json = JSON.parse(text);
      } catch {}
    }
    if (expected !== undefined) {
      const ok =
        res.statusCode === 200 &&
        assembledText(format, answer) === expected &&
        (!stream || streamComplete(format, text));
      if (!ok) note('corrupted', `${format} stream=${stream} #${n} ${res.statusCode}: ${text}`);
    } else if (!(format === 'anthropic' && fault === 'malformed')) {
      // A pass-through client gets the upstream's broken bytes as they came; others get an error.
      if (!wellFormedFailure(format, stream, res.statusCode, text))
        note('malformed', `${format} stream=${stream} ${fault} #${n} ${res.statusCode}: ${text}`);
    }
  } catch (err) {
    if (leave && !(ac.signal.reason instanceof Error && ac.signal.reason.message === 'deadline')) return;
    if (ac.signal.aborted) note('hung', `${format} stream=${stream} ${fault ?? 'clean'} #${n}`);
    else note('malformed', `${format} stream=${stream} ${fault ?? 'clean'} #${n}: ${(err as Error).message}`);
  } finally {
    clearTimeout(deadline);
    inFlight--;
  }
}

async function worker(pool: Pool, until: number): Promise<void> {
  while (performance.now() < until) {
    if (paused) {
      await delay(50);
      continue;
    }
    await one(pool);
  }
}

interface Checkpoint {
  atS: number;
  requests: number;
  rss: number;
  heap: number;
  handles: number;
}

/** Pause the load, let the proxy drain and collect garbage, and sample it. */
async function checkpoint(proxy: Child, t0: number): Promise<Checkpoint> {
  paused = true;
  while (inFlight > 0) await delay(20);
  await delay(1500);
  await proxy.usage(true);
  const u: Usage = await proxy.usage(true);
  paused = false;
  return {
    atS: Math.round((performance.now() - t0) / 1000),
    requests: tally.requests,
    rss: u.rss,
    heap: u.heap ?? 0,
    handles: u.handles ?? 0,
  };
}

const mb = (n: number) => (n / 1048576).toFixed(1);
const pct = (a: number, b: number) => (a > 0 ? ((b - a) / a) * 100 : 0);

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-soak-'));
  const token = 'sk-ant-oat01-soak-token-00000000000000000000';
  const upstream = await start('soak-upstream.ts', {}, token);
  const proxy = await startCcproxy({
    token,
    settings: {
      // Faults are the point here: their warnings would drown the log.
      server: { log_level: 'error' },
      upstream: {
        base_url: upstream.origin,
        timeouts: { first_byte_s: 2, idle_s: 2 },
        retry: { base_delay_ms: 20, max_wait_s: 5 },
        max_concurrency: Math.max(8, Math.floor(CONCURRENCY * 0.75)),
        queue_timeout_s: 20,
      },
      observability: { enabled: true, duckdb_path: path.join(dir, 'soak.duckdb') },
    },
  });
  const pool = new Pool(proxy.origin, { connections: CONCURRENCY, keepAliveTimeout: 30_000 });
  console.log(
    `ccproxy soak — ${MINUTES} min, ${CONCURRENCY} clients, seed ${SEED}, warm-up ${WARMUP_MS / 1000}s, checkpoints every ${CHECKPOINT_MS / 1000}s — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
  );

  const t0 = performance.now();
  const end = t0 + DURATION_MS;
  const workers = Array.from({ length: CONCURRENCY }, () => worker(pool, end));
  const checkpoints: Checkpoint[] = [];
  const live: Usage[] = [];
  let next = t0 + WARMUP_MS;
  let lastLog = t0;
  while (performance.now() < end) {
    await delay(1000);
    const now = performance.now();
    if (now - lastLog >= 10_000) {
      lastLog = now;
      const u = await proxy.usage();
      live.push(u);
      console.log(
        `  ${Math.round((now - t0) / 1000)}s: ${tally.requests} requests, RSS ${mb(u.rss)} MB, heap ${mb(u.heap ?? 0)} MB, handles ${u.handles}, corrupted ${tally.corrupted}, malformed ${tally.malformed}, hung ${tally.hung}`,
      );
    }
    if (now >= next && now < end - 5000) {
      const c = await checkpoint(proxy, t0);
      checkpoints.push(c);
      console.log(
        `  checkpoint ${c.atS}s: RSS ${mb(c.rss)} MB, heap ${mb(c.heap)} MB, handles ${c.handles} (idle, after GC)`,
      );
      next = performance.now() + CHECKPOINT_MS;
    }
  }
  await Promise.all(workers);
  const final = await checkpoint(proxy, t0);
  checkpoints.push(final);
  const seconds = (performance.now() - t0) / 1000;
  await pool.close();
  await Promise.all([proxy.stop(), upstream.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });

  const first = checkpoints[0]!;
  const rssGrowth = pct(first.rss, final.rss);
  const heapGrowth = pct(first.heap, final.heap);
  const handleGrowth = pct(first.handles, final.handles);
  const bad = tally.corrupted + tally.malformed + tally.hung;
  const pass = bad === 0 && rssGrowth < GOAL * 100 && heapGrowth < GOAL * 100 && handleGrowth < GOAL * 100;

  console.log('\nResult');
  console.log(
    `  requests ${tally.requests} in ${seconds.toFixed(0)}s (${(tally.requests / seconds).toFixed(0)}/s): ${tally.clean} clean, ${tally.faults} with a fault, ${tally.disconnects} clients hung up`,
  );
  console.log(
    `  statuses ${[...tally.statuses]
      .sort((a, b) => a[0] - b[0])
      .map(([s, n]) => `${s}×${n}`)
      .join(' ')}`,
  );
  console.log(`  corrupted ${tally.corrupted}, malformed ${tally.malformed}, hung ${tally.hung}`);
  for (const e of tally.examples) console.log(`    ${e}`);
  console.log('\n  | checkpoint | requests | RSS MB | heap MB | handles |\n  |---|---|---|---|---|');
  for (const c of checkpoints)
    console.log(`  | ${c.atS}s | ${c.requests} | ${mb(c.rss)} | ${mb(c.heap)} | ${c.handles} |`);
  console.log(
    `\n  growth after warm-up (${first.atS}s → ${final.atS}s): RSS ${rssGrowth.toFixed(1)}%, heap ${heapGrowth.toFixed(1)}%, handles ${handleGrowth.toFixed(1)}% (goal < ${GOAL * 100}%)`,
  );
  console.log(`  ${pass ? 'PASS' : 'FAIL'}`);
  process.exitCode = pass ? 0 : 1;
}

await main();
