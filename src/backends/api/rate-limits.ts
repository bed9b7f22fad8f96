/**
 * The plan's limits as the upstream last reported them. Every upstream response carries
 * `anthropic-ratelimit-*` headers; for subscription tokens the `anthropic-ratelimit-unified-*`
 * family says whether requests are allowed, how full each window is (5-hour, 7-day…), when it
 * resets, and whether paid extra usage (overage) is available or in use.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface WindowReading {
  status?: string;
  /** Fraction of the window used, 0..1. */
  utilization?: number;
  /** Epoch seconds. */
  resetAt?: number;
}

export interface RateLimitSnapshot {
  /** Epoch ms of the response the readings came from. */
  updatedAt: number;
  /** `allowed`, `allowed_warning` or `rejected`. */
  status?: string;
  /** Which window the overall status and reset describe (`five_hour`, `seven_day`…). */
  representativeClaim?: string;
  resetAt?: number;
  windows: Record<string, WindowReading>;
  overage: { status?: string; disabledReason?: string; inUse?: boolean; resetAt?: number };
  /** Classic per-minute API limits (requests, tokens…): limit and remaining. */
  limits: Record<string, { limit?: number; remaining?: number; resetAt?: number }>;
}

const UNIFIED = 'anthropic-ratelimit-unified-';
const CLASSIC = /^anthropic-ratelimit-(requests|tokens|input-tokens|output-tokens)-(limit|remaining|reset)$/;
const WINDOW = /^([0-9a-z_]+)-(status|utilization|reset)$/;

const num = (v: string | undefined) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};
const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
const epochSeconds = (v: string) =>
  num(v) ?? (Number.isNaN(Date.parse(v)) ? undefined : Math.floor(Date.parse(v) / 1000));

/** Parse one response's headers; undefined when it carries no rate-limit headers. */
export function parseRateLimitHeaders(
  headers: IncomingHttpHeaders,
  now = Date.now(),
): RateLimitSnapshot | undefined {
  let snap: RateLimitSnapshot | undefined;
  for (const name in headers) {
    if (!name.startsWith('anthropic-ratelimit-')) continue;
    const value = first(headers[name]);
    if (value === undefined) continue;
    snap ??= { updatedAt: now, windows: {}, overage: {}, limits: {} };
    if (name.startsWith(UNIFIED)) {
      const rest = name.slice(UNIFIED.length);
      if (rest === 'status') snap.status = value;
      else if (rest === 'reset') snap.resetAt = epochSeconds(value);
      else if (rest === 'representative-claim') snap.representativeClaim = value;
      else if (rest === 'overage-status') snap.overage.status = value;
      else if (rest === 'overage-disabled-reason') snap.overage.disabledReason = value;
      else if (rest === 'overage-in-use') snap.overage.inUse = value === 'true';
      else if (rest === 'overage-reset') snap.overage.resetAt = epochSeconds(value);
      else {
        const m = WINDOW.exec(rest);
        if (!m) continue;
        snap.windows[m[1]] ??= {};
        const w = snap.windows[m[1]];
        if (m[2] === 'status') w.status = value;
        else if (m[2] === 'utilization') w.utilization = num(value);
        else w.resetAt = epochSeconds(value);
      }
      continue;
    }
    const c = CLASSIC.exec(name);
    if (c) {
      snap.limits[c[1]] ??= {};
      const l = snap.limits[c[1]];
      if (c[2] === 'reset') l.resetAt = epochSeconds(value);
      else l[c[2] as 'limit' | 'remaining'] = num(value);
    }
  }
  return snap;
}

/** The overall reset, else the earliest window reset, in epoch seconds, when still in the future. */
function futureReset(s: RateLimitSnapshot, now: number): number | undefined {
  const reset =
    s.resetAt ?? Math.min(...Object.values(s.windows).map((w) => w.resetAt ?? Number.POSITIVE_INFINITY));
  if (!Number.isFinite(reset) || reset * 1000 <= now) return undefined;
  return reset;
}

const STATUS_VALUE: Record<string, number> = { allowed: 0, allowed_warning: 1, rejected: 2 };

/** Keeps the latest readings; cheap enough to call on every upstream response. */
export class RateLimits {
  private snap: RateLimitSnapshot | undefined;

