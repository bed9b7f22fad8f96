/**
 * A conversation that moves to another account carries history the new account's upstream may
 * refuse: `thinking` blocks are signed (and `redacted_thinking` blocks encrypted) for the account
 * that produced them, and another account's upstream rejects them with a 400. Before such a request
 * goes to the new account:
 *
 * - every `thinking` and `redacted_thinking` block is removed from the assistant turns (the model
 *   loses its earlier reasoning, not its earlier answers or tool calls); an assistant turn left with
 *   nothing is removed (the API joins the user turns around it);
 * - when a tool loop is in progress (the last user turn answers the tool calls of the assistant turn
 *   before it) and that turn lost its thinking, thinking is turned off for this one request: the API
 *   wants such a turn to start with its thinking block when thinking is on. The next user turn
 *   thinks again as the client asks.
 *
 * Thinking is dropped rather than turned into text: a summary of its own reasoning shown as
 * something it said would change what the model believes it told the user.
 */
import type { MessageParam, MessagesRequest } from '../formats/anthropic/types.ts';

const isThinking = (b: unknown) => {
  const t = (b as { type?: unknown } | null)?.type;
  return t === 'thinking' || t === 'redacted_thinking';
};

/** Does the history carry any thinking block (something a move would have to drop)? */
export function hasSignedThinking(request: MessagesRequest): boolean {
  if (!Array.isArray(request.messages)) return false;
  return request.messages.some(
    (m) => m?.role === 'assistant' && Array.isArray(m.content) && m.content.some(isThinking),
  );
}

export interface Stripped {
  /** Thinking blocks removed. */
  blocks: number;
  /** Whether thinking was turned off for this request (a tool loop in progress). */
  thinkingOff: boolean;
}

/** Make `request`'s history acceptable to another account (changes it in place). */
export function stripSignedThinking(request: MessagesRequest): Stripped {
  const out: Stripped = { blocks: 0, thinkingOff: false };
  if (!Array.isArray(request.messages)) return out;
  const messages: MessageParam[] = [];
  let lastAssistantLost = false;
  for (const m of request.messages) {
    if (m?.role !== 'assistant' || !Array.isArray(m.content)) {
      messages.push(m);
      continue;
    }
    const kept = m.content.filter((b) => !isThinking(b));
    const lost = m.content.length - kept.length;
    out.blocks += lost;
    lastAssistantLost = lost > 0;
    if (kept.length > 0) messages.push(lost ? { ...m, content: kept } : m);
  }
  request.messages = messages;
  const last = messages[messages.length - 1];
  const inToolLoop =
    last?.role === 'user' &&
    Array.isArray(last.content) &&
    last.content.some((b) => (b as { type?: unknown }).type === 'tool_result');
  const thinkingOn = request.thinking !== undefined && request.thinking.type !== 'disabled';
  if (inToolLoop && lastAssistantLost && thinkingOn) {
    request.thinking = { type: 'disabled' };
    out.thinkingOff = true;
  }
  return out;
}

/** A 400 that says the history's thinking is not this account's to accept. */
export function isSignatureRejection(status: number, message: string | undefined): boolean {
  return status === 400 && message !== undefined && /signature|redacted_thinking/i.test(message);
}
