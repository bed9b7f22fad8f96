/**
 * `npm run bench`: ccproxy against a client talking to the same fake upstream directly, and against
 * a bare node:http pass-through (the floor). Every process runs on its own; rounds are interleaved
 * and medians reported. The proxy's own CPU time per request (from the child's cpuUsage) is the
 * steadiest number on a small machine. Loopback only, bounded in count and time.
 *
 *   npm run bench                 all scenarios (~8 minutes on 2 cores)
 *   npm run bench -- --quick      one short round of each
 *   npm run bench -- --only=stream,openai   (nonstream, stream, openai, paced, observability,
 *                                            observability-pg, sdk, accounts)
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
