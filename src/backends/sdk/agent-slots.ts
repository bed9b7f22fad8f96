/**
 * The cap on Claude Code processes (`claude.max_concurrent_agents`). Every process holds one slot
 * from before it is spawned until it has exited, whatever it does meanwhile: a parked spare, a
 * session or conversation kept between turns, a run waiting for a client's tool result, a turn
 * being answered. So the count of live processes never exceeds the cap.
 *
 * A request that needs a new process and finds no free slot first asks the pool to stop an idle one
 * (`reclaim`), then waits in API mode's first-come, first-served queue (limiter.ts) for up to
 * `claude.queue_timeout_s`, then gets a 429. Spares never wait, and leave one slot free for requests.
 */
import os from 'node:os';
import type { Abortable } from '../../abort.ts';
import type { Settings } from '../../config/schema.ts';
import { ProxyError } from '../../errors.ts';
import { Limiter, QueueTimeout, type Release } from '../api/limiter.ts';
import type { ProcessTracker } from './processes.ts';

/** How long a request waits for an idle process it had stopped to exit (SIGKILL comes after 2 s). */
const RECLAIM_WAIT_MS = 10_000;

/** `claude.max_concurrent_agents`, 0 = min(4, CPU cores): each agent is a ~200 MB process. */
export function agentCap(settings: Settings): number {
  const configured = settings.claude.max_concurrent_agents;
  if (configured > 0) return configured;
  return Math.max(1, Math.min(4, os.availableParallelism()));
}

/** One slot: bound to the process started with it, or given back when none was. */
export class Slot {
  /** Bound to a process, or given back: either way settled for good. */
  private settled = false;

  constructor(
    private readonly release: Release,
    private readonly tracker: ProcessTracker,
  ) {}

  /** The process this slot was taken for: the slot is free again once it has exited. */
  bind(pid: number): void {
    if (this.settled) return;
    this.settled = true;
    void this.tracker.exited(pid).then(this.release);
  }

  /** No process was started after all (a spawn that failed, a start given up). */
  unlessBound(): void {
    if (this.settled) return;
    this.settled = true;
    this.release();
  }
}

export interface AgentSlotsConfig {
  max: number;
  queueTimeoutMs: number;
  tracker: ProcessTracker;
  /** Stop one idle process (spare, idle session or conversation); false when there is none. */
  reclaim: () => boolean;
  /** A slot came free and nobody waited for it. */
  onFree?: () => void;
}

export class AgentSlots {
  private readonly limiter: Limiter;
  private readonly cfg: AgentSlotsConfig;

  constructor(cfg: AgentSlotsConfig) {
    this.cfg = cfg;
    this.limiter = new Limiter(cfg.max, cfg.queueTimeoutMs);
  }

  get max(): number {
    return this.cfg.max;
  }

  /** Processes holding a slot. */
  get inUse(): number {
    return this.limiter.inFlight;
  }

  /** Requests waiting for a slot: idle processes should go rather than be kept. */
  get queued(): number {
    return this.limiter.queued;
  }

  /**
   * A slot for a request's new process: at once, after an idle process was stopped, or after
   * waiting in line. A 429 (`rate_limited`, with retry-after) when none came free in time.
   */
  async acquire(signal?: Abortable): Promise<Slot> {
    let wait = this.cfg.queueTimeoutMs;
    // An idle process stopped for this request frees its slot as soon as it has exited: worth
    // waiting for even when the queue is set not to wait for busy ones.
    if (this.limiter.inFlight >= this.cfg.max && this.cfg.reclaim()) wait = Math.max(wait, RECLAIM_WAIT_MS);
    try {
      return this.slot(await this.limiter.acquire(signal, wait));
    } catch (err) {
      if (!(err instanceof QueueTimeout)) throw err;
      const waited = this.cfg.queueTimeoutMs / 1000;
      throw new ProxyError(
        'rate_limited',
        `ccproxy already runs ${this.cfg.max} Claude Code agents (claude.max_concurrent_agents), all busy or waiting for a client's tool result${waited > 0 ? `, and none came free within ${waited}s (claude.queue_timeout_s)` : ''}. Retry shortly, or raise claude.max_concurrent_agents.`,
        { retryAfter: Math.min(60, Math.max(1, Math.ceil(waited))) },
      );
    }
  }

  /**
   * A slot for a spare: only when no request waits and another slot stays free for a request that
   * cannot use a spare (with a cap of 1 there are no spares).
   */
  trySpare(): Slot | undefined {
    if (this.limiter.inFlight + 1 >= this.cfg.max) return undefined;
    const release = this.limiter.tryAcquire();
    return release ? this.slot(release) : undefined;
  }

  private slot(release: Release): Slot {
    return new Slot(() => {
      const idle = this.limiter.queued === 0;
      release();
      if (idle) this.cfg.onFree?.();
    }, this.cfg.tracker);
  }
}
