/**
 * A capture, from what the request path recorded (recorder.ts) to the document that is stored, and
 * back to what the logs API serves (types.ts). Runs when the capture is written, never on the
 * request path: the chunks are joined, cut at the cap (on a character boundary), redacted
 * (redact.ts), kept as text when they are UTF-8 and as base64 when not, and an event stream is kept
 * event by event with each event's arrival time. A pass-through answer is the upstream's bytes:
 * stored once, and served under both parts.
 */
import { isUtf8 } from 'node:buffer';
import type { RequestCapture } from './recorder.ts';
import { credentialsIn, Redactor } from './redact.ts';
import type { Capture, CapturedAgent, CapturedBody, CapturedEvent, CapturedPart } from './types.ts';

/** A finished request's capture, waiting to be stored. */
export interface PendingCapture {
  id: string;
  ts: number;
  mode: string;
  format: string;
  capture: RequestCapture;
}

/** One row of the capture table. */
export interface StoredCapture {
  id: string;
  ts: number;
  /** Bytes of `doc`: what the store's size bound counts. */
  size_bytes: number;
  truncated: boolean;
  /** The capture as JSON (StoredDoc). */
  doc: string;
}

/** A stored body: an event stream keeps its events (time, raw text) instead of one text. */
interface StoredBody extends CapturedBody {
  sse?: Array<[number, string]>;
  /** The response of a pass-through: the same bytes as the upstream response's body. */
  same_as_upstream?: true;
}
interface StoredPart extends Omit<CapturedPart, 'body' | 'events'> {
  body: StoredBody | null;
}
interface StoredDoc
  extends Omit<Capture, 'client_request' | 'upstream_request' | 'upstream_response' | 'response' | 'agent'> {
  v: 1;
  client_request: StoredPart;
  upstream_request: StoredPart | null;
  upstream_response: StoredPart | null;
  response: StoredPart | null;
  agent: { messages: Array<[number, string]>; size: number; truncated: boolean } | null;
}

const round = (t: number) => Math.round(t * 1000) / 1000;

/** What a body's recording holds (recorder.ts's BodyTap, or one whole body). */
interface Tapped {
  chunks: ReadonlyArray<Uint8Array | string>;
  times: readonly number[];
  size: number;
  readonly truncated: boolean;
}

/** A body's kept bytes, cut at `max` (never inside a UTF-8 sequence), with where each chunk ended. */
function joinBytes(tap: Tapped, max: number): { bytes: Buffer; ends: number[] } {
  const parts = tap.chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c));
  const ends: number[] = [];
  let at = 0;
  for (const p of parts) {
    at += p.length;
    ends.push(at);
  }
  let bytes: Buffer = Buffer.concat(parts, at);
  if (bytes.length > max) bytes = cutUtf8(bytes, max);
  return { bytes, ends };
}

/** The first `max` bytes, less a UTF-8 sequence the cut would split. */
function cutUtf8(bytes: Buffer, max: number): Buffer {
  let end = max;
  // Step back over continuation bytes (10xxxxxx) to the start of the cut sequence, if it is cut.
  let back = 0;
  while (back < 3 && end - back > 0 && (bytes[end - back - 1]! & 0xc0) === 0x80) back++;
  const lead = bytes[end - back - 1];
  if (lead !== undefined && lead >= 0xc0) {
    const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    if (back + 1 < need) end -= back + 1;
  }
  return bytes.subarray(0, end);
}

/** Where an event ends in `bytes` at or after `from` (just past its blank line), or -1. `cr`: the stream has CRLF line ends. */
function eventEnd(bytes: Buffer, from: number, cr: boolean): number {
  const lf = bytes.indexOf('\n\n', from);
  const crlf = cr ? bytes.indexOf('\r\n\r\n', from) : -1;
  if (lf < 0 && crlf < 0) return -1;
  if (crlf < 0 || (lf >= 0 && lf < crlf)) return lf + 2;
  return crlf + 4;
}

