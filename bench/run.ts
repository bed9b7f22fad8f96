/**
 * `npm run bench`: ccproxy against a client talking to the same fake upstream directly, and against
 * a bare node:http pass-through (the floor). Every process runs on its own; rounds are interleaved
 * and medians reported. The proxy's own CPU time per request (from the child's cpuUsage) is the
 * steadiest number on a small machine. Loopback only, bounded in count and time.
 *
 *   npm run bench                 all scenarios (~8 minutes on 2 cores)
 *   npm run bench -- --quick      one short round of each
 *   npm run bench -- --only=stream,openai   (nonstream, stream, openai, paced, observability,
 *                                            observability-pg, capture, sdk, accounts)
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { findPostgresBin, startPostgres, type TestPostgres } from '../test/support/postgres.ts';
import { type Child, start as startChild } from './child.ts';
import { type LoadResult, median, percentile, runLoad } from './load.ts';
import { DELTAS } from './upstream.ts';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const ONLY = args
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const ROUNDS = QUICK ? 1 : 3;
const SECONDS = QUICK ? 1.5 : 3;
const TOKEN = 'sk-ant-oat01-bench-token-000000000000000000';

const start = (script: string, env: Record<string, string>) => startChild(script, env, TOKEN);

const cpuMs = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + b.system - a.system) / 1000;

const ANTHROPIC = (stream: boolean) =>
  JSON.stringify({
    model: 'claude-sonnet-5-5',
    max_tokens: 256,
    stream,
    messages: [{ role: 'user', content: 'Say hello in one short sentence.' }],
  });
const OPENAI = (stream: boolean) =>
  JSON.stringify({
    model: 'gpt-4o',
    stream,
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Say hello in one short sentence.' },
    ],
  });

const RESPONSES = (stream: boolean) =>
  JSON.stringify({
    model: 'gpt-4o',
    stream,
    instructions: 'Be brief.',
    input: 'Say hello in one short sentence.',
  });

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
  return { ...r, cpuPerReq };
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
const round = (v: number) =>
  Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(3)) : 'n/a';
const wanted = (name: string) => !ONLY || ONLY.includes(name);

async function main() {
  console.log(
    `ccproxy bench — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${new Date().toISOString()}`,
  );
  if (wanted('accounts')) {
    // In-process and synchronous: the accounts layer's own CPU per request, before any child starts.
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(import.meta.dirname, 'accounts.ts'), ...(QUICK ? ['--quick'] : [])],
      { stdio: 'inherit', timeout: 5 * 60_000 },
    );
    if (r.status !== 0) console.log(`  accounts.ts failed (${r.error?.message ?? `exit ${r.status}`})`);
    if (ONLY?.length === 1) return;
  }
  const upstream = await start('upstream.ts', {});
  const env = { BENCH_UPSTREAM: upstream.origin };
  const passthrough = await start('passthrough.ts', env);
  const proxy = await start('proxy.mjs', env);
  const anth = (name: string, child: Child | undefined, origin: string, p: string): Target => ({
    name,
    child,
    origin,
    path: p,
    body: ANTHROPIC,
    streamEnd: 'event: message_stop',
    frameMarker: 'event: content_block_delta',
  });
  const direct = anth('direct', upstream, upstream.origin, '/v1/messages');
  const floor = anth('pass-through', passthrough, passthrough.origin, '/api/v1/messages');
  const ccp = anth('ccproxy', proxy, proxy.origin, '/api/v1/messages');
  const ccpOpenAI: Target = {
    name: 'ccproxy openai',
    child: proxy,
    origin: proxy.origin,
    path: '/api/v1/chat/completions',
    body: OPENAI,
    streamEnd: 'data: [DONE]',
    frameMarker: '"content":"word',
  };
  const ccpResponses: Target = {
    name: 'ccproxy responses',
    child: proxy,
    origin: proxy.origin,
    path: '/api/v1/responses',
    body: RESPONSES,
    streamEnd: 'event: response.completed',
    frameMarker: '"delta":"word',
  };

  // Warm up every path (JIT, keep-alive pools).
  for (const t of [direct, floor, ccp, ccpOpenAI, ccpResponses]) {
    await measure(t, { stream: false, concurrency: 8, count: 400 });
    await measure(t, { stream: true, concurrency: 8, count: 400 });
  }

  if (wanted('nonstream')) {
    console.log('\nNon-streaming requests');
    for (const concurrency of [16, 64]) {
      const acc = new Map<string, { rps: number[]; cpu: number[] }>();
      for (let r = 0; r < ROUNDS; r++) {
        for (const t of [direct, floor, ccp]) {
          const m = await measure(t, { stream: false, concurrency, durationMs: SECONDS * 1000 });
          const a = acc.get(t.name) ?? { rps: [], cpu: [] };
          a.rps.push(m.rps);
          a.cpu.push(m.cpuPerReq);
          acc.set(t.name, a);
        }
      }
      const d = median(acc.get('direct')!.rps);
      for (const t of [direct, floor, ccp]) {
        const a = acc.get(t.name)!;
        report(`nonstream c=${concurrency}`, {
          target: t.name,
          'req/s': median(a.rps),
          'x direct': median(a.rps) / d,
          'cpu ms/req': t === direct ? Number.NaN : median(a.cpu),
        });
      }
    }
  }

  if (wanted('stream') || wanted('openai')) {
    console.log(`\nStreaming (${DELTAS} text deltas)`);
    const targets = [direct, floor, ccp, ...(wanted('openai') ? [ccpOpenAI, ccpResponses] : [])];
    const ttfb = new Map<string, number[]>();
    const cpu = new Map<string, number[]>();
    const eps = new Map<string, number[]>();
    let incomplete = 0;
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of targets) {
        const one = await measure(t, { stream: true, concurrency: 1, count: QUICK ? 100 : 300 });
        ttfb.set(t.name, [...(ttfb.get(t.name) ?? []), median(one.ttfbMs)]);
        const busy = await measure(t, { stream: true, concurrency: 100, durationMs: SECONDS * 1000 });
        cpu.set(t.name, [...(cpu.get(t.name) ?? []), busy.cpuPerReq]);
        eps.set(t.name, [...(eps.get(t.name) ?? []), busy.frames / busy.seconds]);
        incomplete += busy.incomplete + one.incomplete + busy.errors;
      }
    }
    const d = median(ttfb.get('direct')!);
    const de = median(eps.get('direct')!);
    for (const t of targets) {
      report('stream', {
        target: t.name,
        'ttfb p50 ms (c=1)': median(ttfb.get(t.name)!),
        'added ms': median(ttfb.get(t.name)!) - d,
        'cpu ms/stream': t === direct ? Number.NaN : median(cpu.get(t.name)!),
        'events/s (c=100)': median(eps.get(t.name)!),
        'x direct': median(eps.get(t.name)!) / de,
      });
    }
    if (wanted('openai')) {
      for (const t of [ccpOpenAI, ccpResponses]) {
        report('translated vs anthropic', {
          target: t.name,
          'cpu ratio': median(cpu.get(t.name)!) / median(cpu.get('ccproxy')!),
        });
      }
    }
    report('stream integrity', { 'incomplete or failed': incomplete });
  }

  if (wanted('paced')) {
    console.log('\n1,000 concurrent streams paced at 20 ms per delta');
    const before = await proxy.usage(true);
    let peak = 0;
    const sampler = setInterval(async () => {
      peak = Math.max(peak, (await proxy.usage()).rss);
    }, 100);
    const r: LoadResult = await runLoad({
      origin: proxy.origin,
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
    const idle = await proxy.usage(true);
    report('paced', {
      completed: r.requests - r.errors,
      intact: r.requests - r.errors - r.incomplete,
      'RSS before MB': before.rss / 1048576,
      'peak RSS MB': peak / 1048576,
      'idle RSS MB': idle.rss / 1048576,
      'idle heap MB': (idle.heap ?? Number.NaN) / 1048576,
      'p50 s': median(r.latencyMs) / 1000,
      'p99 s': percentile(r.latencyMs, 99) / 1000,
    });
  }

  if (wanted('observability') || wanted('observability-pg')) {
    // Off, the DuckDB file, and (observability-pg) a throwaway PostgreSQL on loopback: same rows.
    console.log('\nObservability on vs off');
    const dir = (await import('node:fs')).mkdtempSync(path.join(os.tmpdir(), 'ccproxy-bench-'));
    const obs = await start('proxy.mjs', {
      ...env,
      BENCH_SETTINGS: JSON.stringify({
        observability: { enabled: true, duckdb_path: path.join(dir, 'bench.duckdb') },
      }),
    });
    const targets = [ccp, anth('ccproxy +obs', obs, obs.origin, '/api/v1/messages')];
    let pg: TestPostgres | undefined;
    let obsPg: Child | undefined;
    if (wanted('observability-pg')) {
      if (findPostgresBin()) {
        pg = await startPostgres();
        obsPg = await start('proxy.mjs', {
          ...env,
          BENCH_SETTINGS: JSON.stringify({
            observability: { enabled: true },
            storage: { url: await pg.createDatabase('bench') },
          }),
        });
        targets.push(anth('ccproxy +obs postgres', obsPg, obsPg.origin, '/api/v1/messages'));
      } else console.log('  (PostgreSQL is not installed: apt-get install postgresql; skipping its row)');
    }
    for (const t of targets.slice(1)) await measure(t, { stream: false, concurrency: 8, count: 400 });
    const rps = new Map<string, number[]>();
    const ttfb = new Map<string, number[]>();
    const cpu = new Map<string, number[]>();
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of targets) {
        const m = await measure(t, { stream: false, concurrency: 16, durationMs: SECONDS * 1000 });
        rps.set(t.name, [...(rps.get(t.name) ?? []), m.rps]);
        cpu.set(t.name, [...(cpu.get(t.name) ?? []), m.cpuPerReq]);
        const s = await measure(t, { stream: true, concurrency: 1, count: QUICK ? 100 : 300 });
        ttfb.set(t.name, [...(ttfb.get(t.name) ?? []), median(s.ttfbMs)]);
      }
    }
    const base = median(rps.get('ccproxy')!);
    for (const t of targets) {
      report('observability', {
        target: t.name,
        'req/s (c=16)': median(rps.get(t.name)!),
        'x off': median(rps.get(t.name)!) / base,
        'cpu ms/req': median(cpu.get(t.name)!),
        'stream ttfb p50 ms': median(ttfb.get(t.name)!),
      });
    }
    await obs.stop();
    await obsPg?.stop();
    await pg?.close();
  }

  if (wanted('capture')) {
    // Request capture off, errors and all, each with the access log on (what capture needs), so the
    // difference is capture's own: time to first byte of a stream, CPU per request and per stream.
    console.log('\nRequest capture: off vs errors vs all (access log on in each)');
    const fs = await import('node:fs');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-bench-capture-'));
    const withCapture = async (mode: string, extra: Record<string, unknown> = {}, file = mode) => {
      const child = await start('proxy.mjs', {
        ...env,
        BENCH_SETTINGS: JSON.stringify({
          observability: {
            access_log: true,
            capture: mode,
            duckdb_path: path.join(dir, `${file}.duckdb`),
            ...extra,
          },
        }),
      });
      return anth(`capture ${mode}`, child, child.origin, '/api/v1/messages');
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
      for (const t of targets) {
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

  await Promise.all([upstream.stop(), passthrough.stop(), proxy.stop()]);

  if (wanted('sdk')) {
    // SDK mode's time to first token starts Claude Code processes: its own script, after the rest,
    // so the agents' start-up CPU does not disturb the figures above.
    console.log('\nSDK mode: time to first token against API mode');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(import.meta.dirname, 'sdk-ttft.ts'), ...(QUICK ? ['--quick'] : [])],
      {
        stdio: 'inherit',
        timeout: 10 * 60_000,
      },
    );
    if (r.status !== 0) console.log(`  sdk-ttft.ts failed (${r.error?.message ?? `exit ${r.status}`})`);
  }

  console.log('\nMarkdown:\n');
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
}

await main();
// Keep-alive sockets to the stopped children can hold the loop open for a while: the run is over.
process.exit(0);
