/**
 * Reads usage, model and stop reason off an Anthropic response without touching it: the API
 * backend feeds it the same bytes it has just written to the client (SSE or JSON).
 */
import { mergeUsage } from './accumulate.ts';
import { SseReader } from './sse.ts';
import type { Message, Usage } from './types.ts';

export interface TapResult {
  model?: string;
  usage?: Usage;
  stopReason?: string;
  /** An in-stream `error` event's type (e.g. `overloaded_error`). */
  errorType?: string;
}

const LF = 0x0a;
const CR = 0x0d;
/** Events that carry no usage: their first line is looked at, the rest never decoded. Most of a stream is these. */
const SKIPPED = ['content_block_delta', 'content_block_start', 'content_block_stop', 'ping'].map((t) =>
  Buffer.from(`event: ${t}\n`),
);
/** Past this, an event still unfinished is not worth holding; the tap gives up (the client is unaffected). */
const MAX_EVENT_BYTES = 16 * 1024 * 1024;

/**
 * For `text/event-stream` bodies: parses only the events that carry usage. It sits on the
 * pass-through path of every stream, so it works on bytes: events are cut at blank lines and one
 * whose first line names a delta (or a ping, a block start or stop) is passed over undecoded; only
 * message_start, message_delta, error and anything unexpected have their fields read (`eventFields`).
 * Byte loops in JS, not Buffer's `indexOf(buffer)`/`compare`: their native calls cost more than
 * the few bytes they look at. A stream framed with CR (SSE allows it, the API does not send it)
 * goes through the SSE parser whole, made only then: a parser and its UTF-8 decoder held by every
 * open stream were ~1 KB of each one's heap (docs/performance.md, fourteenth session).
 */
export class SseUsageTap {
  private reader: SseReader | undefined;
  readonly result: TapResult = {};
  /** The bytes of the event not yet ended by a blank line. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private mode: 'bytes' | 'parser' | 'off' = 'bytes';
  /** The next event is the stream's first (a byte-order mark may lead it). */
  private first = true;

  push(chunk: Uint8Array): void {
    if (this.mode === 'off') return;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    if (this.mode === 'bytes' && buf.includes(CR)) {
      this.mode = 'parser';
      this.reader = new SseReader();
      this.parse(...this.takePending());
    }
    if (this.mode === 'parser') {
      this.parse(buf);
      return;
    }
    let start = 0;
    if (this.pendingBytes > 0) {
      const end = blankLine(buf, 0, this.lastPendingByte() === LF);
      if (end === -1) {
        this.hold(buf);
        return;
      }
      const held = this.takePending();
      if (end > 0) held.push(buf.subarray(0, end));
      const whole = Buffer.concat(held);
      this.event(whole, 0, whole.length);
      start = end + 1;
    }
    for (let end = blankLine(buf, start, false); end !== -1; end = blankLine(buf, start, false)) {
      this.event(buf, start, end);
      start = end + 1;
    }
    if (start < buf.length) this.hold(buf.subarray(start));
  }

  end(): TapResult {
    if (this.mode === 'off') return this.result;
    // A last event not followed by a blank line still counts (the parser's end() closes it).
    if (this.pendingBytes > 0) {
      const whole = Buffer.concat(this.takePending());
      this.event(whole, 0, whole.length);
    }
    if (this.reader) for (const ev of this.reader.end()) this.take(ev.event, ev.data);
    return this.result;
  }

  /** One event: `buf[start, end)`, its lines each ending in LF, without the blank line. */
  private event(buf: Buffer, start: number, end: number): void {
    const first = this.first;
    this.first = false;
    if (end - start <= 1) return; // an extra blank line
    for (const prefix of SKIPPED) if (startsWith(buf, start, end, prefix)) return;
    const ev = eventFields(buf, start, end, first);
    if (ev) this.take(ev.event, ev.data);
  }

  private parse(...bufs: Buffer[]): void {
    const reader = this.reader!;
    for (const b of bufs) {
      for (const ev of reader.push(b)) this.take(ev.event, ev.data);
    }
  }

  private hold(bytes: Buffer): void {
    this.pendingBytes += bytes.length;
    if (this.pendingBytes > MAX_EVENT_BYTES) {
      this.mode = 'off';
      this.pending = [];
      return;
    }
    this.pending.push(bytes);
  }

