/**
 * Agents kept between turns: the process of each client session (by session key), and the agent
 * that answered a stateless conversation's last turn (parked under the conversation's digest, see
 * conversation.ts). At most `claude.max_sessions` of them, the one idle the longest going first;
 * one unused for `claude.pool_idle_s` is stopped (0 = never); while a request waits for a process
 * slot nothing idle is kept. The turns of one session run one after the other (`lock`).
 */
import type { Agent } from './agent.ts';
import type { AgentLifecycle } from './agent-lifecycle.ts';
import type { AgentSlots } from './agent-slots.ts';
import type { ProcessTracker } from './processes.ts';
import type { SuspendedRuns } from './suspended.ts';

export interface SessionsConfig {
  maxSessions: number;
  idleMs: number;
  lifecycle: AgentLifecycle;
  tracker: ProcessTracker;
  suspended: SuspendedRuns;
  /** The cap on processes: an idle agent goes when a request waits for a slot. */
  slots?: AgentSlots;
  /** The clock idleness is measured with (epoch ms). */
  now: () => number;
}

export class KeptSessions {
  private readonly cfg: SessionsConfig;
  private readonly kept = new Map<string, Agent>();
  private readonly locks = new Map<string, Promise<void>>();
  private sweeper?: NodeJS.Timeout;
  private closed = false;

  constructor(cfg: SessionsConfig) {
    this.cfg = cfg;
    cfg.lifecycle.register((agent) => {
      if (agent.sessionKey) this.drop(agent.sessionKey, agent);
      if (agent.parkedKey) this.drop(agent.parkedKey, agent);
    });
  }

  /** The running agent kept under this key. */
  get(key: string): Agent | undefined {
    const a = this.kept.get(key);
    if (a?.closed) {
      this.kept.delete(key);
      return undefined;
    }
    return a;
  }

  /** Keep an agent for the next turn of its session or conversation. */
  keep(key: string, agent: Agent): void {
    const { lifecycle, maxSessions } = this.cfg;
    if (this.closed || maxSessions === 0) {
      lifecycle.retire(agent, 'sessions are not kept (claude.max_sessions = 0)');
      return;
    }
    const old = this.kept.get(key);
    if (old && old !== agent) lifecycle.retire(old, 'replaced');
    if (!agent.busy && (this.cfg.slots?.queued ?? 0) > 0) {
      // A request waits for a process slot: this idle one goes (a session resumes from its transcript).
      this.kept.delete(key);
      this.stop(agent, 'its slot is needed');
      return;
    }
    // Idle from now, on the pool's own clock.
    agent.lastUsed = this.cfg.now();
    this.kept.set(key, agent);
    this.ensureSweeper();
    while (this.kept.size > maxSessions) {
      const idle = this.longestIdle((a) => !a.busy);
      if (!idle) break;
      this.kept.delete(idle[0]);
      lifecycle.retire(idle[1], 'claude.max_sessions reached');
    }
  }

  /** Forget the agent under `key` (only if it is `agent`, when given). */
  drop(key: string, agent?: Agent): void {
    if (!agent || this.kept.get(key) === agent) this.kept.delete(key);
  }

  /**
   * A request needs a process slot: stop the session or conversation idle the longest. False when
   * every kept agent is busy (running a turn, or waiting for a client's tool result).
   */
  reclaimIdle(): boolean {
    const idle = this.longestIdle((a) => !a.busy && !this.cfg.suspended.has(a));
    if (!idle) return false;
    this.kept.delete(idle[0]);
    this.stop(idle[1], 'its slot is needed');
    return true;
  }

  private longestIdle(eligible: (a: Agent) => boolean): [string, Agent] | undefined {
    return [...this.kept.entries()]
      .filter(([, a]) => eligible(a))
      .sort((x, y) => x[1].lastUsed - y[1].lastUsed)[0];
  }

  /** Retire now and kill the process, so that its slot frees at once. */
  private stop(agent: Agent, reason: string): void {
    this.cfg.lifecycle.retire(agent, reason);
    if (agent.pid !== undefined) void this.cfg.tracker.kill(agent.pid);
  }

  private ensureSweeper(): void {
    const idleMs = this.cfg.idleMs;
    if (this.sweeper || this.closed || idleMs <= 0) return;
    this.sweeper = setInterval(() => this.sweep(), Math.min(30_000, Math.max(250, idleMs / 4)));
    this.sweeper.unref();
  }

  /** Stop what has been idle for pool_idle_s. */
  sweep(now = this.cfg.now()): void {
    const idleMs = this.cfg.idleMs;
    if (idleMs <= 0 || this.closed) return;
    for (const [key, a] of this.kept) {
      if (!a.busy && now - a.lastUsed >= idleMs) {
        this.kept.delete(key);
        this.cfg.lifecycle.retire(a, 'idle');
      }
    }
    if (this.kept.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** Serialise the turns of one session: resolves with the function that lets the next one in. */
  async lock(key: string): Promise<() => void> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const chain = prev.then(() => mine);
    this.locks.set(key, chain);
    await prev;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
      if (this.locks.get(key) === chain) this.locks.delete(key);
    };
  }

  get count(): number {
    return this.kept.size;
  }

  /** Stop every kept agent. */
  close(): void {
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const a of [...this.kept.values()]) this.cfg.lifecycle.retire(a, 'shutdown');
    this.kept.clear();
  }
}
