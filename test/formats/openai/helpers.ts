/**
 * Shared by the OpenAI frontend tests: options, rendering, and a reassembler that folds chunk frames
 * into a `chat.completion` the way the openai SDK's ChatCompletionStream does (content and refusal
 * grow only by non-empty deltas; missing content is null).
 */
import assert from 'node:assert/strict';
import { MessageAccumulator } from '../../../src/formats/anthropic/accumulate.ts';
import type { Message, StreamEvent } from '../../../src/formats/anthropic/types.ts';
import type { FormatOptions, Parsed, RenderMeta } from '../../../src/formats/frontend.ts';
import { modelRules } from '../../../src/formats/models.ts';
import { openaiFrontend } from '../../../src/formats/openai/index.ts';
import type { OpenAIHints } from '../../../src/formats/openai/types.ts';
import { strictSse } from '../../helpers/sse.ts';

export function options(over: Partial<FormatOptions> = {}): FormatOptions {
  return { modelRules: modelRules([]), defaultMaxTokens: 0, reasoningOutput: 'reasoning_content', ...over };
}

export const META: RenderMeta = { requestId: 'req_test', created: 1_780_000_000 };

export function parsedFor(hints: Partial<OpenAIHints> = {}, clientModel = 'gpt-4o'): Parsed<OpenAIHints> {
  return {
    request: { model: 'claude-sonnet-5-5', messages: [], max_tokens: 1 },
    clientModel,
    stream: true,
    hints: { includeUsage: false, legacyFunctions: false, ...hints },
  };
}

/** Parse a request, failing the test with the ProxyError's message when it throws. */
export function parse(body: Record<string, unknown>, opts: FormatOptions = options()) {
  return openaiFrontend.parseRequest(body, opts);
}

export function accumulate(events: StreamEvent[]): Message {
  const acc = new MessageAccumulator();
  for (const ev of events) acc.push(ev);
  return acc.message();
}

/** Feed events through a fresh renderer; returns all frames as one string. */
export function renderStream(
  events: StreamEvent[],
  parsed: Parsed<OpenAIHints> = parsedFor(),
  opts: FormatOptions = options(),
): string {
  const r = openaiFrontend.streamRenderer(parsed, META, opts);
  let out = '';
  for (const ev of events) out += r.push(ev);
  return out + r.end();
}

/** The `data:` payloads of an SSE body, checking its framing (`data: <one line>\n\n`) on the way. */
export function framePayloads(body: string): string[] {
  return strictSse(body, 'data').map((ev) => ev.data);
}

export interface Reassembled {
  completion: Record<string, any>;
  chunks: Record<string, any>[];
  done: boolean;
}

export function reassemble(body: string): Reassembled {
  const payloads = framePayloads(body);
  const done = payloads[payloads.length - 1] === '[DONE]';
  const chunks = payloads.filter((p) => p !== '[DONE]').map((p) => JSON.parse(p) as Record<string, any>);
  let id: string | undefined;
  let created: number | undefined;
  let model: string | undefined;
  let usage: unknown;
  let finish: string | null = null;
  const message: Record<string, any> = {};
  for (const c of chunks) {
    assert.equal(c.object, 'chat.completion.chunk');
    id ??= c.id;
    created ??= c.created;
    model ??= c.model;
    assert.equal(c.id, id, 'one id for the whole stream');
    assert.equal(c.created, created, 'one created for the whole stream');
    if (c.usage) usage = c.usage;
    for (const choice of c.choices) {
      assert.equal(choice.index, 0);
      if (choice.finish_reason) finish = choice.finish_reason;
      const d = choice.delta ?? {};
      if (d.role) message.role = d.role;
      if (d.content) message.content = (message.content ?? '') + d.content;
      if (d.refusal) message.refusal = (message.refusal ?? '') + d.refusal;
      if (d.reasoning_content)
        message.reasoning_content = (message.reasoning_content ?? '') + d.reasoning_content;
      if (d.function_call) {
        message.function_call ??= { name: '', arguments: '' };
        if (d.function_call.name) message.function_call.name = d.function_call.name;
        if (d.function_call.arguments) message.function_call.arguments += d.function_call.arguments;
      }
      for (const tc of d.tool_calls ?? []) {
        message.tool_calls ??= [];
        message.tool_calls[tc.index] ??= { function: { name: '', arguments: '' } };
        const call = message.tool_calls[tc.index];
        if (tc.id) call.id = tc.id;
        if (tc.type) call.type = tc.type;
        if (tc.function?.name) call.function.name = tc.function.name;
        if (tc.function?.arguments) call.function.arguments += tc.function.arguments;
      }
    }
  }
  const msg: Record<string, any> = {
    role: message.role,
    content: message.content ?? null,
    refusal: message.refusal ?? null,
  };
  if (message.tool_calls) {
    msg.tool_calls = message.tool_calls.map((c: any) => ({ id: c.id, type: c.type, function: c.function }));
  }
  if (message.function_call) msg.function_call = message.function_call;
  if (message.reasoning_content) msg.reasoning_content = message.reasoning_content;
  const completion: Record<string, any> = {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message: msg, logprobs: null, finish_reason: finish }],
  };
  if (usage) completion.usage = usage;
  return { completion, chunks, done };
}

/** Key-and-type outline of a JSON value, for comparing our shapes with real OpenAI recordings. */
export function shape(v: unknown): unknown {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
  if (typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, shape(x)]),
    );
  }
  return typeof v;
}

/**
 * Every key of `ours` exists in `real` with the same type (nulls and empty arrays in either match
 * anything), except the named extensions. Returns the problems found.
 */
export function shapeDiff(
  ours: unknown,
  real: unknown,
  at = '$',
  allowed: ReadonlySet<string> = new Set(),
): string[] {
  if (ours === null || real === null) return [];
  if (Array.isArray(ours) || Array.isArray(real)) {
    if (!Array.isArray(ours) || !Array.isArray(real)) return [`${at}: array vs ${typeof real}`];
    if (!ours.length || !real.length) return [];
    return shapeDiff(ours[0], real[0], `${at}[]`, allowed);
  }
  if (typeof ours !== typeof real) return [`${at}: ${typeof ours} vs ${typeof real}`];
  if (typeof ours !== 'object') return [];
  const problems: string[] = [];
  const r = real as Record<string, unknown>;
  for (const [k, v] of Object.entries(ours as Record<string, unknown>)) {
    if (!(k in r)) {
      if (!allowed.has(k)) problems.push(`${at}.${k}: not in the real recording`);
      continue;
    }
    problems.push(...shapeDiff(v, r[k], `${at}.${k}`, allowed));
  }
  return problems;
}
