/**
 * Token counts of an agent run in Anthropic's usage shape, and their conversion to the access
 * log's TokenUsage. Pure functions.
 */
import type { Usage } from '../../formats/anthropic/types.ts';
import type { TokenUsage } from '../../observability/lifecycle.ts';

export interface TurnUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  /** Of the cache writes, those with the 1-hour TTL. */
  cache_creation_1h: number;
}

export function emptyTurnUsage(): TurnUsage {
  return {
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation_1h: 0,
  };
}

const num = (v: unknown, fallback: number): number =>
  typeof v === 'number' && Number.isFinite(v) ? v : fallback;

/** Read an Anthropic usage object; fields it lacks keep the `base` value (message_delta semantics). */
export function usageFrom(
  u: Partial<Usage> | undefined | null,
  base: TurnUsage = emptyTurnUsage(),
): TurnUsage {
  if (!u) return { ...base };
  const cc = u.cache_creation as { ephemeral_1h_input_tokens?: number } | null | undefined;
  return {
    input_tokens: num(u.input_tokens, base.input_tokens),
    output_tokens: num(u.output_tokens, base.output_tokens),
    cache_creation_input_tokens: num(u.cache_creation_input_tokens, base.cache_creation_input_tokens),
    cache_read_input_tokens: num(u.cache_read_input_tokens, base.cache_read_input_tokens),
    cache_creation_1h: num(cc?.ephemeral_1h_input_tokens, base.cache_creation_1h),
  };
}

export function addUsage(a: TurnUsage, b: TurnUsage): TurnUsage {
  return {
    input_tokens: a.input_tokens + b.input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    cache_creation_input_tokens: a.cache_creation_input_tokens + b.cache_creation_input_tokens,
    cache_read_input_tokens: a.cache_read_input_tokens + b.cache_read_input_tokens,
    cache_creation_1h: a.cache_creation_1h + b.cache_creation_1h,
  };
}

/** `a - b`, never below zero. */
export function subtractUsage(a: TurnUsage, b: TurnUsage): TurnUsage {
  const d = (x: number, y: number) => Math.max(0, x - y);
  return {
    input_tokens: d(a.input_tokens, b.input_tokens),
    output_tokens: d(a.output_tokens, b.output_tokens),
    cache_creation_input_tokens: d(a.cache_creation_input_tokens, b.cache_creation_input_tokens),
    cache_read_input_tokens: d(a.cache_read_input_tokens, b.cache_read_input_tokens),
    cache_creation_1h: d(a.cache_creation_1h, b.cache_creation_1h),
  };
}

/** The usage a client sees in message_delta (Anthropic field names only). */
export function wireUsage(u: TurnUsage): Partial<Usage> {
  return {
    input_tokens: u.input_tokens,
    output_tokens: u.output_tokens,
    cache_creation_input_tokens: u.cache_creation_input_tokens,
    cache_read_input_tokens: u.cache_read_input_tokens,
  };
}

/**
 * For the access log and metrics (observability/usage.ts `toTokenUsage` does the same from a wire
 * `Usage`; an agent run's usage is summed over its model turns, with the 1-hour cache writes apart).
 */
export function tokenUsageOfTurn(u: TurnUsage): TokenUsage {
  return {
    input: u.input_tokens,
    output: u.output_tokens,
    cacheRead: u.cache_read_input_tokens,
    cacheWrite: u.cache_creation_input_tokens,
    cacheWrite1h: u.cache_creation_1h,
  };
}
