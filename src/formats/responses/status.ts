/**
 * Anthropic `stop_reason` → Responses `status` and `incomplete_details`.
 * https://docs.anthropic.com/en/api/handling-stop-reasons
 * https://platform.openai.com/docs/api-reference/responses/object#responses/object-status
 */
import type { StopReason } from '../anthropic/types.ts';
import type { ResponseObject } from './types.ts';

export type Outcome = Pick<ResponseObject, 'status' | 'incomplete_details'>;

const COMPLETED: Outcome = { status: 'completed', incomplete_details: null };
const TOO_LONG: Outcome = { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
const FILTERED: Outcome = { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };

export function outcome(stopReason: StopReason | string | null | undefined): Outcome {
  const reason = stopReason as StopReason;
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
    case 'tool_use':
    // The server paused a long turn (server tools); to a Responses client the answer simply ends.
    case 'pause_turn':
      return COMPLETED;
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return TOO_LONG;
    case 'refusal':
      return FILTERED;
    default: {
      // Compile-time exhaustiveness; at run time a newer stop reason, or none, means the answer ended.
      const _exhaustive: never = reason;
      void _exhaustive;
      return COMPLETED;
    }
  }
}
