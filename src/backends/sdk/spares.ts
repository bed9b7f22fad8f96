/**
 * Spares: Claude Code processes started before a request needs them, so that it does not pay the
 * CLI start-up.
 *
 * - `pool_size` processes pre-started with `prewarm()` (process start, settings, auth, tools, MCP
 *   handshakes done) and parked until a request claims one; each claim starts a replacement a
 *   moment later (not at once: two Claude Code start-ups compete for the CPU with the request
 *   being answered);
 * - with two spares or more, one is claimed ahead of time with the settings of the last stateless
 *   request (working directory, model, system prompt…), so the next request like it finds its
 *   session already set up (about half the claim-at-request time; see docs/sdk-mode.md); at least
 *   one spare stays unclaimed for requests that differ;
 * - a spare started with a login ccproxy has since replaced (see login.ts) is not handed out, nor
 *   one started on another account than the request's (spares start on the account the last new
 *   conversation got);
 * - every spare holds a slot under `claude.max_concurrent_agents` (agent-slots.ts): spares start
 *   only while slots are free, and go when a request waits for one;
 * - spares go when no request came for `pool_idle_s` (0 = never); one that dies is replaced, with a
 *   growing delay while they keep dying (a broken install or login must not turn into a fork loop);
 *   three failures in a row make the pool unhealthy until one succeeds.
 */
import type { Options, SpareProcess } from '@anthropic-ai/claude-agent-sdk';
import type { Logger } from 'pino';
import type { Agent } from './agent.ts';
import type { AgentLifecycle } from './agent-lifecycle.ts';
import type { AgentSlots, Slot } from './agent-slots.ts';
import { loadAgentModules } from './modules.ts';
import type { ProcessTracker } from './processes.ts';

/** A parked spare: the SDK's process, its pid, and the login (generation) it was started with. */
export interface ParkedSpare {
  process: SpareProcess;
  pid?: number;
  login: number;
}

export interface SparesConfig {
  size: number;
  idleMs: number;
  /** Host options of a new spare and the login they carry; `onSpawn` learns its pid. */
  spareOptions: (onSpawn: (pid: number) => void) => { options: Options; login: number };
  /** Is this login still the one new agents get? */
  loginIsCurrent: (login: number) => boolean;
  tracker: ProcessTracker;
  lifecycle: AgentLifecycle;
  /** The cap on processes; without it spares start freely (unit tests). */
  slots?: AgentSlots;
  log: Logger;
  /** The clock idleness is measured with (epoch ms); tests move it instead of waiting. */
  now: () => number;
}

interface Entry {
  spare: ParkedSpare;
  /** Claimed ahead of time for requests with this key; `ready` once the claim was answered. */
  preclaimed?: { key: string; agent: Agent; ready: boolean };
}

/** What the runner gives to claim spares ahead of time for requests like the last one. */
export interface Preclaim {
  key: string;
  claim: (spare: ParkedSpare) => Agent;
}

/** A spare handed to a request: unclaimed, or already claimed for requests like it. */
export type TakenSpare = { spare: ParkedSpare; agent?: undefined } | { agent: Agent };

/** Delay between a claim and the start of its replacement. */
const REFILL_DELAY_MS = 1000;
const MAX_BACKOFF_MS = 60_000;

/** A slot when no cap is configured: nothing to bind or give back. */
const NO_CAP: Pick<Slot, 'bind' | 'unlessBound'> = { bind: () => {}, unlessBound: () => {} };

export class Spares {
  /** Spares that failed to start or died while parked. */
  failures = 0;
  private readonly cfg: SparesConfig;
  private readonly parked: Entry[] = [];
  private starting = 0;
  private active = false;
  private closed = false;
  private lastDemand = 0;
  private failureStreak = 0;
  private retryTimer?: NodeJS.Timeout;
  private refillTimer?: NodeJS.Timeout;
  private sweeper?: NodeJS.Timeout;
  private lastError?: string;
  private preclaim?: Preclaim;

  constructor(cfg: SparesConfig) {
    this.cfg = cfg;
  }

  /** A request arrived (or ccproxy starts with prewarm_on_start): keep the spares filled. */
  activate(): void {
    if (this.closed) return;
    this.lastDemand = this.cfg.now();
    const wasActive = this.active;
    this.active = true;
    if (!this.sweeper && this.cfg.idleMs > 0) {
      this.sweeper = setInterval(() => this.sweep(), Math.min(30_000, Math.max(250, this.cfg.idleMs / 4)));
      this.sweeper.unref();
    }
    if (!wasActive) this.refill();
  }

