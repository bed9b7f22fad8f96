/**
 * The upstream accepts subscription tokens only for requests that look like Claude Code's, which
 * start their system prompt with Claude Code's identity. Requests from Claude Code itself already
 * do; others get the identity prepended as its own first block.
 */
import { keyInUnread } from '../../body-bytes.ts';
import type { ContentBlock, MessagesRequest, OtherBlock, TextBlock } from '../../formats/anthropic/types.ts';

export const CLAUDE_CODE_IDENTITY = "You are Claude Code, Anthropic's official CLI for Claude.";
/** What Claude Code 2.1 puts first in its system prompt. */
const BILLING_HEADER = 'x-anthropic-billing-header:';
/** The upstream rejects requests with more cache_control marks than this. */
export const MAX_CACHE_MARKS = 4;

export type InjectionMode = 'auto' | 'always' | 'never';

/** Client input is only checked in outline before it reaches here: blocks may be anything. */
const isTextBlock = (b: unknown): b is TextBlock =>
  typeof b === 'object' &&
  b !== null &&
  (b as TextBlock).type === 'text' &&
  typeof (b as TextBlock).text === 'string';

function firstText(system: MessagesRequest['system']): string | undefined {
  if (typeof system === 'string') return system;
  if (Array.isArray(system) && isTextBlock(system[0])) return system[0].text;
  return undefined;
}

/** True when the request already comes from Claude Code (or already carries the identity). */
export function looksLikeClaudeCode(system: MessagesRequest['system']): boolean {
  const first = firstText(system);
  return first !== undefined && (first.startsWith(BILLING_HEADER) || first.startsWith(CLAUDE_CODE_IDENTITY));
}

function hasIdentity(system: MessagesRequest['system']): boolean {
  if (typeof system === 'string') return system.startsWith(CLAUDE_CODE_IDENTITY);
  return (
    Array.isArray(system) &&
    system.slice(0, 2).some((b) => isTextBlock(b) && b.text.startsWith(CLAUDE_CODE_IDENTITY))
  );
}

/** cache_control marks anywhere in the request (system, tools, message content, tool results), and whether any uses the 1-hour TTL. */
export function cacheMarks(req: MessagesRequest): { count: number; oneHour: boolean } {
  let count = 0;
  let oneHour = false;
  const mark = (cc: { ttl?: string } | undefined) => {
    if (!cc) return;
    count++;
    if (cc.ttl === '1h') oneHour = true;
  };
  const visit = (blocks: ReadonlyArray<ContentBlock | OtherBlock | TextBlock> | undefined) => {
    if (!Array.isArray(blocks)) return;
    for (const b of blocks) {
      if (typeof b !== 'object' || b === null) continue;
      mark((b as { cache_control?: { ttl?: string } }).cache_control);
      const inner = (b as { content?: unknown }).content;
      if (Array.isArray(inner)) visit(inner);
    }
  };
  // A large body's conversation and tools may be unread (server/json-pieces.ts): their marks are
  // counted in their bytes rather than by parsing them (a key of that name anywhere counts, so the
  // count errs high, which only costs our own block its mark).
  const unread = (member: 'system' | 'tools' | 'messages'): boolean => {
    const marks = keyInUnread(req, member, 'cache_control');
    if (!marks) return false;
    count += marks.length;
    if (keyInUnread(req, member, 'ttl')!.some((v) => v.startsWith('"1h"'))) oneHour = true;
    return true;
  };
  if (!unread('system') && Array.isArray(req.system)) visit(req.system);
  if (!unread('tools') && Array.isArray(req.tools)) for (const t of req.tools) if (t) mark(t.cache_control);
  if (!unread('messages')) for (const m of req.messages) if (Array.isArray(m?.content)) visit(m.content);
  return { count, oneHour };
}

/** Returns the request with the identity prepended when the mode calls for it (mutates `req.system`). */
export function injectSystemPrompt(req: MessagesRequest, mode: InjectionMode): MessagesRequest {
  if (mode === 'never') return req;
  // A `system` that is neither text nor a list of blocks is left for the upstream to refuse (400).
  const system: unknown = req.system;
  if (system !== undefined && system !== null && typeof system !== 'string' && !Array.isArray(system))
    return req;
  if (mode === 'auto' && looksLikeClaudeCode(req.system)) return req;
  if (hasIdentity(req.system)) return req;
  const identity: TextBlock = { type: 'text', text: CLAUDE_CODE_IDENTITY };
  // Mark our block for caching only when the client's own marks leave room (theirs matter more).
  // The upstream wants longer TTLs before shorter ones, so ours follows the client's longest.
  const marks = cacheMarks(req);
  if (marks.count < MAX_CACHE_MARKS)
    identity.cache_control = marks.oneHour ? { type: 'ephemeral', ttl: '1h' } : { type: 'ephemeral' };
  const rest: TextBlock[] =
    typeof req.system === 'string'
      ? req.system
        ? [{ type: 'text', text: req.system }]
        : []
      : (req.system ?? []);
  req.system = [identity, ...rest];
  return req;
}
