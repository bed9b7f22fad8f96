/**
 * Conversation affinity: the requests of one conversation go to one account while it can answer,
 * for its prompt cache and because signed thinking blocks are only accepted by the account whose
 * upstream signed them.
 *
 * A conversation is recognised by, first found:
 * 1. Claude Code's session: the `x-claude-code-session-id` header, else the `session_id` in its
 *    `metadata.user_id` (a JSON string today; `…_session_<uuid>` in older versions);
 * 2. SDK mode's session id (`/sdk/{id}/…`, `x-ccproxy-session-id`);
 * 3. a digest of the system prompt and the first user message: every turn of a conversation
 *    resends both unchanged. Two conversations that start alike share a key, and so an account:
 *    harmless (affinity is a preference, not an identity). Only the first 4 KB of each are read,
 *    so a long prompt costs no more than a short one.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { unreadItems } from '../body-bytes.ts';
import type { MessagesRequest } from '../formats/anthropic/types.ts';

const SAMPLE = 4096;
const SESSION_IN_USER_ID = /session_([0-9a-f-]{8,64})/i;

/** The session a Claude Code request belongs to, if it says. */
function claudeCodeSession(request: MessagesRequest, headers: IncomingHttpHeaders): string | undefined {
  const h = headers['x-claude-code-session-id'];
  if (typeof h === 'string' && h) return h;
  const userId = request.metadata?.user_id;
  if (typeof userId !== 'string' || !userId) return undefined;
  if (userId.startsWith('{')) {
    try {
      const id = (JSON.parse(userId) as { session_id?: unknown }).session_id;
      if (typeof id === 'string' && id) return id;
    } catch {
      // not JSON after all
    }
  }
  return SESSION_IN_USER_ID.exec(userId)?.[1];
}

/** The text of a prompt part (a string or text blocks), at most `SAMPLE` characters of it. */
function sample(part: unknown): string {
  if (typeof part === 'string') return part.slice(0, SAMPLE);
  if (!Array.isArray(part)) return '';
  let out = '';
  for (const b of part) {
    if (out.length >= SAMPLE) break;
    const t = (b as { text?: unknown } | null)?.text;
    if (typeof t === 'string') out += t.slice(0, SAMPLE - out.length);
  }
  return out;
}

/** How many items of an unread conversation are read looking for its first user message. */
const FIRST_ITEMS = 8;

/**
 * The conversation's first user message. A conversation left unread (a large body: body-bytes.ts)
 * is read an item at a time up to it, not parsed whole: a 150 KB conversation read late cost several
 * hundred µs, and its parse outlived young collections (docs/performance.md, sixteenth session). Past
 * the first few items (an array of a million tiny items would be a million parses) it is read whole.
 */
function firstUserMessage(request: MessagesRequest): { content?: unknown } | undefined {
  const items = unreadItems(request, 'messages');
  if (items) {
    try {
      let n = 0;
      for (const m of items) {
        if ((m as { role?: unknown } | null)?.role === 'user') return m as { content?: unknown };
        if (++n === FIRST_ITEMS) break;
      }
      if (n < FIRST_ITEMS) return undefined;
    } catch {
      // Not JSON: reading the whole says so, in the client's format.
    }
  }
  return Array.isArray(request.messages) ? request.messages.find((m) => m?.role === 'user') : undefined;
}

/** The key of the conversation a request belongs to; undefined when it has nothing to tell by. */
export function conversationKey(
  request: MessagesRequest,
  headers: IncomingHttpHeaders,
  sessionId?: string,
): string | undefined {
  const session = claudeCodeSession(request, headers);
  if (session) return `cc:${session}`;
  if (sessionId) return `sdk:${sessionId}`;
  const text = `${sample(request.system)}\u0000${sample(firstUserMessage(request)?.content)}`;
  if (text.length === 1) return undefined;
  return `h:${createHash('sha1').update(text).digest('base64url')}`;
}

/**
 * Which account each recent conversation last used: a bounded map, oldest forgotten first, an
 * entry unused for `ttlMs` gone (a conversation idle that long has lost its prompt cache anyway).
 */
export class AffinityMap<A> {
  private readonly entries = new Map<string, { account: A; at: number }>();

  constructor(
    private readonly max = 10_000,
    private readonly ttlMs = 6 * 3600_000,
  ) {}

  get(key: string, now: number): A | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (now - e.at > this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e.account;
  }

  set(key: string, account: A, now: number): void {
    const e = this.entries.get(key);
    if (e && e.account === account) {
      e.at = now;
      // Most recently used last: the first entry is the one to forget.
      this.entries.delete(key);
      this.entries.set(key, e);
      return;
    }
    this.entries.delete(key);
    this.entries.set(key, { account, at: now });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}
