/**
 * The contract every client format implements (anthropic, openai, responses). A frontend turns its
 * wire format into an Anthropic MessagesRequest and turns Anthropic messages and stream events back
 * into its wire format. Pure functions over plain data: no I/O, no server, no backend.
 */
import type { ModelRule } from '../config/schema.ts';
import type { ProxyError } from '../errors.ts';
import type { Message, MessagesRequest, StreamEvent } from './anthropic/types.ts';

/** Every client format the proxy speaks, each served under every mode prefix: the one list of them. */
export const FORMATS = ['anthropic', 'openai', 'responses'] as const;
export type Format = (typeof FORMATS)[number];

export interface FormatOptions {
  /** Model rules, user's first, then the built-in ones. */
  modelRules: readonly ModelRule[];
  /** max_tokens when the client sends none (0 = per-model default). */
  defaultMaxTokens: number;
  /** Where thinking goes in OpenAI-style answers. */
  reasoningOutput: 'reasoning_content' | 'tags' | 'drop';
  /** Debug notes (ignored fields and the like); never called with payload contents. */
  debug?: (msg: string) => void;
}

export interface Parsed<H = unknown> {
  request: MessagesRequest;
  /** The model name the client asked for; answers report it back. */
  clientModel: string;
  stream: boolean;
  /** Whatever the frontend needs later to render the answer (include_usage, a forced tool…). */
  hints: H;
}

export interface RenderMeta {
  requestId: string;
  /** Unix seconds, stable for the whole answer. */
  created: number;
}

/** A stream translator: one Anthropic event in, zero or more wire frames out, as one string. */
export interface StreamRenderer {
  push(event: StreamEvent): string;
  /** Frames after the upstream's last event (`data: [DONE]`…). */
  end(): string;
  /** Once streaming has begun, the frames that tell the client about an error; the stream then closes. */
  fail(err: ProxyError): string;
}

export interface RenderedError {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface Frontend<H = unknown> {
  format: Format;
  /** The path it answers under each mode prefix, e.g. `/v1/chat/completions`. */
  path: string;
  parseRequest(body: unknown, opts: FormatOptions): Parsed<H>;
  renderMessage(msg: Message, parsed: Parsed<H>, meta: RenderMeta, opts: FormatOptions): unknown;
  streamRenderer(parsed: Parsed<H>, meta: RenderMeta, opts: FormatOptions): StreamRenderer;
  renderError(err: ProxyError): RenderedError;
}
