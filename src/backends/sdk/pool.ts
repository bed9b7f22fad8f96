/**
 * The warm pool as /sdk/status shows it: the three places an agent waits between requests —
 * spares (spares.ts), kept sessions and conversations (sessions.ts), runs suspended in a client
 * tool call (suspended.ts) — with the counters of how requests were served, one way to free a
 * process slot for a request, and one shutdown.
 */
import type { AgentLifecycle } from './agent-lifecycle.ts';
import { KeptSessions, type SessionsConfig } from './sessions.ts';
import { Spares, type SparesConfig } from './spares.ts';
import { SuspendedRuns } from './suspended.ts';

export interface PoolConfig extends Omit<SparesConfig, 'now'> {
  maxSessions: number;
  lifecycle: AgentLifecycle;
  /** The clock idleness is measured with (epoch ms); tests move it instead of waiting. */
  now?: () => number;
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
}

export class AgentPool {
  readonly counters: PoolCounters = {
    cold_starts: 0,
    warm_claims: 0,
    session_reuses: 0,
    conversation_reuses: 0,
    preclaimed_hits: 0,
    claim_refusals: 0,
  };
  readonly spares: Spares;
  readonly sessions: KeptSessions;
  readonly suspended: SuspendedRuns;
  private readonly maxSessions: number;

  constructor(cfg: PoolConfig) {
    const now = cfg.now ?? Date.now;
    this.maxSessions = cfg.maxSessions;
    this.spares = new Spares({ ...cfg, now });
    this.suspended = new SuspendedRuns(cfg.lifecycle);
    const sessions: SessionsConfig = { ...cfg, suspended: this.suspended, now };
    this.sessions = new KeptSessions(sessions);
  }

  /**
   * A request needs a process slot and none is free: stop one idle process — a spare (unclaimed
   * first), else the session or conversation idle the longest. False when every process is busy.
   */
  reclaimIdle(): boolean {
    return this.spares.reclaimIdle() || this.sessions.reclaimIdle();
  }

  status(): Record<string, unknown> {
    return {
      ...this.spares.status(),
      sessions: this.sessions.count,
      max_sessions: this.maxSessions,
      suspended_runs: this.suspended.count,
      healthy: this.spares.healthy,
      ...(this.spares.lastFailure ? { last_failure: this.spares.lastFailure } : {}),
      ...this.counters,
      spare_failures: this.spares.failures,
    };
  }

  /** Stop every spare, session and suspended run. */
  async close(): Promise<void> {
    const spares = this.spares.close();
    this.suspended.close();
    this.sessions.close();
    await spares;
  }
}
