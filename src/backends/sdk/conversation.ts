/**
 * Stateless conversations that come back: a client without a session id sends the whole history
 * every turn. When the agent that gave the last answer is still running, with exactly that
 * conversation behind it, the new turn can go to it — no start-up, no transcript, and the agent
 * keeps what it saw while working (files it read), which a rebuilt history cannot carry.
 *
 * A conversation is recognised by a digest of its turns as the client sees them: text without
 * whitespace (clients re-join text blocks their own way), tool call and result ids; thinking is
 * left out (not every client sends it back). A digest that does not match simply means a cold
 * start with the history (see transcript.ts). Pure functions.
 */
import { createHash } from 'node:crypto';
import type { Block, Turn } from './prompt.ts';

function blockDigest(b: Block): string {
  switch (b.type) {
    case 'text':
      return String((b as { text: string }).text).replace(/\s+/g, '');
    case 'tool_use':
      return `\u0001use:${String((b as { id: string }).id)}`;
    case 'tool_result':
      return `\u0001result:${String((b as { tool_use_id: string }).tool_use_id)}`;
    case 'thinking':
    case 'redacted_thinking':
      return '';
    default:
      return `\u0001${b.type}`;
  }
}

/** The key of a conversation: its settings (`scope`) and its turns. */
export function conversationKey(scope: string, turns: readonly Turn[]): string {
  // Neighbours of one role count as one turn, as empty turns count as none: clients merge and drop.
  const merged: Array<{ role: string; body: string }> = [];
  for (const t of turns) {
    const body = t.content.map(blockDigest).join('');
    if (body === '') continue;
    const last = merged.at(-1);
    if (last && last.role === t.role) last.body += body;
    else merged.push({ role: t.role, body });
  }
  const h = createHash('sha256').update(scope);
  for (const t of merged) h.update(`\u0002${t.role}\u0003${t.body}`);
  return `conv:${h.digest('base64url')}`;
}
