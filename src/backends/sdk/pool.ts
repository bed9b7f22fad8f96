/**
 * Warm Claude Code processes, so that a request does not pay the CLI start-up:
 *
 * - spares: `pool_size` processes pre-started with `prewarm()` (process start, settings, auth,
 *   tools, MCP handshakes done) and parked until a request claims one; each claim starts a
 *   replacement a moment later (not at once: two Claude Code start-ups compete for the CPU with
 *   the request being answered);
 * - pre-claimed spares: with two spares or more, one is claimed ahead of time with the settings
 *   of the last stateless request (working directory, model, system prompt…), so the next request
 *   like it finds its session already set up (about half the claim-at-request time; see
 *   docs/sdk-mode.md); at least one spare stays unclaimed for requests that differ;
 * - sessions: the process of each client session, kept between turns (at most `max_sessions`);
 * - suspended runs: agents waiting in a client tool call, by tool_use id.
 *
 * Every process holds a slot under `claude.max_concurrent_agents` (agent-slots.ts): spares start only
 * while slots are free, and when a request waits for one, idle spares and sessions give theirs up
 * (`reclaimIdle`, and nothing idle is kept meanwhile).
 *
 * A spare or session unused for `pool_idle_s` is stopped (0 = never). A spare that dies is
 * replaced, with a growing delay while they keep dying (a broken install or login must not turn
 * into a fork loop); three failures in a row make the pool unhealthy until one succeeds.
 */
import type { Options, SpareProcess } from '@anthropic-ai/claude-agent-sdk';
import type { Logger } from 'pino';
import type { Agent } from './agent.ts';
import type { AgentSlots, Slot } from './agent-slots.ts';
import { loadAgentModules } from './modules.ts';
import type { ProcessTracker } from './processes.ts';

export interface PoolConfig {
  size: number;
  idleMs: number;
  maxSessions: number;
  /** Host options of a spare; `onSpawn` learns its pid. */
  spareOptions: (onSpawn: (pid: number) => void) => Options;
  tracker: ProcessTracker;
  /** The cap on processes; without it spares start freely (unit tests). */
  slots?: AgentSlots;
  log: Logger;
  /** Retire (close and clean up) an agent the pool lets go of. */
  retire: (agent: Agent, reason: string) => void;
  /** The clock idleness is measured with (epoch ms); tests move it instead of waiting. */
  now?: () => number;
}

interface Spare {
  spare: SpareProcess;
  pid?: number;
  readyAt: number;
  /** Claimed ahead of time for requests with this key; `ready` once the claim was answered. */
  preclaimed?: { key: string; agent: Agent; ready: boolean };
}

/** What the runner gives the pool to claim spares ahead of time for requests like the last one. */
export interface Preclaim {
  key: string;
  claim: (spare: SpareProcess, pid: number | undefined) => Agent;
}

/** A spare handed to a request: unclaimed, or already claimed for requests like it. */
export type TakenSpare = { spare: SpareProcess; pid?: number; agent?: undefined } | { agent: Agent };

/** Delay between a claim and the start of its replacement. */
const REFILL_DELAY_MS = 1000;

interface Suspended {
  agent: Agent;
  ids: string[];
  timer: NodeJS.Timeout;
}

export interface PoolCounters {
  /** Requests that started a new process. */
  cold_starts: number;
  /** Requests served by a pre-warmed spare. */
  warm_claims: number;
  /** Turns served by a session's running process. */
  session_reuses: number;
  /** Stateless turns served by the process that answered the conversation's last turn. */
  conversation_reuses: number;
  /** Of the warm claims, those that found their session already set up (pre-claimed). */
  preclaimed_hits: number;
  /** Spares that refused a claim (the request then started cold). */
  claim_refusals: number;
  /** Spares that failed to start or died while parked. */
  spare_failures: number;
}

const MAX_BACKOFF_MS = 60_000;

/** A slot when no cap is configured: nothing to bind or give back. */
const NO_CAP: Pick<Slot, 'bind' | 'unlessBound'> = { bind: () => {}, unlessBound: () => {} };