function storeBody(tap: Tapped, max: number, sse: boolean, redact: Redactor): StoredBody {
  const { bytes, ends } = joinBytes(tap, max);
  const truncated = tap.truncated;
  if (!isUtf8(bytes)) {
    // Not text: scrubbed as Latin-1 (one character per byte, so the bytes around a secret stay put).
    const scrubbed = Buffer.from(redact.text(bytes.toString('latin1'), truncated), 'latin1');
    return { text: scrubbed.toString('base64'), encoding: 'base64', size: tap.size, truncated };
  }
  if (!sse)
    return {
      text: redact.text(bytes.toString('utf8'), truncated),
      encoding: 'utf8',
      size: tap.size,
      truncated,
    };
  // An event's time is when the chunk holding its last byte arrived.
  const events: Array<[number, string]> = [];
  const cr = bytes.includes(13);
  let chunk = 0;
  let start = 0;
  while (start < bytes.length) {
    let end = eventEnd(bytes, start, cr);
    if (end < 0) end = bytes.length;
    while (chunk < ends.length - 1 && ends[chunk]! < end) chunk++;
    events.push([round(tap.times[chunk] ?? 0), bytes.subarray(start, end).toString('utf8')]);
    start = end;
  }
  // Redacted event by event only when the whole holds something to redact (rarely).
  const whole = bytes.toString('utf8');
  if (redact.text(whole, truncated) !== whole)
    for (let i = 0; i < events.length; i++)
      events[i]![1] = redact.text(events[i]![1], truncated && i === events.length - 1);
  return { text: '', encoding: 'utf8', size: tap.size, truncated, sse: events };
}

const isSse = (headers: Record<string, unknown> | undefined) =>
  String(headers?.['content-type'] ?? '').startsWith('text/event-stream');

/** The document to store for a finished capture. `secrets`: the values to redact wherever they appear. */
export function toStoredCapture(p: PendingCapture, secrets: Iterable<string | undefined>): StoredCapture {
  const c = p.capture;
  const max = c.maxBytes;
  const redact = new Redactor([
    ...secrets,
    ...credentialsIn(c.client.headers),
    ...credentialsIn(c.upstreamRequest?.headers),
  ]);
  const body = (bytes: Uint8Array | string | undefined): StoredBody | null => {
    if (bytes === undefined) return null;
    const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length;
    return storeBody({ chunks: [bytes], times: [0], size, truncated: size > max }, max, false, redact);
  };

  const up = c.upstreamRequest;
  const ans = c.upstreamResponse;
  const upstreamResponse: StoredPart | null = ans
    ? {
        status: ans.status,
        t: round(ans.t),
        headers: redact.headers(ans.headers),
        body: storeBody(ans.body, max, isSse(ans.headers), redact),
      }
    : null;
  const head = c.responseHead;
  const ub = upstreamResponse?.body;
  // A pass-through wrote the upstream's own chunks: the same body, stored once.
  const passedThrough = ub && ans && sameChunks(ans.body.chunks, c.response.chunks);
  let responseBody: StoredBody = passedThrough
    ? {
        text: '',
        encoding: ub.encoding,
        size: c.response.size,
        truncated: c.response.truncated,
        same_as_upstream: true,
      }
    : storeBody(c.response, max, isSse(head?.headers), redact);
  if (ub && !passedThrough && sameBody(ub, responseBody))
    responseBody = { ...responseBody, text: '', sse: undefined, same_as_upstream: true };
  const response: StoredPart | null =
    head || c.response.size > 0
      ? {
          status: head?.status ?? null,
          headers: redact.headers(head?.headers as Record<string, unknown>),
          body: responseBody,
        }
      : null;

  let agent: StoredDoc['agent'] = null;
  if (c.agent) {
    agent = {
      messages: c.agent.messages.map((m, i) => [round(c.agent!.times[i]!), redact.text(m)]),
      size: c.agent.size,
      truncated: c.agent.size > c.agent.kept,
    };
  }

  let translated: unknown = null;
  if (c.translated) {
    try {
      translated = JSON.parse(redact.text(JSON.stringify(c.translated)));
    } catch {
      translated = null;
    }
  }

  const doc: StoredDoc = {
    v: 1,
    id: p.id,
    ts: p.ts,
    mode: p.mode,
    format: p.format,
    truncated: false,
    client_request: {
      method: c.client.method,
      url: redact.text(c.client.url),
      headers: redact.headers(c.client.headers),
      body: body(c.client.body),
    },
    translated_request: translated,
    upstream_request: up
      ? {
          method: up.method,
          url: redact.text(up.url),
          t: round(up.t),
          headers: redact.headers(up.headers),
          body: body(up.body),
        }
      : null,
    upstream_attempts: c.attempts.map((a) => ({ t: round(a.t), status: a.status })),
    upstream_response: upstreamResponse,
    agent,
    response,
  };
  doc.truncated =
    [doc.client_request, doc.upstream_request, doc.upstream_response, doc.response].some(
      (part) => part?.body?.truncated,
    ) ||
    (agent?.truncated ?? false);
  const text = JSON.stringify(doc);
  return { id: p.id, ts: p.ts, size_bytes: Buffer.byteLength(text), truncated: doc.truncated, doc: text };
}

