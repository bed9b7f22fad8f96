/**
 * Which account answers a request, first that applies:
 *
 * 1. the account the conversation was on (affinity), if it can answer now (or may be probed);
 * 2. a subscription account by strategy — `priority`: the first in priority order that can answer;
 *    `round_robin`: the next in turn; `least_used`: the lowest 5-hour utilisation — among those
 *    that can answer, a recovered account counting as one only for a single probe at a time;
 * 3. with `accounts.spill_over`, an `api_key` account, while today's spill-over spend is under
 *    `limits.spill_over_daily_usd`;
 * 4. on a request's first attempt, when every subscription account is cooling: the one whose
 *    cooldown ends first, so that the upstream answers for itself as it would with one account
 *    (its plan-limit error goes to the client; a reset that came early is found at once).
 *
 * Accounts a request already tried are skipped. Pure but for the affinity map, the round-robin
 * turn and the probe mark it sets on the chosen account.
 */
import type { Account } from './account.ts';
import type { AffinityMap } from './affinity.ts';

export type Strategy = 'priority' | 'round_robin' | 'least_used';

export interface Choice {
  account: Account;
  /** This request tries an account whose cooldown just ended. */
  probe: boolean;
  /** The conversation was on another account: its history may need making acceptable. */
  moved: boolean;
  /** An api_key account taking over from the subscriptions (billed per token). */
  spill: boolean;
  /** Nothing could answer and this one is tried anyway (its own error will be the answer). */
  lastResort: boolean;
}

export interface ChooseInput {
  /** The conversation, for affinity. */
  key?: string;
  /** Accounts this request already tried. */
  tried: ReadonlySet<Account>;
  now: number;
}

export interface ChooserConfig {
  /** Subscription accounts, in priority order (highest first, then as written). */
  subscriptions: readonly Account[];
  /** api_key accounts, in priority order. */
  apiKeys: readonly Account[];
  strategy: Strategy;
  /** Spill-over is on and today's spend is under the cap. */
  spillAllowed: () => boolean;
  affinity: AffinityMap<Account>;
}

/** 5-hour utilisation, 0..1; unknown counts as unused. */
function utilisation(a: Account): number {
  return a.limits.snapshot()?.windows['5h']?.utilization ?? 0;
}

export class Chooser {
  private turn = 0;

  constructor(private readonly c: ChooserConfig) {}

  choose(input: ChooseInput): Choice | undefined {
    const { key, tried, now } = input;
    const pinned = key ? this.c.affinity.get(key, now) : undefined;
    if (pinned && !tried.has(pinned) && pinned.billing === 'subscription') {
      const av = pinned.availability(now);
      if (av === 'ready' || av === 'probe') return this.take(pinned, av === 'probe', false, input, pinned);
    }
    const sub = this.byStrategy(tried, now);
    if (sub) return this.take(sub.account, sub.probe, false, input, pinned);
    if (this.c.apiKeys.length > 0 && this.c.spillAllowed()) {
      for (const a of this.c.apiKeys) {
        if (tried.has(a)) continue;
        const av = a.availability(now);
        if (av === 'ready' || av === 'probe') return this.take(a, av === 'probe', true, input, pinned);
      }
    }
    if (tried.size === 0) {
      let soonest: Account | undefined;
      for (const a of this.c.subscriptions) {
        const av = a.availability(now);
        if (av !== 'cooling' && av !== 'probing') continue;
        if (!soonest || (a.cooldown?.until ?? 0) < (soonest.cooldown?.until ?? 0)) soonest = a;
      }
      if (soonest) {
        const choice = this.take(soonest, false, false, input, pinned);
        choice.lastResort = true;
        return choice;
      }
    }
    return undefined;
  }

  private byStrategy(
    tried: ReadonlySet<Account>,
    now: number,
  ): { account: Account; probe: boolean } | undefined {
    const list = this.c.subscriptions;
    const n = list.length;
    let best: { account: Account; probe: boolean } | undefined;
    const start = this.c.strategy === 'round_robin' ? this.turn % Math.max(n, 1) : 0;
    for (let i = 0; i < n; i++) {
      const a = list[(start + i) % n]!;
      if (tried.has(a)) continue;
      const av = a.availability(now);
      if (av !== 'ready' && av !== 'probe') continue;
      const probe = av === 'probe';
      if (this.c.strategy !== 'least_used') {
        if (this.c.strategy === 'round_robin') this.turn = (start + i + 1) % n;
        return { account: a, probe };
      }
      if (!best || utilisation(a) < utilisation(best.account)) best = { account: a, probe };
    }
    return best;
  }

  private take(
    account: Account,
    probe: boolean,
    spill: boolean,
    input: ChooseInput,
    pinned: Account | undefined,
  ): Choice {
    if (probe) account.probeSince = input.now;
    if (input.key) this.c.affinity.set(input.key, account, input.now);
    // Moved: from where the conversation was, or from an account this very request already tried.
    const moved = (pinned !== undefined && pinned !== account) || input.tried.size > 0;
    return { account, probe, moved, spill, lastResort: false };
  }
}
