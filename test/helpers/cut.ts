/** `bytes` cut at the given offsets (any order, any size: taken modulo its length + 1; duplicates allowed). */
export function cut<T extends Uint8Array>(bytes: T, at: readonly number[]): T[] {
  const points = [...new Set(at.map((a) => a % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: T[] = [];
  let from = 0;
  for (const to of [...points, bytes.length]) {
    out.push(bytes.subarray(from, to) as T);
    from = to;
  }
  return out;
}
