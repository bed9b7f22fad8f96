/**
 * An Anthropic Message → an OpenAI `chat.completion`.
 * https://platform.openai.com/docs/api-reference/chat/object
 *
 * Text blocks join into `content` (null when there is none, as OpenAI answers tool calls), tool_use
 * blocks become `tool_calls` with Anthropic's ids, thinking goes where `reasoningOutput` says, and a
 * refusal's explanation becomes `refusal`. The stream renderer (stream.ts) produces chunks that
 * reassemble to exactly this object.
 */
import type { Message, ToolUseBlock } from '../anthropic/types.ts';
import type { FormatOptions, Parsed, RenderMeta } from '../frontend.ts';
import { finishReason } from './finish-reason.ts';
import {
  type ChatCompletion,
  type ChatCompletionMessage,
  completionId,
  type OpenAIHints,
  type ToolCall,
} from './types.ts';
import { renderUsage } from './usage.ts';

/** `reasoningOutput: 'tags'` wraps each thinking block in these, inside `content`. */
export const THINKING_OPEN = '<thinking>\n';
export const THINKING_CLOSE = '\n</thinking>\n\n';

const DEFAULT_REFUSAL = 'Claude declined to answer this request.';

/** The `refusal` text for a message that stopped with `refusal`: the upstream's explanation if any. */
export function refusalText(stopDetails: unknown): string {
  const explanation = (stopDetails as { explanation?: unknown } | null | undefined)?.explanation;
  return typeof explanation === 'string' && explanation !== '' ? explanation : DEFAULT_REFUSAL;
}

export function renderChatCompletion(
  msg: Message,
  parsed: Parsed<OpenAIHints>,
  meta: RenderMeta,
  opts: FormatOptions,
): ChatCompletion {
  const { jsonTool, legacyFunctions } = parsed.hints;
  let content = '';
  let reasoning = '';
  const calls: ToolCall[] = [];
  for (const block of msg.content) {
    switch (block.type) {
      case 'text':
        content += block.text as string;
        break;
      case 'thinking': {
        const thinking = block.thinking as string;
        if (!thinking) break;
        if (opts.reasoningOutput === 'reasoning_content') reasoning += thinking;
        else if (opts.reasoningOutput === 'tags') content += THINKING_OPEN + thinking + THINKING_CLOSE;
        break;
      }
      case 'tool_use': {
        const use = block as ToolUseBlock;
        const args = JSON.stringify(use.input ?? {});
        if (use.name === jsonTool) content += args;
        else calls.push({ id: use.id, type: 'function', function: { name: use.name, arguments: args } });
        break;
      }
      default:
      // redacted_thinking, server tools and their results: nothing an OpenAI client can use.
    }
  }

  const message: ChatCompletionMessage = {
    role: 'assistant',
    content: content === '' ? null : content,
    refusal: msg.stop_reason === 'refusal' ? refusalText(msg.stop_details) : null,
  };
  if (calls.length) {
    // Legacy function calling has room for one call.
    if (legacyFunctions) message.function_call = calls[0].function;
    else message.tool_calls = calls;
  }
  if (reasoning) message.reasoning_content = reasoning;

  return {
    id: completionId(meta.requestId),
    object: 'chat.completion',
    created: meta.created,
    model: parsed.clientModel,
    choices: [
      {
        index: 0,
        message,
        logprobs: null,
        finish_reason: finishReason(msg.stop_reason, calls.length, legacyFunctions),
      },
    ],
    usage: renderUsage(msg.usage),
  };
}
