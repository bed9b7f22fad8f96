/**
 * A parsed JSON body's bytes as the client sent them, so that what goes upstream is those bytes
 * wherever ccproxy left the request alone. Re-serializing a 150 KB agent request, and copying the
 * text to the socket, cost ~0.7 ms of CPU a request here (docs/performance.md, fourteenth session),
 * where a reverse proxy's job is to pass the bytes along. Every change ccproxy makes to a request
 * replaces a top-level field (the model, the system prompt, the messages) rather than editing one in
 * place, so comparing the top level with what was parsed finds every change.
 */

import type { ChunkedBytes } from './chunked-bytes.ts';
import { BACKSLASH, CLOSE_BRACE, COLON, COMMA, isSpace, OPEN_BRACE, QUOTE } from './json-bytes.ts';

/** A body smaller than this goes upstream in one buffer; a larger one as the chunks it came in. */
const JOIN_BELOW = 32 * 1024;

/** The bytes, the top level as parsed from them, and where its members are in the bytes. */
interface Sent {
  bytes: ChunkedBytes;
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
    readonly at: UnreadBytes,
    readonly parse: () => unknown,
  ) {}

  /** Whether the member still says what its bytes say: not read, or read and not replaced since. */
  untouched(record: Record<string, unknown>, key: string): boolean {
    return this.state === 'unread' || (this.state === 'read' && record[key] === this.value);
  }
}

const unreadOf = new WeakMap<object, Map<string, Unread>>();

/** Where an unread member's value is: `bytes` from `from` to `to`, spaces trimmed. */
export interface UnreadBytes {
  bytes: ChunkedBytes;
  from: number;
  to: number;
  /** For an array, where its `[`, commas and `]` are (`offsets[from..to)`): each item lies between two. */
  items?: { offsets: readonly number[]; from: number; to: number };
}

/**
 * Make `target[key]` a member parsed on first read (`parse`, which throws for bytes that are not
 * JSON) and replaced like any other by an assignment.
 */