  /**
   * A ready spare for a request, or undefined (the request then starts cold): one claimed ahead
   * for requests like it (`preclaim.key`), else an unclaimed one. Spares claimed for other
   * requests are let go: requests have changed, the next pre-claim follows them.
   */
  take(preclaim?: Preclaim, login?: number): TakenSpare | undefined {
    this.activate();
    if (preclaim) this.preclaim = preclaim;
    for (const s of [...this.parked]) {
      if (s.spare.pid !== undefined && !this.cfg.tracker.isAlive(s.spare.pid)) this.drop(s, 'exited');
      else if (!this.cfg.loginIsCurrent(s.spare.login)) this.drop(s, 'carries a login since replaced');
    }
    let taken: TakenSpare | undefined;
    // With accounts, a spare started on another account than the request's is not handed out.
    const fits = (s: Entry) => login === undefined || s.spare.login === login;
    const mine =
      preclaim &&
      this.parked.find((s) => s.preclaimed?.key === preclaim.key && !s.preclaimed.agent.closed && fits(s));
    if (mine) {
      this.remove(mine);
      taken = { agent: mine.preclaimed!.agent };
    } else {
      const generic = this.parked.find((s) => !s.preclaimed && fits(s));
      if (generic) {
        this.remove(generic);
        taken = { spare: generic.spare };
      }
    }
    if (preclaim) {
      for (const s of this.parked.filter((x) => x.preclaimed && x.preclaimed.key !== preclaim.key))
        this.drop(s, 'stale');
    }
    this.scheduleRefill();
    return taken;
  }

  private remove(s: Entry): void {
    const i = this.parked.indexOf(s);
    if (i >= 0) this.parked.splice(i, 1);
  }

  /** Let a spare go (it is closed; a pre-claimed one through its agent). */
  private drop(s: Entry, reason: string): void {
    this.remove(s);
    if (s.preclaimed) this.cfg.lifecycle.retire(s.preclaimed.agent, `pre-claimed spare ${reason}`);
    else s.spare.process.close();
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
    if (this.parked.some((s) => s.preclaimed?.key === p.key)) return;
    const generic = this.parked.filter((s) => !s.preclaimed);
    if (generic.length < 2) return;
    const s = generic[0];
    try {
      const agent = p.claim(s.spare);
      const pre = { key: p.key, agent, ready: false };
      s.preclaimed = pre;
      s.spare.process.claimed.then(
        () => {
          pre.ready = true;
        },
        () => {
          // Refused (its folder vanished, its settings changed): this spare is of no use.
          if (this.parked.includes(s)) this.drop(s, 'refused its claim');
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
    while (this.parked.length < this.cfg.size && Date.now() < deadline && !this.closed) {
      await new Promise((r) => setTimeout(r, 25));
    }
    return this.parked.length >= this.cfg.size;
  }

  private refill(): void {
    if (this.closed || !this.active || this.retryTimer) return;
    while (!this.retryTimer && this.parked.length + this.starting < this.cfg.size) {
      if (!this.start()) return;
    }
  }

  /** Start one spare; false when no slot is free for it. */
  private start(): boolean {
    const slots = this.cfg.slots;
    const slot: Pick<Slot, 'bind' | 'unlessBound'> | undefined = slots ? slots.trySpare() : NO_CAP;
    if (!slot) return false;
    let pid: number | undefined;
    let spawn: { options: Options; login: number };
    try {
      spawn = this.cfg.spareOptions((p) => {
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
      .then(({ sdk }) => sdk.prewarm({ options: spawn.options, initializeTimeoutMs: 60_000 }))
      .finally(() => slot.unlessBound())
      .then(
        (process) => {
          this.starting--;
          if (this.closed || !this.active || this.wanted()) {
            // Not needed any more, or a request waits for its slot: it goes at once.
            process.close();
            if (pid !== undefined) void this.cfg.tracker.kill(pid);
            return;
          }
          this.failureStreak = 0;
          this.lastError = undefined;
          const entry: Entry = { spare: { process, pid, login: spawn.login } };
          this.parked.push(entry);
          process.exited.then(() => {
            if (!this.parked.includes(entry)) return; // claimed or closed on purpose
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

  /** A request needs a process slot and none is free: stop a spare (unclaimed first), if any. */
  reclaimIdle(): boolean {
    const spare = this.parked.find((s) => !s.preclaimed) ?? this.parked[0];
    if (!spare) return false;
    this.drop(spare, 'its slot is needed');
    if (spare.spare.pid !== undefined) void this.cfg.tracker.kill(spare.spare.pid);
    return true;
  }

  /** A process slot came free: spares may use it (a moment later, as after a claim). */
  slotFreed(): void {
    if (this.active && !this.closed && this.parked.length + this.starting < this.cfg.size)
      this.scheduleRefill();
  }

  private failed(reason: string): void {
    if (this.closed) return;
    this.failures++;
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

  /** Nobody asked for pool_idle_s: give the memory back; the next request warms up again. */
  sweep(now = this.cfg.now()): void {
    const idleMs = this.cfg.idleMs;
    if (idleMs <= 0 || this.closed || !this.active || now - this.lastDemand < idleMs) return;
    this.active = false;
    for (const s of [...this.parked]) this.drop(s, 'idle');
    clearInterval(this.sweeper);
    this.sweeper = undefined;
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
      spares_ready: this.parked.length,
      spares_preclaimed: this.parked.filter((s) => s.preclaimed?.ready).length,
      spares_starting: this.starting,
      spare_pids: this.parked.map((s) => s.spare.pid).filter((p) => p !== undefined),
    };
  }

  /** Stop every spare; wait for those still starting (they close themselves). */
  async close(): Promise<void> {
    this.closed = true;
    this.active = false;
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.refillTimer) clearTimeout(this.refillTimer);
    for (const s of [...this.parked]) this.drop(s, 'shutdown');
    const deadline = Date.now() + 10_000;
    while (this.starting > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
}
