/**
 * The contract every mode implements (api, sdk). A backend takes an Anthropic MessagesRequest and
 * answers with Anthropic shapes; it never sees a client's wire format.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Abortable } from '../abort.ts';
import type { ProxyError } from '../errors.ts';
import type { Message, MessagesRequest, StreamEvent } from '../formats/anthropic/types.ts';
import type { Format } from '../formats/frontend.ts';
import type { ModelInfo } from '../formats/models.ts';
import type { RequestCapture } from '../observability/capture/recorder.ts';
import type { RequestRecord } from '../observability/lifecycle.ts';

/** Every mode (who answers), each a route prefix (`/api`, `/sdk`): the one list of them. */
export const MODES = ['api', 'sdk'] as const;
export type Mode = (typeof MODES)[number];

export interface RequestContext {
  requestId: string;
  mode: Mode;
  format: Format;
  /**
   * Aborted when the client hangs up, the request outlives its time limit or the server shuts down:
   * stop the upstream work. Not an AbortSignal, which costs ~5 µs to make (src/abort.ts):
   * `toAbortSignal(signal)` where an API takes nothing else.
   */
  signal: Abortable;
  /** The client's request headers (for betas, anthropic-version, user-agent…). */
  headers: IncomingHttpHeaders;
  /** The client's query string without `?` (kept on upstream calls: `beta=true`). */
  query: string;
  /**
   * The client speaks Anthropic and accepts the upstream's bytes as they are: API mode may answer
   * with a `raw` reply (the fast path).
   */
  passthrough: boolean;
  /** SDK mode: resume this agent session (path `/sdk/{id}/…` or header `x-ccproxy-session-id`). */
  sessionId?: string;
  /** Format-specific extras a backend may honour (SDK mode's per-request `ccproxy` overrides). */
  extras?: Record<string, unknown>;
  /** The access-log/metrics record of this request; backends fill upstream model, usage, ids. */
  record: RequestRecord;
  /** Set when observability.capture is on: backends report what they send and receive to it. */
  capture?: RequestCapture;
  log: Logger;
}

export type Reply =
  /** A whole message (non-streaming). */
  | { type: 'message'; message: Message; headers?: Record<string, string> }
  /** Anthropic stream events, to be rendered by the client's frontend. */
  | { type: 'stream'; events: AsyncIterable<StreamEvent>; headers?: Record<string, string> }
  /**
   * The upstream's response, to be written to the client byte for byte (passthrough only). The
   * body is read exactly once; the server writes each chunk as it arrives.
   */
  | {
      type: 'raw';
      status: number;
      headers: Record<string, string>;
      body: Readable;
      /** Describes a failure of `body` mid-response (a dropped or stalled upstream) for the client. */
      mapError?: (err: unknown) => ProxyError;
    };

export interface Backend {
  mode: Mode;
  /** Answer a Messages request. Throws a ProxyError for failures before any byte is sent. */
  send(request: MessagesRequest, ctx: RequestContext): Promise<Reply>;
  /** `POST /v1/messages/count_tokens`; backends without it answer 404. */
  countTokens?(body: unknown, ctx: RequestContext): Promise<Reply>;
  /** The Claude models this mode can answer with. */
  listModels(ctx: Pick<RequestContext, 'signal' | 'log'>): Promise<ModelInfo[]>;
  /** `GET /{mode}/status`: a JSON-ready description of the backend's state (no secrets). */
  status(): Promise<Record<string, unknown>>;
  /** Health check for `/health`: ok, or a reason. */
  health(): Promise<{ ok: boolean; detail?: string }>;
  close(): Promise<void>;
}