export class AgentPool {
  readonly counters: PoolCounters = {
    cold_starts: 0,
    warm_claims: 0,
    session_reuses: 0,
    conversation_reuses: 0,
    preclaimed_hits: 0,
    claim_refusals: 0,
    spare_failures: 0,
  };
  private readonly cfg: PoolConfig;
  private readonly spares: Spare[] = [];
  private starting = 0;
  private readonly sessions = new Map<string, Agent>();
  private readonly suspended = new Map<string, Suspended>();
  private active = false;
  private closed = false;
  private lastDemand = 0;
  private failureStreak = 0;
  private retryTimer?: NodeJS.Timeout;
  private refillTimer?: NodeJS.Timeout;
  private sweeper?: NodeJS.Timeout;
  private lastError?: string;
  private preclaim?: Preclaim;

  private readonly now: () => number;

  constructor(cfg: PoolConfig) {
    this.cfg = cfg;
    this.now = cfg.now ?? Date.now;
  }

  /** A request arrived (or ccproxy starts with prewarm_on_start): keep the spares filled. */
  activate(): void {
    if (this.closed) return;
    this.lastDemand = this.now();
    const wasActive = this.active;
    this.active = true;
    this.ensureSweeper();
    if (!wasActive) this.refill();
  }

  private ensureSweeper(): void {
    if (this.sweeper || this.closed || this.cfg.idleMs <= 0) return;
    this.sweeper = setInterval(() => this.sweep(), Math.min(30_000, Math.max(250, this.cfg.idleMs / 4)));
    this.sweeper.unref();
  }

  /**
   * A ready spare for a request, or undefined (the request then starts cold): one claimed ahead
   * for requests like it (`preclaim.key`), else an unclaimed one. Spares claimed for other
   * requests are let go: requests have changed, the next pre-claim follows them.
   */
  takeSpare(preclaim?: Preclaim): TakenSpare | undefined {
    this.activate();
    if (preclaim) this.preclaim = preclaim;
    for (const s of [...this.spares]) {
      if (s.pid !== undefined && !this.cfg.tracker.isAlive(s.pid)) this.drop(s, 'exited');
    }
    let taken: TakenSpare | undefined;
    const mine =
      preclaim && this.spares.find((s) => s.preclaimed?.key === preclaim.key && !s.preclaimed.agent.closed);
    if (mine) {
      this.remove(mine);
      taken = { agent: mine.preclaimed!.agent };
    } else {
      const generic = this.spares.find((s) => !s.preclaimed);
      if (generic) {
        this.remove(generic);
        taken = { spare: generic.spare, pid: generic.pid };
      }
    }
    if (preclaim) {
      for (const s of this.spares.filter((x) => x.preclaimed && x.preclaimed.key !== preclaim.key))
        this.drop(s, 'stale');
    }
    this.scheduleRefill();
    return taken;
  }

  private remove(s: Spare): void {
    const i = this.spares.indexOf(s);
    if (i >= 0) this.spares.splice(i, 1);
  }

  /** Let a spare go (it is closed; a pre-claimed one through its agent). */
  private drop(s: Spare, reason: string): void {
    this.remove(s);
    if (s.preclaimed) this.cfg.retire(s.preclaimed.agent, `pre-claimed spare ${reason}`);
    else s.spare.close();
  }

  private scheduleRefill(): void {
    if (this.refillTimer || this.closed) return;
    this.refillTimer = setTimeout(() => {
      this.refillTimer = undefined;
      this.refill();
      this.balance();
    }, REFILL_DELAY_MS);
    this.refillTimer.unref();
  }

  /** Claim one spare ahead for requests like the last one, keeping one unclaimed. */
  private balance(): void {
    const p = this.preclaim;
    if (!p || this.closed || !this.active || this.cfg.size < 2) return;
    if (this.spares.some((s) => s.preclaimed?.key === p.key)) return;
    const generic = this.spares.filter((s) => !s.preclaimed);
    if (generic.length < 2) return;
    const s = generic[0];
    try {
      const agent = p.claim(s.spare, s.pid);
      const pre = { key: p.key, agent, ready: false };
      s.preclaimed = pre;
      s.spare.claimed.then(
        () => {
          pre.ready = true;
        },
        () => {
          // Refused (its folder vanished, its settings changed): this spare is of no use.
          if (this.spares.includes(s)) this.drop(s, 'refused its claim');
          this.scheduleRefill();
        },
      );
    } catch {
      this.drop(s, 'could not be claimed');
      this.scheduleRefill();
    }
  }

