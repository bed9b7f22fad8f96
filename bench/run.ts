/**
 * `npm run bench`: ccproxy as users run it (`ccproxy serve`, default settings, log lines to a file)
 * against a client talking to the same fake upstream directly, and against a bare node:http
 * pass-through (the floor). The upstream writes every SSE event in a write of its own, as the real
 * API does. Every part runs in a process of its own; rounds are interleaved; medians are reported
 * with p99s beside them, and the spread of the rounds where it says something. Ends with issue 13's
 * table: ccproxy, the floor and the goal. Loopback only, bounded in count and time (~18 minutes on
 * 2 cores, ~4 with --quick).
 *
 *   npm run bench                 all scenarios
 *   npm run bench -- --quick      one short round of each (SDK mode: 3 rounds)
 *   npm run bench -- --only=burst,openai
 *        memory (always), idle, nonstream, agent, stream, openai, burst, burst-start, burst-repeat,
 *        observability, observability-pg, capture, sdk, accounts, observability-inprocess
 *   npm run bench -- --baseline=../other-checkout    the same scenarios for a second ccproxy (its
 *        bin/ccproxy.js, built) beside this one, rounds interleaved: an A/B in one run
 *   npm run bench -- --rounds=10   more interleaved rounds (default 3): a small A/B on a busy machine
 *   npm run bench -- --pin        (Linux) the load generator and the upstream on CPU 0, each proxy
 *        on CPU 1: CPU per request varies far less between processes; compare that, not ratios
 *   npm run bench -- --background  also ccproxy as the service, the container and the launchers run
 *        it (BACKGROUND_NODE_FLAGS and BACKGROUND_ENV, src/cli/self.ts)
 *   BENCH_VARIANTS='[{"name":"semi8","nodeFlags":["--max-semi-space-size=8"]}]' npm run bench
 *        more ccproxy variants (node flags, environment, settings), for experiments
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { BACKGROUND_ENV, BACKGROUND_NODE_FLAGS } from '../src/cli/self.ts';
import { findPostgresBin, startPostgres, type TestPostgres } from '../test/support/postgres.ts';
import { agentRequest } from './agent-request.ts';
import { ANTHROPIC, OPENAI, RESPONSES } from './bodies.ts';
import { type Child, start as startChild, startVariant, taskset, type Variant } from './child.ts';
import { type LoadResult, median, percentile, runLoad } from './load.ts';
import { DELTAS } from './upstream.ts';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const ONLY = args
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',')
  .map((s) => (s === 'paced' ? 'burst' : s));
const BASELINE = args.find((a) => a.startsWith('--baseline='))?.slice(11);
const BACKGROUND = args.includes('--background');
const PIN = args.includes('--pin');
const ROUNDS = roundsArg() ?? (QUICK ? 1 : 3);
const SECONDS = QUICK ? 1.5 : 3;

/**
 * The targets in round r's order: forward, then backward (A B B A …). A target's place in a round
 * biases what it reads — measured in the observability scenario: whichever build's `+obs` ran first
 * read ~25 µs a request more, either way round (docs/performance.md, seventeenth session).
 */
function inRoundOrder<T>(targets: readonly T[], r: number): readonly T[] {
  return r % 2 === 0 ? targets : [...targets].reverse();
}
const BURST = 1000;
const BURST_PACE_MS = 20;
const BURST_ROUNDS = QUICK ? 1 : 3;
/** Bursts in a row in the burst-repeat scenario, and the pause between two. */
const REPEAT_BURSTS = QUICK ? 3 : 8;
const REPEAT_GAP_MS = 500;
/** Fresh processes per target in the burst-start scenario. */
const START_RUNS = QUICK ? 1 : 3;
/** After a load, before "idle" memory is read: sockets close, timers fire, then a full GC. */
const SETTLE_MS = 3000;
const TOKEN = 'sk-ant-oat01-bench-token-000000000000000000';
const MB = 1048576;

/**
 * `--rounds=N`: interleaved rounds of the request scenarios. On a shared machine a small A/B needs
 * more than three to tell a change from noise (docs/performance.md, sixth session).
 */
function roundsArg(): number | undefined {
  const raw = args.find((a) => a.startsWith('--rounds='))?.slice(9);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (Number.isInteger(n) && n >= 1 && n <= 100) return n;
  console.error(`bench: --rounds wants a whole number from 1 to 100, not "${raw}"`);
  process.exit(2);
}

/**
 * `--pin`: the load generator and the fake upstream on CPU 0, every proxy and the floor on CPU 1.
 * Unpinned on a 2-core machine, the CPU a request costs read 15–20% apart between two processes of
 * one build in one run (they share cores with the load and the upstream); pinned, ~4%
 * (docs/performance.md, tenth session). Throughput ratios change meaning (the direct client shares
 * its core with the upstream), so an A/B compares CPU per request.
 */
function pin(pid: number | undefined, cpu: number): void {
  if (PIN) taskset(pid, cpu);
}

const wanted = (name: string) => !ONLY || ONLY.includes(name);
const cpuMs = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + b.system - a.system) / 1000;
const p99 = (xs: number[]) => percentile(xs, 99);
const spread = (xs: number[]) =>
  xs.length > 1 ? `${round(Math.min(...xs))}–${round(Math.max(...xs))}` : round(xs[0] ?? Number.NaN);

