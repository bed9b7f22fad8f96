/**
 * A parsed JSON body's bytes as the client sent them, so that what goes upstream is those bytes
 * wherever ccproxy left the request alone. Re-serializing a 150 KB agent request, and copying the
 * text to the socket, cost ~0.7 ms of CPU a request here (docs/performance.md, fourteenth session),
 * where a reverse proxy's job is to pass the bytes along. Every change ccproxy makes to a request
 * replaces a top-level field (the model, the system prompt, the messages) rather than editing one in
 * place, so comparing the top level with what was parsed finds every change.
 */

import { BACKSLASH, CLOSE_BRACE, COLON, COMMA, isSpace, OPEN_BRACE, QUOTE } from './json-bytes.ts';

/** The bytes, the top level as parsed from them, and where its members are in the bytes. */
interface Sent {
  bytes: Buffer;
  keys: string[];
  /** Each member's value, or its Unread while nothing has read it. */
  values: unknown[];
  separators: readonly number[];
}

const asSent = new WeakMap<object, Sent>();

/**
 * A member of a large body left as its bytes until something reads it (server/json-pieces.ts). The
 * API path forwards Claude Code's conversation and tools without looking inside them, and parsing
 * them was most of what such a request cost ccproxy (docs/performance.md, sixteenth session).
 */
class Unread {
  state: 'unread' | 'read' | 'replaced' = 'unread';
  value: unknown;
  constructor(
    /** The member's first byte (`[` for an array), for checks that need only its kind. */
    readonly first: number,
    readonly parse: () => unknown,
  ) {}

  /** Whether the member still says what its bytes say: not read, or read and not replaced since. */
  untouched(record: Record<string, unknown>, key: string): boolean {
    return this.state === 'unread' || (this.state === 'read' && record[key] === this.value);
  }
}

const unreadOf = new WeakMap<object, Map<string, Unread>>();

/**
 * Make `target[key]` a member parsed on first read (`parse`, which throws for bytes that are not
 * JSON) and replaced like any other by an assignment. `first` is its first byte.
 */
export function leaveUnread(
  target: Record<string, unknown>,
  key: string,
  first: number,
  parse: () => unknown,
): void {
  const u = new Unread(first, parse);
  const settle = (value: unknown) =>
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  Object.defineProperty(target, key, {
    get() {
      const value = u.parse();
      u.state = 'read';
      u.value = value;
      settle(value);
      return value;
    },
    set(value: unknown) {
      u.state = 'replaced';
      settle(value);
    },
    enumerable: true,
    configurable: true,
  });
  const members = unreadOf.get(target) ?? new Map<string, Unread>();
  unreadOf.set(target, members.set(key, u));
}

/** The first byte of `target[key]` if it is a member nothing has read yet (see leaveUnread). */
export function unreadFirstByte(target: object, key: string): number | undefined {
  const u = unreadOf.get(target)?.get(key);
  return u?.state === 'unread' ? u.first : undefined;
}

/**
 * Remember `bytes` as what `value` (a JSON object, just parsed from them) was sent as. `separators`
 * are the offsets of its top level's structure, as JsonShapeScanner's `topLevel` reads them while
 * the body arrives: a change is then patched in without reading the bytes again.
 */
export function rememberBytes(value: unknown, bytes: Buffer, separators: readonly number[]): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  const keys = Object.keys(value);
  const unread = unreadOf.get(value);
  const values = unread
    ? keys.map((k) => unread.get(k) ?? (value as Record<string, unknown>)[k])
    : Object.values(value);
  asSent.set(value, { bytes, keys, values, separators });
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
  return patchTopLevel(sent.bytes, sent.separators, changes) ?? JSON.stringify(value);
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
    const was = sent.values[i];
    const same = was instanceof Unread ? was.untouched(record, key) : record[key] === was;
    if (!same && !change(key)) return undefined;
  }
  for (const key of Object.keys(record))
    if (!changes.has(key) && !sent.keys.includes(key) && !change(key)) return undefined;
  return changes;
}

/**
 * `bytes`, a JSON object (valid: it was parsed) whose top level's structure is at `separators`, with
 * the top-level members named in `changes` given the JSON text there as their value: a member
 * present once is replaced in place, one absent is added first. Undefined where a patch could say
 * something else than the parsed value would: a key changed appears twice (JSON.parse keeps the
 * last), or a top-level key is written with an escape.
 */
export function patchTopLevel(
  bytes: Buffer,
  separators: readonly number[],
  changes: ReadonlyMap<string, string>,
): Buffer | undefined {
  const last = separators.length - 1;
  // `{`, then a `:` and a `,` or the closing `}` for each member.
  const members = last === 1 ? 0 : last / 2;
  if (
    !Number.isInteger(members) ||
    bytes[separators[0]!] !== OPEN_BRACE ||
    bytes[separators[last]!] !== CLOSE_BRACE
  )
    return undefined;
  const open = separators[0]! + 1;
  const parts: Uint8Array[] = [bytes.subarray(0, open), Buffer.alloc(0)];
  let copied = open;
  const seen = new Set<string>();
  for (let m = 0; m < members; m++) {
    const colon = separators[2 * m + 1]!;
    const next = separators[2 * m + 2]!;
    if (bytes[colon] !== COLON || (m < members - 1 && bytes[next] !== COMMA)) return undefined;
    const key = keyBetween(bytes, separators[2 * m]! + 1, colon);
    if (key === undefined) return undefined;
    const text = changes.get(key);
    if (text === undefined) continue;
    if (seen.has(key)) return undefined;
    seen.add(key);
    let start = colon + 1;
    while (isSpace(bytes[start])) start++;
    let end = next;
    while (isSpace(bytes[end - 1])) end--;
    parts.push(bytes.subarray(copied, start), Buffer.from(text));
    copied = end;
  }
  parts.push(bytes.subarray(copied));
  let added = '';
  for (const [key, text] of changes) if (!seen.has(key)) added += `${JSON.stringify(key)}:${text},`;
  // Right after the opening brace; the comma only where members follow.
  if (added) parts[1] = Buffer.from(members > 0 ? added : added.slice(0, -1));
  return Buffer.concat(parts);
}

/** The key quoted between `from` and `to` (spaces around it), or undefined if it has an escape. */
function keyBetween(bytes: Buffer, from: number, to: number): string | undefined {
  while (isSpace(bytes[from])) from++;
  while (isSpace(bytes[to - 1])) to--;
  if (bytes[from] !== QUOTE || bytes[to - 1] !== QUOTE || to - from < 2) return undefined;
  for (let i = from + 1; i < to - 1; i++) if (bytes[i] === BACKSLASH) return undefined;
  return bytes.toString('utf8', from + 1, to - 1);
}
