/**
 * Turns a scripted `FakeResponse` into what goes on the wire for one request: status, headers and
 * body units (one per SSE event, or one JSON body). Pure apart from id generation.
 *
 * Event order and usage follow the real API: message_start (input/cache tokens, output_tokens 1) →
 * (content_block_start → deltas → content_block_stop)* with a `ping` after the first block starts →
 * message_delta (stop_reason, cumulative output_tokens, input/cache fields repeated) → message_stop.
 */
import { loadFixture } from './fixtures.ts';
import { messageId, toolUseId } from './ids.ts';
import { splitEvenly, splitWords } from './replies.ts';
import { encodeSse, sseEvent } from './sse.ts';
import type {
  BlockSpec,
  Delivery,
  FakeResponse,
  MessageReply,
  RateLimitState,
  SseEvent,
  UsageSpec,
} from './types.ts';

export interface RenderContext {
  stream: boolean;
  model: string;
  inputTokens: number;
  requestId: string;
  /** The request asked for `context_management`: the answer reports the edits applied (none). */
  contextManagement?: boolean;
}

export interface Rendered {
  status: number;
  headers: Record<string, string>;
  units: Iterable<Buffer> | AsyncIterable<Buffer>;
  delivery: Delivery;
  /** Rate-limit state to report instead of the fake's current one. */
  rateLimit?: Partial<RateLimitState>;
}

type Obj = Record<string, unknown>;

/** The real API's status for each error type. */
export const ERROR_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

export function errorBody(errorType: string, message: string, requestId: string): Obj {
  return { type: 'error', error: { type: errorType, message }, request_id: requestId };
}

/** A deterministic stand-in for the tokenizer: ~4 characters per token, shared by messages and count_tokens. */
export function estimateInputTokens(body: unknown): number {
  const b = (body ?? {}) as Obj;
  const text = JSON.stringify([b.system ?? null, b.messages ?? null, b.tools ?? null]);
  return Math.max(1, Math.ceil(text.length / 4));
}

function estimateOutputTokens(blocks: Obj[]): number {
  let chars = 0;
  for (const b of blocks) {
    if (typeof b.text === 'string') chars += b.text.length;
    if (typeof b.thinking === 'string') chars += b.thinking.length;
    if (b.type === 'tool_use') chars += JSON.stringify(b.input).length;
  }
  return Math.max(1, Math.ceil(chars / 4));
}

/** A block as streamed: the opening `content_block`, its deltas, and the full block it adds up to. */
interface PlannedBlock {
  start: Obj;
  deltas: Obj[];
  full: Obj;
}

function planBlock(spec: BlockSpec): PlannedBlock {
  switch (spec.type) {
    case 'text': {
      const deltas = spec.deltas ?? splitWords(spec.text, 4);
      return {
        start: { type: 'text', text: '' },
        deltas: deltas.map((text) => ({ type: 'text_delta', text })),
        full: { type: 'text', text: spec.text },
      };
    }
    case 'tool_use': {
      const id = spec.id ?? toolUseId();
      const fragments = spec.fragments ?? ['', JSON.stringify(spec.input)];
      return {
        start: { type: 'tool_use', id, name: spec.name, input: {} },
        deltas: fragments.map((partial_json) => ({ type: 'input_json_delta', partial_json })),
        full: { type: 'tool_use', id, name: spec.name, input: spec.input },
      };
    }
    case 'thinking': {
      const signature =
        spec.signature ?? `Er${Buffer.from(spec.thinking).toString('base64').slice(0, 60)}fakeSignature==`;
      const deltas = spec.deltas ?? splitWords(spec.thinking, 4);
      return {
        start: { type: 'thinking', thinking: '', signature: '' },
        deltas: [
          ...deltas.map((thinking) => ({ type: 'thinking_delta', thinking })),
          { type: 'signature_delta', signature },
        ],
        full: { type: 'thinking', thinking: spec.thinking, signature },
      };
    }
    case 'redacted_thinking':
      return {
        start: { type: 'redacted_thinking', data: spec.data },
        deltas: [],
        full: { type: 'redacted_thinking', data: spec.data },
      };
  }
}

