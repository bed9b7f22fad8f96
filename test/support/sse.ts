/**
 * SSE framing and the cutting of body bytes into socket writes. Pure: no I/O, no timers.
 * Framing is the real API's: `event: <type>\ndata: <json>\n\n`.
 */
import type { Delivery, SseEvent } from './types.ts';

export function sseEvent(data: Record<string, unknown>): SseEvent {
  return { event: String(data.type), data: JSON.stringify(data) };
}

export function encodeSse(ev: SseEvent): Buffer {
  return Buffer.from(`event: ${ev.event}\ndata: ${ev.data}\n\n`, 'utf8');
}

/** Cut a buffer after the first byte of every multi-byte UTF-8 character, so each one straddles two writes. */
export function splitInsideUtf8(buf: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    // A lead byte of a multi-byte sequence is 11xxxxxx; cutting right after it splits the character.
    if ((buf[i] & 0xc0) === 0xc0 && i + 1 < buf.length) {
      parts.push(buf.subarray(start, i + 1));
      start = i + 1;
    }
  }
  if (start < buf.length) parts.push(buf.subarray(start));
  return parts;
}

/** mulberry32: a tiny seeded PRNG so "random" split points are reproducible from the seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Turns body units (one SSE event, or a JSON body) into the writes a `Delivery.split` asks for.
 * `push` returns the writes ready now; `flush` returns what is left.
 */
export class Chunker {
  private pending: Buffer = Buffer.alloc(0);
  private readonly nextSize: (() => number) | undefined;

  constructor(private readonly split: NonNullable<Delivery['split']> = 'event') {
    if (typeof split === 'object' && 'every' in split) {
      const n = Math.max(1, Math.floor(split.every));
      this.nextSize = () => n;
    } else if (typeof split === 'object' && 'random' in split) {
      const rand = seededRandom(split.random);
      const max = Math.max(1, split.max ?? 64);
      this.nextSize = () => 1 + Math.floor(rand() * max);
    }
  }

  push(unit: Buffer): Buffer[] {
    if (this.split === 'event') return unit.length ? [unit] : [];
    if (this.split === 'utf8') return splitInsideUtf8(unit);
    this.pending = this.pending.length ? Buffer.concat([this.pending, unit]) : unit;
    if (this.split === 'whole' || !this.nextSize) return [];
    const out: Buffer[] = [];
    let size = this.nextSize();
    while (this.pending.length >= size) {
      out.push(this.pending.subarray(0, size));
      this.pending = this.pending.subarray(size);
      size = this.nextSize();
    }
    return out;
  }

  flush(): Buffer[] {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest.length ? [rest] : [];
  }
}
