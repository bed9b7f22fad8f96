/**
 * Responses `instructions` + `input` → Anthropic `system` + `messages`.
 * https://platform.openai.com/docs/api-reference/responses/create#responses-create-input
 * https://docs.anthropic.com/en/api/messages#body-messages
 *
 * `input` is a string (one user message) or a flat list of items. Messages with role `system` or
 * `developer` join `instructions` in `system`; `user` messages are user turns; replayed assistant
 * `message`, `reasoning`, `function_call` and `custom_tool_call` items form assistant turns, and
 * `function_call_output` / `custom_tool_call_output` items become `tool_result` blocks paired with
 * their call by `call_id`. Turns are then made to satisfy the Messages API (turns.ts).
 *
 * Reasoning items come back as thinking blocks when their `encrypted_content` holds a Claude
 * signature (what ccproxy put there when the client asked for `reasoning.encrypted_content`); the
 * thinking text is the item's summary. Without one (or with OpenAI's own encrypted reasoning) they
 * are dropped: the API only takes thinking back signed. Thinking that precedes no assistant output
 * is dropped too (an assistant turn may not consist of thinking alone).
 */
import type { ContentBlock, TextBlock, ToolResultBlock } from '../anthropic/types.ts';
import { invalid, isObject, isSet, objectAt, optionalString, stringAt } from '../fields.ts';
import { type OpenCall, OpenCalls, parseArguments, ToolIds } from '../tool-calls.ts';
import { type Conversation, Turns } from '../turns.ts';
import { assistantBlocks, instructionBlocks, outputBlocks, userBlocks } from './content.ts';
import { REDACTED_PREFIX } from './types.ts';

export interface Input extends Conversation {
  /** The last assistant turn before the final tool results opens with signed thinking. */
  keptThinking: boolean;
}

/** Items of hosted tools and stored state that ccproxy never produces: passed over with a note. */
const PASSED_OVER = new Set([
  'web_search_call',
  'file_search_call',
  'computer_call',
  'computer_call_output',
  'code_interpreter_call',
  'image_generation_call',
  'local_shell_call',
  'local_shell_call_output',
  'shell_call',
  'shell_call_output',
  'apply_patch_call',
  'apply_patch_call_output',
  'mcp_list_tools',
  'mcp_approval_request',
  'mcp_approval_response',
  'mcp_call',
  'tool_search_call',
  'tool_search_output',
  'compaction',
]);

/** OpenAI's own encrypted reasoning (Fernet tokens): no use to Claude. */
const OPENAI_REASONING = 'gAAAA';

