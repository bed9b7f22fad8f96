/**
 * What changed between two JSON documents, field by field: the trace's "what did ccproxy change"
 * (the client's request, or the translation of it, against the request sent upstream) and replay's
 * `--diff`. Arrays are aligned on their equal elements first, so one block put in front reads as
 * one addition, not as every element changed. Pure: the dashboard bundles it.
 */

export interface Change {
  /** `system[0].text`, `messages[2]`, `["anthropic-beta"]`. */
  path: string;
  kind: 'added' | 'removed' | 'changed';
  from?: unknown;
  to?: unknown;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Past this many element pairs, arrays are compared index by index. */
const MAX_ALIGN = 250_000;

function key(path: string, k: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(k) ? (path ? `${path}.${k}` : k) : `${path}[${JSON.stringify(k)}]`;
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || typeof a !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

export interface DiffOptions {
  /** Keys not compared wherever they are (ids and times that differ on every call). */
  ignore?: ReadonlySet<string>;
}

export function jsonDiff(
  a: unknown,
  b: unknown,
  opts: DiffOptions = {},
  path = '',
  out: Change[] = [],
): Change[] {
  if (same(a, b)) return out;
  if (isObj(a) && isObj(b)) {
    for (const k of Object.keys(a)) {
      if (opts.ignore?.has(k)) continue;
      if (!Object.hasOwn(b, k)) out.push({ path: key(path, k), kind: 'removed', from: a[k] });
      else jsonDiff(a[k], b[k], opts, key(path, k), out);
    }
    for (const k of Object.keys(b)) {
      if (!opts.ignore?.has(k) && !Object.hasOwn(a, k))
        out.push({ path: key(path, k), kind: 'added', to: b[k] });
    }
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b)) return arrayDiff(a, b, opts, path, out);
  out.push({ path: path || '(whole)', kind: 'changed', from: a, to: b });
  return out;
}

/** Align on a longest common subsequence of equal elements; what lies between is paired, then added or removed. */
function arrayDiff(a: unknown[], b: unknown[], opts: DiffOptions, path: string, out: Change[]): Change[] {
  const at = (i: number) => `${path}[${i}]`;
  if (a.length * b.length > MAX_ALIGN) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i >= b.length) out.push({ path: at(i), kind: 'removed', from: a[i] });
      else if (i >= a.length) out.push({ path: at(i), kind: 'added', to: b[i] });
      else jsonDiff(a[i], b[i], opts, at(i), out);
    }
    return out;
  }
  const ka = a.map((v) => JSON.stringify(v));
  const kb = b.map((v) => JSON.stringify(v));
  // lcs[i][j]: the common length of a[i..] and b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i]![j] = ka[i] === kb[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  let i = 0;
  let j = 0;
  const gapA: number[] = [];
  const gapB: number[] = [];
  const flush = () => {
    const paired = Math.min(gapA.length, gapB.length);
    for (let n = 0; n < paired; n++) jsonDiff(a[gapA[n]!], b[gapB[n]!], opts, at(gapB[n]!), out);
    for (const x of gapA.slice(paired)) out.push({ path: at(x), kind: 'removed', from: a[x] });
    for (const y of gapB.slice(paired)) out.push({ path: at(y), kind: 'added', to: b[y] });
    gapA.length = 0;
    gapB.length = 0;
  };
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && ka[i] === kb[j]) {
      flush();
      i++;
      j++;
    } else if (j >= b.length || (i < a.length && lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) gapA.push(i++);
    else gapB.push(j++);
  }
  flush();
  return out;
}

/** Header changes: names compared case-insensitively. */
export function headerDiff(a: Record<string, string>, b: Record<string, string>): Change[] {
  const lower = (h: Record<string, string>) =>
    Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
  return jsonDiff(lower(a), lower(b));
}

/** A change on one line: `+ system[0]: {…}`, `- stream_options`, `~ model: "gpt-4o" → "claude-…"`. */
export function describeChange(c: Change, max = 120): string {
  const show = (v: unknown) => {
    const s = JSON.stringify(v) ?? String(v);
    return s.length > max ? `${s.slice(0, max)}…` : s;
  };
  if (c.kind === 'added') return `+ ${c.path}: ${show(c.to)}`;
  if (c.kind === 'removed') return `- ${c.path}: ${show(c.from)}`;
  return `~ ${c.path}: ${show(c.from)} → ${show(c.to)}`;
}
