/**
 * An Anthropic conversation built from a client's history (Chat Completions messages, Responses input
 * items). Clients let roles come in any order; the Messages API wants user/assistant turns that open
 * with a user turn, tool results first in their turn, at most four cache breakpoints, and no trailing
 * whitespace on a final assistant turn (a prefill). `Turns` collects the blocks and `finish` makes the
 * list satisfy those rules, noting each adjustment for the debug log.
 * https://docs.anthropic.com/en/api/messages#body-messages
 */
import type { ContentBlock, MessageParam, TextBlock } from './anthropic/types.ts';

export interface Turn {
  role: 'user' | 'assistant';
  content: ContentBlock[];
}

export interface Conversation {
  system: TextBlock[];
  messages: MessageParam[];
  /** The last turn carries tool results: the request continues a tool loop. */
  endsWithToolResults: boolean;
}

/** Stands in for a missing user turn: the API wants a conversation to open with non-empty user text. */
const PLACEHOLDER = '.';

/** The API takes at most 4 cache breakpoints; the latest ones cache the longest prefix, so they stay. */
const MAX_CACHE_MARKS = 4;

export class Turns {
  readonly list: Turn[] = [];

  last(): Turn | undefined {
    return this.list[this.list.length - 1];
  }

  /** Adds blocks to the conversation; consecutive blocks of one role become one turn. */
  push(role: Turn['role'], blocks: ContentBlock[]): void {
    if (blocks.length === 0) return;
    const prev = this.last();
    if (prev?.role === role) prev.content.push(...blocks);
    else this.list.push({ role, content: blocks });
  }

  /** The conversation the API accepts. `system` may be emptied into the user turn when it is all there is. */
  finish(system: TextBlock[], notes: string[]): Conversation {
    const turns = this.list;
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