export function leaveUnread(
  target: Record<string, unknown>,
  key: string,
  at: UnreadBytes,
  parse: () => unknown,
): void {
  const u = new Unread(at, parse);
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

function unread(target: object, key: string): UnreadBytes | undefined {
  const u = unreadOf.get(target)?.get(key);
  return u?.state === 'unread' ? u.at : undefined;
}

/** The first byte of `target[key]` if it is a member nothing has read yet (see leaveUnread). */
export function unreadFirstByte(target: object, key: string): number | undefined {
  const at = unread(target, key);
  return at?.bytes.at(at.from);
}

/**
 * If nothing has read `target[key]` and it is an array: its items, each parsed when reached, for a
 * reader that needs only the first few (the whole stays unread). An item that is not JSON throws
 * its SyntaxError when reached.
 */
export function unreadItems(target: object, key: string): Iterable<unknown> | undefined {
  const at = unread(target, key);
  return at?.items && itemsOf(at.bytes, at.items);
}

function* itemsOf(
  bytes: ChunkedBytes,
  { offsets, from, to }: NonNullable<UnreadBytes['items']>,
): Generator<unknown> {
  if (to - from === 2 && /^[ \t\n\r]*$/.test(bytes.text(offsets[from]! + 1, offsets[from + 1]!))) return; // []
  for (let i = from; i < to - 1; i++) yield JSON.parse(bytes.text(offsets[i]! + 1, offsets[i + 1]!));
}

/**
 * If nothing has read `target[key]`: each place `name` is a key inside it, as the first bytes of its
 * value (up to 16, as text). Read from the bytes, so it may count more than a parse would (a string
 * value spelled "name" followed by a colon cannot occur in JSON; a key of that name in some object a
 * reader would not look into can), never fewer, short of a key written with escapes.
 */
export function keyInUnread(target: object, key: string, name: string): string[] | undefined {
  const at = unread(target, key);
  if (!at) return undefined;
  const { bytes, to } = at;
  const quoted = Buffer.from(JSON.stringify(name));
  const values: string[] = [];
  for (let i = bytes.indexOf(quoted, at.from, to); i !== -1; i = bytes.indexOf(quoted, i + 1, to)) {
    let j = i + quoted.length;
    while (isSpace(bytes.at(j))) j++;
    if (bytes.at(j) !== COLON) continue;
    j++;
    while (isSpace(bytes.at(j))) j++;
    values.push(bytes.text(j, Math.min(j + 16, to)));
  }
  return values;
}

/**
 * Remember `bytes` as what `value` (a JSON object, just parsed from them) was sent as. `separators`
 * are the offsets of its top level's structure, as JsonShapeScanner's `topLevel` reads them while
 * the body arrives: a change is then patched in without reading the bytes again.
 */
export function rememberBytes(value: unknown, bytes: ChunkedBytes, separators: readonly number[]): void {
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
 * value serialized whole. A large body's bytes are a list of buffers, never joined (chunked-bytes.ts).
 */
export function jsonBody(value: object): Buffer | string | readonly Buffer[] {
  const sent = asSent.get(value);
  const changes = sent && changesSince(value as Record<string, unknown>, sent);
  if (!sent || !changes) return JSON.stringify(value);
  const parts = changes.size === 0 ? sent.bytes.chunks : patchTopLevel(sent.bytes, sent.separators, changes);
  if (!parts) return JSON.stringify(value);
  if (parts.length === 1) return parts[0]!;
  return sent.bytes.length < JOIN_BELOW ? Buffer.concat(parts) : parts;
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
  bytes: ChunkedBytes,
  separators: readonly number[],
  changes: ReadonlyMap<string, string>,
): Buffer[] | undefined {
  const last = separators.length - 1;
  // `{`, then a `:` and a `,` or the closing `}` for each member.
  const members = last === 1 ? 0 : last / 2;
  if (
    !Number.isInteger(members) ||
    bytes.at(separators[0]!) !== OPEN_BRACE ||
    bytes.at(separators[last]!) !== CLOSE_BRACE
  )
    return undefined;
  const open = separators[0]! + 1;
  const parts: Buffer[] = bytes.slices(0, open);
  const addedAt = parts.length;
  let copied = open;
  const seen = new Set<string>();
  for (let m = 0; m < members; m++) {
    const colon = separators[2 * m + 1]!;
    const next = separators[2 * m + 2]!;
    if (bytes.at(colon) !== COLON || (m < members - 1 && bytes.at(next) !== COMMA)) return undefined;
    const key = keyBetween(bytes, separators[2 * m]! + 1, colon);
    if (key === undefined) return undefined;
    const text = changes.get(key);
    if (text === undefined) continue;
    if (seen.has(key)) return undefined;
    seen.add(key);
    let start = colon + 1;
    while (isSpace(bytes.at(start))) start++;
    let end = next;
    while (isSpace(bytes.at(end - 1))) end--;
    parts.push(...bytes.slices(copied, start), Buffer.from(text));
    copied = end;
  }
  parts.push(...bytes.slices(copied, bytes.length));
  let added = '';
  for (const [key, text] of changes) if (!seen.has(key)) added += `${JSON.stringify(key)}:${text},`;
  // Right after the opening brace; the comma only where members follow.
  if (added) parts.splice(addedAt, 0, Buffer.from(members > 0 ? added : added.slice(0, -1)));
  return parts;
}

/** The key quoted between `from` and `to` (spaces around it), or undefined if it has an escape. */
function keyBetween(bytes: ChunkedBytes, from: number, to: number): string | undefined {
  while (isSpace(bytes.at(from))) from++;
  while (isSpace(bytes.at(to - 1))) to--;
  if (bytes.at(from) !== QUOTE || bytes.at(to - 1) !== QUOTE || to - from < 2) return undefined;
  for (let i = from + 1; i < to - 1; i++) if (bytes.at(i) === BACKSLASH) return undefined;
  return bytes.text(from + 1, to - 1);
}
