/**
 * A large JSON body parsed a piece at a time. A string of 128 KB or more is a large object to V8,
 * given fresh pages of its own: decoding a 150 KB agent request to text cost ~650 µs here, against
 * ~12 µs for 127 KB (docs/performance.md, fifteenth session), before `JSON.parse` had read a byte.
 * The body scan (json-shape.ts) has already found where the top-level members are, and where the
 * items of an array member are: each member is decoded and parsed on its own, and a member of 128 KB
 * or more that is an array (an agent's `messages`) an item at a time. The result is what
 * `JSON.parse` of the whole gives; anything unusual (a `__proto__` key, bytes the pieces do not
 * account for, a piece that does not parse) answers undefined, and the caller parses the whole,
 * which also words the error for a body that is not JSON.
 */
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
 * Pieces cost a call each (~0.3 µs), the large text ~4.5 ns a byte: a body of many small pieces is
 * parsed whole. A request has a dozen top-level members; an array is taken an item at a time only if
 * its items average 256 bytes or more (a 512th of the large size), so a hostile array of a million
 * one-byte items is one parse, not a million.
 */
const MAX_MEMBERS = 256;

function onlySpace(bytes: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isSpace(bytes[i])) return false;
  return true;
}

/**
 * `bytes` parsed from the structure the scan found (`topLevel` and `nested`, JsonShapeScanner's), or
 * undefined where only parsing the whole says what they hold.
 */
export function parseInPieces(
  bytes: Buffer,
  topLevel: readonly number[],
  nested: readonly number[],
  /** Array members this long are parsed an item at a time (smaller in the tests). */
  largeArray = LARGE_TEXT,
): Record<string, unknown> | undefined {
  const last = topLevel.length - 1;
  if (last < 1 || bytes[topLevel[0]!] !== OPEN_BRACE || bytes[topLevel[last]!] !== CLOSE_BRACE)
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
      if (bytes[colon] !== COLON || (end !== topLevel[last] && bytes[end] !== COMMA)) return undefined;
      const key: unknown = JSON.parse(bytes.toString('utf8', topLevel[2 * m]! + 1, colon));
      if (typeof key !== 'string' || key === '__proto__') return undefined;
      while (k < nested.length && nested[k]! < colon) k++;
      let j = k;
      while (j < nested.length && nested[j]! < end) j++;
      out[key] =
        end - colon > largeArray &&
        k < j &&
        (j - k - 1) * (largeArray / 512) <= end - colon &&
        bytes[nested[k]!] === OPEN_BRACKET &&
        onlySpace(bytes, colon + 1, nested[k]!)
          ? arrayInPieces(bytes, nested, k, j, end)
          : JSON.parse(bytes.toString('utf8', colon + 1, end));
      k = j;
    }
  } catch {
    return undefined;
  }
  return out;
}

/** The array whose `[`, commas and `]` are `nested[from..to)`, ending (spaces aside) before `end`. */
function arrayInPieces(
  bytes: Buffer,
  nested: readonly number[],
  from: number,
  to: number,
  end: number,
): unknown[] {
  const close = nested[to - 1]!;
  if (to - from < 2 || bytes[close] !== CLOSE_BRACKET || !onlySpace(bytes, close + 1, end))
    throw new SyntaxError('not an array');
  const items: unknown[] = [];
  if (to - from === 2 && onlySpace(bytes, nested[from]! + 1, close)) return items;
  for (let i = from; i < to - 1; i++) {
    if (i > from && bytes[nested[i]!] !== COMMA) throw new SyntaxError('not an array');
    items.push(JSON.parse(bytes.toString('utf8', nested[i]! + 1, nested[i + 1]!)));
  }
  return items;
}
