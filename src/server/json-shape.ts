/**
 * The shape of a JSON body, read from its raw bytes before anything parses it. `JSON.parse` of a
 * hostile body is slow long before it is large: 30 MB nested 15 million levels deep held the event
 * loop for 11 s and took 2.5 GB, and 32 MB of `{},{},…` (11 million empty objects) 12 s and 1 GB.
 * One linear pass over the bytes, skipping the inside of strings, counts nesting depth and
 * structural elements as chunks arrive, so such a body is refused while it is still being received.
 * The translators also walk requests recursively; the depth bound keeps them off the stack limit.
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

/** Fed a body chunk by chunk; says which limit the bytes so far exceed, if any. State spans chunks. */
export class JsonShapeScanner {
  private depth = 0;
  private elements = 0;
  private inString = false;
  /** The previous byte (possibly in the previous chunk) was a backslash inside a string. */
  private escaped = false;

  constructor(
    private readonly limits: JsonShapeLimits = { maxDepth: MAX_JSON_DEPTH, maxElements: MAX_JSON_ELEMENTS },
  ) {}

  feed(bytes: Uint8Array): ShapeExcess | undefined {
    const { maxDepth, maxElements } = this.limits;
    const n = bytes.length;
    let i = 0;
    if (this.escaped && n > 0) {
      this.escaped = false;
      i = 1;
    }
    while (i < n) {
      if (this.inString) {
        for (; i < n; i++) {
          const c = bytes[i];
          if (c === QUOTE) {
            this.inString = false;
            break;
          }
          if (c === BACKSLASH) {
            if (i + 1 === n) {
              this.escaped = true;
              return undefined;
            }
            i++;
          }
        }
        i++;
        continue;
      }
      const c = bytes[i++];
      switch (c) {
        case QUOTE:
          this.inString = true;
          break;
        case OPEN_BRACE:
        case OPEN_BRACKET:
          if (++this.depth > maxDepth) return 'depth';
          if (++this.elements > maxElements) return 'elements';
          break;
        case CLOSE_BRACE:
        case CLOSE_BRACKET:
          if (this.depth > 0) this.depth--;
          break;
        case COMMA:
        case COLON:
          if (++this.elements > maxElements) return 'elements';
          break;
      }
    }
    return undefined;
  }
}
