/**
 * Anthropic `stop_reason` → OpenAI `finish_reason`.
 * https://docs.anthropic.com/en/api/handling-stop-reasons
 * https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices
 */
import type { StopReason } from '../anthropic/types.ts';
import type { FinishReason } from './types.ts';

export function mapStopReason(stopReason: StopReason | string | null | undefined): FinishReason {
  const reason = stopReason as StopReason;
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
    // The server paused a long turn (server tools); to an OpenAI client the answer simply ends.
    case 'pause_turn':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default: {
      // Compile-time exhaustiveness; at run time a stop reason newer than this code, or none
      // (a stream cut short), means the answer ended.
      const _exhaustive: never = reason;
      void _exhaustive;
      return 'stop';
    }
  }
}

/**
 * The finish_reason an answer reports: `tool_calls` only when the client received calls (a forced
 * `response_format` tool or server tools are not calls to them), `function_call` for legacy clients.
 */
export function finishReason(
  stopReason: StopReason | string | null | undefined,
  calls: number,
  legacyFunctions: boolean,
): FinishReason {
  const mapped = mapStopReason(stopReason);
  if (mapped !== 'tool_calls') return mapped;
  if (calls === 0) return 'stop';
  return legacyFunctions ? 'function_call' : 'tool_calls';
}
