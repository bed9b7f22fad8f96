/**
 * The access log's queries, written once for every SQL store: filters, cursor pages and analytics
 * (totals, percentiles, tokens and cost by model, mode, format and time bucket). A store supplies
 * its `Dialect` — how values are bound, how a timestamp is made and read, the percentile function —
 * and runs the SQL; the results are shaped here, so DuckDB and PostgreSQL answer the same rows with
 * the same numbers. Every value reaches SQL as a bound parameter; only column names and fixed
 * fragments are spliced in.
 */
import { type AccessLogRow, ROW_COLUMNS } from './row.ts';
import type { Aggregate, Analytics, AnalyticsQuery, LogFilter, LogPage, LogQuery } from './store.ts';

/** One query's parameters: `bind` returns a value's placeholder, `ts` one for an epoch-ms instant. */
export interface Params {
  bind(value: unknown): string;
  ts(epochMs: number): string;
}

/** What differs between engines. Everything else (types, GROUPING SETS, FILTER) both speak alike. */
export interface Dialect<P extends Params> {
  params(): P;
  /** The row's `ts` as whole epoch milliseconds, an integer expression. */
  epochMs: string;
  /** Integer division of an integer expression by a positive constant. */
  intDiv(a: string, b: number): string;
  /** The continuous (interpolated) percentile of a column, NULLs ignored. */
  quantile(column: string, p: number): string;
  /** The capture table of this store (beside the access log's), for the `captured` filter. */
  captures: string;
}

const MODEL = `coalesce(upstream_model, client_model, '(none)')`;
const OK = `(error_kind IS NULL AND coalesce(status, 0) < 400)`;

