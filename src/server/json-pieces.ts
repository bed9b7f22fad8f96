/**
 * A large JSON body parsed a piece at a time, its largest members not at all until read. A string
 * of 128 KB or more is a large object to V8, given fresh pages of its own: decoding a 150 KB agent
 * request to text cost ~650 µs here, against ~12 µs for 127 KB (docs/performance.md, fifteenth
 * session), before `JSON.parse` had read a byte.
 * The body scan (json-shape.ts) has already found where the top-level members are, and where the
 * items of an array member are: each member is decoded and parsed on its own, and a member of 128 KB
 * or more that is an array (an agent's `messages`) an item at a time. The result is what
 * `JSON.parse` of the whole gives; anything unusual (a `__proto__` key, bytes the pieces do not
 * account for, a piece that does not parse) answers undefined, and the caller parses the whole,
 * which also words the error for a body that is not JSON.
 *
 * A member of `unreadFrom` bytes or more is left as its bytes until something reads it
 * (body-bytes.ts, leaveUnread): Claude Code's conversation and tools go upstream as sent, never
 * parsed. Its structure is what the scan checked (strings closed, brackets matched, depth and size
 * within limits; an array's commas and items here); what is inside is JSON's business when it is
 * read — a 400 then — or the upstream's, which answers a body that is not JSON with a 400 of its own.
 */
import { leaveUnread } from '../body-bytes.ts';
import type { ChunkedBytes } from '../chunked-bytes.ts';
import { ProxyError } from '../errors.ts';
import {
  CLOSE_BRACE,
  CLOSE_BRACKET,
  COLON,
  COMMA,
  isSpace,
  OPEN_BRACE,
  OPEN_BRACKET,
} from '../json-bytes.ts';

/** Text this long is a large object to V8 (kMaxRegularHeapObjectSize). */
export const LARGE_TEXT = 128 * 1024;

/**
 * Members this large are left unread, in bodies of PIECES_FROM or more. Below these, parsing the
 * whole body at once costs less than its pieces' calls (a 60 KB agent request: 136 µs whole, 84 in
 * pieces, 24 with its tools and messages unread).
 */
export const UNREAD_FROM = 16 * 1024;
export const PIECES_FROM = 32 * 1024;

/**
 * Pieces cost a call each (~0.3 µs), the large text ~4.5 ns a byte: a body of many small pieces is
 * parsed whole. A request has a dozen top-level members; an array is taken an item at a time only if
 * its items average 256 bytes or more (a 512th of the large size), so a hostile array of a million
 * one-byte items is one parse, not a million.
 */
const MAX_MEMBERS = 256;

function onlySpace(bytes: ChunkedBytes, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isSpace(bytes.at(i))) return false;
  return true;
}

/**
 * `bytes` parsed from the structure the scan found (`topLevel` and `nested`, JsonShapeScanner's), or
 * undefined where only parsing the whole says what they hold.
 */
