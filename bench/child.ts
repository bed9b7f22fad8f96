/**
 * A benchmark part in a child process of its own (fake upstream, pass-through, ccproxy): started
 * with `--expose-gc` (and tsx for a .ts script), it reports its port once listening, then answers `usage` requests
 * (CPU time, RSS, heap, open handles) over IPC. Used by `npm run bench` and `npm run soak`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';

export interface Usage {
  cpu: NodeJS.CpuUsage;
  rss: number;
  /** Heap in use, when the child reports it (ccproxy does). */
  heap?: number;
  /** `process.getActiveResourcesInfo().length`, when the child reports it. */
  handles?: number;
}

export interface Child {
  proc: ChildProcess;
  port: number;
  origin: string;
  /** The child's usage, after a full GC when `gc` is true. */
  usage(gc?: boolean): Promise<Usage>;
  stop(): Promise<void>;
}

export function start(script: string, env: Record<string, string>, token: string): Promise<Child> {
  const proc = fork(path.join(import.meta.dirname, script), [], {
    execArgv: [...(script.endsWith('.ts') ? ['--import', 'tsx'] : []), '--expose-gc'],
    env: { ...process.env, ...env, BENCH_TOKEN: token },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('message', (m: { port: number }) => {
      const origin = `http://127.0.0.1:${m.port}`;
      resolve({
        proc,
        port: m.port,
        origin,
        usage: (gc = false) =>
          new Promise((res) => {
            proc.once('message', (u: Usage) => res(u));
            proc.send({ cmd: 'usage', gc });
          }),
        stop: () =>
          new Promise((res) => {
            if (proc.exitCode !== null || proc.signalCode !== null) return res();
            proc.once('exit', () => res());
            proc.kill('SIGKILL');
          }),
      });
    });
  });
}
