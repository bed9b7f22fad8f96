/**
 * What a failed attempt says about the account that made it, decided before anything reached the
 * client. Three failures are the account's and move the request to the next account:
 *
 * - the plan's window is used up: a 429 whose `anthropic-ratelimit-unified-status` is `rejected`
 *   (or the readings already say so, or ccproxy refused the overage): cooling until the reset the
 *   upstream gave (`…-unified-reset`, else `retry-after`, else DEFAULT_COOLDOWN_MS);
 * - the credential is rejected: a 401 after one refresh, or a login that can no longer be refreshed:
 *   invalid, with the reason (a refresh that merely could not reach the token endpoint cools it for
 *   DEFAULT_COOLDOWN_MS instead);
 * - a permission error (403): cooling for PERMISSION_COOLDOWN_MS, then probed like any other.
 *
 * Anything else (a transient 429 already retried, 5xx, a bad request) is the request's or the
 * upstream's, not the account's: it goes to the client as it would with one account.
 */
import { retryAfterMs } from '../backends/api/retry.ts';
import { ProxyError } from '../errors.ts';
import type { Account } from './account.ts';

/** A window reported used up with no reset time: try again after this. */
export const DEFAULT_COOLDOWN_MS = 60_000;
/** A 403 may be a revoked scope or a passing restriction: rest the account this long, then probe. */
export const PERMISSION_COOLDOWN_MS = 10 * 60_000;

export type Verdict =
  | { kind: 'cool'; until: number; reason: string }
  | { kind: 'invalid'; reason: string }
  /** Not the account's doing: the error stands. */
  | { kind: 'final' };

const UNIFIED_STATUS = 'anthropic-ratelimit-unified-status';

/** Is this an upstream answer saying the plan's window is used up? */
export function isExhausted(err: ProxyError, account: Account, now: number): boolean {
  if (err.status !== 429) return false;
  if (err.headers?.['x-ccproxy-refused'] === 'overage') return true;
  if (err.headers?.[UNIFIED_STATUS] === 'rejected') return true;
  // SDK mode: the agent saw the upstream, ccproxy only its words ("Claude AI usage limit reached|<reset>").
  if (USAGE_LIMIT.test(err.message)) return true;
  return err.upstream !== undefined && account.limits.exhaustedUntil(now) !== undefined;
}

const USAGE_LIMIT = /usage limit reached|limit reached\b.*\breset/i;
/** The reset Claude Code's usage-limit message carries (`…|1735689600`), epoch ms. */
const resetInMessage = (message: string) => {
  const m = /\|(\d{10})\b/.exec(message);
  return m ? Number(m[1]) * 1000 : undefined;
};

export function classify(err: unknown, account: Account, now: number): Verdict {
  if (!(err instanceof ProxyError)) return { kind: 'final' };
  if (isExhausted(err, account, now)) {
    const reset = account.limits.exhaustedUntil(now);
    const given = Number(err.retryAfter);
    const hint = retryAfterMs(err.headers ?? {}, now) ?? (given > 0 ? given * 1000 : undefined);
    const said = resetInMessage(err.message);
    const until =
      reset !== undefined
        ? reset * 1000
        : hint !== undefined
          ? now + hint
          : said !== undefined && said > now
            ? said
            : now + DEFAULT_COOLDOWN_MS;
    return { kind: 'cool', until, reason: `usage window exhausted (${err.message})` };
  }
  if (err.kind === 'authentication') {
    // The upstream's 401, in words saying what to do (backends/api/upstream.ts).
    if (err.upstream) return { kind: 'invalid', reason: err.message };
    // No token at hand: a dead login is invalid until a new one; a refresh that could not reach the
    // token endpoint is worth trying again soon.
    const info = account.credential.info();
    if (info.relogin_required || account.credential.fingerprint() === undefined)
      return { kind: 'invalid', reason: err.message };
    return { kind: 'cool', until: now + DEFAULT_COOLDOWN_MS, reason: err.message };
  }
  if (err.status === 403 || err.kind === 'permission')
    return { kind: 'cool', until: now + PERMISSION_COOLDOWN_MS, reason: `permission error: ${err.message}` };
  return { kind: 'final' };
}