function sameChunks(a: ReadonlyArray<Uint8Array | string>, b: ReadonlyArray<Uint8Array | string>): boolean {
  return a.length > 0 && a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameBody(a: StoredBody, b: StoredBody): boolean {
  if (a.encoding !== b.encoding || a.size !== b.size || a.text !== b.text) return false;
  if (!a.sse || !b.sse) return !a.sse && !b.sse;
  return a.sse.length === b.sse.length && a.sse.every((e, i) => e[1] === b.sse![i]![1]);
}

/** One SSE event's name and data, from its raw text. */
export function parseEvent(raw: string): { event: string; data: string } {
  let event = 'message';
  const data: string[] = [];
  for (const line of raw.split(/\r\n|\r|\n/)) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  return { event, data: data.join('\n') };
}

function servedBody(
  b: StoredBody | null,
  upstream: StoredBody | null,
): { body: CapturedBody | null; events?: CapturedEvent[] } {
  if (!b) return { body: null };
  const src = b.same_as_upstream && upstream ? upstream : b;
  const { text, encoding, size, truncated } = src;
  if (!src.sse) return { body: { text, encoding, size, truncated } };
  return {
    body: { text: src.sse.map((e) => e[1]).join(''), encoding, size, truncated },
    // A stream's blank keep-alive lines and comments are in the text, not in the events.
    events: src.sse
      .map(([t, raw]) => ({ t, ...parseEvent(raw) }))
      .filter((e, i) => e.data !== '' || /^event:/m.test(src.sse![i]![1])),
  };
}

function servedPart(p: StoredPart | null, upstream: StoredBody | null = null): CapturedPart | null {
  if (!p) return null;
  const { body, ...head } = p;
  return { ...head, ...servedBody(body, upstream) };
}

/** The capture as the logs API serves it, from its stored document. */
export function fromStoredDoc(text: string): Capture {
  const d = JSON.parse(text) as StoredDoc;
  const upstreamBody = d.upstream_response?.body ?? null;
  let agent: CapturedAgent | null = null;
  if (d.agent) {
    agent = {
      size: d.agent.size,
      truncated: d.agent.truncated,
      messages: d.agent.messages.map(([t, m]) => {
        try {
          return { t, message: JSON.parse(m) as unknown };
        } catch {
          return { t, message: m };
        }
      }),
    };
  }
  return {
    id: d.id,
    ts: d.ts,
    mode: d.mode,
    format: d.format,
    truncated: d.truncated,
    client_request: servedPart(d.client_request)!,
    translated_request: d.translated_request,
    upstream_request: servedPart(d.upstream_request),
    upstream_attempts: d.upstream_attempts ?? [],
    upstream_response: servedPart(d.upstream_response),
    agent,
    response: servedPart(d.response, upstreamBody),
  };
}