/** Plan a recorded Message's blocks for streaming (used when a fixture has only its `.json`). */
function planFromMessageBlock(block: Obj): PlannedBlock {
  switch (block.type) {
    case 'text':
      return planBlock({ type: 'text', text: String(block.text) });
    case 'tool_use': {
      const json = JSON.stringify(block.input ?? {});
      return planBlock({
        type: 'tool_use',
        id: String(block.id),
        name: String(block.name),
        input: block.input,
        fragments: ['', ...(json === '{}' ? [] : splitEvenly(json, 3))],
      });
    }
    case 'thinking':
      return planBlock({
        type: 'thinking',
        thinking: String(block.thinking),
        signature: String(block.signature),
      });
    default:
      return { start: block, deltas: [], full: block };
  }
}

interface Plan {
  model: string;
  id: string;
  blocks: PlannedBlock[];
  stopReason: string | null;
  stopSequence: string | null;
  stopDetails: unknown;
  usage: Required<UsageSpec>;
  extra: Obj;
}

function planMessage(r: MessageReply, ctx: RenderContext): Plan {
  const blocks = r.content.map(planBlock);
  return {
    model: r.model ?? ctx.model,
    id: r.id ?? messageId(),
    blocks,
    stopReason: r.stopReason ?? 'end_turn',
    stopSequence: r.stopSequence ?? null,
    stopDetails: r.stopDetails ?? null,
    usage: {
      input_tokens: r.usage?.input_tokens ?? ctx.inputTokens,
      output_tokens: r.usage?.output_tokens ?? estimateOutputTokens(blocks.map((b) => b.full)),
      cache_creation_input_tokens: r.usage?.cache_creation_input_tokens ?? 0,
      cache_read_input_tokens: r.usage?.cache_read_input_tokens ?? 0,
    },
    extra: { ...(ctx.contextManagement ? { context_management: { applied_edits: [] } } : {}), ...r.extra },
  };
}

function fullUsage(u: Required<UsageSpec>, outputTokens: number): Obj {
  return {
    input_tokens: u.input_tokens,
    cache_creation_input_tokens: u.cache_creation_input_tokens,
    cache_read_input_tokens: u.cache_read_input_tokens,
    cache_creation: {
      ephemeral_5m_input_tokens: u.cache_creation_input_tokens,
      ephemeral_1h_input_tokens: 0,
    },
    output_tokens: outputTokens,
    service_tier: 'standard',
    inference_geo: 'not_available',
  };
}

function planToEvents(p: Plan, ping: boolean): Obj[] {
  const events: Obj[] = [
    {
      type: 'message_start',
      message: {
        model: p.model,
        id: p.id,
        type: 'message',
        role: 'assistant',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        stop_details: null,
        usage: fullUsage(p.usage, 1),
      },
    },
  ];
  if (ping && p.blocks.length === 0) events.push({ type: 'ping' });
  p.blocks.forEach((b, index) => {
    events.push({ type: 'content_block_start', index, content_block: b.start });
    if (ping && index === 0) events.push({ type: 'ping' });
    for (const delta of b.deltas) events.push({ type: 'content_block_delta', index, delta });
    events.push({ type: 'content_block_stop', index });
  });
  events.push({
    type: 'message_delta',
    delta: { stop_reason: p.stopReason, stop_sequence: p.stopSequence, stop_details: p.stopDetails },
    usage: {
      input_tokens: p.usage.input_tokens,
      cache_creation_input_tokens: p.usage.cache_creation_input_tokens,
      cache_read_input_tokens: p.usage.cache_read_input_tokens,
      output_tokens: p.usage.output_tokens,
    },
    ...p.extra,
  });
  events.push({ type: 'message_stop' });
  return events;
}

function planToMessage(p: Plan): Obj {
  return {
    model: p.model,
    id: p.id,
    type: 'message',
    role: 'assistant',
    content: p.blocks.map((b) => b.full),
    stop_reason: p.stopReason,
    stop_sequence: p.stopSequence,
    stop_details: p.stopDetails,
    usage: fullUsage(p.usage, p.usage.output_tokens),
    ...p.extra,
  };
}

