/**
 * A Messages request as the agent takes it: the system text, the earlier turns (history), and the
 * new user turn. The agent answers one user turn at a time; what came before reaches it either
 * from its own session (resumed) or as a transcript ccproxy writes for it (see transcript.ts).
 * Pure functions.
 */
import { ProxyError } from '../../errors.ts';
import type {
  ContentBlock,
  MessageParam,
  MessagesRequest,
  OtherBlock,
  TextBlock,
  ToolResultBlock,
} from '../../formats/anthropic/types.ts';
import { isObject } from '../../formats/fields.ts';

export type Block = ContentBlock | OtherBlock;

export interface Turn {
  role: 'user' | 'assistant';
  content: Block[];
}

export interface PromptPlan {
  /** The request's system prompt and any mid-conversation `system` messages, as one text. */
  system?: string;
  /** Earlier turns, alternating, the first one a user turn. */
  history: Turn[];
  /** The new user turn. */
  turn: Block[];
  /** The tool_result blocks of the new turn. */
  toolResults: ToolResultBlock[];
  /** The history ends with the user's turn: the agent goes on from it, no new prompt is sent. */
  rerun?: boolean;
}

/** Text of a system prompt given as a string or text blocks. */
export function systemText(system: MessagesRequest['system']): string {
  if (system === undefined) return '';
  if (typeof system === 'string') return system;
  return system
    .map((b) => (b.type === 'text' ? b.text : ''))
    .filter((t) => t !== '')
    .join('\n\n');
}

/** Content as blocks, without cache_control (the agent places its own breakpoints) or empty text. */
export function normalizeContent(content: MessageParam['content']): Block[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  const out: Block[] = [];
  for (const block of content) {
    if (!isObject(block) || typeof block.type !== 'string') continue;
    if (block.type === 'text' && (block as TextBlock).text === '') continue;
    if ('cache_control' in block) {
      const { cache_control: _cc, ...rest } = block as Record<string, unknown>;
      out.push(rest as Block);
    } else out.push(block);
  }
  return out;
}

export function planPrompt(request: MessagesRequest): PromptPlan {
  const systems = [systemText(request.system)];
  const turns: Turn[] = [];
  for (const m of request.messages) {
    if (m.role === 'system') {
      systems.push(typeof m.content === 'string' ? m.content : textOf(normalizeContent(m.content)));
      continue;
    }
    if (m.role !== 'user' && m.role !== 'assistant') {
      throw ProxyError.invalid(`messages: unknown role ${JSON.stringify(m.role)}.`, 'messages');
    }
    const content = normalizeContent(m.content);
    const last = turns.at(-1);
    if (last && last.role === m.role) last.content.push(...content);
    else turns.push({ role: m.role, content });
  }
  const turn = turns.pop();
  if (!turn) throw ProxyError.invalid('messages: at least one user message is required.', 'messages');
  if (turn.role !== 'user') {
    throw ProxyError.invalid(
      'messages: SDK mode answers a user turn, so the last message must have role "user" (prefilling the assistant is not supported).',
      'messages',
    );
  }
  if (turn.content.length === 0) {
    throw ProxyError.invalid('messages: the last user message is empty.', 'messages');
  }
  const system = systems.filter((s) => s.trim() !== '').join('\n\n');
  return {
    system: system === '' ? undefined : system,
    history: cleanHistory(turns),
    turn: turn.content,
    toolResults: turn.content.filter((b): b is ToolResultBlock => b.type === 'tool_result'),
  };
}

/**
 * Earlier turns as a model transcript accepts them: thinking dropped (its signatures belong to the
 * answers they came with, and ccproxy joined several agent turns into one message), empty turns
 * dropped, neighbours of the same role merged, and a user turn first.
 */
function cleanHistory(turns: Turn[]): Turn[] {
  const out: Turn[] = [];
  for (const t of turns) {
    const content =
      t.role === 'assistant'
        ? t.content.filter((b) => b.type !== 'thinking' && b.type !== 'redacted_thinking')
        : t.content;
    if (content.length === 0) continue;
    const last = out.at(-1);
    if (last && last.role === t.role) last.content.push(...content);
    else out.push({ role: t.role, content: [...content] });
  }
  if (out.length > 0 && out[0].role === 'assistant') {
    out.unshift({ role: 'user', content: [{ type: 'text', text: '(The conversation so far.)' }] });
  }
  return out;
}

export function textOf(blocks: Block[]): string {
  return blocks
    .map((b) => (b.type === 'text' ? String((b as TextBlock).text) : ''))
    .filter((t) => t !== '')
    .join('\n\n');
}

/**
 * A new turn answering tool calls that no running agent waits for any more (ccproxy restarted, the
 * wait timed out): the whole turn goes into the history, right after the calls, where a model
 * expects the results, and Claude Code is asked to go on from there (`rerun`) instead of being sent
 * a new prompt.
 */
export function resultsIntoHistory(plan: PromptPlan): PromptPlan {
  if (plan.toolResults.length === 0) return plan;
  return {
    ...plan,
    history: [...plan.history, { role: 'user', content: [...plan.turn] }],
    turn: [],
    toolResults: [],
    rerun: true,
  };
}

/**
 * The same for an agent that keeps its own history (a session): its calls were already closed
 * as interrupted, so the results arrive as text, each naming its call.
 */
export function resultsAsText(plan: PromptPlan): PromptPlan {
  if (plan.toolResults.length === 0) return plan;
  const names = new Map<string, string>();
  for (const t of plan.history) {
    for (const b of t.content) if (b.type === 'tool_use') names.set(String(b.id), String(b.name));
  }
  const turn: Block[] = plan.turn.map((b) => {
    if (b.type !== 'tool_result') return b;
    const r = b as ToolResultBlock;
    const body = typeof r.content === 'string' ? r.content : textOf((r.content ?? []) as Block[]);
    const name = names.get(r.tool_use_id) ?? 'tool';
    return {
      type: 'text',
      text: `Result of the ${name} call ${r.tool_use_id}${r.is_error ? ' (failed)' : ''}:\n${body}`,
    };
  });
  return { ...plan, turn, toolResults: [] };
}