  /** `now` is the clock readings are judged by (epoch ms); tests move it to cross a reset. */
  constructor(readonly now: () => number = Date.now) {}

  update(headers: IncomingHttpHeaders): void {
    const next = parseRateLimitHeaders(headers, this.now());
    if (next) this.snap = next;
  }

  snapshot(): RateLimitSnapshot | undefined {
    return this.snap;
  }

  /** Readings taken elsewhere (another instance); kept when newer than the ones held. */
  adopt(snap: RateLimitSnapshot): boolean {
    if (typeof snap.updatedAt !== 'number' || (this.snap && this.snap.updatedAt >= snap.updatedAt))
      return false;
    this.snap = {
      ...snap,
      windows: snap.windows ?? {},
      overage: snap.overage ?? {},
      limits: snap.limits ?? {},
    };
    return true;
  }

  /**
   * The plan's window is used up (status `rejected`), so the next request would draw on paid extra
   * usage or fail: returns the reset time in epoch seconds while that holds. Past the reset, the
   * state clears by itself — nothing stays stuck until a restart.
   */
  exhaustedUntil(now = this.now()): number | undefined {
    const s = this.snap;
    if (s?.status !== 'rejected') return undefined;
    return futureReset(s, now);
  }

  /**
   * The next request would be paid for as extra usage: the plan's window is used up (unified status
   * `rejected`, or the last answer already drew on overage) and overage is open (`overage-status`
   * `allowed`/`allowed_warning`, or `overage-in-use: true`). With overage closed the upstream refuses
   * such requests itself (a 429 that costs nothing), so that is not this case. Returns the window's
   * reset (epoch seconds) and which window it is, while that holds; undefined once the reset has
   * passed, or when no reset time is known (nothing to wait for, so nothing is blocked).
   */
  overageUntil(now = this.now()): { resetAt: number; claim?: string } | undefined {
    const s = this.snap;
    if (!s) return undefined;
    const inUse = s.overage.inUse === true;
    if (s.status !== 'rejected' && !inUse) return undefined;
    const open = inUse || s.overage.status === 'allowed' || s.overage.status === 'allowed_warning';
    if (!open) return undefined;
    const resetAt = futureReset(s, now);
    return resetAt === undefined ? undefined : { resetAt, claim: s.representativeClaim };
  }

  /** Numeric readings with bounded names, for metrics gauges and the dashboard. */
  readings(): Array<{ name: string; value: number }> {
    const s = this.snap;
    if (!s) return [];
    const out: Array<{ name: string; value: number }> = [];
    if (s.status && s.status in STATUS_VALUE)
      out.push({ name: 'unified_status', value: STATUS_VALUE[s.status] });
    if (s.resetAt !== undefined) out.push({ name: 'unified_reset', value: s.resetAt });
    for (const [w, r] of Object.entries(s.windows)) {
      if (r.utilization !== undefined) out.push({ name: `unified_${w}_utilization`, value: r.utilization });
      if (r.resetAt !== undefined) out.push({ name: `unified_${w}_reset`, value: r.resetAt });
    }
    if (s.overage.inUse !== undefined)
      out.push({ name: 'unified_overage_in_use', value: s.overage.inUse ? 1 : 0 });
    for (const [k, l] of Object.entries(s.limits)) {
      const key = k.replaceAll('-', '_');
      if (l.limit !== undefined) out.push({ name: `${key}_limit`, value: l.limit });
      if (l.remaining !== undefined) out.push({ name: `${key}_remaining`, value: l.remaining });
    }
    return out;
  }
}

/** A span as a person reads it: `45s`, `12m`, `2h 13m`, `3d 4h`. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 ? ` ${m % 60}m` : ''}`;
  const d = Math.floor(h / 24);
  return `${d}d${h % 24 ? ` ${h % 24}h` : ''}`;
}

/** A reset time (epoch seconds) for a message: `at 2026-05-01 14:05 UTC (in 2h 13m)`. */
export function describeReset(epochSeconds: number, now = Date.now()): string {
  const at = new Date(epochSeconds * 1000).toISOString().slice(0, 16).replace('T', ' ');
  return `at ${at} UTC (in ${humanDuration(epochSeconds * 1000 - now)})`;
}
