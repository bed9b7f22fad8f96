/**
 * When to try an upstream request again, and how long to wait first. Pure, so the policy can be
 * tested without a clock. Retries only ever happen before the client has been sent anything.
 */
import type { Abortable } from '../../abort.ts';

export interface RetryPolicy {
  maxAttempts: number;
  maxWaitMs: number;
  baseDelayMs: number;
}

/**
 * Why a request was tried again: a bounded set, used as a metrics label. `failover`: another
 * account took over from one that could not answer (src/accounts/).
 */
export const RETRY_REASONS = [
  'connection',
  'timeout',
  'server_error',
  'overloaded',
  'rate_limited',
  'failover',
] as const;
export type RetryReason = (typeof RETRY_REASONS)[number];

/** The reason label for a retry after an upstream status. */
export function retryReasonForStatus(status: number): RetryReason {
  if (status === 529) return 'overloaded';
  if (status === 429) return 'rate_limited';
  return 'server_error';
}

/** Statuses worth another attempt: overloaded, server errors, and (once) a rate limit. */
export function isRetryableStatus(status: number, previous429s: number): boolean {
  if (status === 429) return previous429s === 0; // subscription 429s are often transient, but only once
  return status === 529 || status === 500 || status === 502 || status === 503 || status === 504;
}

/** Delay the upstream asked for, in ms: `retry-after-ms`, else `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(
  headers: Record<string, string | string[] | undefined>,
  now = Date.now(),
): number | undefined {
  const ms = Number(headers['retry-after-ms']);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers['retry-after'];
  const ra = Array.isArray(raw) ? raw[0] : raw;
  if (!ra) return undefined;
  const secs = Number(ra);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The wait before attempt `attempt + 1` (attempt counts from 1), or undefined to give up:
 * the upstream's own hint when it gave one, else exponential backoff with full jitter.
 */
export function nextDelayMs(
  policy: RetryPolicy,
  attempt: number,
  waitedMs: number,
  hintMs: number | undefined,
  random: () => number = Math.random,
): number | undefined {
  if (attempt >= policy.maxAttempts) return undefined;
  const backoff = policy.baseDelayMs * 2 ** (attempt - 1);
  const delay = hintMs ?? Math.round(backoff / 2 + random() * (backoff / 2));
  if (waitedMs + delay > policy.maxWaitMs) return undefined;
  return delay;
}

/** Sleep that an abort cuts short (rejecting with the signal's reason). */
export function sleep(ms: number, signal?: Abortable): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
