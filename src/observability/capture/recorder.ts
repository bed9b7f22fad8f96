/**
 * One request's capture, filled on the request path: the client's request, the upstream request as
 * sent, the upstream response, the agent's messages (SDK mode) and the answer written to the client.
 * Recording keeps references to what the request path already holds (its chunks, its header
 * objects) with the time each chunk went by, up to `maxBytes` per body. Nothing is copied, parsed or
 * redacted here: that happens when the capture is stored (store-doc.ts), after the response and off
 * the request path. A request without a capture has none of this (`ctx.capture` is undefined): the
 * request path's only cost is the check.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';

/** `observability.capture`. */
export const CAPTURE_MODES = ['off', 'errors', 'all'] as const;
export type CaptureMode = (typeof CAPTURE_MODES)[number];

/** A body as it went by: its first `max` bytes as chunks, each with its time (ms since the request began). */
export class BodyTap {
  readonly chunks: Array<Uint8Array | string> = [];
  readonly times: number[] = [];
  /** Bytes seen in all. */
  size = 0;
  /** Bytes of the chunks kept (the last one may go past `max`: the cut is made when stored). */
  kept = 0;

  constructor(private readonly max: number) {}

  push(chunk: Uint8Array | string, t: number): void {
    const n = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    this.size += n;
    if (this.kept >= this.max) return;
    this.chunks.push(chunk);
    this.times.push(t);
    this.kept += n;
  }

  get truncated(): boolean {
    return this.size > this.max;
  }
}

export interface CapturedRequestHead {
  method: string;
  url: string;
  headers: IncomingHttpHeaders | Record<string, string>;
}

export interface UpstreamCall {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** When it was sent, ms since the request began. */
  t: number;
}

export interface UpstreamAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: BodyTap;
  /** When its headers arrived. */
  t: number;
}

/** What the upstream client reports about each attempt (backends/api/upstream.ts calls it). */
export interface UpstreamTap {
  /** An attempt is about to be sent, with exactly these headers and body. */
  upstreamSent(call: Omit<UpstreamCall, 't'>): void;
  /** Its response's status and headers arrived. */
  upstreamAnswered(status: number, headers: IncomingHttpHeaders): void;
  /** A chunk of its body, as the proxy read it. */
  upstreamData(chunk: Uint8Array | string): void;
}

export class RequestCapture implements UpstreamTap {
  readonly client: CapturedRequestHead & { body?: Uint8Array };
  /** Translated formats: the Anthropic request the frontend made, before the backend changed it. */
  translated?: Record<string, unknown>;
  upstreamRequest?: UpstreamCall;
  upstreamResponse?: UpstreamAnswer;
  /** Earlier attempts of the upstream call (retried), oldest first. */
  readonly attempts: Array<{ t: number; status: number | null }> = [];
  /** SDK mode: the agent's messages, as JSON, with their times. */
  agent?: { messages: string[]; times: number[]; size: number; kept: number };
  readonly response: BodyTap;
  responseHead?: { status: number; headers: OutgoingHttpHeaders };
  /** Set when the response is over: later chunks are not recorded (the capture is being stored). */
  sealed = false;

  constructor(
    readonly t0: number,
    readonly maxBytes: number,
    client: CapturedRequestHead & { body?: Uint8Array },
  ) {
    this.client = client;
    this.response = new BodyTap(maxBytes);
  }

  /** Milliseconds since the request began. */
  now(): number {
    return performance.now() - this.t0;
  }

  upstreamSent(call: Omit<UpstreamCall, 't'>): void {
    if (this.sealed) return;
    if (this.upstreamRequest)
      this.attempts.push({ t: this.upstreamRequest.t, status: this.upstreamResponse?.status ?? null });
    this.upstreamRequest = { ...call, t: this.now() };
    this.upstreamResponse = undefined;
  }

  upstreamAnswered(status: number, headers: IncomingHttpHeaders): void {
    if (this.sealed) return;
    this.upstreamResponse = { status, headers, body: new BodyTap(this.maxBytes), t: this.now() };
  }

  upstreamData(chunk: Uint8Array | string): void {
    if (!this.sealed) this.upstreamResponse?.body.push(chunk, this.now());
  }

  /** The pass-through: the upstream's chunk, written to the client as it is. */
  passthrough(chunk: Uint8Array): void {
    if (this.sealed) return;
    const t = this.now();
    this.upstreamResponse?.body.push(chunk, t);
    this.response.push(chunk, t);
  }

  /** Bytes written to the client. */
  responseData(chunk: Uint8Array | string): void {
    if (!this.sealed) this.response.push(chunk, this.now());
  }

  /** SDK mode: one of the agent's messages (serialised here, so its size is known and bounded). */
  agentMessage(message: unknown): void {
    if (this.sealed) return;
    this.agent ??= { messages: [], times: [], size: 0, kept: 0 };
    const a = this.agent;
    let text: string;
    try {
      text = JSON.stringify(message) ?? 'null';
    } catch {
      text = JSON.stringify({ unserialisable: String(message) });
    }
    a.size += text.length;
    if (a.kept >= this.maxBytes) return;
    a.messages.push(text);
    a.times.push(this.now());
    a.kept += text.length;
  }

  /** The response is over: note its status and headers and stop recording. */
  seal(res: ServerResponse): void {
    if (this.sealed) return;
    this.sealed = true;
    // writeHead's headers are merged into getHeaders() once setHeader was used (x-request-id always is).
    this.responseHead = res.headersSent ? { status: res.statusCode, headers: res.getHeaders() } : undefined;
  }
}

/**
 * A body the proxy reads as an iterable (the translated paths), recorded chunk by chunk as it is
 * read. `destroy` reaches the underlying body, so a reader that stops early still lets it go.
 */
export function tapBody<T extends Uint8Array>(
  body: AsyncIterable<T> & { destroy(err?: Error): unknown },
  capture: UpstreamTap,
): AsyncIterable<T> & { destroy(err?: Error): unknown } {
  async function* tapped() {
    for await (const chunk of body) {
      capture.upstreamData(chunk);
      yield chunk;
    }
  }
  return Object.assign(tapped(), { destroy: (err?: Error) => body.destroy(err) });
}
