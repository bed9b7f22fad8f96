/**
 * Runs the real Claude Code binary (shipped in the agent SDK's platform package) against a base URL:
 * the fake upstream directly, or ccproxy. Its environment is built from scratch so that nothing of
 * the developer's own setup (API keys, ~/.claude, proxies) leaks into a test.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { TEST_ACCESS_TOKEN } from './auth.ts';

const require = createRequire(import.meta.url);

function isMusl(): boolean {
  if (process.platform !== 'linux') return false;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return !report?.header?.glibcVersionRuntime;
}

/** Path of the `claude` binary for this platform (`@anthropic-ai/claude-agent-sdk-<os>-<arch>[-musl]`). */
export function claudeBinaryPath(): string {
  const suffix = isMusl() ? '-musl' : '';
  const candidates = [`${process.platform}-${process.arch}${suffix}`, `${process.platform}-${process.arch}`];
  const exe = process.platform === 'win32' ? 'claude.exe' : 'claude';
  for (const c of candidates) {
    try {
      const pkg = require.resolve(`@anthropic-ai/claude-agent-sdk-${c}/package.json`);
      const bin = path.join(path.dirname(pkg), exe);
      if (fs.existsSync(bin)) return bin;
    } catch {
      // Not installed for this platform; try the next name.
    }
  }
  throw new Error(
    `No Claude Code binary installed for ${process.platform}-${process.arch} (@anthropic-ai/claude-agent-sdk-*)`,
  );
}

export interface RunClaudeCodeOptions {
  /** `ANTHROPIC_BASE_URL`: the fake's `url`, or ccproxy's `/api` URL. */
  baseUrl: string;
  prompt: string;
  /** `CLAUDE_CODE_OAUTH_TOKEN` (default: the fake's test token). Pass `null` to set none. */
  token?: string | null;
  /** Working directory (default: a new temporary directory, removed afterwards). */
  cwd?: string;
  /** Extra environment, e.g. `ANTHROPIC_API_KEY` when going through ccproxy. */
  env?: Record<string, string>;
  /** Extra command-line arguments after `-p <prompt>`. */
  args?: string[];
  /** Kill the process after this long (default 60 s) so a hung run fails instead of blocking. */
  timeoutMs?: number;
}

export interface ClaudeCodeResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export async function runClaudeCode(opts: RunClaudeCodeOptions): Promise<ClaudeCodeResult> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-claude-home-'));
  const cwd = opts.cwd ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-claude-cwd-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    USERPROFILE: home,
    CLAUDE_CONFIG_DIR: path.join(home, '.claude'),
    ANTHROPIC_BASE_URL: opts.baseUrl,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    NO_PROXY: '127.0.0.1,localhost',
    TERM: 'dumb',
    ...(opts.token === null ? {} : { CLAUDE_CODE_OAUTH_TOKEN: opts.token ?? TEST_ACCESS_TOKEN }),
    ...opts.env,
  };
  try {
    return await new Promise<ClaudeCodeResult>((resolve, reject) => {
      const child = spawn(claudeBinaryPath(), ['-p', opts.prompt, ...(opts.args ?? [])], {
        cwd,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, opts.timeoutMs ?? 60_000);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr, timedOut });
      });
    });
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
    if (!opts.cwd) fs.rmSync(cwd, { recursive: true, force: true });
  }
}
