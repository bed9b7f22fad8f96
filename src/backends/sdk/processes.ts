/**
 * Every Claude Code process ccproxy starts goes through here (the SDK's `spawnClaudeCodeProcess`
 * hook): counted, its pid known, the tail of its stderr kept for error messages, and stopped for
 * sure when ccproxy closes — no orphan agents.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { SpawnedProcess, SpawnOptions } from '@anthropic-ai/claude-agent-sdk';

const STDERR_TAIL = 4096;

export interface ProcessInfo {
  pid: number;
  startedAt: number;
  /** The last bytes the process wrote to stderr (never logged: it may quote a conversation). */
  stderr: string;
}

export class ProcessTracker {
  /** Processes started since ccproxy began. */
  started = 0;
  /** Processes that exited with a failure code or a signal we did not send. */
  crashed = 0;
  /** Most processes alive at once since ccproxy began (bounded by claude.max_concurrent_agents). */
  peak = 0;
  private readonly alive = new Map<number, { child: ChildProcess; info: ProcessInfo; stopping: boolean }>();
  private readonly exits = new Map<number, Promise<void>>();
  /** The stderr tails of the last processes that exited, for the error that follows their end. */
  private readonly gone = new Map<number, ProcessInfo>();

  /** For `Options.spawnClaudeCodeProcess`. `onSpawn` learns the pid of the process it started. */
  spawner(onSpawn?: (pid: number) => void): (o: SpawnOptions) => SpawnedProcess {
    return (o) => {
      const child = spawn(o.command, o.args, {
        cwd: o.cwd,
        env: o.env as NodeJS.ProcessEnv,
        signal: o.signal,
        stdio: ['pipe', 'pipe', 'pipe'],
        windowsHide: true,
      });
      // The SDK waits on `exit` from several places per process; that is not a leak.
      child.setMaxListeners(32);
      this.started++;
      const pid = child.pid;
      if (pid !== undefined) {
        const entry = { child, info: { pid, startedAt: Date.now(), stderr: '' }, stopping: false };
        this.alive.set(pid, entry);
        this.peak = Math.max(this.peak, this.alive.size);
        child.stderr?.on('data', (d: Buffer) => {
          entry.info.stderr = (entry.info.stderr + d.toString('utf8')).slice(-STDERR_TAIL);
        });
        this.exits.set(
          pid,
          new Promise((resolve) => {
            child.once('exit', (code, signal) => {
              if (!entry.stopping && (code !== 0 || signal) && code !== 143) this.crashed++;
              this.alive.delete(pid);
              this.gone.set(pid, entry.info);
              if (this.gone.size > 16) this.gone.delete(this.gone.keys().next().value as number);
              this.exits.delete(pid);
              resolve();
            });
          }),
        );
        onSpawn?.(pid);
      }
      child.on('error', () => {
        // Reported to the SDK through the same child; nothing more to do here.
      });
      return child as unknown as SpawnedProcess;
    };
  }

  info(pid: number): ProcessInfo | undefined {
    return this.alive.get(pid)?.info ?? this.gone.get(pid);
  }

  isAlive(pid: number): boolean {
    return this.alive.has(pid);
  }

  /** Resolves when the process has exited (at once if it is unknown or gone). */
  exited(pid: number): Promise<void> {
    return this.exits.get(pid) ?? Promise.resolve();
  }

  pids(): number[] {
    return [...this.alive.keys()];
  }

  get count(): number {
    return this.alive.size;
  }

  /** Mark a process as stopped on purpose (its exit is not a crash). */
  expectExit(pid: number | undefined): void {
    const e = pid === undefined ? undefined : this.alive.get(pid);
    if (e) e.stopping = true;
  }

  /** Stop a process: SIGTERM, then SIGKILL after `graceMs`. */
  async kill(pid: number, graceMs = 2000): Promise<void> {
    const e = this.alive.get(pid);
    if (!e) return;
    e.stopping = true;
    e.child.kill('SIGTERM');
    const timer = setTimeout(() => e.child.kill('SIGKILL'), graceMs);
    timer.unref();
    await this.exited(pid);
    clearTimeout(timer);
  }

  /** Stop everything still running. */
  async killAll(graceMs = 2000): Promise<void> {
    await Promise.all(this.pids().map((pid) => this.kill(pid, graceMs)));
  }
}
