/**
 * Where the Claude Code binary is and whether it runs: `claude.cli_path`, else the one shipped in
 * the Agent SDK's platform package (`@anthropic-ai/claude-agent-sdk-<os>-<arch>[-musl]/claude`).
 * Checked before a run starts, so a missing binary is a 503 that says how to install it.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { ProxyError } from '../../errors.ts';
import { binaryMissing } from './errors.ts';

export interface BinaryInfo {
  /** The path used (or the one looked for). */
  path: string;
  ok: boolean;
  version?: string;
  /** Older than MIN_CLAUDE_CODE: SDK mode refuses to run it. */
  outdated?: boolean;
  /** Why it is not usable. */
  error?: string;
}

/**
 * The oldest Claude Code that takes a message marked `client_composed` as data: no `@file`
 * expansion, no `/command` dispatch (agent.ts). An older one would silently expand them, letting a
 * client read any file through a prompt, so SDK mode refuses it.
 */
export const MIN_CLAUDE_CODE = '2.1.248';

/** Is dotted version `a` older than `b`? (Numeric parts; a pre-release suffix is ignored.) */
export function olderThan(a: string, b: string): boolean {
  const pa = a.split(/[.-]/).slice(0, 3).map(Number);
  const pb = b.split(/[.-]/).slice(0, 3).map(Number);
  for (let i = 0; i < 3; i++) {
    if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) < (pb[i] ?? 0);
  }
  return false;
}

/** The binary the Agent SDK would use, or undefined when its platform package is missing. */
export function bundledBinary(): string | undefined {
  let req: NodeRequire;
  try {
    req = createRequire(import.meta.resolve('@anthropic-ai/claude-agent-sdk'));
  } catch {
    return undefined;
  }
  const exe = process.platform === 'win32' ? '.exe' : '';
  const base = `@anthropic-ai/claude-agent-sdk-${process.platform}-${process.arch}`;
  const candidates = process.platform === 'linux' ? [base, `${base}-musl`] : [base];
  for (const pkg of candidates) {
    try {
      const p = req.resolve(`${pkg}/claude${exe}`);
      if (fs.existsSync(p)) return p;
    } catch {
      // not installed: try the next one
    }
  }
  return undefined;
}

export class ClaudeBinary {
  private probe?: Promise<BinaryInfo>;
  readonly path: string;
  private readonly configured: boolean;

  constructor(cliPath: string) {
    this.configured = cliPath !== '';
    this.path =
      cliPath ||
      bundledBinary() ||
      `@anthropic-ai/claude-agent-sdk-${process.platform}-${process.arch}/claude`;
  }

  /** `pathToClaudeCodeExecutable` for the SDK. */
  get executable(): string {
    return this.path;
  }

  /** Does it exist and is it executable? Cheap (a stat), checked before every cold start. */
  check(): ProxyError | undefined {
    try {
      fs.accessSync(this.path, fs.constants.X_OK);
      if (!fs.statSync(this.path).isFile()) return binaryMissing(this.path, 'not a file');
      return undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        return binaryMissing(this.path, this.configured ? 'claude.cli_path does not exist' : 'not found');
      }
      return binaryMissing(this.path, code === 'EACCES' ? 'not executable' : (err as Error).message);
    }
  }

  /** Path, version and usability, probed once (`claude --version`) and cached. */
  info(): Promise<BinaryInfo> {
    this.probe ??= this.runProbe();
    return this.probe;
  }

  private runProbe(): Promise<BinaryInfo> {
    const problem = this.check();
    if (problem) return Promise.resolve({ path: this.path, ok: false, error: problem.message });
    return new Promise((resolve) => {
      execFile(this.path, ['--version'], { timeout: 15_000, windowsHide: true }, (err, stdout) => {
        if (err) {
          // Not cached as final: a later call probes again.
          this.probe = undefined;
          resolve({
            path: this.path,
            ok: false,
            error: `\`${this.path} --version\` failed: ${err.message.split('\n')[0]}`,
          });
          return;
        }
        const version = /\d+\.\d+\.\d+[^\s]*/.exec(stdout)?.[0];
        if (version && olderThan(version, MIN_CLAUDE_CODE)) {
          resolve({
            path: this.path,
            ok: false,
            version,
            outdated: true,
            error: `Claude Code ${version} at ${this.path} is older than ${MIN_CLAUDE_CODE}, which SDK mode needs to pass client text to the agent as data (an older one expands @file mentions and /commands in prompts). Update it, or clear claude.cli_path to use the one bundled with the Agent SDK.`,
          });
          return;
        }
        resolve({ path: this.path, ok: true, version });
      });
    });
  }
}
