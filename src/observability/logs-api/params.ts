/**
 * Query-string parameters of the logs API, checked strictly: an unknown, repeated or malformed
 * parameter is a 400 that names it, so a typo never silently widens a query.
 */
import { MODES } from '../../backends/backend.ts';
import { ERROR_KINDS } from '../../errors.ts';
import { FORMATS } from '../../formats/frontend.ts';
import { decodeCursor } from '../access-log/duckdb/queries.ts';
import type { AnalyticsQuery, LogFilter, LogQuery, StatusClass } from '../access-log/store.ts';

export class ParamError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
    this.name = 'ParamError';
  }
}

export const MAX_LIMIT = 10_000;
export const DEFAULT_LIMIT = 100;
/** Most time buckets one analytics call may ask for. */
export const MAX_BUCKETS = 10_000;
/** Times a query may name: 1970-01-01 to 9999-12-31 (DuckDB's timestamps go further, int64 µs do not). */
export const MIN_TIME_MS = 0;
export const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** What the access log holds: the modes and formats, and `none` for a request no route took. */
const LOGGED_MODES: readonly string[] = [...MODES, 'none'];
const LOGGED_FORMATS: readonly string[] = [...FORMATS, 'none'];
const BUCKET_ALIASES: Record<string, number> = { minute: 60, hour: 3600, day: 86400 };
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

const FILTER_PARAMS = [
  'from',
  'to',
  'model',
  'mode',
  'format',
  'account',
  'status',
  'error',
  'error_kind',
  'stream',
  'min_duration_ms',
  'q',
];
export const QUERY_PARAMS = [...FILTER_PARAMS, 'order', 'limit', 'cursor', 'captured'];
export const EXPORT_PARAMS = [...QUERY_PARAMS, 'output'];
export const ANALYTICS_PARAMS = [...FILTER_PARAMS, 'bucket'];
export const STREAM_PARAMS = [...FILTER_PARAMS.filter((p) => p !== 'from' && p !== 'to'), 'events'];

type Raw = Record<string, unknown>;

/** The raw query as single strings; unknown or repeated parameters are errors. */
function strings(raw: unknown, allowed: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries((raw ?? {}) as Raw)) {
    if (!allowed.includes(key)) {
      throw new ParamError(
        key,
        allowed.length
          ? `Unknown parameter '${key}'. Known: ${allowed.join(', ')}.`
          : `Unknown parameter '${key}': this endpoint takes no parameters.`,
      );
    }
    if (typeof value !== 'string') throw new ParamError(key, `Parameter '${key}' must be given once.`);
    out[key] = value;
  }
  return out;
}

const oneOf = (name: string, value: string, options: readonly string[]): string => {
  if (!options.includes(value))
    throw new ParamError(name, `Parameter '${name}' must be one of ${options.join(', ')}; got '${value}'.`);
  return value;
};

const bool = (name: string, value: string): boolean => {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ParamError(name, `Parameter '${name}' must be true or false; got '${value}'.`);
};

function int(name: string, value: string, min: number, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ParamError(
      name,
      `Parameter '${name}' must be an integer from ${min} to ${max}; got '${value}'.`,
    );
  }
  return n;
}

/** Epoch ms, an ISO 8601 date/time, or a time ago such as `-15m`, `-24h`, `-7d`; 1970 to 9999. */
export function parseTime(name: string, value: string, now: number): number {
  const rel = /^-(\d+)([smhdw])$/.exec(value);
  let t: number;
  if (rel) t = now - Number(rel[1]) * UNITS[rel[2]!]!;
  else if (/^\d{10,}$/.test(value)) t = Number(value);
  else t = isoTime(value);
  if (Number.isNaN(t)) {
    throw new ParamError(
      name,
      `Parameter '${name}' must be epoch milliseconds (e.g. 1764633600000), an ISO 8601 date or time (2026-12-01, 2026-12-01T09:30:00Z) or a time ago like -24h; got '${value}'.`,
    );
  }
  if (!inTimeRange(t)) {
    throw new ParamError(
      name,
      `Parameter '${name}' is out of range: times go from 1970-01-01 (0) to 9999-12-31 (${MAX_TIME_MS}); got '${value}'.`,
    );
  }
  return t;
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * An ISO 8601 date or time, epoch ms; NaN for anything else. Each part is checked: `Date.parse`
 * alone rolls 2026-02-30 over into March and reads past trailing words.
 */
function isoTime(value: string): number {
  const m = ISO.exec(value);
  if (!m) return Number.NaN;
  const [y, mo, d, h = 0, mi = 0, sec = 0] = m
    .slice(1, 7)
    .map((x) => (x === undefined ? undefined : Number(x)));
  const days = new Date(Date.UTC(y!, mo!, 0)).getUTCDate(); // the month's last day
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > days || h! > 23 || mi! > 59 || sec! > 59) return Number.NaN;
  return Date.parse(value);
}

export function inTimeRange(t: number): boolean {
  return Number.isSafeInteger(Math.floor(t)) && t >= MIN_TIME_MS && t <= MAX_TIME_MS;
}

