/**
 * A benchmark part in a child process of its own: the fake upstream, the pass-through floor, or
 * ccproxy started as a user starts it (`bin/ccproxy.js serve`, settings from a TOML file, default log
 * level, log lines to a file). Every child runs with `--expose-gc` and bench/probe.mjs preloaded, which
 * answers `usage` requests (CPU time, RSS, heap, open handles) over IPC. Its RSS can also be read from
 * /proc without disturbing it, and its peak RSS reset and read there (Linux). Used by `npm run bench`
 * and `npm run soak`.
 */
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'smol-toml';

export interface Usage {
  cpu: NodeJS.CpuUsage;
  rss: number;
  heap?: number;
  heapTotal?: number;
  external?: number;
  arrayBuffers?: number;
  /** `process.getActiveResourcesInfo().length`. */
  handles?: number;
  /** The event loop's delay since the previous reading (monitorEventLoopDelay), p99 and max. */
  loopDelayP99Ms?: number;
  loopDelayMaxMs?: number;
}

export interface Child {
  proc: ChildProcess;
  port: number;
  origin: string;
  /** The child's usage, after a full GC when `gc` is true. */
  usage(gc?: boolean): Promise<Usage>;
  /** RSS in bytes from /proc (no IPC, nothing runs in the child); falls back to `usage()`. */
  rss(): Promise<number>;
  /** Start counting peak RSS from now (Linux: /proc/<pid>/clear_refs); false where unsupported. */
  resetPeak(): boolean;
  /** Peak RSS in bytes since start or the last `resetPeak` (Linux: VmHWM), if known. */
  peak(): number | undefined;
  /**
   * CPU time of the main thread (the event loop every request waits on) in ms, apart from the
   * process's worker threads (Linux: /proc/<pid>/task/<pid>/stat, 10 ms ticks); undefined elsewhere.
   */
  mainThreadCpuMs(): number | undefined;
  stop(): Promise<void>;
}

const PROBE = path.join(import.meta.dirname, 'probe.mjs');
const ROOT = path.join(import.meta.dirname, '..');

function procStatus(pid: number | undefined, field: string): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** A process's main-thread CPU time in ms (Linux: /proc/<pid>/task/<pid>/stat, 10 ms ticks); undefined elsewhere. */
export function mainThreadCpuMs(pid: number | undefined): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks (1/100 s).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return undefined;
  }
}

function wrap(proc: ChildProcess, port: number): Child {
  const usage = (gc = false) =>
    new Promise<Usage>((resolve) => {
      const on = (m: Usage & { usage?: boolean }) => {
        if (!m?.usage) return;
        proc.off('message', on);
        resolve(m);
      };
      proc.on('message', on);
      proc.send({ cmd: 'usage', gc });
    });
  return {
    proc,
    port,
    origin: `http://127.0.0.1:${port}`,
    usage,
    async rss() {
      return procStatus(proc.pid, 'VmRSS') ?? (await usage()).rss;
    },
    resetPeak() {
      try {
        fs.writeFileSync(`/proc/${proc.pid}/clear_refs`, '5');
        return true;
      } catch {
        return false;
      }
    },
    peak: () => procStatus(proc.pid, 'VmHWM'),
    mainThreadCpuMs: () => mainThreadCpuMs(proc.pid),
    stop: () =>
      new Promise((res) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return res();
        // SIGTERM first, as a service manager would (a child run with --cpu-prof writes its profile).
        const hard = setTimeout(() => proc.kill('SIGKILL'), 5000);
        proc.once('exit', () => {
          clearTimeout(hard);
          res();
        });
        proc.kill('SIGTERM');
      }),
  };
}

const execArgv = (script: string) => [
  ...(script.endsWith('.ts') ? ['--import', 'tsx'] : []),
  '--expose-gc',
  '--import',
  PROBE,
];

