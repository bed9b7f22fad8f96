/**
 * Anthropic server-sent events: `event: <type>\ndata: <json>\n\n`.
 * https://docs.anthropic.com/en/api/messages-streaming
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { ProxyError } from '../../errors.ts';
import type { StreamEvent } from './types.ts';

export function encodeEvent(event: StreamEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** Largest single SSE event we accept from an upstream before calling the stream broken. */
const MAX_EVENT_BYTES = 16 * 1024 * 1024;

/**
 * An incremental SSE reader: feed it bytes in chunks split anywhere (even inside a UTF-8
 * character), get whole events out. No I/O, so tests can feed it by hand.
 */
export class SseReader {
  private readonly decoder = new TextDecoder();
  private readonly parser;
  private out: EventSourceMessage[] = [];
  private error: Error | undefined;

  constructor() {
    this.parser = createParser({
      maxBufferSize: MAX_EVENT_BYTES,
      onEvent: (ev) => this.out.push(ev),
      onError: (err) => {
        if (err.type === 'max-buffer-size-exceeded') this.error = err;
      },
    });
  }

  /** Feed bytes (or text); returns the events completed by them. */
  push(chunk: Uint8Array | string): EventSourceMessage[] {
    this.parser.feed(typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }));
    if (this.error) throw this.error;
    const done = this.out;
    this.out = [];
    return done;
  }

  /** Flush at end of input: a last event not followed by a blank line still counts. */
  end(): EventSourceMessage[] {
    const tail = this.decoder.decode();
    if (tail) this.parser.feed(tail);
    this.parser.feed('\n\n');
    const done = this.out;
    this.out = [];
    return done;
  }
}

/** Parse one SSE data payload as an Anthropic stream event, or throw an upstream ProxyError. */
export function parseEventData(msg: EventSourceMessage): StreamEvent {
  let ev: unknown;
  try {
    ev = JSON.parse(msg.data);
  } catch {
    throw new ProxyError('upstream', `The upstream sent a malformed stream event: ${snippet(msg.data)}`);
  }
  if (!ev || typeof ev !== 'object' || typeof (ev as { type?: unknown }).type !== 'string') {
    throw new ProxyError('upstream', `The upstream sent a stream event without a type: ${snippet(msg.data)}`);
  }
  return ev as StreamEvent;
}

/**
 * Decode an upstream body into Anthropic stream events; failures (of the body or of the events)
 * go through `mapError` when one is given. One generator, not a chain: each layer of async
 * generators costs a promise per event.
 */
export async function* decodeEvents(
  body: AsyncIterable<Uint8Array | string>,
  mapError?: (err: unknown) => unknown,
): AsyncGenerator<StreamEvent> {
  const reader = new SseReader();
  try {
    for await (const chunk of body) {
      for (const msg of reader.push(chunk)) yield parseEventData(msg);
    }
    for (const msg of reader.end()) yield parseEventData(msg);
  } catch (err) {
    throw mapError ? mapError(err) : err;
  }
}

export function snippet(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
