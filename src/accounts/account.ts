/**
 * One account and its state: ok, cooling until a time (its window is used up, or the upstream
 * refused it for a while), paused (by a person: `ccproxy accounts pause`), or invalid (its
 * credential was rejected; the reason is kept). Nothing here stays stuck:
 *
 * - a cooldown ends at the time the upstream gave; the account is then probed by exactly one
 *   request before the traffic waiting elsewhere moves back (a probe that never reports is given up
 *   after PROBE_STALE_MS, and another request probes);
 * - an invalid account is looked at again every RECHECK_MS: a new login on disk clears it;
 * - `resume` clears all three.
 *
 * Times are epoch ms from the clock the accounts were built with (tests move it).
 */
import { RateLimits } from '../backends/api/rate-limits.ts';
import type { AccountCredential } from './credential.ts';

export type Billing = 'subscription' | 'api_key';

/** What an account can do for the next request. */
export type Availability =
  /** Take it. */
  | 'ready'
  /** Its cooldown is over: this request may be the one that tries it. */
  | 'probe'
  /** Its cooldown is over and another request is trying it now. */
  | 'probing'
  | 'cooling'
  | 'paused'
  | 'invalid';

/** How long a probe may go without an outcome before another request may probe instead. */
export const PROBE_STALE_MS = 120_000;
/** How often an invalid account's credential is looked at again. */
export const RECHECK_MS = 30_000;

export interface Cooldown {
  /** Epoch ms. */
  until: number;
  reason: string;
}

export interface AccountInit {
  name: string;
  billing: Billing;
  /** Higher first; ties in the order written. */
  priority: number;
  /** Position in the settings. */
  order: number;
  credential: AccountCredential;
  now: () => number;
}

export class Account {
  readonly name: string;
  readonly billing: Billing;
  readonly priority: number;
  readonly order: number;
  readonly credential: AccountCredential;
  /** The plan's windows as this account's upstream answers last reported them. */
  readonly limits: RateLimits;
  cooldown?: Cooldown;
  invalid?: { reason: string; fingerprint?: string };
  paused = false;
  /** When the probe in flight started (epoch ms), if one is. */
  probeSince?: number;
  private recheckedAt = 0;

  constructor(init: AccountInit) {
    this.name = init.name;
    this.billing = init.billing;
    this.priority = init.priority;
    this.order = init.order;
    this.credential = init.credential;
    this.limits = new RateLimits(init.now);
  }

  availability(now: number): Availability {
    if (this.paused) return 'paused';
    if (this.invalid && !this.revalidated(now)) return 'invalid';
    const c = this.cooldown;
    if (!c) return 'ready';
    if (now < c.until) return 'cooling';
    if (this.probeSince !== undefined && now - this.probeSince < PROBE_STALE_MS) return 'probing';
    return 'probe';
  }

  /** An invalid account whose credential has changed since (a new login) is valid again. */
  private revalidated(now: number): boolean {
    if (now - this.recheckedAt < RECHECK_MS) return false;
    this.recheckedAt = now;
    this.credential.recheck();
    const fp = this.credential.fingerprint();
    if (fp === undefined || fp === this.invalid?.fingerprint) return false;
    this.invalid = undefined;
    return true;
  }

  cool(until: number, reason: string): void {
    this.cooldown = { until, reason };
    this.probeSince = undefined;
  }

  markInvalid(reason: string): void {
    this.invalid = { reason, fingerprint: this.credential.fingerprint() };
    this.recheckedAt = 0;
  }

  /** The account answered: whatever held it back is over. True when that changed its state. */
  recovered(): boolean {
    const changed = this.cooldown !== undefined || this.invalid !== undefined;
    this.cooldown = undefined;
    this.invalid = undefined;
    this.probeSince = undefined;
    return changed;
  }
}
