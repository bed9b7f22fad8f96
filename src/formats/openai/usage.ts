/**
 * Anthropic usage → OpenAI `usage`.
 * https://docs.anthropic.com/en/api/messages#response-usage
 * https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage
 *
 * Anthropic counts cached prompt tokens apart from `input_tokens`; OpenAI's `prompt_tokens` is the
 * whole prompt, with the cached part repeated in `prompt_tokens_details.cached_tokens`.
 */
import type { Usage } from '../anthropic/types.ts';
import type { CompletionUsage } from './types.ts';

export function renderUsage(usage: Partial<Usage> | undefined): CompletionUsage {
  const input = usage?.input_tokens ?? 0;
  const cacheRead = usage?.cache_read_input_tokens ?? 0;
  const cacheWrite = usage?.cache_creation_input_tokens ?? 0;
  const output = usage?.output_tokens ?? 0;
  const prompt = input + cacheRead + cacheWrite;
  const out: CompletionUsage = {
    prompt_tokens: prompt,
    completion_tokens: output,
    total_tokens: prompt + output,
    prompt_tokens_details: { cached_tokens: cacheRead },
  };
  // Only when the upstream says: a made-up 0 would read as "no reasoning happened".
  const details = usage?.output_tokens_details as { thinking_tokens?: unknown } | null | undefined;
  if (typeof details?.thinking_tokens === 'number') {
    out.completion_tokens_details = { reasoning_tokens: details.thinking_tokens };
  }
  return out;
}
