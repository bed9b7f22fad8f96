/**
 * A parsed JSON body's bytes as the client sent them, so that what goes upstream is those bytes
 * wherever ccproxy left the request alone. Re-serializing a 150 KB agent request, and copying the
 * text to the socket, cost ~0.7 ms of CPU a request here (docs/performance.md, fourteenth session),
 * where a reverse proxy's job is to pass the bytes along. Every change ccproxy makes to a request
 * replaces a top-level field (the model, the system prompt, the messages) rather than editing one in
 * place, so comparing the top level with what was parsed finds every change.
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
} from './json-bytes.ts';

/** The bytes, and the top level as parsed from them. */
interface Sent {
  bytes: Buffer;
  keys: string[];
  values: unknown[];
}

const asSent = new WeakMap<object, Sent>();

/** Remember `bytes` as what `value` (a JSON object, just parsed from them) was sent as. */
export function rememberBytes(value: unknown, bytes: Buffer): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    asSent.set(value, { bytes, keys: Object.keys(value), values: Object.values(value) });
}

/**
 * What to send for `value`: the client's bytes if nothing changed; those bytes with the changed
 * top-level fields patched in (`patchTopLevel`) if fields were only replaced or added; else the
 * value serialized whole.
 */
export function jsonBody(value: object): Buffer | string {
  const sent = asSent.get(value);
  const changes = sent && changesSince(value as Record<string, unknown>, sent);
  if (!sent || !changes) return JSON.stringify(value);
  if (changes.size === 0) return sent.bytes;
  return patchTopLevel(sent.bytes, changes) ?? JSON.stringify(value);
}

/**
 * The top-level fields replaced or added since `sent`, each as its JSON; undefined where only a
 * whole serialization says the same: a field taken out, or one JSON leaves out (`undefined`).
 */
function changesSince(record: Record<string, unknown>, sent: Sent): Map<string, string> | undefined {
  const changes = new Map<string, string>();
  const change = (key: string): boolean => {
    const text = JSON.stringify(record[key]);
    if (text === undefined) return false;
    changes.set(key, text);
    return true;
  };
  for (let i = 0; i < sent.keys.length; i++) {
    const key = sent.keys[i]!;
    if (!Object.hasOwn(record, key)) return undefined;
    if (record[key] !== sent.values[i] && !change(key)) return undefined;
  }
  for (const key of Object.keys(record))
    if (!changes.has(key) && !sent.keys.includes(key) && !change(key)) return undefined;
  return changes;
}

class Unpatchable extends Error {}

const isSpace = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * `bytes`, a JSON object (valid: it was parsed), with the top-level members named in `changes` given
 * the JSON text there as their value: a member present once is replaced in place, one absent is
 * added first. Undefined where a patch could say something else than the parsed value would: a key
 * changed appears twice (JSON.parse keeps the last), or a top-level key is written with an escape.
 */
export function patchTopLevel(bytes: Buffer, changes: ReadonlyMap<string, string>): Buffer | undefined {
  try {
    return patch(bytes, changes);
  } catch (err) {
    if (err instanceof Unpatchable) return undefined;
    throw err;
  }
}

function patch(bytes: Buffer, changes: ReadonlyMap<string, string>): Buffer {
  const n = bytes.length;
  let i = skipSpace(bytes, 0);
  if (bytes[i] !== OPEN_BRACE) throw new Unpatchable();
  const open = i;
  i++;
  const parts: Buffer[] = [];
  let copied = 0;
  const seen = new Set<string>();
  let members = 0;
  for (;;) {
    i = skipSpace(bytes, i);
    if (bytes[i] === CLOSE_BRACE) break;
    if (bytes[i] !== QUOTE) throw new Unpatchable();
    const keyEnd = stringEnd(bytes, i);
    if (bytes.subarray(i, keyEnd).includes(BACKSLASH)) throw new Unpatchable();
    const key = bytes.toString('utf8', i + 1, keyEnd - 1);
    i = skipSpace(bytes, keyEnd);
    if (bytes[i] !== COLON) throw new Unpatchable();
    const valueStart = skipSpace(bytes, i + 1);
    const valueEnd = valueEndAt(bytes, valueStart);
    members++;
    const text = changes.get(key);
    if (text !== undefined) {
      if (seen.has(key)) throw new Unpatchable();
      seen.add(key);
      parts.push(bytes.subarray(copied, valueStart), Buffer.from(text));
      copied = valueEnd;
    }
    i = skipSpace(bytes, valueEnd);
    if (bytes[i] === COMMA) i++;
    else if (bytes[i] === CLOSE_BRACE) break;
    else throw new Unpatchable();
    if (i >= n) throw new Unpatchable();
  }
  parts.push(bytes.subarray(copied));
  const added = [...changes].filter(([key]) => !seen.has(key));
  if (added.length > 0) {
    const text = added.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',');
    // Right after the opening brace, which the first part (from byte 0) always holds.
    const first = parts[0]!;
    parts.splice(
      0,
      1,
      first.subarray(0, open + 1),
      Buffer.from(members > 0 ? `${text},` : text),
      first.subarray(open + 1),
    );
  }
  return Buffer.concat(parts);
}

function skipSpace(bytes: Buffer, i: number): number {
  while (isSpace(bytes[i])) i++;
  return i;
}

/** The index after the closing quote of the string that opens at `i`. */
function stringEnd(bytes: Buffer, i: number): number {
  for (let j = i + 1; j < bytes.length; j++) {
    const c = bytes[j];
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
  throw new Unpatchable();
}

/** The index just after the value that starts at `i` (a member of the top-level object). */
function valueEndAt(bytes: Buffer, i: number): number {
  let depth = 0;
  let j = i;
  for (; j < bytes.length; j++) {
    const c = bytes[j];
    if (c === QUOTE) {
      j = stringEnd(bytes, j) - 1;
      if (depth === 0) return j + 1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 0) break; // the top-level object's own brace: a number or literal ended here
      depth--;
      if (depth === 0) return j + 1;
    } else if (depth === 0 && (c === COMMA || isSpace(c))) break;
  }
  if (j === i) throw new Unpatchable();
  return j;
}
