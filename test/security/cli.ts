/**
 * Spawn the real `ccproxy` command from source (test/security/run-cli.ts is what bin/ccproxy.js
 * does with dist/), with a chosen working directory and environment.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import path from 'node:path';

const RUNNER = path.join(import.meta.dirname, 'run-cli.ts');
const TSX = import.meta.resolve('tsx');

export function spawnCli(
  args: string[],
  opts: { cwd: string; env: Record<string, string | undefined> },
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', TSX, RUNNER, ...args], {
    cwd: opts.cwd,
    env: opts.env as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/**
 * An environment of the test's own for the CLI: only PATH from outside, a home under `dir` (nothing
 * of the user's settings, credentials or data is seen), no colours; `extra` on top.
 */
export function cliEnv(
  dir: string,
  extra: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    HOME: dir,
    XDG_CONFIG_HOME: path.join(dir, 'xdg'),
    XDG_DATA_HOME: path.join(dir, 'data'),
    NO_COLOR: '1',
    ...extra,
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run to the end, feeding `input` on stdin. */
export async function runCli(
  args: string[],
  opts: { cwd: string; env: Record<string, string | undefined>; input?: string },
): Promise<CliResult> {
  const child = spawnCli(args, opts);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => {
    stdout += c;
  });
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  child.stdin.end(opts.input ?? '');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

/**
 * The URL `ccproxy serve` prints in its banner, once it has; rejects if the process ends first (with
 * what it wrote) or after `ms`.
 */
export function bannerUrl(child: ChildProcessWithoutNullStreams, ms = 20_000): Promise<string> {
  let out = '';
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the banner: no outcome within ${ms} ms: ${out}`)), ms);
    child.stdout.on('data', (c) => {
      out += c;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('close', () => {
      clearTimeout(timer);
      reject(new Error(`serve exited early: ${out}`));
    });
  });
}

export interface RunningServe {
  url: string;
  /** Everything it wrote to stderr so far (its log). */
  stderr(): string;
  /** SIGTERM, and its exit code once it has exited. */
  stop(): Promise<number | null>;
}

/** `ccproxy serve` (with `args`) spawned and listening; its stderr collected. */
export async function startServe(
  args: string[],
  opts: { cwd: string; env: Record<string, string | undefined> },
): Promise<RunningServe> {
  const child = spawnCli(['serve', ...args], opts);
  child.stdin.end();
  let err = '';
  child.stderr.on('data', (c) => {
    err += c;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const url = await bannerUrl(child).catch((e: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${e.message}\n${err}`);
  });
  return {
    url,
    stderr: () => err,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
