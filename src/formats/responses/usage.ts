/**
 * Anthropic usage → Responses `usage`.
 * https://platform.openai.com/docs/api-reference/responses/object#responses/object-usage
 *
 * The same counts as Chat Completions (openai/usage.ts: the prompt is input + cache read + cache
 * write, cached = cache read) under the Responses names. `reasoning_tokens` is 0 when the upstream
 * does not say: Responses clients (Codex among them) expect the field.
 */
import type { Usage } from '../anthropic/types.ts';
import { renderUsage } from '../openai/usage.ts';
import type { ResponseUsage } from './types.ts';

export function responseUsage(usage: Partial<Usage> | undefined): ResponseUsage {
  const u = renderUsage(usage);
  return {
    input_tokens: u.prompt_tokens,
    input_tokens_details: { cached_tokens: u.prompt_tokens_details.cached_tokens },
    output_tokens: u.completion_tokens,
    output_tokens_details: { reasoning_tokens: u.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: u.total_tokens,
  };
}
