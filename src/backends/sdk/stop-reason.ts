/**
 * The stop reason a client sees for a finished agent run. The agent stops on its own terms
 * (`end_turn`, `max_tokens`, `refusal`…); a last turn that still said `tool_use` ended because of
 * the agent's own tools (the run is over, so for the client it is `end_turn`). Client tool calls
 * end a response with `tool_use` elsewhere (see translate.ts). (Not formats/openai/finish-reason.ts
 * `mapStopReason`, which maps an Anthropic stop reason to an OpenAI finish reason.)
 * https://docs.anthropic.com/en/api/handling-stop-reasons
 */
import type { StopReason } from '../../formats/anthropic/types.ts';

export function runStopReason(reason: string | null | undefined): StopReason | string {
  switch (reason) {
    case 'end_turn':
    case 'max_tokens':
    case 'stop_sequence':
    case 'refusal':
    case 'model_context_window_exceeded':
      return reason;
    case 'tool_use':
    case 'pause_turn':
    case null:
    case undefined:
    case '':
      return 'end_turn';
    default:
      // A reason newer than this code: carry it through, as the API mode does.
      return reason;
  }
}