  private takePending(): Buffer[] {
    const held = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    return held;
  }

  private lastPendingByte(): number | undefined {
    const last = this.pending[this.pending.length - 1];
    return last?.[last.length - 1];
  }

  private take(event: string | undefined, data: string): void {
    if (event !== 'message_start' && event !== 'message_delta' && event !== 'error') return;
    let ev: Record<string, any>;
    try {
      ev = JSON.parse(data);
    } catch {
      return; // the client gets the bytes as they are; a broken event just isn't counted
    }
    const r = this.result;
    if (event === 'message_start' && ev.message) {
      r.model = ev.message.model;
      r.usage = { ...ev.message.usage };
    } else if (event === 'message_delta') {
      if (ev.usage) {
        r.usage ??= { input_tokens: 0, output_tokens: 0 };
        mergeUsage(r.usage, ev.usage);
      }
      if (ev.delta?.stop_reason) r.stopReason = ev.delta.stop_reason;
    } else if (event === 'error') {
      r.errorType = ev.error?.type ?? 'api_error';
    }
  }
}

/**
 * The index of the LF that completes the blank line ending an event, looking from `from`; -1 if the
 * event goes on. `afterLf`: the byte before `from` (held from an earlier chunk) was an LF.
 */
function blankLine(buf: Buffer, from: number, afterLf: boolean): number {
  if (afterLf && buf[from] === LF) return from;
  for (let i = buf.indexOf(LF, from); i !== -1; i = buf.indexOf(LF, i + 1)) {
    if (buf[i + 1] === LF) return i + 1;
  }
  return -1;
}

const EVENT = Buffer.from('event:');
const DATA = Buffer.from('data:');
const SPACE = 0x20;
const BOM = [0xef, 0xbb, 0xbf];

/**
 * The `event` and `data` fields of one LF-framed event, `buf[start, end)` (each line ending in LF),
 * read as the SSE spec says: one space after the colon is dropped, `data` lines join with LF, other
 * fields and comments are ignored. No data line, no event (the spec dispatches none).
 */
export function eventFields(
  buf: Buffer,
  start: number,
  end: number,
  first: boolean,
): { event?: string; data: string } | undefined {
  if (
    first &&
    end - start >= 3 &&
    buf[start] === BOM[0] &&
    buf[start + 1] === BOM[1] &&
    buf[start + 2] === BOM[2]
  )
    start += 3;
  let event: string | undefined;
  let data: string | undefined;
  for (let line = start; line < end; ) {
    let eol = buf.indexOf(LF, line);
    if (eol === -1 || eol > end) eol = end;
    if (startsWith(buf, line, eol, DATA)) {
      const from = line + DATA.length + (buf[line + DATA.length] === SPACE ? 1 : 0);
      const text = buf.toString('utf8', from, eol);
      data = data === undefined ? text : `${data}\n${text}`;
    } else if (startsWith(buf, line, eol, EVENT)) {
      const from = line + EVENT.length + (buf[line + EVENT.length] === SPACE ? 1 : 0);
      event = buf.toString('utf8', from, eol);
    }
    line = eol + 1;
  }
  return data === undefined ? undefined : { event: event || undefined, data };
}

function startsWith(buf: Buffer, start: number, end: number, prefix: Buffer): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[start + i] !== prefix[i]) return false;
  return true;
}

/** For JSON bodies: collects the bytes and parses once at the end. */
export class JsonUsageTap {
  private chunks: Uint8Array[] = [];
  private size = 0;
  /** Non-streaming answers are small; past this we stop collecting rather than hold a huge body. */
  private static readonly LIMIT = 8 * 1024 * 1024;

  push(chunk: Uint8Array): void {
    this.size += chunk.length;
    if (this.size <= JsonUsageTap.LIMIT) this.chunks.push(chunk);
  }

  end(): TapResult {
    if (this.size > JsonUsageTap.LIMIT) return {};
    try {
      const msg = JSON.parse(Buffer.concat(this.chunks).toString('utf8')) as Message;
      return fromMessage(msg);
    } catch {
      return {};
    } finally {
      this.chunks = [];
    }
  }
}

export function fromMessage(msg: Message): TapResult {
  return { model: msg.model, usage: msg.usage, stopReason: msg.stop_reason ?? undefined };
}
