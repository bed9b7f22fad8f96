import type { Usage } from '../formats/anthropic/types.ts';
import type { TokenUsage } from './lifecycle.ts';

/** Anthropic usage → the access log's token counts. */
export function toTokenUsage(u: Partial<Usage> | undefined): TokenUsage | undefined {
  if (!u) return undefined;
  const cacheWrite = u.cache_creation_input_tokens ?? 0;
  return {
    input: u.input_tokens ?? 0,
    output: u.output_tokens ?? 0,
    cacheRead: u.cache_read_input_tokens ?? 0,
    cacheWrite,
    cacheWrite1h: u.cache_creation?.ephemeral_1h_input_tokens ?? 0,
  };
}
