/**
 * `npm run bench:paired`: an A/B of ccproxy builds or settings by the CPU a request costs, measured
 * in short slices taken in turn (A B C, B C A, C A B, …), so that a neighbour's load, which drifts over seconds,
 * falls on every target alike. Pinned: the load generator and the fake upstream on CPU 0, every
 * ccproxy on CPU 1. Each target is reported with its median CPU a request and, slice pair by slice
 * pair, its ratio to the first target (median and quartiles). Whole bench rounds read two processes
 * of one build 15–20% apart on a shared 2-core machine; paired slices, within ~5% (`--twins` shows
 * the floor of the noise for the run at hand). Loopback only, bounded in time.
 *
 *   npm run bench:paired -- --baseline=../other-checkout   this checkout against another (built)
 *   BENCH_VARIANTS='[{"name":"x","settings":{…}}]' npm run bench:paired    against variants
 *   --kind=nonstream|stream|openai|responses   what each slice sends (default nonstream: 16 at once;
 *                                              streams: 100 at once)
 *   --pairs=N (default 16)   --slice-ms=N (default 1000)   --twins (each target twice)
 */
import path from 'node:path';
import { ANTHROPIC, OPENAI, RESPONSES } from './bodies.ts';
import { type Child, start as startChild, startVariant, taskset, type Variant } from './child.ts';
import { percentile, runLoad } from './load.ts';

const args = process.argv.slice(2);
const arg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const TOKEN = 'sk-ant-oat01-bench-token-000000000000000000';

const KINDS = {
  nonstream: { path: '/api/v1/messages', body: ANTHROPIC(false), concurrency: 16, end: undefined },
  stream: { path: '/api/v1/messages', body: ANTHROPIC(true), concurrency: 100, end: 'event: message_stop' },
  openai: { path: '/api/v1/chat/completions', body: OPENAI(true), concurrency: 100, end: 'data: [DONE]' },
  responses: {
    path: '/api/v1/responses',
    body: RESPONSES(true),
    concurrency: 100,
    end: 'event: response.completed',
  },
} as const;

function count(name: string, fallback: number, max: number): number {
  const raw = arg(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (Number.isInteger(n) && n >= 1 && n <= max) return n;
  console.error(`bench:paired: --${name} wants a whole number from 1 to ${max}, not "${raw}"`);
  process.exit(2);
}

const kindName = arg('kind') ?? 'nonstream';
if (!(kindName in KINDS)) {
  console.error(`bench:paired: --kind is one of ${Object.keys(KINDS).join(', ')}, not "${kindName}"`);
  process.exit(2);
}
const kind = KINDS[kindName as keyof typeof KINDS];
const PAIRS = count('pairs', 16, 200);
const SLICE_MS = count('slice-ms', 1000, 60_000);
const baseline = arg('baseline');
const variants: Variant[] = [
  { name: 'ccproxy' },
  ...(baseline ? [{ name: 'base', root: path.resolve(baseline) }] : []),
  ...(JSON.parse(process.env.BENCH_VARIANTS ?? '[]') as Variant[]),
];
if (variants.length < 2 && !args.includes('--twins')) {
  console.error('bench:paired: give something to compare: --baseline=DIR, BENCH_VARIANTS or --twins');
  process.exit(2);
}
const targets = args.includes('--twins')
  ? variants.flatMap((v) => [v, { ...v, name: `${v.name} (twin)` }])
  : variants;

const cpuMs = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + b.system - a.system) / 1000;

async function slice(child: Child, ms: number): Promise<number> {
  const before = await child.usage();
  const r = await runLoad({
    origin: child.origin,
    path: kind.path,
    body: kind.body,
    concurrency: kind.concurrency,
    durationMs: ms,
    streamEnd: kind.end,
  });
  const after = await child.usage();
  if (r.errors || r.incomplete) throw new Error(`${r.errors} failed and ${r.incomplete} incomplete answers`);
  return cpuMs(before.cpu, after.cpu) / r.requests;
}

async function main() {
  taskset(process.pid, 0);
  const upstream = await startChild('upstream.ts', {}, TOKEN);
  taskset(upstream.proc.pid, 0);
  const children: Child[] = [];
  try {
    for (const v of targets) {
      const child = await startVariant(v, upstream.origin, TOKEN);
      taskset(child.proc.pid, 1);
      children.push(child);
    }
    console.log(
      `bench:paired — ${kindName}, ${kind.concurrency} at once, ${PAIRS} × ${SLICE_MS} ms a target, pinned`,
    );
    for (const c of children) await slice(c, 2000); // warm-up: JIT, pools
    const cpu: number[][] = children.map(() => []);
    for (let p = 0; p < PAIRS; p++) {
      // Each target takes each place in the turn equally often: a slice reads a little dearer after
      // another target's (its GC, the caches), so a fixed first place would bias the ratios.
      for (let k = 0; k < children.length; k++) {
        const i = (p + k) % children.length;
        cpu[i]!.push(await slice(children[i]!, SLICE_MS));
      }
    }
    const q = (xs: number[], at: number) => percentile(xs, at);
    for (const [i, t] of targets.entries()) {
      const ratios = cpu[i]!.map((x, p) => x / cpu[0]![p]!);
      console.log(
        `  ${t.name.padEnd(24)} cpu ms/request ${q(cpu[i]!, 50).toFixed(4)}   against ${targets[0]!.name}: ${q(ratios, 50).toFixed(3)} (quartiles ${q(ratios, 25).toFixed(3)}–${q(ratios, 75).toFixed(3)})`,
      );
    }
  } finally {
    for (const c of children) await c.stop();
    await upstream.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
