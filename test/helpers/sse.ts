/**
 * Reading server-sent events in tests, with eventsource-parser (the parser the proxy itself reads
 * the upstream with): whole bodies, live streams, and the byte-exact framing check for what our
 * renderers write. No test splits frames by hand.
 */
import assert from 'node:assert/strict';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { EventSourceParserStream } from 'eventsource-parser/stream';

export type SseMessage = EventSourceMessage;

/** An event with its data parsed as JSON where it is JSON (`[DONE]` or a broken line stays a string). */
export interface SseJson {
  event?: string;
  data: any;
}

/** The events of an SSE body. A last event without its blank line still counts, as at the end of a stream. */
export function parseSse(text: string): SseMessage[] {
  const out: SseMessage[] = [];
  const parser = createParser({ onEvent: (ev) => out.push(ev) });
  parser.feed(text);
  parser.feed('\n\n');
  return out;
}

function json(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

/** The events of an SSE body, `data` parsed where it is JSON. */
export function sseEvents(text: string): SseJson[] {
  return parseSse(text).map((ev) => ({ event: ev.event, data: json(ev.data) }));
}

/**
 * How our renderers frame an event: `named` is `event: <type>\ndata: <json>\n\n` with the type equal
 * to `data.type` (Anthropic, Responses); `data` is `data: <json>\n\n` (Chat Completions).
 */
export type Framing = 'named' | 'data';

export function encodeSse(events: SseMessage[], framing: Framing): string {
  return events
    .map((ev) => (framing === 'named' ? `event: ${ev.event}\ndata: ${ev.data}\n\n` : `data: ${ev.data}\n\n`))
    .join('');
}

/**
 * The events of a body our renderers wrote, checking its framing byte for byte: the body must be
 * exactly its events written back one way (each data one line, nothing else in between), and with
 * `named` framing each event line must name the data's type.
 */
export function strictSse(text: string, framing: Framing): SseMessage[] {
  const events = parseSse(text);
  const canonical = encodeSse(events, framing);
  if (canonical !== text) {
    let at = 0;
    while (at < text.length && text[at] === canonical[at]) at++;
    assert.fail(
      `not ${framing === 'named' ? '"event: …\\ndata: …\\n\\n"' : '"data: …\\n\\n"'} framing at byte ${at}: ` +
        `${JSON.stringify(text.slice(Math.max(0, at - 40), at + 40))}`,
    );
  }
  if (framing === 'named') {
    for (const ev of events) assert.equal((json(ev.data) as { type?: unknown })?.type, ev.event, ev.data);
  }
  return events;
}

/** Follow a live SSE body, calling `onEvent` for each event, until it ends (or fails: the promise rejects). */
export async function readSse(
  body: ReadableStream<Uint8Array>,
  onEvent: (ev: SseMessage) => void,
): Promise<void> {
  const events = body
    .pipeThrough(new TextDecoderStream() as ReadableWritablePair<string, Uint8Array>)
    .pipeThrough(new EventSourceParserStream());
  for await (const ev of events) onEvent(ev);
}
