/**
 * Accounts state that instances share through SharedState (one process: in memory; with
 * storage.url: PostgreSQL, heard by every instance within a second):
 *
 *   account:<name>:state     { cooldown?: {until, reason}, invalid?: reason }   cooling / invalid / ok
 *   account:<name>:paused    { paused }                                         `accounts pause|resume`
 *   account:<name>:readings  the latest rate-limit readings (RateLimitSnapshot)
 *   account:<name>:tokens    rotated OAuth tokens (refresh.ts; PostgreSQL only)
 *   spill:<YYYY-MM-DD>       spill-over spend (spend.ts)
 *
 * A change is applied here at once and published in the background: the request path never waits
 * on the database, and while it is unreachable each instance goes on with what it knows. A change
 * that could not be written is kept (the latest per key) and written again every RETRY_MS until the
 * database takes it, so a pause or a cooldown made during an outage still reaches the others; until
 * then, what is heard for that key is older than what this instance holds and is ignored. What is
 * heard is applied only when it differs from what is held, so an instance hearing its own write
 * again changes nothing (a probe in flight stays the only one).
 */
import type { Logger } from 'pino';
import type { RateLimitSnapshot } from '../backends/api/rate-limits.ts';
import type { SharedEntry, SharedState } from '../storage/shared-state.ts';
import type { Account, Cooldown } from './account.ts';

export const ACCOUNT_PREFIX = 'account:';
/** Readings are published at most this often per account (and at once when their status changes). */
export const READINGS_EVERY_MS = 1000;
/** How often changes that could not be written are tried again. */
export const RETRY_MS = 2000;

export interface StateValue {
  cooldown?: Cooldown;
  invalid?: string;
}

export const keyOf = (name: string, what: 'state' | 'paused' | 'readings' | 'tokens') =>
  `${ACCOUNT_PREFIX}${name}:${what}`;

/** `account:<name>:<what>` taken apart; names never hold a colon. */
function parseKey(key: string): { name: string; what: string } | undefined {
  const rest = key.slice(ACCOUNT_PREFIX.length);
  const i = rest.lastIndexOf(':');
  return i > 0 ? { name: rest.slice(0, i), what: rest.slice(i + 1) } : undefined;
}

export class AccountSync {
  private readonly published = new Map<string, { at: number; status?: string }>();
  /** Changes the database has not taken yet: the latest value per key (bounded by the accounts). */
  private readonly unsent = new Map<string, unknown>();
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly shared: SharedState,
    private readonly byName: ReadonlyMap<string, Account>,
    private readonly now: () => number,
    private readonly log: Logger,
    /** Called after a heard change altered an account (for logs). */
    private readonly onChange: (account: Account, what: string) => void = () => {},
  ) {}

  // ─── publishing ─────────────────────────────────────────────────────────────

  publishState(account: Account): void {
    const value: StateValue = {};
    if (account.cooldown) value.cooldown = account.cooldown;
    if (account.invalid) value.invalid = account.invalid.reason;
    void this.write(keyOf(account.name, 'state'), value);
  }

  /** Resolves false when the database did not take it yet (it is tried again until it does). */
  publishPaused(account: Account): Promise<boolean> {
    return this.write(keyOf(account.name, 'paused'), { paused: account.paused });
  }

  /** After a response's readings: shared when due (or when the plan's status changed). */
  publishReadings(account: Account): void {
    const snap = account.limits.snapshot();
    if (!snap) return;
    const key = keyOf(account.name, 'readings');
    const last = this.published.get(key);
    const now = this.now();
    if (last && last.status === snap.status && now - last.at < READINGS_EVERY_MS) return;
    this.published.set(key, { at: now, status: snap.status });
    void this.write(key, snap);
  }

  /** Resolves true once written; false when kept for a later try. */
  private async write(key: string, value: unknown): Promise<boolean> {
    this.unsent.set(key, value);
    try {
      await this.shared.set(key, value);
      // A newer change to the key may have been made meanwhile: that one stays unsent.
      if (this.unsent.get(key) === value) this.unsent.delete(key);
      return true;
    } catch (err) {
      this.log.debug({ key, err: (err as Error).message }, 'accounts: state not shared yet');
      this.retryLater();
      return false;
    }
  }

  private retryLater(): void {
    if (this.retry || this.closed) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      for (const [key, value] of [...this.unsent]) void this.write(key, value);
    }, RETRY_MS);
    this.retry.unref();
  }

  private closed = false;

  /** Stop trying to write what is unsent (shutdown). */
  stop(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.retry = undefined;
  }

  // ─── hearing ────────────────────────────────────────────────────────────────

  /** Start from what is stored and hear every change after. Returns the unsubscribe function. */
  async start(): Promise<() => void> {
    const off = this.shared.subscribe(ACCOUNT_PREFIX, (key, entry) => this.heard(key, entry));
    try {
      for (const e of await this.shared.list(ACCOUNT_PREFIX)) this.heard(e.key, e);
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message },
        'accounts: cannot read the shared state yet; starting from nothing',
      );
    }
    return () => {
      off();
      this.stop();
    };
  }

  heard(key: string, entry: SharedEntry | undefined): void {
    // Older than the change this instance has still to write.
    if (this.unsent.has(key)) return;
    const k = parseKey(key);
    const account = k && this.byName.get(k.name);
    if (!k || !account) return;
    const value = entry?.value;
    switch (k.what) {
      case 'state':
        if (applyState(account, (value ?? {}) as StateValue)) this.onChange(account, 'state');
        return;
      case 'paused': {
        const paused = (value as { paused?: unknown } | undefined)?.paused === true;
        if (paused !== account.paused) {
          account.paused = paused;
          this.onChange(account, paused ? 'paused' : 'resumed');
        }
        return;
      }
      case 'readings':
        if (value && typeof value === 'object') account.limits.adopt(value as RateLimitSnapshot);
        return;
    }
  }
}

/** Take another instance's view of an account's state; true when it changed something. */
function applyState(account: Account, v: StateValue): boolean {
  let changed = false;
  const c = v.cooldown;
  if (c && typeof c.until === 'number') {
    if (account.cooldown?.until !== c.until) {
      account.cool(c.until, String(c.reason ?? 'cooling'));
      changed = true;
    }
  } else if (account.cooldown) {
    account.cooldown = undefined;
    account.probeSince = undefined;
    changed = true;
  }
  if (typeof v.invalid === 'string') {
    if (account.invalid?.reason !== v.invalid) {
      account.markInvalid(v.invalid);
      changed = true;
    }
  } else if (account.invalid) {
    account.invalid = undefined;
    changed = true;
  }
  return changed;
}