/** Build the Message a client assembles from stream events (what a non-streamed request gets). */
export function accumulate(events: Obj[]): Obj {
  let message: Obj | undefined;
  const partialJson = new Map<number, string>();
  for (const ev of events) {
    switch (ev.type) {
      case 'message_start':
        message = structuredClone(ev.message as Obj);
        message.content = [];
        break;
      case 'content_block_start':
        (message!.content as Obj[])[ev.index as number] = structuredClone(ev.content_block as Obj);
        break;
      case 'content_block_delta': {
        const block = (message!.content as Obj[])[ev.index as number];
        const d = ev.delta as Obj;
        if (d.type === 'text_delta') block.text = String(block.text ?? '') + d.text;
        else if (d.type === 'thinking_delta') block.thinking = String(block.thinking ?? '') + d.thinking;
        else if (d.type === 'signature_delta') block.signature = d.signature;
        else if (d.type === 'citations_delta')
          block.citations = [...((block.citations as unknown[]) ?? []), d.citation];
        else if (d.type === 'input_json_delta') {
          partialJson.set(ev.index as number, (partialJson.get(ev.index as number) ?? '') + d.partial_json);
        }
        break;
      }
      case 'content_block_stop': {
        const json = partialJson.get(ev.index as number);
        if (json !== undefined)
          (message!.content as Obj[])[ev.index as number].input = json === '' ? {} : JSON.parse(json);
        break;
      }
      case 'message_delta': {
        const { type: _t, delta, usage, ...rest } = ev;
        Object.assign(message!, delta as Obj, rest);
        message!.usage = { ...(message!.usage as Obj), ...(usage as Obj) };
        break;
      }
      case 'error':
        throw Object.assign(new Error('stream carries an error event'), { body: ev });
    }
  }
  if (!message) throw new Error('no message_start in events');
  return message;
}

function toEvent(e: SseEvent | Obj): SseEvent {
  return typeof e.event === 'string' && typeof e.data === 'string' ? (e as SseEvent) : sseEvent(e as Obj);
}

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
const JSON_HEADERS = { 'content-type': 'application/json' };

function jsonRendered(
  status: number,
  body: unknown,
  r: { delivery?: Delivery; headers?: Record<string, string> },
): Rendered {
  return {
    status,
    headers: { ...JSON_HEADERS, ...r.headers },
    units: [Buffer.from(JSON.stringify(body), 'utf8')],
    delivery: r.delivery ?? {},
  };
}

function sseRendered(
  events: SseEvent[],
  r: { delivery?: Delivery; headers?: Record<string, string> },
): Rendered {
  return {
    status: 200,
    headers: { ...SSE_HEADERS, ...r.headers },
    units: events.map(encodeSse),
    delivery: r.delivery ?? {},
  };
}

function streamErrorEvent(type: string, message: string, requestId: string): SseEvent {
  // The in-stream error carries `details: null` first, as the API writes it.
  return sseEvent({ type: 'error', error: { details: null, type, message }, request_id: requestId });
}

function* hugeEvents(bytes: number, deltaBytes: number, ctx: RenderContext): Generator<Buffer> {
  const plan = planMessage({ kind: 'message', content: [{ type: 'text', text: '', deltas: [] }] }, ctx);
  const deltaCount = Math.max(1, Math.ceil(bytes / deltaBytes));
  plan.usage.output_tokens = Math.ceil((deltaCount * deltaBytes) / 4);
  const [start, blockStart, ping, blockStop, messageDelta, stop] = planToEvents(plan, true).filter(
    (e) => e.type !== 'content_block_delta',
  );
  for (const e of [start, blockStart, ping]) yield encodeSse(sseEvent(e));
  const line = 'All work and no play makes a very long answer. '
    .repeat(Math.ceil(deltaBytes / 47))
    .slice(0, deltaBytes);
  const delta = encodeSse(
    sseEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: line } }),
  );
  for (let i = 0; i < deltaCount; i++) yield delta;
  for (const e of [blockStop, messageDelta, stop]) yield encodeSse(sseEvent(e));
}

function* hugeJson(bytes: number, deltaBytes: number, ctx: RenderContext): Generator<Buffer> {
  const plan = planMessage({ kind: 'message', content: [{ type: 'text', text: '' }] }, ctx);
  const deltaCount = Math.max(1, Math.ceil(bytes / deltaBytes));
  plan.usage.output_tokens = Math.ceil((deltaCount * deltaBytes) / 4);
  const [head, tail] = JSON.stringify(planToMessage(plan)).split('"text":""');
  yield Buffer.from(`${head}"text":"`);
  const piece = Buffer.from(
    'All work and no play makes a very long answer. '.repeat(Math.ceil(deltaBytes / 47)).slice(0, deltaBytes),
  );
  for (let i = 0; i < deltaCount; i++) yield piece;
  yield Buffer.from(`"${tail}`);
}