function filter(p: Record<string, string>, now: number): LogFilter {
  const f: LogFilter = {};
  if (p.from !== undefined) f.from = parseTime('from', p.from, now);
  if (p.to !== undefined) f.to = parseTime('to', p.to, now);
  if (f.from !== undefined && f.to !== undefined && f.from >= f.to) {
    throw new ParamError('to', `Parameter 'to' must be later than 'from'.`);
  }
  if (p.model !== undefined) {
    if (!p.model || p.model.length > 200)
      throw new ParamError('model', `Parameter 'model' must be a model id.`);
    f.model = p.model;
  }
  if (p.mode !== undefined) f.mode = oneOf('mode', p.mode, LOGGED_MODES);
  if (p.format !== undefined) f.format = oneOf('format', p.format, LOGGED_FORMATS);
  if (p.account !== undefined) {
    if (!p.account || p.account.length > 64)
      throw new ParamError('account', `Parameter 'account' must be an account name.`);
    f.account = p.account;
  }
  if (p.status !== undefined) {
    if (/^[1-5]xx$/i.test(p.status)) f.status = p.status.toLowerCase() as StatusClass;
    else if (/^[1-5]\d\d$/.test(p.status)) f.status = Number(p.status);
    else
      throw new ParamError(
        'status',
        `Parameter 'status' must be a class (2xx, 4xx, 5xx…) or a code like 429; got '${p.status}'.`,
      );
  }
  if (p.error !== undefined) f.error = bool('error', p.error);
  if (p.error_kind !== undefined) f.errorKind = oneOf('error_kind', p.error_kind, ERROR_KINDS);
  if (p.stream !== undefined) f.stream = bool('stream', p.stream);
  if (p.min_duration_ms !== undefined) {
    const n = Number(p.min_duration_ms);
    if (!/^\d+(\.\d+)?$/.test(p.min_duration_ms) || !Number.isFinite(n)) {
      throw new ParamError(
        'min_duration_ms',
        `Parameter 'min_duration_ms' must be a number of milliseconds; got '${p.min_duration_ms}'.`,
      );
    }
    f.minDurationMs = n;
  }
  if (p.q !== undefined) {
    if (p.q.length > 200) throw new ParamError('q', `Parameter 'q' is longer than 200 characters.`);
    if (p.q) f.q = p.q;
  }
  return f;
}

export function parseQuery(
  raw: unknown,
  now = Date.now(),
  allowed = QUERY_PARAMS,
): LogQuery & { output?: 'csv' | 'ndjson' } {
  const p = strings(raw, allowed);
  const q: LogQuery & { output?: 'csv' | 'ndjson' } = {
    ...filter(p, now),
    order: p.order === undefined ? 'desc' : (oneOf('order', p.order, ['asc', 'desc']) as 'asc' | 'desc'),
    limit: p.limit === undefined ? DEFAULT_LIMIT : int('limit', p.limit, 1, MAX_LIMIT),
  };
  if (p.cursor !== undefined) {
    const c = decodeCursor(p.cursor);
    if (!c || !inTimeRange(c.ts))
      throw new ParamError('cursor', `Parameter 'cursor' is not a cursor this API returned.`);
    q.cursor = p.cursor;
  }
  if (p.captured !== undefined) q.captured = bool('captured', p.captured);
  if (p.output !== undefined) q.output = oneOf('output', p.output, ['csv', 'ndjson']) as 'csv' | 'ndjson';
  return q;
}

/** Export: the query's filters; `limit` caps the whole export (default: everything that matches). */
export function parseExport(
  raw: unknown,
  now = Date.now(),
): LogQuery & { output: 'csv' | 'ndjson'; total?: number } {
  const p = strings(raw, EXPORT_PARAMS);
  const total = p.limit === undefined ? undefined : int('limit', p.limit, 1, 10_000_000);
  const { limit: _limit, ...rest } = p;
  const q = parseQuery(rest, now, EXPORT_PARAMS);
  return { ...q, output: q.output ?? 'csv', total };
}

export function parseAnalytics(raw: unknown, now = Date.now()): AnalyticsQuery {
  const p = strings(raw, ANALYTICS_PARAMS);
  const f = filter(p, now);
  f.from ??= now - 24 * 3_600_000;
  let bucketS = 3600;
  if (p.bucket !== undefined) {
    // An own property only: `constructor` or `toString` must not find Object's.
    bucketS = Object.hasOwn(BUCKET_ALIASES, p.bucket)
      ? BUCKET_ALIASES[p.bucket]!
      : int('bucket', p.bucket, 1, 31 * 86400);
  }
  const span = (f.to ?? now) - f.from;
  if (span / (bucketS * 1000) > MAX_BUCKETS) {
    throw new ParamError(
      'bucket',
      `Parameter 'bucket' is too small for the time range: at most ${MAX_BUCKETS} buckets.`,
    );
  }
  return { ...f, bucketS };
}

export type StreamEventName = 'start' | 'request';

export function parseStream(raw: unknown): LogFilter & { events: Set<StreamEventName> } {
  const p = strings(raw, STREAM_PARAMS);
  const events = new Set<StreamEventName>(['start', 'request']);
  if (p.events !== undefined) {
    events.clear();
    for (const e of p.events.split(','))
      events.add(oneOf('events', e.trim(), ['start', 'request']) as StreamEventName);
  }
  return { ...filter(p, Date.now()), events };
}