interface Target {
  name: string;
  child?: Child;
  origin: string;
  path: string;
  body: (stream: boolean) => string;
  streamEnd: string;
  frameMarker: string;
}

async function measure(
  t: Target,
  opts: {
    stream: boolean;
    concurrency: number;
    durationMs?: number;
    count?: number;
    headers?: Record<string, string>;
  },
) {
  const before = t.child ? await t.child.usage() : undefined;
  const mainBefore = t.child?.mainThreadCpuMs();
  const r = await runLoad({
    origin: t.origin,
    path: t.path,
    body: t.body(opts.stream),
    headers: opts.headers,
    concurrency: opts.concurrency,
    durationMs: opts.durationMs,
    count: opts.count,
    streamEnd: opts.stream ? t.streamEnd : undefined,
    frameMarker: opts.stream ? t.frameMarker : undefined,
    expectFrames: opts.stream ? DELTAS : undefined,
  });
  const after = t.child ? await t.child.usage() : undefined;
  const cpuPerReq = before && after && r.requests ? cpuMs(before.cpu, after.cpu) / r.requests : Number.NaN;
  const mainAfter = t.child?.mainThreadCpuMs();
  const mainCpuPerReq =
    mainBefore !== undefined && mainAfter !== undefined && r.requests
      ? (mainAfter - mainBefore) / r.requests
      : Number.NaN;
  // The probe resets its event-loop delay histogram at each reading: `after` covers this load alone.
  return {
    ...r,
    cpuPerReq,
    mainCpuPerReq,
    loopDelayP99Ms: after?.loopDelayP99Ms ?? Number.NaN,
    loopDelayMaxMs: after?.loopDelayMaxMs ?? Number.NaN,
  };
}

/** BURST streams opened at once, a delta every BURST_PACE_MS: the burst and idle scenarios' load. */
function burst(t: Target): Promise<LoadResult> {
  return runLoad({
    origin: t.origin,
    path: t.path,
    body: t.body(true),
    headers: { 'x-bench-pace-ms': String(BURST_PACE_MS) },
    concurrency: BURST,
    count: BURST,
    streamEnd: t.streamEnd,
    frameMarker: t.frameMarker,
    expectFrames: DELTAS,
  });
}

