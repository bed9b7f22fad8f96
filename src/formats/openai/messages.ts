/**
 * OpenAI `messages` → Anthropic `system` + `messages`.
 * https://platform.openai.com/docs/api-reference/chat/create#chat-create-messages
 * https://docs.anthropic.com/en/api/messages#body-messages
 *
 * OpenAI lets roles come in any order; Anthropic wants user/assistant turns, tool results in the
 * user turn right after the assistant turn that made the calls (and first in it), and no empty or
 * whitespace-only text. This builds turns that satisfy both (turns.ts), and turns what cannot into a
 * 400 that names the message.
 */
import type { ContentBlock, TextBlock, ToolResultBlock, ToolUseBlock } from '../anthropic/types.ts';
import { hasText, invalid, isObject, isSet, objectAt, optionalArray, stringAt } from '../fields.ts';
import { type OpenCall, OpenCalls, parseArguments, ToolIds } from '../tool-calls.ts';
import { type Conversation, Turns } from '../turns.ts';
import { contentBlocks } from './content.ts';

interface Call extends OpenCall {
  name: string;
  legacy: boolean;
}

export function convertMessages(list: unknown[], notes: string[]): Conversation {
  const system: TextBlock[] = [];
  const turns = new Turns();
  /** Client tool-call id → the Anthropic id it became (all turns). */
  const ids = new ToolIds();
  /** Calls of the latest assistant turn: the only ones tool messages may answer. */
  const calls = new OpenCalls<Call>(
    (c) => `${c.label} has no ${c.legacy ? 'function' : 'tool'} message answering it.`,
  );

  for (let i = 0; i < list.length; i++) {
    const at = `messages[${i}]`;
    const m = objectAt(list[i], at);
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push(...systemText(m.content, `${at}.content`));
        break;
      case 'user':
        turns.push('user', contentBlocks(m.content, `${at}.content`));
        break;
      case 'assistant': {
        const text = assistantText(m, at);
        const uses: ToolUseBlock[] = [];
        const toolCalls = optionalArray(m.tool_calls, `${at}.tool_calls`) ?? [];
        const newCalls: Call[] = [];
        for (let k = 0; k < toolCalls.length; k++) {
          const p = `${at}.tool_calls[${k}]`;
          const tc = objectAt(toolCalls[k], p);
          if (isSet(tc.type) && tc.type !== 'function') {
            throw invalid(`${p}.type`, `'${String(tc.type)}' tool calls are not supported, only 'function'.`);
          }
          const fn = objectAt(tc.function, `${p}.function`);
          const name = stringAt(fn.name, `${p}.function.name`);
          const clientId = stringAt(tc.id, `${p}.id`);
          const label = `tool call '${clientId}' (${name})`;
          const input = parseArguments(fn.arguments, `${p}.function.arguments`, label);
          const id = ids.of(clientId);
          uses.push({ type: 'tool_use', id, name, input });
          newCalls.push({ id, name, legacy: false, answered: false, param: p, label });
        }
        if (isSet(m.function_call)) {
          const p = `${at}.function_call`;
          const fc = objectAt(m.function_call, p);
          const name = stringAt(fc.name, `${p}.name`);
          const label = `function call (${name})`;
          const input = parseArguments(fc.arguments, `${p}.arguments`, label);
          // Legacy calls have no id; the function message finds its call by name.
          const id = ids.unused(`toolu_legacy_${i}`);
          uses.push({ type: 'tool_use', id, name, input });
          newCalls.push({ id, name, legacy: true, answered: false, param: p, label });
        }
        const blocks: ContentBlock[] = [...text, ...uses];
        if (blocks.length === 0) break;
        if (turns.last()?.role !== 'assistant') {
          calls.nextTurn();
        }
        calls.list.push(...newCalls);
        turns.push('assistant', blocks);
        break;
      }
      case 'tool': {
        const clientId = stringAt(m.tool_call_id, `${at}.tool_call_id`);
        const id = ids.known(clientId);
        if (!id) {
          throw invalid(
            `${at}.tool_call_id`,
            `no assistant message before it has a tool call with id '${clientId}'.`,
          );
        }
        const call = calls.list.find((c) => c.id === id && !c.legacy);
        if (!call) {
          throw invalid(
            `${at}.tool_call_id`,
            `'${clientId}' is a tool call of an earlier turn: tool messages must follow the assistant message that made the call.`,
          );
        }
        if (call.answered) throw invalid(`${at}.tool_call_id`, `tool call '${clientId}' is answered twice.`);
        call.answered = true;
        turns.push('user', [toolResult(id, m.content, `${at}.content`)]);
        break;
      }
      case 'function': {
        const name = stringAt(m.name, `${at}.name`);
        const call = calls.list.find((c) => c.legacy && c.name === name && !c.answered);
        if (!call) {
          throw invalid(
            `${at}.name`,
            `no unanswered assistant function_call named '${name}' comes before it.`,
          );
        }
        call.answered = true;
        turns.push('user', [toolResult(call.id, m.content, `${at}.content`)]);
        break;
      }
      default:
        throw invalid(
          `${at}.role`,
          `'${String(m.role)}' is not one of system, developer, user, assistant, tool, function.`,
        );
    }
  }
  calls.checkAnswered();
  return turns.finish(system, notes);
}

function systemText(content: unknown, param: string): TextBlock[] {
  const blocks = contentBlocks(content, param);
  for (const b of blocks) {
    if (b.type !== 'text') throw invalid(param, 'system and developer messages may only contain text.');
  }
  return blocks as TextBlock[];
}

/** Assistant `content` (text and refusal parts) or, lacking any, its `refusal`. */
function assistantText(m: Record<string, unknown>, at: string): TextBlock[] {
  const out: TextBlock[] = [];
  const add = (t: unknown) => {
    if (typeof t === 'string' && hasText(t)) out.push({ type: 'text', text: t });
  };
  const content = m.content;
  if (typeof content === 'string') add(content);
  else if (Array.isArray(content)) {
    for (let j = 0; j < content.length; j++) {
      const part = content[j];
      const p = `${at}.content[${j}]`;
      if (typeof part === 'string') add(part);
      else if (isObject(part) && part.type === 'text') add(part.text);
      else if (isObject(part) && part.type === 'refusal') add(part.refusal);
      else {
        const type = isObject(part) ? String(part.type) : typeof part;
        throw invalid(`${p}.type`, `'${type}' parts are not supported in assistant messages.`);
      }
    }
  } else if (isSet(content)) {
    throw invalid(`${at}.content`, 'must be a string or an array of content parts.');
  }
  if (out.length === 0) add(m.refusal);
  return out;
}

function toolResult(id: string, content: unknown, param: string): ToolResultBlock {
  const block: ToolResultBlock = { type: 'tool_result', tool_use_id: id };
  if (typeof content === 'string') {
    if (hasText(content)) block.content = content;
  } else {
    const blocks = contentBlocks(content, param);
    if (blocks.length) block.content = blocks;
  }
  return block;
}
