/**
 * What observability's listener costs a request, apart from HTTP: synthetic finished requests
 * (start, usage, end) go through the lifecycle at a steady 5,000 a second into the real pieces —
 * metrics, the access log (its DuckDB file on its own thread, as under `ccproxy serve`), the live
 * stream's hub — and the CPU they add is read per thread: the event loop's (the one every request
 * waits on) and all threads'. Each configuration runs in a fresh process; rounds are interleaved and
 * medians printed. The request-level figure (`npm run bench -- --only=observability`) moves ±7 points
 * between runs on a shared 2-core machine; this one resolves ~0.5 µs.
 *
 *   node --import tsx bench/observability.ts [--quick]   (or npm run bench -- --only=observability-inprocess)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import pino from 'pino';
import { settingsSchema } from '../src/config/schema.ts';
import { createObservability } from '../src/observability/index.ts';
import { Lifecycle } from '../src/observability/lifecycle.ts';
import { record } from '../test/observability/helpers.ts';
import { mainThreadCpuMs } from './child.ts';

const CONFIGS: Record<string, Record<string, unknown>> = {
  off: {},
  metrics: { metrics: true },
  'access log': { access_log: true },
  'all on': { enabled: true },
};
const RATE = 5000;

const allThreadsMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

/** One configuration, in this process: prints `{ main, all }` µs a request as JSON. */
async function child(name: string, seconds: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-bench-obs-'));
  const lifecycle = new Lifecycle();
  const settings = settingsSchema.parse({
    observability: { ...CONFIGS[name], duckdb_path: path.join(dir, 'bench.duckdb') },
  });
  const obs =
    name === 'off'
      ? undefined
      : await createObservability({ settings, lifecycle, log: pino({ level: 'silent' }), version: 'bench' });
  let sent = 0;
  const run = async (s: number) => {
    const t0 = performance.now();
    while (performance.now() - t0 < s * 1000) {
      const due = Math.floor(((performance.now() - t0) / 1000) * RATE);
      for (; sent < due; sent++) {
        const r = record({
          stream: false,
          ttfbMs: undefined,
          durationMs: 3.2,
          usage: { input: 25, output: 14 },
          stopReason: 'end_turn',
          upstreamRequestId: 'req_011CUbench',
        });
        lifecycle.emit('start', r);
        lifecycle.emit('usage', r);
        lifecycle.emit('end', r);
      }
      await delay(1);
    }
  };
  await run(1); // warm-up: JIT, the DuckDB thread's start
  const [n0, main0, all0] = [sent, mainThreadCpuMs(process.pid), allThreadsMs()];
  await run(seconds);
  await delay(1500); // the last batch written, on the clock
  const n = sent - n0;
  const main1 = mainThreadCpuMs(process.pid);
  const out = {
    main: main0 === undefined || main1 === undefined ? null : ((main1 - main0) * 1000) / n,
    all: ((allThreadsMs() - all0) * 1000) / n,
  };
  await obs?.close();
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify(out));
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const rounds = quick ? 1 : 3;
  const seconds = quick ? 3 : 8;
  const got = new Map<string, Array<{ main: number | null; all: number }>>();
  for (let r = 0; r < rounds; r++) {
    for (const name of Object.keys(CONFIGS)) {
      const p = spawnSync(
        process.execPath,
        [...process.execArgv, import.meta.filename, '--child', name, String(seconds)],
        {
          encoding: 'utf8',
        },
      );
      const line = p.stdout.trim().split('\n').pop() ?? '';
      if (p.status !== 0 || !line.startsWith('{')) throw new Error(`${name}: ${p.stderr || p.stdout}`);
      got.set(name, [...(got.get(name) ?? []), JSON.parse(line)]);
    }
  }
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const base = got.get('off')!;
  const fmt = (v: number) => v.toFixed(1);
  console.log(
    `\nObservability's listener, in-process (${RATE} requests/s, ${rounds} round${rounds === 1 ? '' : 's'} of ${seconds} s)`,
  );
  console.log(
    '\n| configuration | event loop µs/req | added | all threads µs/req | added |\n|---|---:|---:|---:|---:|',
  );
  for (const [name, v] of got) {
    const mains = v.map((x) => x.main).filter((x): x is number => x !== null);
    const main = mains.length ? med(mains) : Number.NaN;
    const all = med(v.map((x) => x.all));
    const mainOff = med(base.map((x) => x.main ?? Number.NaN));
    const allOff = med(base.map((x) => x.all));
    console.log(`| ${name} | ${fmt(main)} | ${fmt(main - mainOff)} | ${fmt(all)} | ${fmt(all - allOff)} |`);
  }
}

const at = process.argv.indexOf('--child');
if (at !== -1) await child(process.argv[at + 1]!, Number(process.argv[at + 2]));
else await main();