/** `tables`: the access log's and the capture table's names, for the `captured` filter. */
export function whereClause(
  f: LogFilter,
  p: Params,
  tables?: { requests: string; captures: string },
): string {
  const parts: string[] = [];
  if (f.id !== undefined) parts.push(`id = ${p.bind(f.id)}`);
  if (f.captured !== undefined && tables) {
    const r = tables.requests;
    parts.push(
      `${f.captured ? '' : 'NOT '}EXISTS (SELECT 1 FROM ${tables.captures} c WHERE c.id = ${r}.id AND c.ts = ${r}.ts)`,
    );
  }
  if (f.from !== undefined) parts.push(`ts >= ${p.ts(f.from)}`);
  if (f.to !== undefined) parts.push(`ts < ${p.ts(f.to)}`);
  if (f.model !== undefined) {
    const m = p.bind(f.model);
    parts.push(`(upstream_model = ${m} OR client_model = ${m})`);
  }
  if (f.mode !== undefined) parts.push(`mode = ${p.bind(f.mode)}`);
  if (f.format !== undefined) parts.push(`format = ${p.bind(f.format)}`);
  if (f.account !== undefined) parts.push(`account = ${p.bind(f.account)}`);
  if (typeof f.status === 'number') parts.push(`status = ${p.bind(f.status)}::INTEGER`);
  else if (f.status !== undefined) {
    const base = Number(f.status[0]) * 100;
    parts.push(`status >= ${base} AND status < ${base + 100}`);
  }
  if (f.error !== undefined) parts.push(f.error ? `NOT ${OK}` : OK);
  if (f.errorKind !== undefined) parts.push(`error_kind = ${p.bind(f.errorKind)}`);
  if (f.stream !== undefined) parts.push(`stream = ${f.stream ? 'true' : 'false'}`);
  if (f.minDurationMs !== undefined) parts.push(`duration_ms >= ${p.bind(f.minDurationMs)}::FLOAT8`);
  if (f.q !== undefined)
    parts.push(`id ILIKE ${p.bind(`%${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)} ESCAPE '\\'`);
  return parts.length ? `WHERE ${parts.join(' AND ')}` : '';
}

/** Cursor = the last row's (ts, id), opaque to clients. */
export function encodeCursor(row: Pick<AccessLogRow, 'ts' | 'id'>): string {
  return Buffer.from(JSON.stringify([row.ts, row.id])).toString('base64url');
}

export function decodeCursor(cursor: string): { ts: number; id: string } | undefined {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string') {
      return { ts: v[0], id: v[1] };
    }
  } catch {}
  return undefined;
}

/** One page, newest or oldest first, one row more than asked (it says whether there is a next page). */
export function pageSql<P extends Params>(
  table: string,
  d: Dialect<P>,
  q: LogQuery,
): { sql: string; params: P } {
  const params = d.params();
  let where = whereClause(q, params, { requests: table, captures: d.captures });
  if (q.cursor !== undefined) {
    const c = decodeCursor(q.cursor);
    if (!c) throw new Error('invalid cursor'); // params validation catches this first
    const cmp = q.order === 'desc' ? '<' : '>';
    const ts = params.ts(c.ts);
    const after = `(ts ${cmp} ${ts} OR (ts = ${ts} AND id ${cmp} ${params.bind(c.id)}))`;
    where = where ? `${where} AND ${after}` : `WHERE ${after}`;
  }
  const dir = q.order === 'desc' ? 'DESC' : 'ASC';
  const columns = ROW_COLUMNS.map((c) => (c === 'ts' ? `${d.epochMs}::FLOAT8 AS ts` : c)).join(', ');
  return {
    sql: `SELECT ${columns} FROM ${table} ${where} ORDER BY ts ${dir}, id ${dir} LIMIT ${q.limit + 1}`,
    params,
  };
}

/** DuckDB hands BIGINT/HUGEINT back as bigint; the API speaks plain JSON numbers. */
function plain(v: unknown): unknown {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** The page from the rows `pageSql` selected. */
export function toPage(selected: Array<Record<string, unknown>>, limit: number): LogPage {
  const rows = selected.map((r) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) out[k] = plain(v);
    return out as unknown as AccessLogRow;
  });
  const more = rows.length > limit;
  if (more) rows.pop();
  return { rows, next_cursor: more && rows.length ? encodeCursor(rows[rows.length - 1]!) : null };
}

function aggregateColumns(d: Dialect<Params>): string {
  return `
  count(*)::FLOAT8 AS requests,
  count(*) FILTER (WHERE NOT ${OK})::FLOAT8 AS errors,
  ${d.quantile('duration_ms', 0.5)} AS latency_p50_ms,
  ${d.quantile('duration_ms', 0.95)} AS latency_p95_ms,
  ${d.quantile('ttft_ms', 0.5)} AS ttft_p50_ms,
  ${d.quantile('ttft_ms', 0.95)} AS ttft_p95_ms,
  coalesce(sum(input_tokens), 0)::FLOAT8 AS input_tokens,
  coalesce(sum(output_tokens), 0)::FLOAT8 AS output_tokens,
  coalesce(sum(cache_read_tokens), 0)::FLOAT8 AS cache_read_tokens,
  coalesce(sum(cache_write_tokens), 0)::FLOAT8 AS cache_write_tokens,
  coalesce(sum(cost_usd), 0)::FLOAT8 AS cost_usd,
  count(*) FILTER (WHERE cost_usd IS NULL AND input_tokens + output_tokens + cache_read_tokens + cache_write_tokens > 0)::FLOAT8 AS unpriced`;
}

/**
 * Two queries answer all of analytics: one scan for every grouping (GROUPING() says which set a row
 * belongs to: 1 = rolled up), one for the errors by kind. Ties are ordered by name, so that both
 * engines list them alike.
 */
export function analyticsSql<P extends Params>(
  table: string,
  d: Dialect<P>,
  q: AnalyticsQuery,
): { grouped: string; errors: string; params: P } {
  const params = d.params();
  const where = whereClause(q, params, { requests: table, captures: d.captures });
  const bucketMs = Math.round(q.bucketS * 1000);
  const bucket = `(${d.intDiv(d.epochMs, bucketMs)} * ${bucketMs})::FLOAT8`;
  const grouped = `WITH f AS (SELECT *, ${MODEL} AS model, coalesce(account, '(none)') AS acct, ${bucket} AS t FROM ${table} ${where})
     SELECT GROUPING(model) AS g_model, GROUPING(mode) AS g_mode, GROUPING(format) AS g_format, GROUPING(acct) AS g_account,
            GROUPING(t) AS g_t, model, mode, format, acct, t, ${aggregateColumns(d)}
     FROM f
     GROUP BY GROUPING SETS ((), (model), (mode), (format), (acct), (t), (t, model))
     ORDER BY t NULLS FIRST, requests DESC, model NULLS LAST, mode NULLS LAST, format NULLS LAST, acct NULLS LAST`;
  const errors = `WITH f AS (SELECT error_kind, ${bucket} AS t FROM ${table} ${where ? `${where} AND` : 'WHERE'} NOT ${OK})
     SELECT GROUPING(t) AS g_t, coalesce(error_kind, 'unknown') AS kind, t, count(*)::FLOAT8 AS n
     FROM f GROUP BY GROUPING SETS ((error_kind), (t, error_kind))
     ORDER BY t NULLS FIRST, n DESC, kind`;
  return { grouped, errors, params };
}

function toAggregate(r: Record<string, unknown>): Aggregate {
  const n = (k: string) => Number(plain(r[k]) ?? 0);
  const maybe = (k: string) => (r[k] === null || r[k] === undefined ? null : Number(plain(r[k])));
  const requests = n('requests');
  const errors = n('errors');
  return {
    requests,
    errors,
    success_rate: requests ? (requests - errors) / requests : null,
    latency_p50_ms: maybe('latency_p50_ms'),
    latency_p95_ms: maybe('latency_p95_ms'),
    ttft_p50_ms: maybe('ttft_p50_ms'),
    ttft_p95_ms: maybe('ttft_p95_ms'),
    input_tokens: n('input_tokens'),
    output_tokens: n('output_tokens'),
    cache_read_tokens: n('cache_read_tokens'),
    cache_write_tokens: n('cache_write_tokens'),
    cost_usd: n('cost_usd'),
    unpriced: n('unpriced'),
  };
}

/** Analytics from the rows of the two queries `analyticsSql` wrote. */
export function toAnalytics(
  q: AnalyticsQuery,
  grouped: Array<Record<string, unknown>>,
  errors: Array<Record<string, unknown>>,
): Analytics {
  const out: Analytics = {
    from: q.from ?? null,
    to: q.to ?? null,
    bucket_s: q.bucketS,
    totals: toAggregate({}),
    by_model: [],
    by_mode: [],
    by_format: [],
    by_account: [],
    by_error_kind: [],
    timeseries: [],
    timeseries_by_model: [],
    errors_by_kind: [],
  };
  for (const r of grouped) {
    const g = (k: string) => Number(plain(r[k])) === 0; // grouped by this column
    const agg = toAggregate(r);
    if (g('g_t') && g('g_model')) {
      out.timeseries_by_model.push({
        t: Number(r.t),
        model: String(r.model),
        requests: agg.requests,
        input_tokens: agg.input_tokens,
        output_tokens: agg.output_tokens,
        cache_read_tokens: agg.cache_read_tokens,
        cache_write_tokens: agg.cache_write_tokens,
        cost_usd: agg.cost_usd,
      });
    } else if (g('g_t')) out.timeseries.push({ t: Number(r.t), ...agg });
    else if (g('g_model')) out.by_model.push({ model: String(r.model), ...agg });
    else if (g('g_mode')) out.by_mode.push({ mode: String(r.mode), ...agg });
    else if (g('g_format')) out.by_format.push({ format: String(r.format), ...agg });
    else if (g('g_account')) out.by_account.push({ account: String(r.acct), ...agg });
    else out.totals = agg;
  }
  for (const r of errors) {
    const count = Number(plain(r.n));
    if (Number(plain(r.g_t)) === 0) out.errors_by_kind.push({ t: Number(r.t), kind: String(r.kind), count });
    else out.by_error_kind.push({ kind: String(r.kind), count });
  }
  return out;
}
