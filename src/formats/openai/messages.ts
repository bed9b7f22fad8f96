/**
 * OpenAI `messages` → Anthropic `system` + `messages`.
 * https://platform.openai.com/docs/api-reference/chat/create#chat-create-messages
 * https://docs.anthropic.com/en/api/messages#body-messages
 *
 * OpenAI lets roles come in any order; Anthropic wants user/assistant turns, tool results in the
 * user turn right after the assistant turn that made the calls (and first in it), and no empty or
 * whitespace-only text. This builds turns that satisfy both, and turns what cannot into a 400 that
 * names the message.
 */
import type {
  ContentBlock,
  MessageParam,
  TextBlock,
  ToolResultBlock,
  ToolUseBlock,
} from '../anthropic/types.ts';
import { contentBlocks } from './content.ts';
import { hasText, invalid, isObject, isSet, objectAt, optionalArray, stringAt } from './fields.ts';

export interface Conversation {
  system: TextBlock[];
  messages: MessageParam[];
  /** The last turn carries tool results: the request continues a tool loop. */
  endsWithToolResults: boolean;
}

interface Turn {
  role: 'user' | 'assistant';
  content: ContentBlock[];
}

interface Call {
  id: string;
  name: string;
  legacy: boolean;
  answered: boolean;
  /** Where the call is, and how to name it, in a 400. */
  param: string;
  label: string;
}

/** Anthropic tool_use ids: `^[a-zA-Z0-9_-]+$`. */
const VALID_ID = /^[a-zA-Z0-9_-]+$/;

/** Stands in for a missing user turn: the API wants a conversation to open with non-empty user text. */
const PLACEHOLDER = '.';

export function convertMessages(list: unknown[], notes: string[]): Conversation {
  const system: TextBlock[] = [];
  const turns: Turn[] = [];
  /** Client tool-call id → the Anthropic id it became (all turns). */
  const ids = new Map<string, string>();
  const used = new Set<string>();
  /** Calls of the latest assistant turn: the only ones tool messages may answer. */
  let calls: Call[] = [];

  const last = (): Turn | undefined => turns[turns.length - 1];
  const push = (role: Turn['role'], blocks: ContentBlock[]) => {
    if (blocks.length === 0) return;
    const prev = last();
    // Consecutive same-role messages become one turn.
    if (prev?.role === role) prev.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  const unusedId = (base: string): string => {
    let id = base;
    while (used.has(id)) id += '_';
    used.add(id);
    return id;
  };
  const anthropicId = (clientId: string): string => {
    const known = ids.get(clientId);
    if (known) return known;
    const id = unusedId(VALID_ID.test(clientId) ? clientId : clientId.replace(/[^a-zA-Z0-9_-]/g, '_'));
    ids.set(clientId, id);
    return id;
  };
  const checkAnswered = () => {
    const open = calls.find((c) => !c.answered);
    if (open) {
      throw invalid(
        open.param,
        `${open.label} has no ${open.legacy ? 'function' : 'tool'} message answering it.`,
      );
    }
  };

  for (let i = 0; i < list.length; i++) {
    const at = `messages[${i}]`;
    const m = objectAt(list[i], at);
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push(...systemText(m.content, `${at}.content`));
        break;
      case 'user':
        push('user', contentBlocks(m.content, `${at}.content`));
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
          const id = anthropicId(clientId);
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
          const id = unusedId(`toolu_legacy_${i}`);
          uses.push({ type: 'tool_use', id, name, input });
          newCalls.push({ id, name, legacy: true, answered: false, param: p, label });
        }
        const blocks: ContentBlock[] = [...text, ...uses];
        if (blocks.length === 0) break;
        if (last()?.role !== 'assistant') {
          checkAnswered();
          calls = [];
        }
        calls.push(...newCalls);
        push('assistant', blocks);
        break;
      }
      case 'tool': {
        const clientId = stringAt(m.tool_call_id, `${at}.tool_call_id`);
        const id = ids.get(clientId);
        if (!id) {
          throw invalid(
            `${at}.tool_call_id`,
            `no assistant message before it has a tool call with id '${clientId}'.`,
          );
        }
        const call = calls.find((c) => c.id === id && !c.legacy);
        if (!call) {
          throw invalid(
            `${at}.tool_call_id`,
            `'${clientId}' is a tool call of an earlier turn: tool messages must follow the assistant message that made the call.`,
          );
        }
        if (call.answered) throw invalid(`${at}.tool_call_id`, `tool call '${clientId}' is answered twice.`);
        call.answered = true;
        push('user', [toolResult(id, m.content, `${at}.content`)]);
        break;
      }
      case 'function': {
        const name = stringAt(m.name, `${at}.name`);
        const call = calls.find((c) => c.legacy && c.name === name && !c.answered);
        if (!call) {
          throw invalid(
            `${at}.name`,
            `no unanswered assistant function_call named '${name}' comes before it.`,
          );
        }
        call.answered = true;
        push('user', [toolResult(call.id, m.content, `${at}.content`)]);
        break;
      }
      default:
        throw invalid(
          `${at}.role`,
          `'${String(m.role)}' is not one of system, developer, user, assistant, tool, function.`,
        );
    }
  }
  checkAnswered();

  if (turns.length === 0) {
    if (system.length) {
      // Only instructions: answer them as OpenAI does, by making them the prompt.
      notes.push('only system messages: sent as the user turn');
      turns.push({ role: 'user', content: system.splice(0) });
    } else {
      // OpenAI answers even an empty prompt; the API needs some text.
      notes.push('no message has content: sent a placeholder user turn');
      turns.push({ role: 'user', content: [{ type: 'text', text: PLACEHOLDER }] });
    }
  }
  if (turns[0].role === 'assistant') {
    notes.push('conversation starts with an assistant message: opened with a placeholder user turn');
    turns.unshift({ role: 'user', content: [{ type: 'text', text: PLACEHOLDER }] });
  }
  for (const t of turns) if (t.role === 'user') toolResultsFirst(t.content);
  limitCacheMarks(turns, notes);
  const final = turns[turns.length - 1];
  if (final.role === 'assistant') trimFinalText(final.content);

  return {
    system,
    messages: turns,
    endsWithToolResults: final.role === 'user' && final.content.some((b) => b.type === 'tool_result'),
  };
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