export function parseInPieces(
  bytes: ChunkedBytes,
  topLevel: readonly number[],
  nested: readonly number[],
  /** Array members this long are parsed an item at a time (smaller in the tests). */
  largeArray = LARGE_TEXT,
  /** Members this long are left unread until read (leaveUnread); never by default. */
  unreadFrom = Number.POSITIVE_INFINITY,
): Record<string, unknown> | undefined {
  const last = topLevel.length - 1;
  if (last < 1 || bytes.at(topLevel[0]!) !== OPEN_BRACE || bytes.at(topLevel[last]!) !== CLOSE_BRACE)
    return undefined;
  if (!onlySpace(bytes, 0, topLevel[0]!) || !onlySpace(bytes, topLevel[last]! + 1, bytes.length))
    return undefined;
  const out: Record<string, unknown> = {};
  if (last === 1) return onlySpace(bytes, topLevel[0]! + 1, topLevel[1]!) ? out : undefined;
  if (last % 2 !== 0 || last / 2 > MAX_MEMBERS) return undefined;
  let k = 0; // the first entry of `nested` not yet passed
  try {
    for (let m = 0; m < last / 2; m++) {
      const colon = topLevel[2 * m + 1]!;
      const end = topLevel[2 * m + 2]!;
      if (bytes.at(colon) !== COLON || (end !== topLevel[last] && bytes.at(end) !== COMMA)) return undefined;
      const key: unknown = JSON.parse(bytes.text(topLevel[2 * m]! + 1, colon));
      if (typeof key !== 'string' || key === '__proto__') return undefined;
      while (k < nested.length && nested[k]! < colon) k++;
      let j = k;
      while (j < nested.length && nested[j]! < end) j++;
      const from = k;
      const to = j;
      const inItems =
        end - colon > largeArray &&
        from < to &&
        (to - from - 1) * (largeArray / 512) <= end - colon &&
        bytes.at(nested[from]!) === OPEN_BRACKET &&
        onlySpace(bytes, colon + 1, nested[from]!);
      if (end - colon >= unreadFrom) {
        let first = colon + 1;
        while (first < end && isSpace(bytes.at(first))) first++;
        if (first === end) return undefined;
        if (
          bytes.at(first) === OPEN_BRACKET &&
          (from === to || nested[from] !== first || !isArray(bytes, nested, from, to, end))
        )
          return undefined;
        let valueEnd = end;
        while (isSpace(bytes.at(valueEnd - 1))) valueEnd--;
        // An array's `[`, commas and `]` (read in place: the parse below keeps `nested` anyway).
        const items = bytes.at(first) === OPEN_BRACKET ? { offsets: nested, from, to } : undefined;
        leaveUnread(out, key, { bytes, from: first, to: valueEnd, items }, () =>
          read(key, () =>
            inItems ? arrayInPieces(bytes, nested, from, to, end) : JSON.parse(bytes.text(colon + 1, end)),
          ),
        );
      } else
        out[key] = inItems
          ? arrayInPieces(bytes, nested, from, to, end)
          : JSON.parse(bytes.text(colon + 1, end));
      k = j;
    }
  } catch {
    return undefined;
  }
  return out;
}

/** An unread member's value, its bytes' JSON error a 400 in the client's format when they are not JSON. */
function read(key: string, parse: () => unknown): unknown {
  try {
    return parse();
  } catch (err) {
    throw ProxyError.invalid(`The request body is not valid JSON: in "${key}", ${(err as Error).message}.`);
  }
}

/**
 * Whether `nested[from..to)` are the `[`, commas and `]` of an array ending (spaces aside) before
 * `end`, each item more than spaces: what is left to check is inside the items.
 */
function isArray(
  bytes: ChunkedBytes,
  nested: readonly number[],
  from: number,
  to: number,
  end: number,
): boolean {
  const close = nested[to - 1]!;
  if (to - from < 2 || bytes.at(close) !== CLOSE_BRACKET || !onlySpace(bytes, close + 1, end)) return false;
  if (to - from === 2 && onlySpace(bytes, nested[from]! + 1, close)) return true; // []
  for (let i = from; i < to - 1; i++) {
    if (i > from && bytes.at(nested[i]!) !== COMMA) return false;
    if (onlySpace(bytes, nested[i]! + 1, nested[i + 1]!)) return false;
  }
  return true;
}

/** The array whose `[`, commas and `]` are `nested[from..to)`, ending (spaces aside) before `end`. */
function arrayInPieces(
  bytes: ChunkedBytes,
  nested: readonly number[],
  from: number,
  to: number,
  end: number,
): unknown[] {
  if (!isArray(bytes, nested, from, to, end)) throw new SyntaxError('not an array');
  const items: unknown[] = [];
  if (to - from === 2 && onlySpace(bytes, nested[from]! + 1, nested[from + 1]!)) return items;
  for (let i = from; i < to - 1; i++) items.push(JSON.parse(bytes.text(nested[i]! + 1, nested[i + 1]!)));
  return items;
}