type Row = Record<string, string | number>;
const rows: Array<{ section: string; row: Row }> = [];
const report = (section: string, row: Row) => {
  rows.push({ section, row });
  console.log(
    `  ${section}: ${Object.entries(row)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? round(v) : v}`)
      .join('  ')}`,
  );
};
function round(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
}

/** Values gathered per target over interleaved rounds. */
class Tally {
  private m = new Map<string, Map<string, number[]>>();
  add(target: string, key: string, v: number | number[]) {
    const t = this.m.get(target) ?? new Map<string, number[]>();
    t.set(key, [...(t.get(key) ?? []), ...(Array.isArray(v) ? v : [v])]);
    this.m.set(target, t);
  }
  get(target: string, key: string): number[] {
    return this.m.get(target)?.get(key) ?? [];
  }
  med(target: string, key: string): number {
    return median(this.get(target, key));
  }
}

/**
 * Interleaved rounds of non-streamed requests to each target (the first is `direct`), reported under
 * `section`; returns each target's throughput as a share of direct's.
 */
async function nonStreamedRounds(section: string, targets: Target[], concurrency: number) {
  const tally = new Tally();
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of inRoundOrder(targets, r)) {
      const m = await measure(t, { stream: false, concurrency, durationMs: SECONDS * 1000 });
      tally.add(t.name, 'rps', m.rps);
      tally.add(t.name, 'cpu', m.cpuPerReq);
      tally.add(t.name, 'p50', median(m.latencyMs));
      tally.add(t.name, 'p99', p99(m.latencyMs));
    }
  }
  const direct = targets[0]!;
  const d = tally.med(direct.name, 'rps');
  const shares = new Map<string, number>();
  for (const t of targets) {
    const x = tally.med(t.name, 'rps') / d;
    shares.set(t.name, x);
    report(section, {
      target: t.name,
      'req/s': tally.med(t.name, 'rps'),
      'req/s rounds': spread(tally.get(t.name, 'rps')),
      'x direct': x,
      'cpu ms/req': t === direct ? Number.NaN : tally.med(t.name, 'cpu'),
      'latency p50 ms': tally.med(t.name, 'p50'),
      'p99 ms': tally.med(t.name, 'p99'),
    });
  }
  return shares;
}

/** The figures issue 13's table is made of, filled in as the scenarios run. */
const figures: Record<string, Record<string, number>> = {};
const note = (target: string, key: string, v: number) => {
  figures[target] = { ...figures[target], [key]: v };
};

async function main() {
  const load = os.loadavg()[0]!;
  console.log(
    `ccproxy bench — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${new Date().toISOString()}, load average ${load.toFixed(1)}${load > 1 ? ' (the machine is busy: figures are noisy)' : ''}`,
  );
  if (PIN && os.availableParallelism() < 2) {
    // Checked before any child starts: none is left behind.
    console.error('bench: --pin needs at least 2 CPUs.');
    process.exit(2);
  }
  if (PIN) console.log('Pinned (--pin): load generator and upstream on CPU 0, proxies on CPU 1.');
  // In-process and synchronous, before any child starts: the accounts layer's own CPU per request,
  // and observability's listener apart from HTTP.
  const inProcess = { accounts: 'accounts.ts', 'observability-inprocess': 'observability.ts' };
  for (const [name, script] of Object.entries(inProcess)) {
    if (!wanted(name)) continue;
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(import.meta.dirname, script), ...(QUICK ? ['--quick'] : [])],
      { stdio: 'inherit', timeout: 5 * 60_000 },
    );
    if (r.status !== 0) console.log(`  ${script} failed (${r.error?.message ?? `exit ${r.status}`})`);
  }
  if (ONLY?.every((name) => name in inProcess)) return;
  pin(process.pid, 0);
  const upstream = await startChild('upstream.ts', {}, TOKEN);
  pin(upstream.proc.pid, 0);
  const env = { BENCH_UPSTREAM: upstream.origin };
  const passthrough = await startChild('passthrough.mjs', env, TOKEN);
  pin(passthrough.proc.pid, 1);
  const variants: Variant[] = [
    { name: 'ccproxy' },
    ...(BASELINE ? [{ name: 'ccproxy base', root: path.resolve(BASELINE) }] : []),
    ...(BACKGROUND
      ? [{ name: 'ccproxy background', nodeFlags: [...BACKGROUND_NODE_FLAGS], env: { ...BACKGROUND_ENV } }]
      : []),
    ...(JSON.parse(process.env.BENCH_VARIANTS ?? '[]') as Variant[]),
  ];
  const startPinned = async (v: Variant, settings: Record<string, unknown> = {}) => {
    const child = await startVariant(v, upstream.origin, TOKEN, settings);
    pin(child.proc.pid, 1);
    return child;
  };
  const proxies = await Promise.all(variants.map((v) => startPinned(v)));

  const anth = (name: string, child: Child, p: string): Target => ({
    name,
    child,
    origin: child.origin,
    path: p,
    body: ANTHROPIC,
    streamEnd: 'event: message_stop',
    frameMarker: 'event: content_block_delta',
  });
  const direct = anth('direct', upstream, '/v1/messages');
  const floor = anth('pass-through', passthrough, '/api/v1/messages');
  const ccp = variants.map((v, i) => anth(v.name, proxies[i]!, '/api/v1/messages'));
  const ccpOpenAI = variants.map(
    (v, i): Target => ({
      name: `${v.name} openai`,
      child: proxies[i],
      origin: proxies[i]!.origin,
      path: '/api/v1/chat/completions',
      body: OPENAI,
      streamEnd: 'data: [DONE]',
      frameMarker: '"content":"word',
    }),
  );
  const ccpResponses = variants.map(
    (v, i): Target => ({
      name: `${v.name} responses`,
      child: proxies[i],
      origin: proxies[i]!.origin,
      path: '/api/v1/responses',
      body: RESPONSES,
      streamEnd: 'event: response.completed',
      frameMarker: '"delta":"word',
    }),
  );
  const servers: Array<{ name: string; child: Child }> = [
    { name: 'pass-through', child: passthrough },
    ...variants.map((v, i) => ({ name: v.name, child: proxies[i]! })),
  ];

  // Memory at start, then after one warm-up of every path (JIT, keep-alive pools, lazy modules), both
  // idle and after a full GC.
  console.log('\nMemory at idle');
  const started = await Promise.all(servers.map((s) => s.child.usage(true)));
  for (const t of [direct, floor, ...ccp, ...ccpOpenAI, ...ccpResponses]) {
    await measure(t, { stream: false, concurrency: 8, count: 400 });
    await measure(t, { stream: true, concurrency: 8, count: 400 });
  }
  await delay(SETTLE_MS);
  for (const [i, s] of servers.entries()) {
    const warm = await s.child.usage(true);
    note(s.name, 'idleRss', warm.rss);
    report('memory', {
      target: s.name,
      'RSS at start MB': started[i]!.rss / MB,
      'RSS after warm-up MB': warm.rss / MB,
      'heap after warm-up MB': (warm.heap ?? Number.NaN) / MB,
    });
  }

  if (wanted('idle')) {
    // What `top` shows while a proxy sits idle after traffic: RSS read from /proc with no forced
    // collection (every other memory figure here is read after one, for all targets alike). ccproxy
    // runs one itself after server.idle_gc_s (30 s) without a request in flight.
    console.log(`\nIdle after a burst of ${BURST} paced streams (RSS, no forced GC)`);
    for (const t of [floor, ...ccp]) await burst(t);
    const marks = [0, 20, 40, 60, 80];
    const readings = new Map<string, number[]>();
    const t0 = performance.now();
    for (const mark of marks) {
      await delay(Math.max(0, t0 + mark * 1000 - performance.now()));
      for (const s of servers)
        readings.set(s.name, [...(readings.get(s.name) ?? []), (await s.child.rss()) / MB]);
    }
    for (const s of servers)
      report('idle', {
        target: s.name,
        ...Object.fromEntries(marks.map((m, i) => [`RSS MB at ${m} s`, readings.get(s.name)![i]!])),
      });
  }

  if (wanted('nonstream')) {
    console.log('\nNon-streaming requests');
    for (const concurrency of [16, 64]) {
      const x = await nonStreamedRounds(`nonstream c=${concurrency}`, [direct, floor, ...ccp], concurrency);
      if (concurrency === 16) for (const [name, v] of x) note(name, 'nonstreamX', v);
    }
  }

  if (wanted('agent')) {
    // Claude Code's requests are ~100–500 KB (its system prompt, tools and the conversation so far),
    // a few at a time: what a proxy does per byte of request shows here and nowhere else.
    console.log(
      '\nAgent-sized requests (~150 KB: system prompt, 20 tools, a tool-use history), 4 concurrent',
    );
    const bodies = { true: agentRequest(true), false: agentRequest(false) };
    const agent = (t: Target): Target => ({ ...t, body: (stream) => bodies[`${stream}`] });
    const x = await nonStreamedRounds('agent c=4', [direct, floor, ...ccp].map(agent), 4);
    for (const [name, v] of x) note(name, 'agentX', v);
  }

  if (wanted('stream') || wanted('openai')) {
    console.log(`\nStreaming (${DELTAS} text deltas, every event a write of its own)`);
    const targets = [direct, floor, ...ccp, ...(wanted('openai') ? [...ccpOpenAI, ...ccpResponses] : [])];
    const tally = new Tally();
    let incomplete = 0;
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of inRoundOrder(targets, r)) {
        const one = await measure(t, { stream: true, concurrency: 1, count: QUICK ? 100 : 300 });
        tally.add(t.name, 'ttfb1', one.ttfbMs);
        const busy = await measure(t, { stream: true, concurrency: 100, durationMs: SECONDS * 1000 });
        tally.add(t.name, 'cpu', busy.cpuPerReq);
        tally.add(t.name, 'eps', busy.frames / busy.seconds);
        tally.add(t.name, 'ttfb100p50', median(busy.ttfbMs));
        tally.add(t.name, 'ttfb100p99', p99(busy.ttfbMs));
        incomplete += busy.incomplete + one.incomplete + busy.errors + one.errors;
      }
    }
    const d = median(tally.get('direct', 'ttfb1'));
    const de = tally.med('direct', 'eps');
    for (const t of targets) {
      const c1 = tally.get(t.name, 'ttfb1');
      note(t.name, 'ttfb100p99', tally.med(t.name, 'ttfb100p99'));
      report('stream', {
        target: t.name,
        'ttfb p50 ms (c=1)': median(c1),
        'p99 ms (c=1)': p99(c1),
        'added p50 ms': median(c1) - d,
        'cpu ms/stream': t === direct ? Number.NaN : tally.med(t.name, 'cpu'),
        'events/s (c=100)': tally.med(t.name, 'eps'),
        'x direct': tally.med(t.name, 'eps') / de,
        'ttfb p50 ms (c=100)': tally.med(t.name, 'ttfb100p50'),
        'p99 ms (c=100)': tally.med(t.name, 'ttfb100p99'),
        'p99 rounds': spread(tally.get(t.name, 'ttfb100p99')),
      });
    }
    if (wanted('openai')) {
      for (const [i, v] of variants.entries()) {
        for (const t of [ccpOpenAI[i]!, ccpResponses[i]!]) {
          report('translated vs anthropic', {
            target: t.name,
            'cpu ratio': tally.med(t.name, 'cpu') / tally.med(v.name, 'cpu'),
          });
        }
      }
    }
    report('stream integrity', { 'incomplete or failed': incomplete });
  }

  if (wanted('burst')) {
    console.log(`\nBurst: ${BURST} streams opened at once, a delta every ${BURST_PACE_MS} ms`);
    const targets = [direct, floor, ...ccp];
    const tally = new Tally();
    const before = new Map<string, number>();
    for (const s of servers) before.set(s.name, (await s.child.usage(true)).rss);
    for (let r = 0; r < BURST_ROUNDS; r++) {
      for (const t of inRoundOrder(targets, r)) {
        await delay(500); // the previous burst's sockets close
        const hwm = t.child!.resetPeak();
        let sampled = 0;
        const sampler = setInterval(async () => {
          sampled = Math.max(sampled, await t.child!.rss());
        }, 50);
        const b: LoadResult = await burst(t);
        clearInterval(sampler);
        const peak = hwm ? (t.child!.peak() ?? sampled) : sampled;
        tally.add(t.name, 'peak', peak);
        tally.add(t.name, 'ttfb50', median(b.ttfbMs));
        tally.add(t.name, 'ttfb99', p99(b.ttfbMs));
        tally.add(t.name, 'total99', p99(b.latencyMs));
        tally.add(t.name, 'intact', b.requests - b.errors - b.incomplete);
      }
    }
    await delay(SETTLE_MS);
    const d99 = tally.med('direct', 'ttfb99');
    for (const t of targets) {
      const idle = t === direct ? undefined : await t.child!.usage(true);
      if (idle) {
        note(t.name, 'peakRss', Math.max(...tally.get(t.name, 'peak')));
        note(t.name, 'afterRss', idle.rss);
        note(t.name, 'burstAdded99', tally.med(t.name, 'ttfb99') - d99);
      }
      report('burst', {
        target: t.name,
        intact: `${Math.min(...tally.get(t.name, 'intact'))}/${BURST}`,
        'ttfb p50 ms': tally.med(t.name, 'ttfb50'),
        'ttfb p99 ms': tally.med(t.name, 'ttfb99'),
        'p99 rounds': spread(tally.get(t.name, 'ttfb99')),
        'added p99 ms': t === direct ? Number.NaN : tally.med(t.name, 'ttfb99') - d99,
        'whole stream p99 ms': tally.med(t.name, 'total99'),
        'RSS before MB': t === direct ? Number.NaN : before.get(t.name)! / MB,
        'peak RSS MB': t === direct ? Number.NaN : Math.max(...tally.get(t.name, 'peak')) / MB,
        'idle after MB': idle ? idle.rss / MB : Number.NaN,
        'heap after MB': idle ? (idle.heap ?? Number.NaN) / MB : Number.NaN,
      });
    }
  }

  if (wanted('burst-start')) {
    // What a user meets first: bursts soon after start, in fresh processes (no warm-up, no forced
    // collection), two back to back. The long-running processes above, warmed up and collected, can
    // read otherwise (docs/performance.md, thirteenth session).
    console.log(
      `\nBursts right after start: ${START_RUNS} fresh processes each, two bursts of ${BURST} streams`,
    );
    const starts = [
      { name: 'pass-through', start: () => startChild('passthrough.mjs', env, TOKEN) },
      ...variants.map((v) => ({ name: v.name, start: () => startPinned(v) })),
    ];
    const peaks = new Map<string, number[]>();
    for (let i = 0; i < START_RUNS; i++) {
      for (const s of starts) {
        const child = await s.start();
        pin(child.proc.pid, 1);
        const t = anth(s.name, child, '/api/v1/messages');
        await burst(t);
        await delay(500);
        await burst(t);
        peaks.set(s.name, [...(peaks.get(s.name) ?? []), (child.peak() ?? Number.NaN) / MB]);
        await child.stop();
      }
    }
    for (const [name, mb] of peaks) {
      note(name, 'startPeakRss', Math.max(...mb) * MB);
      report('burst after start', {
        target: name,
        'peak RSS MB (median)': median(mb),
        'peak RSS MB (highest)': Math.max(...mb),
        'runs MB': mb.map(round).join(' / '),
      });
    }
  }

  if (wanted('burst-repeat')) {
    // Bursts back to back, as a busy shared proxy meets them: each leaves garbage in the old
    // generation, and what V8 lets pile up before a full collection sets the peak (docs/performance.md,
    // twenty-first session). Fresh processes, so no other scenario's state counts.
    console.log(
      `\nBursts back to back: ${REPEAT_BURSTS} bursts of ${BURST} streams, ${REPEAT_GAP_MS} ms apart`,
    );
    const starts = [
      { name: 'pass-through', start: () => startChild('passthrough.mjs', env, TOKEN) },
      ...variants.map((v) => ({ name: v.name, start: () => startPinned(v) })),
    ];
    for (const s of starts) {
      const child = await s.start();
      pin(child.proc.pid, 1);
      const t = anth(s.name, child, '/api/v1/messages');
      const peaks: number[] = [];
      for (let i = 0; i < REPEAT_BURSTS; i++) {
        if (i > 0) await delay(REPEAT_GAP_MS);
        child.resetPeak();
        await burst(t);
        peaks.push((child.peak() ?? Number.NaN) / MB);
      }
      const after = (await child.rss()) / MB;
      await child.stop();
      note(s.name, 'repeatPeakRss', Math.max(...peaks) * MB);
      report('bursts back to back', {
        target: s.name,
        'peak RSS MB (highest)': Math.max(...peaks),
        'peak RSS MB by burst': peaks.map(round).join(' / '),
        'RSS after MB': after,
      });
    }
  }

  await Promise.all([passthrough.stop(), ...proxies.map((p) => p.stop())]);

  if (wanted('observability') || wanted('observability-pg')) {
    // Off, all on with the DuckDB file, and (observability-pg) all on with a throwaway PostgreSQL.
    console.log('\nObservability on vs off (metrics, access log, dashboard)');
    const targets: Target[] = [];
    /** Each target's "off" twin, which its cost is measured against. */
    const offOf = new Map<string, string>();
    const children: Child[] = [];
    for (const v of variants) {
      const off = await startPinned(v);
      const on = await startPinned(v, {
        observability: {
          enabled: true,
          duckdb_path: path.join(
            fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-bench-obs-')),
            'bench.duckdb',
          ),
        },
      });
      children.push(off, on);
      targets.push(
        anth(`${v.name} off`, off, '/api/v1/messages'),
        anth(`${v.name} +obs`, on, '/api/v1/messages'),
      );
      offOf.set(`${v.name} off`, `${v.name} off`).set(`${v.name} +obs`, `${v.name} off`);
    }
    let pg: TestPostgres | undefined;
    if (wanted('observability-pg')) {
      if (findPostgresBin()) {
        pg = await startPostgres();
        const on = await startPinned(variants[0]!, {
          observability: { enabled: true },
          storage: { url: await pg.createDatabase('bench') },
        });
        children.push(on);
        targets.push(anth(`${variants[0]!.name} +obs postgres`, on, '/api/v1/messages'));
        offOf.set(`${variants[0]!.name} +obs postgres`, `${variants[0]!.name} off`);
      } else console.log('  (PostgreSQL is not installed: apt-get install postgresql; skipping its row)');
    }
    for (const t of targets) await measure(t, { stream: false, concurrency: 8, count: 400 });
    const tally = new Tally();
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of inRoundOrder(targets, r)) {
        const m = await measure(t, { stream: false, concurrency: 16, durationMs: SECONDS * 1000 });
        tally.add(t.name, 'rps', m.rps);
        tally.add(t.name, 'cpu', m.cpuPerReq);
        tally.add(t.name, 'main', m.mainCpuPerReq);
        tally.add(t.name, 'p99', p99(m.latencyMs));
        tally.add(t.name, 'loop', m.loopDelayP99Ms);
        tally.add(t.name, 'loopMax', m.loopDelayMaxMs);
        const s = await measure(t, { stream: true, concurrency: 1, count: QUICK ? 100 : 300 });
        tally.add(t.name, 'ttfb', s.ttfbMs);
        // The access log writes what it was given for up to flush_interval_ms after the load ends:
        // let it finish, or its thread's work lands on the next target's measurement.
        if (offOf.get(t.name) !== t.name) await new Promise((r) => setTimeout(r, 1200));
      }
    }
    for (const t of targets) {
      const x = tally.med(t.name, 'rps') / tally.med(offOf.get(t.name)!, 'rps');
      if (t.name.endsWith('+obs')) {
        const name = t.name.replace(/ \+obs$/, '');
        const added = (key: string) => tally.med(t.name, key) - tally.med(offOf.get(t.name)!, key);
        note(name, 'obsCost', 1 - x);
        // What the throughput figure hides on a busy machine: the CPU it adds, in all and on the event loop.
        note(name, 'obsCpu', added('cpu'));
        note(name, 'obsMainCpu', added('main'));
      }
      report('observability', {
        target: t.name,
        'req/s (c=16)': tally.med(t.name, 'rps'),
        'req/s rounds': spread(tally.get(t.name, 'rps')),
        'x off': x,
        'cpu ms/req': tally.med(t.name, 'cpu'),
        'main thread ms/req': tally.med(t.name, 'main'),
        'latency p99 ms': tally.med(t.name, 'p99'),
        'loop delay p99 ms': tally.med(t.name, 'loop'),
        'loop delay max ms': tally.med(t.name, 'loopMax'),
        'stream ttfb p50 ms': median(tally.get(t.name, 'ttfb')),
        'p99 ms': p99(tally.get(t.name, 'ttfb')),
      });
    }
    await Promise.all(children.map((c) => c.stop()));
    await pg?.close();
  }

  if (wanted('capture')) {
    // Request capture off, errors and all, each with the access log on (what capture needs), so the
    // difference is capture's own: time to first byte of a stream, CPU per request and per stream.
    console.log('\nRequest capture: off vs errors vs all (access log on in each)');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-bench-capture-'));
    const withCapture = async (mode: string, extra: Record<string, unknown> = {}, file = mode) => {
      const child = await startPinned(variants[0]!, {
        observability: {
          access_log: true,
          capture: mode,
          duckdb_path: path.join(dir, `${file}.duckdb`),
          ...extra,
        },
      });
      return anth(`capture ${mode}`, child, '/api/v1/messages');
    };
    const targets = [await withCapture('off'), await withCapture('errors'), await withCapture('all')];
    for (const t of targets) {
      await measure(t, { stream: false, concurrency: 8, count: 400 });
      await measure(t, { stream: true, concurrency: 8, count: 400 });
    }
    // The capture writer's state, from the logs API.
    const writerOf = async (origin: string) =>
      (
        (await (await fetch(`${origin}/logs/status`)).json()) as {
          capture?: { writer?: { pending: number; written: number; dropped: number } | null };
        }
      ).capture?.writer;
    // Until what waits for the store is written (a saturated proxy captures faster than DuckDB stores).
    const drained = async (t: Target) => {
      for (let i = 0; i < 600 && ((await writerOf(t.origin))?.pending ?? 0) > 0; i++)
        await new Promise((res) => setTimeout(res, 100));
    };
    // CPU per request counts the writing too: from before the load until its captures are stored.
    const allIn = async (t: Target, stream: boolean) => {
      await drained(t);
      const before = await t.child!.usage();
      const m = await measure(t, { stream, concurrency: 16, durationMs: SECONDS * 1000 });
      await drained(t);
      const after = await t.child!.usage();
      return { ...m, cpuAllIn: cpuMs(before.cpu, after.cpu) / m.requests };
    };
    const rps = new Map<string, number[]>();
    const cpu = new Map<string, number[]>();
    const ttfb = new Map<string, number[]>();
    const cpuStream = new Map<string, number[]>();
    const push = (m: Map<string, number[]>, k: string, v: number) => m.set(k, [...(m.get(k) ?? []), v]);
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of inRoundOrder(targets, r)) {
        // Time to first byte one stream at a time, the writer quiet at the start (not still
        // storing an earlier load's backlog): the rate a person's clients make.
        await drained(t);
        const one = await measure(t, { stream: true, concurrency: 1, count: QUICK ? 100 : 300 });
        push(ttfb, t.name, median(one.ttfbMs));
        const m = await allIn(t, false);
        push(rps, t.name, m.rps);
        push(cpu, t.name, m.cpuAllIn);
        const busy = await allIn(t, true);
        push(cpuStream, t.name, busy.cpuAllIn);
      }
    }
    const off = targets[0]!.name;
    for (const t of targets) {
      const w = await writerOf(t.origin);
      report('capture', {
        target: t.name,
        'req/s (c=16)': median(rps.get(t.name)!),
        'x off': median(rps.get(t.name)!) / median(rps.get(off)!),
        'cpu ms/req (with writing)': median(cpu.get(t.name)!),
        'stream ttfb p50 ms': median(ttfb.get(t.name)!),
        'ttfb added ms': median(ttfb.get(t.name)!) - median(ttfb.get(off)!),
        'cpu ms/stream (with writing)': median(cpuStream.get(t.name)!),
        'captures written': w?.written ?? Number.NaN,
        'dropped waiting': w?.dropped ?? Number.NaN,
      });
    }
    // In process, no load: what the request path does for a capture (the recorder's tee: a
    // 50-delta stream's 52 chunks) and the writer's work per capture between turns of the event
    // loop (the stored, redacted document). Steadier than the figures above on a busy machine.
    const { RequestCapture } = await import('../src/observability/capture/recorder.ts');
    const { toStoredCapture } = await import('../src/observability/capture/store-doc.ts');
    const streamed = await fetch(`${upstream.origin}/v1/messages`, { method: 'POST', body: ANTHROPIC(true) });
    const frames = (await streamed.text()).split(/(?<=\n\n)/).map((f) => Buffer.from(f));
    const clientBody = Buffer.from(ANTHROPIC(true));
    const recorded = () => {
      const c = new RequestCapture(0, 1 << 20, {
        method: 'POST',
        url: '/api/v1/messages',
        headers: { 'content-type': 'application/json', 'x-api-key': TOKEN },
        body: clientBody,
      });
      c.upstreamSent({
        method: 'POST',
        url: 'https://api.anthropic.com/v1/messages',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: ANTHROPIC(true),
      });
      c.upstreamAnswered(200, { 'content-type': 'text/event-stream' });
      for (const f of frames) c.passthrough(f);
      c.responseHead = { status: 200, headers: { 'content-type': 'text/event-stream' } };
      c.sealed = true;
      return c;
    };
    const N = QUICK ? 2000 : 10000;
    const timeEach = (fn: () => unknown) => {
      for (let i = 0; i < N / 10; i++) fn();
      const t0 = performance.now();
      for (let i = 0; i < N; i++) fn();
      return (performance.now() - t0) / N;
    };
    const caps = Array.from({ length: N }, recorded);
    let k = 0;
    let docBytes = 0;
    const docMs = timeEach(() => {
      const s = toStoredCapture(
        { id: `b${k}`, ts: 0, mode: 'api', format: 'anthropic', capture: caps[k++ % N]! },
        [TOKEN],
      );
      docBytes = s.size_bytes;
    });
    report('capture in process (a 50-delta stream)', {
      'recorder on the request path µs': timeEach(recorded) * 1000,
      'stored document ms (writer, per turn)': docMs,
      'document bytes': docBytes,
    });

    // Memory under 1,000 concurrent paced streams, capture off and all, each in a fresh proxy: with
    // capture, each in-flight request holds at most its bodies up to the cap (here 64 KB each, well
    // above these answers), so the difference is bounded by 1,000 × 4 × the cap.
    const cap = 64 * 1024;
    const paced = async (t: Target) => {
      const before = await t.child!.usage(true);
      let peak = 0;
      const sampler = setInterval(async () => {
        peak = Math.max(peak, (await t.child!.usage()).rss);
      }, 100);
      const r = await runLoad({
        origin: t.origin,
        path: '/api/v1/messages',
        body: ANTHROPIC(true),
        headers: { 'x-bench-pace-ms': '20' },
        concurrency: 1000,
        count: 1000,
        streamEnd: 'event: message_stop',
        frameMarker: 'event: content_block_delta',
        expectFrames: DELTAS,
      });
      clearInterval(sampler);
      await new Promise((res) => setTimeout(res, 3000));
      const idle = await t.child!.usage(true);
      // The captures were stored (the figures are not those of a proxy whose store failed to open).
      const status = (await (await fetch(`${t.origin}/logs/status`)).json()) as {
        capture?: { stored?: { rows: number } | null };
      };
      report('capture memory (1,000 paced streams)', {
        target: t.name,
        intact: r.requests - r.errors - r.incomplete,
        'captures stored': status.capture?.stored?.rows ?? 0,
        'RSS before MB': before.rss / 1048576,
        'peak RSS MB': peak / 1048576,
        'added at peak MB': (peak - before.rss) / 1048576,
        'idle heap MB': (idle.heap ?? Number.NaN) / 1048576,
      });
    };
    // Files of their own: DuckDB locks a file to one process, and the targets above hold theirs.
    const memOff = await withCapture('off', {}, 'memory-off');
    await paced(memOff);
    const mem = await withCapture('all', { capture_max_bytes: cap }, 'memory-all');
    await paced(mem);
    console.log(
      `  (bound on what capture adds: 1,000 × 4 bodies × ${cap / 1024} KB = ${(4000 * cap) / 1048576} MB)`,
    );
    await Promise.all([...targets, memOff, mem].map((t) => t.child!.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  }

  await upstream.stop();

  if (wanted('sdk')) {
    // SDK mode's time to first token starts Claude Code processes: its own script, after the rest,
    // so the agents' start-up CPU does not disturb the figures above.
    console.log('\nSDK mode: time to first token against API mode');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(import.meta.dirname, 'sdk-ttft.ts'), ...(QUICK ? ['--quick'] : [])],
      { stdio: 'inherit', timeout: 10 * 60_000 },
    );
    if (r.status !== 0) console.log(`  sdk-ttft.ts failed (${r.error?.message ?? `exit ${r.status}`})`);
  }

  console.log('\nMarkdown:');
  let section = '';
  for (const { section: s, row } of rows) {
    if (s !== section) {
      section = s;
      console.log(
        `\n**${s}**\n\n| ${Object.keys(row).join(' | ')} |\n|${Object.keys(row)
          .map(() => '---')
          .join('|')}|`,
      );
    }
    console.log(
      `| ${Object.values(row)
        .map((v) => (typeof v === 'number' ? round(v) : v))
        .join(' | ')} |`,
    );
  }
  issueTable(variants.map((v) => v.name));
}

/** Issue 13's table: ccproxy (and any baseline or variant) beside the floor, against the goals. */
function issueTable(names: string[]) {
  const f = (name: string, key: string) => figures[name]?.[key] ?? Number.NaN;
  const fl = (key: string) => f('pass-through', key);
  const mb = (v: number) => (Number.isFinite(v) ? `${(v / MB).toFixed(0)} MB` : 'n/a');
  const s = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${(v / 1000).toFixed(2)} s` : 'n/a');
  const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : 'n/a');
  const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a');
  /** ms of CPU as µs. */
  const us = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${(v * 1000).toFixed(0)} µs` : 'n/a');
  const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(0)}%` : 'n/a');
  const verdict = (ok: boolean | undefined) => (ok === undefined ? '—' : ok ? 'met' : 'not met');
  const lines: Array<[string, (n: string) => string, string, string, (n: string) => boolean | undefined]> = [
    [
      'RSS at idle after start-up and warm-up',
      (n) => mb(f(n, 'idleRss')),
      mb(fl('idleRss')),
      '≤ 80 MB',
      (n) => ok(f(n, 'idleRss') <= 80 * MB, f(n, 'idleRss')),
    ],
    [
      `peak RSS, ${BURST} concurrent slow streams`,
      (n) => mb(f(n, 'peakRss')),
      mb(fl('peakRss')),
      '≤ 150 MB',
      (n) => ok(f(n, 'peakRss') <= 150 * MB, f(n, 'peakRss')),
    ],
    [
      `peak RSS, two bursts of ${BURST} right after start (highest of ${START_RUNS})`,
      (n) => mb(f(n, 'startPeakRss')),
      mb(fl('startPeakRss')),
      '≤ 150 MB',
      (n) => ok(f(n, 'startPeakRss') <= 150 * MB, f(n, 'startPeakRss')),
    ],
    [
      `peak RSS, ${REPEAT_BURSTS} bursts of ${BURST} back to back`,
      (n) => mb(f(n, 'repeatPeakRss')),
      mb(fl('repeatPeakRss')),
      '≤ 150 MB',
      (n) => ok(f(n, 'repeatPeakRss') <= 150 * MB, f(n, 'repeatPeakRss')),
    ],
    [
      'idle RSS after the load',
      (n) => mb(f(n, 'afterRss')),
      mb(fl('afterRss')),
      '≤ 100 MB',
      (n) => ok(f(n, 'afterRss') <= 100 * MB, f(n, 'afterRss')),
    ],
    [
      `${BURST} streams started at once: added TTFB p99`,
      (n) => s(f(n, 'burstAdded99')),
      s(fl('burstAdded99')),
      '≤ 1.5× the floor’s',
      (n) =>
        ok(
          f(n, 'burstAdded99') <= 1.5 * Math.max(fl('burstAdded99'), 0),
          f(n, 'burstAdded99') + fl('burstAdded99'),
        ),
    ],
    [
      'OpenAI streams, 100 concurrent: TTFB p99',
      (n) => ms(f(`${n} openai`, 'ttfb100p99')),
      ms(fl('ttfb100p99')),
      '≤ 2× the floor’s',
      (n) =>
        ok(
          f(`${n} openai`, 'ttfb100p99') <= 2 * fl('ttfb100p99'),
          f(`${n} openai`, 'ttfb100p99') + fl('ttfb100p99'),
        ),
    ],
    [
      'non-streamed, 16 concurrent: throughput vs direct',
      (n) => x(f(n, 'nonstreamX')),
      x(fl('nonstreamX')),
      '≥ 0.27×',
      (n) => ok(f(n, 'nonstreamX') >= 0.27, f(n, 'nonstreamX')),
    ],
    [
      'agent-sized requests (~150 KB), 4 concurrent: throughput vs direct (no goal)',
      (n) => x(f(n, 'agentX')),
      x(fl('agentX')),
      '—',
      () => undefined,
    ],
    [
      'everything in observability on: throughput cost',
      (n) => pct(f(n, 'obsCost')),
      '—',
      '≤ 10%',
      (n) => ok(f(n, 'obsCost') <= 0.1, f(n, 'obsCost')),
    ],
    [
      'everything in observability on: CPU added a request (all threads / main thread)',
      (n) => `${us(f(n, 'obsCpu'))} / ${us(f(n, 'obsMainCpu'))}`,
      '—',
      '—',
      () => undefined,
    ],
  ];
  console.log(
    `\n**Issue 13's table**\n\n| figure | ${names.join(' | ')} | floor | goal | ${names.map((n) => `${n}: goal`).join(' | ')} |\n|---|${names.map(() => '---:').join('|')}|---:|---|${names.map(() => '---').join('|')}|`,
  );
  for (const [label, value, floorValue, goal, met] of lines)
    console.log(
      `| ${label} | ${names.map(value).join(' | ')} | ${floorValue} | ${goal} | ${names.map((n) => verdict(met(n))).join(' | ')} |`,
    );
}

function ok(pass: boolean, measured: number): boolean | undefined {
  return Number.isFinite(measured) ? pass : undefined;
}

await main();
// Keep-alive sockets to the stopped children can hold the loop open for a while: the run is over.
process.exit(0);