/** Render a scripted response for one request. `reset`/`stall` are handled by the server. */
export function render(
  r: Exclude<FakeResponse, { kind: 'reset' } | { kind: 'stall' }>,
  ctx: RenderContext,
): Rendered {
  switch (r.kind) {
    case 'message': {
      const plan = planMessage(r, ctx);
      if (!ctx.stream) {
        if (r.streamError) {
          const { type = 'overloaded_error', message = 'Overloaded' } = r.streamError;
          return jsonRendered(ERROR_STATUS[type] ?? 500, errorBody(type, message, ctx.requestId), r);
        }
        return jsonRendered(200, planToMessage(plan), r);
      }
      let events = planToEvents(plan, r.ping ?? true).map(sseEvent);
      if (r.streamError) {
        const { afterEvents, type = 'overloaded_error', message = 'Overloaded' } = r.streamError;
        events = [...events.slice(0, 1 + afterEvents), streamErrorEvent(type, message, ctx.requestId)];
      }
      return sseRendered(events, r);
    }
    case 'events': {
      const events = r.events.map(toEvent);
      if (ctx.stream) return sseRendered(events, r);
      try {
        return jsonRendered(200, r.message ?? accumulate(events.map((e) => JSON.parse(e.data))), r);
      } catch {
        // Events that do not add up to a Message: answer with their bytes, which is not JSON either.
        return {
          status: 200,
          headers: { ...JSON_HEADERS, ...r.headers },
          units: [Buffer.from(events.map((e) => e.data).join(''))],
          delivery: r.delivery ?? {},
        };
      }
    }
    case 'fixture': {
      const f = loadFixture(r.name);
      if (f.json?.type === 'error') {
        const errorType = String((f.json.error as Obj)?.type);
        return jsonRendered(ERROR_STATUS[errorType] ?? 400, f.json, r);
      }
      if (!ctx.stream)
        return jsonRendered(200, f.json ?? accumulate(f.events!.map((e) => JSON.parse(e.data))), r);
      if (f.events) return sseRendered(f.events, r);
      const m = f.json!;
      const usage = m.usage as Obj;
      const plan: Plan = {
        model: String(m.model),
        id: String(m.id),
        blocks: (m.content as Obj[]).map(planFromMessageBlock),
        stopReason: (m.stop_reason as string) ?? null,
        stopSequence: (m.stop_sequence as string) ?? null,
        stopDetails: m.stop_details ?? null,
        usage: {
          input_tokens: Number(usage.input_tokens ?? 0),
          output_tokens: Number(usage.output_tokens ?? 0),
          cache_creation_input_tokens: Number(usage.cache_creation_input_tokens ?? 0),
          cache_read_input_tokens: Number(usage.cache_read_input_tokens ?? 0),
        },
        extra: m.context_management ? { context_management: m.context_management } : {},
      };
      return sseRendered(planToEvents(plan, true).map(sseEvent), r);
    }
    case 'error': {
      const headers: Record<string, string> = { ...JSON_HEADERS };
      if (r.retryAfter !== undefined) headers['retry-after'] = String(r.retryAfter);
      if (r.retryAfterMs !== undefined) headers['retry-after-ms'] = String(r.retryAfterMs);
      if (r.shouldRetry !== undefined) headers['x-should-retry'] = String(r.shouldRetry);
      return {
        status: r.status,
        headers: { ...headers, ...r.headers },
        units: [Buffer.from(JSON.stringify(errorBody(r.errorType, r.message, ctx.requestId)))],
        delivery: r.delivery ?? {},
        rateLimit: r.rateLimit,
      };
    }
    case 'raw': {
      const parts = Array.isArray(r.body) ? r.body : [r.body];
      return {
        status: r.status,
        headers: { ...r.headers },
        units: parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)),
        delivery: r.delivery ?? {},
      };
    }
    case 'huge': {
      const deltaBytes = r.deltaBytes ?? 4096;
      return ctx.stream
        ? {
            status: 200,
            headers: { ...SSE_HEADERS, ...r.headers },
            units: hugeEvents(r.bytes, deltaBytes, ctx),
            delivery: r.delivery ?? {},
          }
        : {
            status: 200,
            headers: { ...JSON_HEADERS, ...r.headers },
            units: hugeJson(r.bytes, deltaBytes, ctx),
            delivery: r.delivery ?? {},
          };
    }
  }
}