/** Tool-call arguments: a JSON object as a string (an object is accepted as is); empty means `{}`. */
function parseArguments(args: unknown, param: string, what: string): Record<string, unknown> {
  if (!isSet(args)) return {};
  if (isObject(args)) return args;
  if (typeof args !== 'string') throw invalid(param, `${what} has arguments that are not a JSON string.`);
  if (args.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw invalid(param, `${what} has arguments that are not valid JSON.`);
  }
  if (!isObject(parsed)) throw invalid(param, `${what} has arguments that are not a JSON object.`);
  return parsed;
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

/** Anthropic wants a user turn's tool_result blocks before anything else in it. */
function toolResultsFirst(content: ContentBlock[]): void {
  let seenOther = false;
  let needed = false;
  for (const b of content) {
    if (b.type !== 'tool_result') seenOther = true;
    else if (seenOther) {
      needed = true;
      break;
    }
  }
  if (!needed) return;
  const results = content.filter((b) => b.type === 'tool_result');
  const rest = content.filter((b) => b.type !== 'tool_result');
  content.splice(0, content.length, ...results, ...rest);
}

/** The API takes at most 4 cache breakpoints; the latest ones cache the longest prefix, so they stay. */
const MAX_CACHE_MARKS = 4;

function limitCacheMarks(turns: Turn[], notes: string[]): void {
  const marked: Array<{ cache_control?: unknown }> = [];
  for (const t of turns) {
    for (const b of t.content) {
      const block = b as { cache_control?: unknown; content?: unknown };
      if (block.cache_control) marked.push(block);
      if (Array.isArray(block.content)) {
        for (const inner of block.content as Array<{ cache_control?: unknown }>)
          if (inner.cache_control) marked.push(inner);
      }
    }
  }
  if (marked.length <= MAX_CACHE_MARKS) return;
  for (const block of marked.slice(0, marked.length - MAX_CACHE_MARKS)) delete block.cache_control;
  notes.push(`cache_control: kept the last ${MAX_CACHE_MARKS} of ${marked.length} breakpoints`);
}

/** A final assistant turn (a prefill) may not end in whitespace. */
function trimFinalText(content: ContentBlock[]): void {
  const tail = content[content.length - 1];
  if (tail?.type === 'text') tail.text = tail.text.trimEnd();
}
