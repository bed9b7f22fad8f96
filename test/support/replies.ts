/**
 * Builders for the fake's scripted responses. Each returns plain data (a `FakeResponse`); the
 * server renders it as SSE or JSON according to the request's `stream`, so one script serves both.
 */
import { DEFAULT_RATE_LIMIT } from './headers.ts';
import type {
  BlockSpec,
  Delivery,
  ErrorReply,
  EventsReply,
  FakeResponse,
  FixtureReply,
  HugeReply,
  MessageReply,
  RawReply,
  ResetReply,
  SseEvent,
  StallReply,
} from './types.ts';

export const DEFAULT_TEXT = 'Hello from the fake Anthropic upstream.';

/** Text with emoji (4-byte UTF-8), CJK (3-byte) and accents (2-byte), for split-character tests. */
export const UNICODE_TEXT = 'Grüße 👋🏽! 你好，世界。日本語のテキスト 🎉 — café ñ 🇫🇷 𝄞 fin.';

type MessageOptions = Partial<Omit<MessageReply, 'kind' | 'content'>>;

export interface ToolCall {
  name: string;
  input: unknown;
  id?: string;
  /** How `input` is streamed: a number of `input_json_delta` fragments (default 3) or the exact fragments. */
  fragments?: number | string[];
}

/** Split by code points (never inside a surrogate pair) into `n` nearly equal parts. */
export function splitEvenly(text: string, n: number): string[] {
  const chars = Array.from(text);
  const parts = Math.max(1, Math.min(n, chars.length));
  const out: string[] = [];
  for (let i = 0; i < parts; i++) {
    out.push(
      chars
        .slice(Math.floor((i * chars.length) / parts), Math.floor(((i + 1) * chars.length) / parts))
        .join(''),
    );
  }
  return out;
}

/** Split text into `n` deltas at word boundaries when it has enough words (as the model's tokens fall). */
export function splitWords(text: string, n: number): string[] {
  const words = text.match(/\s*\S+\s*/g) ?? [text];
  if (words.length < n) return splitEvenly(text, n);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      words.slice(Math.floor((i * words.length) / n), Math.floor(((i + 1) * words.length) / n)).join(''),
    );
  }
  return out;
}

function textBlock(text: string, deltas: number | string[] | undefined): BlockSpec {
  if (Array.isArray(deltas)) return { type: 'text', text: deltas.join(''), deltas };
  const n = deltas ?? Math.min(6, Math.max(1, (text.match(/\S+/g) ?? []).length));
  return { type: 'text', text, deltas: text === '' ? [''] : splitWords(text, n) };
}

function toolBlock(call: ToolCall): BlockSpec {
  const json = JSON.stringify(call.input ?? {});
  // The real API opens every tool input with an empty fragment, then streams the JSON text in pieces.
  const fragments = Array.isArray(call.fragments)
    ? call.fragments
    : ['', ...(json === '{}' ? [] : splitEvenly(json, call.fragments ?? 3))];
  return { type: 'tool_use', name: call.name, input: call.input ?? {}, id: call.id, fragments };
}

export function withDelivery<T extends FakeResponse>(response: T, delivery: Delivery): T {
  if (response.kind === 'reset' || response.kind === 'stall') return response;
  return { ...response, delivery: { ...response.delivery, ...delivery } };
}