export function convertInput(
  instructions: string | undefined,
  input: unknown,
  claudeName: (name: string, namespace: string | undefined) => string,
  notes: string[],
): Input {
  const system: TextBlock[] = instructions ? instructionBlocks(instructions, 'instructions') : [];
  const turns = new Turns();
  if (typeof input === 'string') {
    turns.push('user', userBlocks(input, 'input'));
    return { ...turns.finish(system, notes), keptThinking: false };
  }
  if (!Array.isArray(input)) throw invalid('input', 'must be a string or an array of input items.');

  const ids = new ToolIds();
  /** Calls of the latest assistant turn: the only ones outputs may answer. */
  const calls = new OpenCalls<OpenCall>((c) => `${c.label} has no output item answering it.`);
  /** Thinking waiting for the assistant output it belongs to. */
  let thinking: ContentBlock[] = [];
  const passed = new Set<string>();
  let dropped = 0;

  const assistant = (blocks: ContentBlock[], newCall?: OpenCall) => {
    if (blocks.length === 0) return;
    if (turns.last()?.role !== 'assistant') calls.nextTurn();
    if (newCall) calls.list.push(newCall);
    turns.push('assistant', thinking.length ? [...thinking.splice(0), ...blocks] : blocks);
  };
  const other = () => {
    // Thinking with no assistant output after it cannot be sent back.
    if (thinking.length) {
      dropped += thinking.length;
      thinking = [];
    }
  };
  const answer = (item: Record<string, unknown>, at: string) => {
    const clientId = stringAt(item.call_id, `${at}.call_id`);
    const id = ids.known(clientId);
    if (!id) throw invalid(`${at}.call_id`, `no call item before it has call_id '${clientId}'.`);
    const call = calls.list.find((c) => c.id === id);
    if (!call) {
      throw invalid(
        `${at}.call_id`,
        `'${clientId}' is a call of an earlier turn: outputs must follow the items that made the calls.`,
      );
    }
    if (call.answered) throw invalid(`${at}.call_id`, `call '${clientId}' is answered twice.`);
    call.answered = true;
    const block: ToolResultBlock = { type: 'tool_result', tool_use_id: id };
    const content = outputBlocks(item.output, `${at}.output`);
    if (content) block.content = content;
    other();
    turns.push('user', [block]);
  };

  for (let i = 0; i < input.length; i++) {
    const at = `input[${i}]`;
    const item = objectAt(input[i], at);
    // Easy input messages (`{role, content}`) have no type.
    const type = item.type ?? (isSet(item.role) ? 'message' : undefined);
    switch (type) {
      case 'message':
        switch (item.role) {
          case 'system':
          case 'developer':
            system.push(...instructionBlocks(item.content, `${at}.content`));
            break;
          case 'user':
            other();
            turns.push('user', userBlocks(item.content, `${at}.content`));
            break;
          case 'assistant':
            assistant(assistantBlocks(item.content, `${at}.content`));
            break;
          default:
            throw invalid(
              `${at}.role`,
              `'${String(item.role)}' is not one of user, assistant, system, developer.`,
            );
        }
        break;
      case 'function_call':
      case 'custom_tool_call': {
        const custom = type === 'custom_tool_call';
        const name = stringAt(item.name, `${at}.name`);
        const clientId = stringAt(item.call_id, `${at}.call_id`);
        const label = `${type} '${clientId}' (${name})`;
        const toolInput = custom
          ? { input: typeof item.input === 'string' ? item.input : '' }
          : parseArguments(item.arguments, `${at}.arguments`, label);
        const id = ids.of(clientId);
        const tool = claudeName(name, optionalString(item.namespace, `${at}.namespace`));
        assistant([{ type: 'tool_use', id, name: tool, input: toolInput }], {
          id,
          answered: false,
          param: at,
          label,
        });
        break;
      }
      case 'function_call_output':
      case 'custom_tool_call_output':
        answer(item, at);
        break;
      case 'reasoning': {
        const block = thinkingBlock(item, at);
        if (block) thinking.push(block);
        else dropped++;
        break;
      }
      case 'item_reference':
        throw invalid(
          `${at}.type`,
          'item_reference needs stored responses, and ccproxy is stateless: send the items themselves.',
        );
      default:
        if (typeof type === 'string' && PASSED_OVER.has(type)) {
          passed.add(type);
          break;
        }
        throw invalid(`${at}.type`, `input items of type '${String(type)}' are not supported.`);
    }
  }
  calls.checkAnswered();
  other();
  if (dropped) notes.push(`input: ${dropped} reasoning item(s) without a Claude signature dropped`);
  if (passed.size) notes.push(`input: passed over ${[...passed].join(', ')} items`);

  const conversation = turns.finish(system, notes);
  const msgs = conversation.messages;
  const before = msgs[msgs.length - 2];
  const first = Array.isArray(before?.content) ? before.content[0] : undefined;
  const keptThinking = first?.type === 'thinking' || first?.type === 'redacted_thinking';
  return { ...conversation, keptThinking };
}

/** A reasoning item as a thinking block, when it carries a Claude signature. */
function thinkingBlock(item: Record<string, unknown>, at: string): ContentBlock | undefined {
  const sealed = optionalString(item.encrypted_content, `${at}.encrypted_content`);
  if (!sealed || sealed.startsWith(OPENAI_REASONING)) return undefined;
  if (sealed.startsWith(REDACTED_PREFIX))
    return { type: 'redacted_thinking', data: sealed.slice(REDACTED_PREFIX.length) };
  let text = '';
  if (Array.isArray(item.summary)) {
    for (let j = 0; j < item.summary.length; j++) {
      const part = item.summary[j];
      if (!isObject(part) || typeof part.text !== 'string')
        throw invalid(`${at}.summary[${j}].text`, 'must be a string.');
      text += part.text;
    }
  } else if (isSet(item.summary)) {
    throw invalid(`${at}.summary`, 'must be an array of summary_text parts.');
  }
  return { type: 'thinking', thinking: text, signature: sealed };
}
