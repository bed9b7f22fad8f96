/**
 * A parsed JSON body's bytes as the client sent them. A request that goes upstream unchanged is
 * sent as these bytes: re-serializing a 150 KB agent request, and copying the text to the socket,
 * cost ~0.7 ms of CPU a request here (docs/performance.md, fourteenth session), where a reverse
 * proxy's job is to pass the bytes along.
 */

const asSent = new WeakMap<object, { bytes: Buffer; values: unknown[] }>();

/** Remember `bytes` as what `value` (a JSON object, just parsed from them) was sent as. */
export function rememberBytes(value: unknown, bytes: Buffer): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    asSent.set(value, { bytes, values: Object.values(value) });
}

/**
 * The bytes a parsed body came as, if its top level is still what was parsed: the same fields in the
 * same order, each the same value. What changes a request replaces a top-level field (the model, the
 * system prompt, the messages) rather than editing one in place, so a change shows here.
 */
export function bytesAsSent(value: object): Buffer | undefined {
  const sent = asSent.get(value);
  if (!sent) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== sent.values.length) return undefined;
  for (let i = 0; i < keys.length; i++)
    if ((value as Record<string, unknown>)[keys[i]!] !== sent.values[i]) return undefined;
  return sent.bytes;
}
