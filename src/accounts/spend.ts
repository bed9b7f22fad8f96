/**
 * What spill-over to `api_key` accounts has spent today (UTC), against `limits.spill_over_daily_usd`.
 * Every finished spill-over request adds its cost (priced like the access log's rows). The total per
 * day lives in shared state (`spill:<YYYY-MM-DD>`), so a team's instances count against one cap;
 * this instance also keeps its own running total, which is what the request path reads (it never
 * waits on the database). The cap is checked before a request: requests already in flight when it
 * is reached may take the total a little past it.
 */
import type { Logger } from 'pino';
import type { SharedState } from '../storage/shared-state.ts';

export const SPEND_PREFIX = 'spill:';

/** `2026-05-01`: the UTC day an instant falls in. */
export const dayOf = (epochMs: number) => new Date(epochMs).toISOString().slice(0, 10);

interface Total {
  usd: number;
}

export class SpillSpend {
  private day = '';
  /** The day's shared total, as last written or heard. */
  private known = 0;
  /** Spent here and not yet added to the shared total. */
  private unsent = 0;
  private sending = false;

  constructor(
    private readonly shared: SharedState,
    readonly capUsd: number,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {}

  /** Today's total as this instance knows it. */
  spent(now = this.now()): number {
    this.roll(now);
    return this.known + this.unsent;
  }

  /** May spill-over take another request now? */
  allows(now = this.now()): boolean {
    return this.spent(now) < this.capUsd;
  }

  /** A spill-over request cost this much. */
  add(usd: number): void {
    if (!(usd > 0)) return;
    this.roll(this.now());
    this.unsent += usd;
    void this.send();
  }

  /** Another instance (or this one) wrote a day's total. */
  heard(key: string, value: unknown): void {
    this.roll(this.now());
    const usd = (value as Total | undefined)?.usd;
    if (key === SPEND_PREFIX + this.day && typeof usd === 'number' && usd > this.known) this.known = usd;
  }

  private roll(now: number): void {
    const day = dayOf(now);
    if (day === this.day) return;
    this.day = day;
    this.known = 0;
    this.unsent = 0;
  }

  /** Add what is unsent to the shared total (compare-and-set; retried on a race, kept on an outage). */
  private async send(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.unsent > 0) {
        const day = this.day;
        const key = SPEND_PREFIX + day;
        const amount = this.unsent;
        const cur = await this.shared.get<Total>(key);
        const written = await this.shared.set<Total>(
          key,
          { usd: (cur?.value.usd ?? 0) + amount },
          { ifVersion: cur?.version ?? 0 },
        );
        if (!written) continue; // someone else wrote first: read again
        if (day !== this.day) continue; // the day turned meanwhile: that spend belongs to yesterday
        this.unsent -= amount;
        if (written.value.usd > this.known) this.known = written.value.usd;
      }
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'accounts: spill-over spend not shared yet');
    } finally {
      this.sending = false;
    }
  }

  /** Today's shared total, read at start. */
  async load(): Promise<void> {
    try {
      const day = dayOf(this.now());
      const e = await this.shared.get<Total>(SPEND_PREFIX + day);
      if (e) this.heard(SPEND_PREFIX + day, e.value);
    } catch {
      // Unreachable: start from this instance's own count.
    }
  }
}