  /** Wait until every spare is ready (or the time is up); false when some are not. */
  async ready(timeoutMs: number): Promise<boolean> {
    this.activate();
    const deadline = Date.now() + timeoutMs;
    while (this.spares.length < this.cfg.size && Date.now() < deadline && !this.closed) {
      await new Promise((r) => setTimeout(r, 25));
    }
    return this.spares.length >= this.cfg.size;
  }

  private refill(): void {
    if (this.closed || !this.active || this.retryTimer) return;
    while (!this.retryTimer && this.spares.length + this.starting < this.cfg.size) {
      if (!this.startSpare()) return;
    }
  }

  /** Start one spare; false when no slot is free for it. */
  private startSpare(): boolean {
    const slots = this.cfg.slots;
    const slot: Pick<Slot, 'bind' | 'unlessBound'> | undefined = slots ? slots.trySpare() : NO_CAP;
    if (!slot) return false;
    let pid: number | undefined;
    let options: Options;
    try {
      options = this.cfg.spareOptions((p) => {
        pid = p;
        slot.bind(p);
      });
    } catch (err) {
      slot.unlessBound();
      this.failed(err instanceof Error ? err.message : String(err));
      return false;
    }
    this.starting++;
    loadAgentModules()
      .then(({ sdk }) => sdk.prewarm({ options, initializeTimeoutMs: 60_000 }))
      .finally(() => slot.unlessBound())
      .then(
        (spare) => {
          this.starting--;
          if (this.closed || !this.active || this.wanted()) {
            // Not needed any more, or a request waits for its slot: it goes at once.
            spare.close();
            if (pid !== undefined) void this.cfg.tracker.kill(pid);
            return;
          }
          this.failureStreak = 0;
          this.lastError = undefined;
          const entry: Spare = { spare, pid, readyAt: this.now() };
          this.spares.push(entry);
          spare.exited.then(() => {
            if (!this.spares.includes(entry)) return; // claimed or closed on purpose
            this.drop(entry, 'exited');
            this.failed('a parked Claude Code process exited');
          });
          this.balance();
        },
        (err: unknown) => {
          this.starting--;
          this.failed(err instanceof Error ? err.message : String(err));
        },
      );
    return true;
  }

  /** A request waits for a process slot. */
  private wanted(): boolean {
    return (this.cfg.slots?.queued ?? 0) > 0;
  }

  /**
   * A request needs a process slot and none is free: stop one idle process — a spare (unclaimed
   * first), else the session or conversation idle the longest. False when every process is busy
   * (running a turn, or waiting for a client's tool result).
   */
  reclaimIdle(): boolean {
    const spare = this.spares.find((s) => !s.preclaimed) ?? this.spares[0];
    if (spare) {
      this.drop(spare, 'its slot is needed');
      if (spare.pid !== undefined) void this.cfg.tracker.kill(spare.pid);
      return true;
    }
    const idle = [...this.sessions.entries()]
      .filter(([, a]) => !a.busy && !this.isSuspended(a))
      .sort((x, y) => x[1].lastUsed - y[1].lastUsed)[0];
    if (!idle) return false;
    this.sessions.delete(idle[0]);
    this.cfg.retire(idle[1], 'its slot is needed');
    if (idle[1].pid !== undefined) void this.cfg.tracker.kill(idle[1].pid);
    return true;
  }

  /** A process slot came free: spares may use it (a moment later, as after a claim). */
  slotFreed(): void {
    if (this.active && !this.closed && this.spares.length + this.starting < this.cfg.size)
      this.scheduleRefill();
  }

