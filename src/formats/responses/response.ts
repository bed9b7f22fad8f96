/**
 * An Anthropic Message → a Responses `response` object.
 * https://platform.openai.com/docs/api-reference/responses/object
 *
 * Content blocks become output items in order: a thinking block a `reasoning` item (its text as the
 * summary, its signature as `encrypted_content` when the client included `reasoning.encrypted_content`;
 * redacted thinking only then), a run of text blocks one `message` item with an `output_text` part
 * each, a tool_use block a `function_call` item (a `custom_tool_call` for a free-form tool; the
 * structured-output stand-in tool's input is text). A refusal adds a `refusal` part. The stream
 * renderer (stream.ts) produces events that reassemble to exactly this object.
 */
import type { Message, ToolUseBlock } from '../anthropic/types.ts';
import type { FormatOptions, Parsed, RenderMeta } from '../frontend.ts';
import { refusalText } from '../openai/response.ts';
import {
  customInput,
  customToolCallItem,
  functionCallItem,
  messageItem,
  outputText,
  reasoningItem,
  responseObject,
} from './items.ts';
import { outcome } from './status.ts';
import {
  itemId,
  type MessageItem,
  type OutputItem,
  REDACTED_PREFIX,
  type ResponseObject,
  type ResponsesHints,
} from './types.ts';
import { responseUsage } from './usage.ts';

export function renderResponse(
  msg: Message,
  parsed: Parsed<ResponsesHints>,
  meta: RenderMeta,
  _opts: FormatOptions,
): ResponseObject {
  const { encryptedReasoning, jsonTool, clientTools } = parsed.hints;
  const rid = meta.requestId;
  const output: OutputItem[] = [];
  /** The message item text goes into, while it is the last item. */
  let open: MessageItem | undefined;
  const text = (t: string) => {
    if (!open) {
      open = messageItem(itemId('msg', rid, output.length), 'completed');
      output.push(open);
    }
    open.content.push(outputText(t));
  };

  for (const block of msg.content) {
    switch (block.type) {
      case 'text':
        text(block.text as string);
        break;
      case 'thinking':
        open = undefined;
        output.push(
          reasoningItem(
            itemId('rs', rid, output.length),
            block.thinking as string,
            encryptedReasoning ? (block.signature as string) : undefined,
          ),
        );
        break;
      case 'redacted_thinking':
        if (!encryptedReasoning) break;
        open = undefined;
        output.push(
          reasoningItem(itemId('rs', rid, output.length), '', REDACTED_PREFIX + (block.data as string)),
        );
        break;
      case 'tool_use': {
        const use = block as ToolUseBlock;
        if (use.name === jsonTool) {
          text(JSON.stringify(use.input ?? {}));
          break;
        }
        open = undefined;
        const client = clientTools.get(use.name);
        output.push(
          client?.custom
            ? customToolCallItem(
                itemId('ctc', rid, output.length),
                use.id,
                client,
                customInput(use.input),
                true,
              )
            : functionCallItem(
                itemId('fc', rid, output.length),
                'completed',
                use.id,
                use.name,
                JSON.stringify(use.input ?? {}),
                client,
              ),
        );
        break;
      }
      default:
      // Server tools and their results: nothing a Responses client can use.
    }
  }
  if (msg.stop_reason === 'refusal') {
    if (!open) {
      open = messageItem(itemId('msg', rid, output.length), 'completed');
      output.push(open);
    }
    open.content.push({ type: 'refusal', refusal: refusalText(msg.stop_details) });
  }
  return responseObject(parsed, meta, outcome(msg.stop_reason), output, responseUsage(msg.usage));
}