/** A bench script (upstream, pass-through): it reports `{ port }` over IPC once listening. */
export function start(script: string, env: Record<string, string>, token: string): Promise<Child> {
  const proc = fork(path.join(import.meta.dirname, script), [], {
    execArgv: execArgv(script),
    env: { ...process.env, ...env, BENCH_TOKEN: token },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`${script} exited (${code}) before it was ready`)));
    const on = (m: { port?: number }) => {
      if (typeof m?.port !== 'number') return;
      proc.off('message', on);
      proc.removeAllListeners('exit');
      resolve(wrap(proc, m.port));
    };
    proc.on('message', on);
  });
}

/** A ccproxy to measure: this checkout, or a baseline / variant given on the command line. */
export interface Variant {
  name: string;
  root?: string;
  nodeFlags?: string[];
  env?: Record<string, string>;
  settings?: Record<string, unknown>;
}

/** A variant's `ccproxy serve` against the upstream at `origin`, `extra` settings over its own. */
export function startVariant(
  v: Variant,
  origin: string,
  token: string,
  extra: Record<string, unknown> = {},
): Promise<Child & { dir: string }> {
  return startCcproxy({
    root: v.root,
    nodeFlags: v.nodeFlags,
    env: v.env,
    token,
    settings: {
      ...v.settings,
      ...extra,
      upstream: { ...(v.settings?.upstream as object), base_url: origin },
    },
  });
}

/** Pin a process (all its threads) to one CPU, or exit: a measurement that needs it is void without it. */
export function taskset(pid: number | undefined, cpu: number): void {
  if (pid === undefined) return;
  const r = spawnSync('taskset', ['-a', '-cp', String(cpu), String(pid)], { stdio: 'ignore' });
  if (r.status === 0) return;
  console.error('bench: pinning needs taskset (util-linux) and at least 2 CPUs.');
  process.exit(2);
}

export interface CcproxyOptions {
  /** The settings, as a TOML file would hold them; the port is always 0 (any free one). */
  settings: Record<string, unknown>;
  token: string;
  /** A ccproxy checkout whose bin/ccproxy.js to run (default: this one). */
  root?: string;
  /** Extra node flags (e.g. `--max-semi-space-size=4`). */
  nodeFlags?: string[];
  /** Extra environment (e.g. MALLOC_ARENA_MAX). */
  env?: Record<string, string>;
}

/**
 * `ccproxy serve` as a user starts it: `bin/ccproxy.js` of `root`, in an empty folder with an empty
 * home (no settings or credentials of the machine's user), the token in CLAUDE_CODE_OAUTH_TOKEN, the
 * settings in a TOML file, log lines (info by default, as users get them) to a file.
 */
export function startCcproxy(o: CcproxyOptions): Promise<Child & { dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-bench-'));
  const config = path.join(dir, 'ccproxy.toml');
  const server = (o.settings.server ?? {}) as Record<string, unknown>;
  fs.writeFileSync(config, stringify({ ...o.settings, server: { ...server, port: 0 } }));
  fs.mkdirSync(path.join(dir, 'home'));
  const log = fs.openSync(path.join(dir, 'ccproxy.log'), 'a');
  const proc = fork(path.join(o.root ?? ROOT, 'bin', 'ccproxy.js'), ['--config', config, 'serve'], {
    cwd: dir,
    execArgv: ['--expose-gc', '--import', PROBE, ...(o.nodeFlags ?? [])],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: path.join(dir, 'home'),
      CLAUDE_CODE_OAUTH_TOKEN: o.token,
      ...o.env,
    },
    stdio: ['ignore', 'pipe', log, 'ipc'],
  });
  fs.closeSync(log);
  return new Promise((resolve, reject) => {
    let out = '';
    proc.once('error', reject);
    proc.once('exit', (code) =>
      reject(new Error(`ccproxy exited (${code}) before listening: ${out.slice(0, 500)}`)),
    );
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', function onData(s: string) {
      out += s;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (!m) return;
      proc.stdout!.off('data', onData);
      proc.stdout!.resume();
      proc.removeAllListeners('exit');
      const child = wrap(proc, Number(m[1]));
      resolve({
        ...child,
        dir,
        async stop() {
          await child.stop();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      });
    });
  });
}