  private failed(reason: string): void {
    if (this.closed) return;
    this.counters.spare_failures++;
    this.failureStreak++;
    this.lastError = reason.split('\n')[0];
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** (this.failureStreak - 1));
    this.cfg.log.warn(
      { delayMs: delay, streak: this.failureStreak },
      `SDK pool: spare failed (${this.lastError})`,
    );
    if (!this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.refill();
      }, delay);
      this.retryTimer.unref();
    }
  }

  /** The running agent of a client session. */
  session(key: string): Agent | undefined {
    const a = this.sessions.get(key);
    if (a?.closed) {
      this.sessions.delete(key);
      return undefined;
    }
    return a;
  }

  /** Keep a session's agent for its next turn. */
  keepSession(key: string, agent: Agent): void {
    if (this.closed || this.cfg.maxSessions === 0) {
      this.cfg.retire(agent, 'sessions are not kept (claude.max_sessions = 0)');
      return;
    }
    const old = this.sessions.get(key);
    if (old && old !== agent) this.cfg.retire(old, 'replaced');
    if (!agent.busy && this.wanted()) {
      // A request waits for a process slot: this idle one goes (a session resumes from its transcript).
      this.sessions.delete(key);
      this.cfg.retire(agent, 'its slot is needed');
      if (agent.pid !== undefined) void this.cfg.tracker.kill(agent.pid);
      return;
    }
    // Idle from now, on the pool's own clock.
    agent.lastUsed = this.now();
    this.sessions.set(key, agent);
    this.ensureSweeper();
    while (this.sessions.size > this.cfg.maxSessions) {
      const idle = [...this.sessions.entries()]
        .filter(([, a]) => !a.busy)
        .sort((x, y) => x[1].lastUsed - y[1].lastUsed)[0];
      if (!idle) break;
      this.sessions.delete(idle[0]);
      this.cfg.retire(idle[1], 'claude.max_sessions reached');
    }
  }

  dropSession(key: string, agent?: Agent): void {
    if (!agent || this.sessions.get(key) === agent) this.sessions.delete(key);
  }

  /** Park an agent whose run waits for the client's tool results. */
  suspend(agent: Agent, ids: string[], timeoutMs: number, onTimeout: () => void): void {
    const timer = setTimeout(() => {
      this.unsuspend(agent);
      onTimeout();
    }, timeoutMs);
    timer.unref();
    const entry: Suspended = { agent, ids, timer };
    for (const id of ids) this.suspended.set(id, entry);
  }

  /** The suspended agent that made this tool call, taken out of the waiting list. */
  takeSuspended(toolUseId: string): Agent | undefined {
    const entry = this.suspended.get(toolUseId);
    if (!entry) return undefined;
    this.unsuspend(entry.agent);
    return entry.agent;
  }

  isSuspended(agent: Agent): boolean {
    for (const e of this.suspended.values()) if (e.agent === agent) return true;
    return false;
  }

  unsuspend(agent: Agent): void {
    for (const [id, e] of this.suspended) {
      if (e.agent !== agent) continue;
      clearTimeout(e.timer);
      this.suspended.delete(id);
    }
  }

  /** Stop what has been idle for pool_idle_s. */
  sweep(now = this.now()): void {
    const idle = this.cfg.idleMs;
    if (idle <= 0 || this.closed) return;
    if (this.active && now - this.lastDemand >= idle) {
      // Nobody asked for a while: give the memory back; the next request warms up again.
      this.active = false;
      for (const s of [...this.spares]) this.drop(s, 'idle');
    }
    for (const [key, a] of this.sessions) {
      if (!a.busy && now - a.lastUsed >= idle) {
        this.sessions.delete(key);
        this.cfg.retire(a, 'idle');
      }
    }
    if (!this.active && this.sessions.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  get healthy(): boolean {
    return this.failureStreak < 3;
  }

  get lastFailure(): string | undefined {
    return this.lastError;
  }

  status(): Record<string, unknown> {
    return {
      size: this.cfg.size,
      idle_s: this.cfg.idleMs / 1000,
      active: this.active,
      spares_ready: this.spares.length,
      spares_preclaimed: this.spares.filter((s) => s.preclaimed?.ready).length,
      spares_starting: this.starting,
      spare_pids: this.spares.map((s) => s.pid).filter((p) => p !== undefined),
      sessions: this.sessions.size,
      max_sessions: this.cfg.maxSessions,
      suspended_runs: new Set([...this.suspended.values()].map((e) => e.agent)).size,
      healthy: this.healthy,
      ...(this.lastError ? { last_failure: this.lastError } : {}),
      ...this.counters,
    };
  }

  /** Stop every spare, session and suspended run. */
  async close(): Promise<void> {
    this.closed = true;
    this.active = false;
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.refillTimer) clearTimeout(this.refillTimer);
    for (const s of [...this.spares]) this.drop(s, 'shutdown');
    for (const e of new Set(this.suspended.values())) {
      clearTimeout(e.timer);
      this.cfg.retire(e.agent, 'shutdown');
    }
    this.suspended.clear();
    for (const a of this.sessions.values()) this.cfg.retire(a, 'shutdown');
    this.sessions.clear();
    // Spares still starting: wait for them, then they close themselves (closed flag).
    const deadline = Date.now() + 10_000;
    while (this.starting > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
}
