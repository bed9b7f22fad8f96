/**
 * Shapes shared by the fake Anthropic upstream's parts. Kept apart from src/ on purpose: the fake is
 * the oracle the proxy is tested against, so it must not borrow the proxy's own understanding.
 */

/** One server-sent event exactly as written: `event: <event>\ndata: <data>\n\n`. */
export interface SseEvent {
  event: string;
  /** The text after `data: `, written verbatim (may be invalid JSON on purpose). */
  data: string;
}

/** How the bytes of a response body reach the socket. */
export interface Delivery {
  /**
   * Where writes are cut: `event` (one write per SSE event, or the whole JSON body; the default),
   * `whole` (everything in one write), `utf8` (each event cut inside every multi-byte character),
   * `{ every: n }` (fixed n-byte writes across event boundaries), `{ random: seed, max }` (seeded
   * random sizes from 1 to `max` bytes, default 64).
   */
  split?: 'event' | 'whole' | 'utf8' | { every: number } | { random: number; max?: number };
  /** Pause between two writes: a slow stream. */
  delayMs?: number;
  /** Pause before the status line and headers: a slow first byte. */
  firstByteDelayMs?: number;
  /** Kill the connection after this many events (or body units) were written. */
  dropAfterEvents?: number;
  /** Kill the connection after this many body bytes were written. */
  dropAfterBytes?: number;
  /** Stop writing, keeping the connection open, after this many events. */
  stallAfterEvents?: number;
  /** Stop writing, keeping the connection open, after this many body bytes. */
  stallAfterBytes?: number;
  /** How a drop ends the connection: a FIN (`close`, the default) or a TCP RST (`reset`). */
  dropWith?: 'close' | 'reset';
  /** Pause after this many events (written out) until `resume` settles: a stream the test holds open. */
  pauseAfterEvents?: number;
  resume?: Promise<unknown>;
}

/** One content block the fake answers with; streamed as start → deltas → stop. */
export type BlockSpec =
  | { type: 'text'; text: string; deltas?: string[] }
  | { type: 'tool_use'; name: string; input: unknown; id?: string; fragments?: string[] }
  | { type: 'thinking'; thinking: string; signature?: string; deltas?: string[] }
  | { type: 'redacted_thinking'; data: string };

export interface UsageSpec {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

export interface StreamErrorSpec {
  /** Events (after `message_start`) written before the `error` event. */
  afterEvents: number;
  type?: string;
  message?: string;
}

interface Common {
  delivery?: Delivery;
  /** Extra response headers (they win over the defaults). */
  headers?: Record<string, string>;
}

/** A model answer, rendered as SSE or as a Message JSON following the request's `stream`. */
export interface MessageReply extends Common {
  kind: 'message';
  content: BlockSpec[];
  stopReason?: string;
  stopSequence?: string | null;
  stopDetails?: unknown;
  model?: string;
  id?: string;
  usage?: UsageSpec;
  /** Fields added to the final `message_delta` and the Message (e.g. `context_management`). */
  extra?: Record<string, unknown>;
  /** End the stream with `event: error` after some events (a non-streamed request gets the HTTP error). */
  streamError?: StreamErrorSpec;
  /** Write the `ping` the real API sends after the first block starts (default true). */
  ping?: boolean;
}

/** Any list of events, written as given; `message` (or their accumulation) answers non-streamed requests. */
export interface EventsReply extends Common {
  kind: 'events';
  events: Array<SseEvent | Record<string, unknown>>;
  message?: Record<string, unknown>;
}

/** A recorded fixture from test/fixtures/anthropic, by name without extension. */
export interface FixtureReply extends Common {
  kind: 'fixture';
  name: string;
}

/** An API error: `{"type":"error","error":{type,message},"request_id"}` with its status. */
export interface ErrorReply extends Common {
  kind: 'error';
  status: number;
  errorType: string;
  message: string;
  retryAfter?: number;
  retryAfterMs?: number;
  /** Sets `x-should-retry`, which the official SDKs obey. */
  shouldRetry?: boolean;
  /** Answer with the subscription's rate-limit headers in this state. */
  rateLimit?: Partial<RateLimitState>;
}

/** Bytes exactly as given: HTML error pages, malformed SSE, anything non-Anthropic. */
export interface RawReply extends Common {
  kind: 'raw';
  status: number;
  body: string | Buffer | Array<string | Buffer>;
}

/** A streamed text answer of about `bytes` bytes, generated lazily (never held in memory). */
export interface HugeReply extends Common {
  kind: 'huge';
  bytes: number;
  deltaBytes?: number;
}

/** Destroy the connection (TCP RST) before any response byte. */
export interface ResetReply {
  kind: 'reset';
}

/** Never answer; the exchange ends when the client hangs up or the fake closes. */
export interface StallReply {
  kind: 'stall';
}

export type FakeResponse =
  | MessageReply
  | EventsReply
  | FixtureReply
  | ErrorReply
  | RawReply
  | HugeReply
  | ResetReply
  | StallReply;

/** What a scripted step or handler may return: a response, or nothing to fall through. */
export type Handler = (req: ReceivedRequest) => FakeResponse | undefined | Promise<FakeResponse | undefined>;

/** The subscription's unified rate-limit window, reported on every /v1/messages answer. */
export interface RateLimitState {
  status: 'allowed' | 'allowed_warning' | 'rejected';
  fiveHourUtilization: number;
  sevenDayUtilization: number;
  /** Seconds from now until the five-hour window resets. */
  fiveHourResetIn: number;
  sevenDayResetIn: number;
  representativeClaim: 'five_hour' | 'seven_day' | 'seven_day_opus' | 'seven_day_sonnet';
  overageStatus: 'allowed' | 'allowed_warning' | 'rejected';
  overageDisabledReason?: string;
  /** The request drew on paid extra usage (`anthropic-ratelimit-unified-overage-in-use: true`). */
  overageInUse?: boolean;
}

/** Everything the fake saw of one HTTP request, recorded for assertions. */
export interface ReceivedRequest {
  /** 1-based position in `received` (a request is recorded once its body has been read). */
  seq: number;
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** The body as text (UTF-8). */
  rawBody: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  body: unknown;
  /** True once the client closed the connection before the response finished. */
  aborted: boolean;
  /** Resolves when the exchange is over, either way. */
  ended: Promise<{ aborted: boolean }>;
  /** Status code sent, once headers went out. */
  status?: number;
  /** The `request-id` the fake answered with. */
  requestId: string;
  /** Name of the scenario or response kind that answered, for debugging. */
  answeredWith?: string;
}
