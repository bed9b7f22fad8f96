/**
 * Response headers the real API sends with subscription (OAuth) traffic. The unified rate-limit
 * names are the ones Claude Code 2.1 reads (`anthropic-ratelimit-unified-*`); resets are epoch
 * seconds, utilisation a fraction of the window.
 */
import type { RateLimitState } from './types.ts';

export const DEFAULT_RATE_LIMIT: RateLimitState = {
  status: 'allowed',
  fiveHourUtilization: 0.12,
  sevenDayUtilization: 0.05,
  fiveHourResetIn: 3 * 3600,
  sevenDayResetIn: 5 * 86400,
  representativeClaim: 'five_hour',
  overageStatus: 'rejected',
  overageDisabledReason: 'org_level_disabled',
};

/** Utilisation as the API prints it: `0.42`, `1.0`. */
function fraction(u: number): string {
  const rounded = Math.round(u * 100) / 100;
  return Number.isInteger(rounded) ? rounded.toFixed(1) : String(rounded);
}

function windowStatus(u: number): string {
  return u >= 1 ? 'rejected' : u >= 0.9 ? 'allowed_warning' : 'allowed';
}

export function rateLimitHeaders(state: RateLimitState, nowMs = Date.now()): Record<string, string> {
  const now = Math.floor(nowMs / 1000);
  const fiveReset = now + state.fiveHourResetIn;
  const sevenReset = now + state.sevenDayResetIn;
  const headers: Record<string, string> = {
    'anthropic-ratelimit-unified-status': state.status,
    'anthropic-ratelimit-unified-5h-status': windowStatus(state.fiveHourUtilization),
    'anthropic-ratelimit-unified-5h-reset': String(fiveReset),
    'anthropic-ratelimit-unified-5h-utilization': fraction(state.fiveHourUtilization),
    'anthropic-ratelimit-unified-7d-status': windowStatus(state.sevenDayUtilization),
    'anthropic-ratelimit-unified-7d-reset': String(sevenReset),
    'anthropic-ratelimit-unified-7d-utilization': fraction(state.sevenDayUtilization),
    'anthropic-ratelimit-unified-representative-claim': state.representativeClaim,
    'anthropic-ratelimit-unified-fallback-percentage': '0.5',
    'anthropic-ratelimit-unified-reset': String(
      state.representativeClaim === 'five_hour' ? fiveReset : sevenReset,
    ),
    'anthropic-ratelimit-unified-overage-status': state.overageStatus,
  };
  if (state.overageDisabledReason) {
    headers['anthropic-ratelimit-unified-overage-disabled-reason'] = state.overageDisabledReason;
  }
  if (state.overageInUse) headers['anthropic-ratelimit-unified-overage-in-use'] = 'true';
  return headers;
}