export const reply = {
  /** Any content blocks. */
  message(content: BlockSpec[], opts: MessageOptions = {}): MessageReply {
    return { kind: 'message', content, ...opts };
  },

  /** A text answer streamed as `deltas` text_delta events (a count, or the exact pieces). */
  text(text = DEFAULT_TEXT, opts: MessageOptions & { deltas?: number | string[] } = {}): MessageReply {
    const { deltas, ...rest } = opts;
    return { kind: 'message', content: [textBlock(text, deltas)], stopReason: 'end_turn', ...rest };
  },

  /** One or several (parallel) tool calls, optionally after a text preamble; stop_reason tool_use. */
  toolUse(calls: ToolCall | ToolCall[], opts: MessageOptions & { text?: string } = {}): MessageReply {
    const { text, ...rest } = opts;
    const list = Array.isArray(calls) ? calls : [calls];
    const content = [...(text ? [textBlock(text, undefined)] : []), ...list.map(toolBlock)];
    return { kind: 'message', content, stopReason: 'tool_use', ...rest };
  },

  /** Extended thinking (thinking_delta…, signature_delta) followed by a text answer. */
  thinking(
    thinking = 'The user greets me. A short, friendly answer fits.',
    answer = 'Hello! How can I help?',
    opts: MessageOptions & { signature?: string } = {},
  ): MessageReply {
    const { signature, ...rest } = opts;
    const content: BlockSpec[] = [
      { type: 'thinking', thinking, signature, deltas: [...splitWords(thinking, 4), ''] },
      textBlock(answer, undefined),
    ];
    return { kind: 'message', content, stopReason: 'end_turn', ...rest };
  },

  /** A refusal: no content, stop_reason `refusal` with `stop_details`, as the API streams it. */
  refusal(opts: MessageOptions = {}): MessageReply {
    return {
      kind: 'message',
      content: [],
      stopReason: 'refusal',
      stopDetails: {
        type: 'refusal',
        category: 'cyber',
        explanation:
          "This request triggered restrictions on violative cyber content and was blocked under Anthropic's Usage Policy.",
        recommended_model: null,
      },
      ...opts,
    };
  },

  /** Text cut short by the token limit: stop_reason `max_tokens`. */
  maxTokens(
    text = 'This answer was cut off because it reached the',
    opts: MessageOptions = {},
  ): MessageReply {
    return { ...reply.text(text), stopReason: 'max_tokens', ...opts };
  },

  /** An answer with emoji and CJK text whose UTF-8 characters are split across TCP writes. */
  unicode(opts: MessageOptions = {}): MessageReply {
    // A 1 ms pause between writes keeps the halves of each character in separate reads at the client.
    return withDelivery(reply.text(UNICODE_TEXT, { deltas: splitEvenly(UNICODE_TEXT, 7), ...opts }), {
      split: 'utf8',
      delayMs: 1,
      ...opts.delivery,
    });
  },

  /** Arbitrary events, written as given (objects are serialised compactly). */
  events(
    events: Array<SseEvent | Record<string, unknown>>,
    opts: Partial<Omit<EventsReply, 'kind'>> = {},
  ): EventsReply {
    return { kind: 'events', events, ...opts };
  },

  /** Replay `test/fixtures/anthropic/<name>.chunks.txt` (streamed) or `<name>.json` (not streamed). */
  fixture(name: string, opts: Partial<Omit<FixtureReply, 'kind' | 'name'>> = {}): FixtureReply {
    return { kind: 'fixture', name, ...opts };
  },

  /** An API error body with its status. */
  error(
    status: number,
    errorType: string,
    message: string,
    opts: Partial<Omit<ErrorReply, 'kind'>> = {},
  ): ErrorReply {
    return { kind: 'error', status, errorType, message, ...opts };
  },

  /**
   * 429 `rate_limit_error`. `exhausted: true` answers as a spent subscription window (unified status
   * `rejected`, utilisation 1.0); otherwise a transient limit. Retry hints go in `retry-after` (seconds)
   * and `retry-after-ms`.
   */
  rateLimited(opts: { retryAfter?: number; retryAfterMs?: number; exhausted?: boolean } = {}): ErrorReply {
    const { exhausted, ...retry } = opts;
    // A spent window says to come back when it resets; a transient limit after a second.
    const retryAfter = exhausted ? DEFAULT_RATE_LIMIT.fiveHourResetIn : 1;
    return reply.error(
      429,
      'rate_limit_error',
      "This request would exceed your account's rate limit. Please try again later.",
      {
        retryAfter,
        ...retry,
        rateLimit: exhausted
          ? {
              status: 'rejected',
              fiveHourUtilization: 1,
              representativeClaim: 'five_hour',
              overageStatus: 'rejected',
            }
          : undefined,
      },
    );
  },

  /** 529 `overloaded_error`. */
  overloaded(opts: Partial<Omit<ErrorReply, 'kind'>> = {}): ErrorReply {
    return reply.error(529, 'overloaded_error', 'Overloaded', { shouldRetry: true, ...opts });
  },

  /** 500 `api_error`. */
  apiError(opts: Partial<Omit<ErrorReply, 'kind'>> = {}): ErrorReply {
    return reply.error(500, 'api_error', 'Internal server error', { shouldRetry: true, ...opts });
  },

  /** 401 `authentication_error` whatever the credentials. */
  unauthorized(message = 'Invalid bearer token'): ErrorReply {
    return reply.error(401, 'authentication_error', message);
  },

  /** 400 `invalid_request_error`. */
  invalidRequest(message: string): ErrorReply {
    return reply.error(400, 'invalid_request_error', message);
  },

  /** A stream that starts fine, then ends with `event: error` (overloaded by default) after some events. */
  streamError(
    opts: { afterEvents?: number; type?: string; message?: string; text?: string } = {},
  ): MessageReply {
    const { afterEvents = 4, type = 'overloaded_error', message = 'Overloaded', text } = opts;
    return reply.text(text ?? 'This answer will be interrupted by an error in the middle of the stream.', {
      deltas: 6,
      streamError: { afterEvents, type, message },
    });
  },

  /** Any response, paced: `delayMs` between writes. */
  slow(delayMs = 50, base: FakeResponse = reply.text(DEFAULT_TEXT, { deltas: 6 })): FakeResponse {
    return withDelivery(base, { delayMs });
  },

  /** Headers and a few events, then the connection is killed (FIN, or RST with `dropWith: 'reset'`). */
  drop(
    afterEvents = 3,
    base: FakeResponse = reply.text(DEFAULT_TEXT, { deltas: 6 }),
    dropWith?: 'close' | 'reset',
  ) {
    return withDelivery(base, { dropAfterEvents: afterEvents, dropWith });
  },

  /** Headers and a few events, then silence with the connection held open. */
  stallMidStream(
    afterEvents = 3,
    base: FakeResponse = reply.text(DEFAULT_TEXT, { deltas: 6 }),
  ): FakeResponse {
    return withDelivery(base, { stallAfterEvents: afterEvents });
  },

  /** The connection is reset after the request is read, before any response byte. */
  reset(): ResetReply {
    return { kind: 'reset' };
  },

  /** The request is read and never answered. */
  stall(): StallReply {
    return { kind: 'stall' };
  },

  /** An HTML error page, as a load balancer in front of the API sends it. */
  html(status = 502): RawReply {
    const title = `${status} ${status === 502 ? 'Bad Gateway' : status === 503 ? 'Service Temporarily Unavailable' : 'Error'}`;
    return {
      kind: 'raw',
      status,
      headers: { 'content-type': 'text/html' },
      body: `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n`,
    };
  },

  /**
   * A 200 event stream that breaks the protocol: `json` (a data line that is not JSON), `garbage`
   * (bytes that are not SSE at all), or `truncated` (ends cleanly without message_delta/message_stop).
   */
  malformed(variant: 'json' | 'garbage' | 'truncated' = 'json'): EventsReply | RawReply {
    const start = {
      type: 'message_start',
      message: {
        model: 'claude-sonnet-4-5-20250929',
        id: 'msg_01MalformedStream00000000',
        type: 'message',
        role: 'assistant',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 10, output_tokens: 1 },
      },
    };
    const block = { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } };
    const delta = { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } };
    if (variant === 'garbage') {
      return {
        kind: 'raw',
        status: 200,
        headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
        body: ['\u0000\u0001 not an event stream \uFFFD\n', '<<<<>>>>\r\n\r\n', 'data without event\n'],
      };
    }
    if (variant === 'truncated') return reply.events([start, block, delta]);
    return reply.events([
      start,
      block,
      delta,
      {
        event: 'content_block_delta',
        data: '{"type":"content_block_delta","index":0,"delta":{"type":"text_de',
      },
    ]);
  },

  /** A streamed text answer of about `bytes` bytes, generated as it is written. */
  huge(bytes = 64 * 1024 * 1024, deltaBytes = 4096): HugeReply {
    return { kind: 'huge', bytes, deltaBytes };
  },

  /** Any JSON body with any status (`application/json`). */
  json(status: number, body: unknown, headers: Record<string, string> = {}): RawReply {
    return {
      kind: 'raw',
      status,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    };
  },
};
