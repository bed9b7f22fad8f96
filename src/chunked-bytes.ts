/**
 * A request body as the chunks it arrived in. Joined into one buffer, a large body was a second
 * allocation of its size for every request, and on this kind of machine a fresh one: glibc hands
 * freed memory back to the system, so joining a 150 KB body paid its page faults each time, 120–240
 * µs where the copy alone is ~15 (docs/performance.md, sixteenth session). The body's reader, parser
 * and patcher read it in place; what goes upstream is its chunks.
 */
import { StringDecoder } from 'node:string_decoder';

export class ChunkedBytes {
  readonly length: number;
  /** Where each chunk starts in the body. */
  private readonly starts: number[];
  /** The chunk of the last lookup: reads mostly stay near it. */
  private last = 0;

  constructor(readonly chunks: readonly Buffer[]) {
    this.starts = new Array(chunks.length);
    let at = 0;
    for (let i = 0; i < chunks.length; i++) {
      this.starts[i] = at;
      at += chunks[i]!.length;
    }
    this.length = at;
  }

  /** The byte at `i`, undefined outside the body. */
  at(i: number): number | undefined {
    if (this.chunks.length === 1) return this.chunks[0]![i];
    if (i < 0 || i >= this.length) return undefined;
    const c = this.chunkOf(i);
    return this.chunks[c]![i - this.starts[c]!];
  }

  /** The bytes from `from` to `to` decoded as UTF-8, a character split between chunks included. */
  text(from: number, to: number): string {
    if (this.chunks.length === 1) return this.chunks[0]!.toString('utf8', from, to);
    const parts = this.slices(from, to);
    if (parts.length === 1) return parts[0]!.toString('utf8');
    const decoder = new StringDecoder('utf8');
    let out = '';
    for (const p of parts) out += decoder.write(p);
    return out + decoder.end();
  }

  /** The bytes from `from` to `to` as views of the chunks (no copy). */
  slices(from: number, to: number): Buffer[] {
    if (from >= to) return [];
    if (this.chunks.length === 1) return [this.chunks[0]!.subarray(from, to)];
    const out: Buffer[] = [];
    for (let c = this.chunkOf(from); c < this.chunks.length && this.starts[c]! < to; c++) {
      const start = this.starts[c]!;
      out.push(
        this.chunks[c]!.subarray(Math.max(0, from - start), Math.min(this.chunks[c]!.length, to - start)),
      );
    }
    return out;
  }

  /** Where `needle` first appears at or after `from`, ending by `to`; -1 where it does not. */
  indexOf(needle: Buffer, from: number, to: number): number {
    if (this.chunks.length === 1) return this.chunks[0]!.subarray(0, to).indexOf(needle, from);
    for (let c = this.chunkOf(Math.max(0, from)); c < this.chunks.length && this.starts[c]! < to; c++) {
      const start = this.starts[c]!;
      const chunk = this.chunks[c]!;
      const at = chunk
        .subarray(0, Math.min(chunk.length, to - start))
        .indexOf(needle, Math.max(0, from - start));
      if (at !== -1) return start + at;
      // A match across this chunk's end: its last bytes and what follows.
      const tail = Math.max(from, start + chunk.length - needle.length + 1);
      const across = Buffer.concat(this.slices(tail, Math.min(to, tail + 2 * needle.length - 2)));
      const there = across.indexOf(needle);
      if (there !== -1) return tail + there;
    }
    return -1;
  }

  /** The body in one buffer: the only chunk, or a copy of all (request capture keeps it so). */
  whole(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
  }

  private chunkOf(i: number): number {
    let c = this.last;
    // Backwards too (a patch steps back over spaces), without starting again from the first chunk.
    while (c > 0 && this.starts[c]! > i) c--;
    while (c + 1 < this.chunks.length && this.starts[c + 1]! <= i) c++;
    this.last = c;
    return c;
  }
}
