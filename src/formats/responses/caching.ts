/**
 * Automatic prompt caching for Responses clients.
 * https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching
 * https://platform.openai.com/docs/guides/prompt-caching
 *
 * OpenAI caches prompt prefixes by itself, so Responses clients send no cache hints — and an agent
 * like Codex resends its whole history (tens of kilobytes of instructions and tools) every turn.
 * Anthropic caches only up to explicit breakpoints, so ccproxy places two: after the system prompt
 * (tools and instructions, shared by every turn) and after the last block of the conversation (the
 * next turn, which extends it, reads it back). The API backend's own identity block may add a third;
 * the limit is four. Prompts under the model's minimum cacheable length are simply not cached.
 */
import type { CacheControl, MessagesRequest } from '../anthropic/types.ts';

/** Blocks that take `cache_control` (thinking blocks do not). */
const CACHEABLE = new Set(['text', 'image', 'document', 'tool_use', 'tool_result']);

export function markCacheBreakpoints(request: MessagesRequest): void {
  const system = request.system;
  if (Array.isArray(system) && system.length) system[system.length - 1].cache_control = mark();
  const last = request.messages[request.messages.length - 1];
  if (!last || !Array.isArray(last.content)) return;
  const tail = last.content[last.content.length - 1] as { type: string; cache_control?: CacheControl };
  if (tail && CACHEABLE.has(tail.type)) tail.cache_control = mark();
}

const mark = (): CacheControl => ({ type: 'ephemeral' });
