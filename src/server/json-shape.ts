/**
 * The shape of a JSON body, read from its raw bytes before anything parses it. `JSON.parse` of a
 * hostile body is slow long before it is large: 30 MB nested 15 million levels deep held the event
 * loop for 11 s and took 2.5 GB, and 32 MB of `{},{},…` (11 million empty objects) 12 s and 1 GB.
 * One linear pass over the bytes, skipping the inside of strings, counts nesting depth and
 * structural elements as chunks arrive, so such a body is refused while it is still being received.
 * The translators also walk requests recursively; the depth bound keeps them off the stack limit.
 * The same pass notes where a top-level object's members are, so that a field ccproxy changes can be
 * patched into the client's bytes without reading them again (body-bytes.ts), and a large body parsed
 * a member at a time (json-pieces.ts).
 *
 * The scan never validates: a malformed body passes through to `JSON.parse`, which says what is wrong.
 * Bytes are safe to scan one by one: in UTF-8 no byte of a multi-byte character is ASCII.
 */

import {
  BACKSLASH,
  CLOSE_BRACE,
  CLOSE_BRACKET,
  COLON,
  COMMA,
  OPEN_BRACE,
  OPEN_BRACKET,
  QUOTE,
} from '../json-bytes.ts';

/** Deeper than any real request (the deepest are JSON schemas in tool definitions, a few dozen). */
export const MAX_JSON_DEPTH = 256;

/**
 * Structural elements (`{`, `[`, `,`, `:` outside strings: about two per object member, one per array
 * item). A long agent conversation has tens of thousands; a million parses in well under a second.
 */
export const MAX_JSON_ELEMENTS = 1_000_000;

export interface JsonShapeLimits {
  maxDepth: number;
  maxElements: number;
}

export type ShapeExcess = 'depth' | 'elements';

/** stringEnd: the chunk ended inside the string. */
const ENDS_INSIDE = -1;
/** stringEnd: the chunk ended inside the string, on a backslash whose escaped byte comes next. */
const ENDS_ESCAPED = -2;
/** Bytes looked at one by one before jumping ahead with `indexOf`. */
const STRETCH = 32;

/** Fed a body chunk by chunk; says which limit the bytes so far exceed, if any. State spans chunks. */
export class JsonShapeScanner {
  private depth = 0;
  private elements = 0;
  private inString = false;
  /** The previous byte (possibly in the previous chunk) was a backslash inside a string. */
  private escaped = false;
  /** Bytes fed before the current chunk. */
  private offset = 0;
  /**
   * In the current chunk, the first quote and the first backslash at or after where each was last
   * searched for (n: none): a long string with many escapes is searched once, not once an escape.
   */
  private quote = -1;
  private backslash = -1;
  /**
   * Where a top-level object's members are, by the offsets of its structure: its `{`, then each
   * member's `:` and the `,` (or, for the last, the `}`) after its value — so a key lies between a
   * separator and the next `:`, its value between that `:` and the next separator. Empty when the
   * body is not an object. Trusted only once the body parsed (body-bytes.ts patches values there;
   * json-pieces.ts checks every piece it parses).
   */
  readonly topLevel: number[] = [];
  /**
   * One level down, inside a top-level object: the `[` or `{` opening a member's value, each `,` in
   * it and its closing bracket — for an array, where its items are (json-pieces.ts parses a large
   * one an item at a time).
   */
  readonly nested: number[] = [];

  constructor(
    private readonly limits: JsonShapeLimits = { maxDepth: MAX_JSON_DEPTH, maxElements: MAX_JSON_ELEMENTS },
  ) {}

  feed(chunk: Uint8Array): ShapeExcess | undefined {
    const bytes = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const { maxDepth, maxElements } = this.limits;
    const n = bytes.length;
    const base = this.offset - 1; // the offset of the byte just read, `bytes[i - 1]`, is base + i
    this.offset += n;
    this.quote = -1;
    this.backslash = -1;
    let i = 0;
    if (this.escaped && n > 0) {
      this.escaped = false;
      i = 1;
    }
    if (this.inString) {
      const end = this.stringEnd(bytes, i, n);
      if (end < 0) {
        this.escaped = end === ENDS_ESCAPED;
        return undefined;
      }
      this.inString = false;
      i = end;
    }
    while (i < n) {
      const c = bytes[i++];
      switch (c) {
        case QUOTE: {
          const end = this.stringEnd(bytes, i, n);
          if (end < 0) {
            this.inString = true;
            this.escaped = end === ENDS_ESCAPED;
            return undefined;
          }
          i = end;
          break;
        }
        case OPEN_BRACE:
        case OPEN_BRACKET:
          if (this.depth === 0 && c === OPEN_BRACE) this.topLevel.push(base + i);
          else if (this.depth === 1 && this.topLevel.length > 0) this.nested.push(base + i);
          if (++this.depth > maxDepth) return 'depth';
          if (++this.elements > maxElements) return 'elements';
          break;
        case CLOSE_BRACE:
        case CLOSE_BRACKET:
          if (this.depth === 1 && this.topLevel.length > 0) this.topLevel.push(base + i);
          else if (this.depth === 2 && this.topLevel.length > 0) this.nested.push(base + i);
          if (this.depth > 0) this.depth--;
          break;
        case COMMA:
        case COLON:
          if (this.depth === 1 && this.topLevel.length > 0) this.topLevel.push(base + i);
          else if (this.depth === 2 && c === COMMA && this.topLevel.length > 0) this.nested.push(base + i);
          if (++this.elements > maxElements) return 'elements';
          break;
      }
    }
    return undefined;
  }

  /**
   * The index just past the closing quote of the string whose inside starts at `bytes[i]`, or where
   * the chunk ended within it. Short stretches (keys, short values, runs of escapes) go byte by byte;
   * past that, `indexOf` jumps to the next quote (a native search, ~20 ns whatever the distance,
   * against ~1 ns a byte for the loop): in an agent's request most bytes are inside long strings.
   * A backslash before that quote is an escape, skipped, and the search goes on after it.
   */
  private stringEnd(bytes: Buffer, i: number, n: number): number {
    for (;;) {
      let escapes = false;
      const stop = Math.min(n, i + STRETCH);
      for (; i < stop; i++) {
        const c = bytes[i];
        if (c === QUOTE) return i + 1;
        if (c === BACKSLASH) {
          if (i + 1 === n) return ENDS_ESCAPED;
          i++;
          escapes = true;
        }
      }
      if (i >= n) return ENDS_INSIDE;
      if (escapes) continue; // dense escapes: the loop is cheaper than a search per escape
      if (this.quote < i) {
        const at = bytes.indexOf(QUOTE, i);
        this.quote = at === -1 ? n : at;
      }
      const quote = this.quote;
      if (this.backslash < i) {
        const at = bytes.indexOf(BACKSLASH, i);
        this.backslash = at === -1 ? n : at;
      }
      const backslash = this.backslash;
      if (backslash >= quote) return quote === n ? ENDS_INSIDE : quote + 1; // equal only when both are n
      if (backslash + 1 === n) return ENDS_ESCAPED;
      i = backslash + 2;
    }
  }
}
