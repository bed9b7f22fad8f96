/**
 * Reading the access log: filtered pages with a cursor, and analytics (totals, percentiles,
 * tokens and cost by model, mode, format and time bucket). Every value reaches SQL as a bound
 * parameter; only column names and fixed fragments are spliced in.
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { type AccessLogRow, ROW_COLUMNS } from '../row.ts';
import type { Aggregate, Analytics, AnalyticsQuery, LogFilter, LogPage, LogQuery } from '../store.ts';
import { TABLE } from './schema.ts';

type Params = Record<string, DuckDBValue>;

/** A timestamp column bound from epoch ms. */
const tsParam = (name: string) => `make_timestamp($${name}::BIGINT * 1000)`;

const MODEL = `coalesce(upstream_model, client_model, '(none)')`;
const OK = `(error_kind IS NULL AND coalesce(status, 0) < 400)`;

export function whereClause(f: LogFilter, params: Params = {}): { sql: string; params: Params } {
  const parts: string[] = [];
  const bind = (value: DuckDBValue) => {
    const name = `p${Object.keys(params).length}`;
    params[name] = value;
    return name;
  };
  if (f.from !== undefined) parts.push(`ts >= ${tsParam(bind(f.from))}`);
  if (f.to !== undefined) parts.push(`ts < ${tsParam(bind(f.to))}`);
  if (f.model !== undefined) {
    const m = bind(f.model);
    parts.push(`(upstream_model = $${m} OR client_model = $${m})`);
  }
  if (f.mode !== undefined) parts.push(`mode = $${bind(f.mode)}`);
  if (f.format !== undefined) parts.push(`format = $${bind(f.format)}`);
  if (typeof f.status === 'number') parts.push(`status = $${bind(f.status)}::INTEGER`);
  else if (f.status !== undefined) {
    const base = Number(f.status[0]) * 100;
    parts.push(`status >= ${base} AND status < ${base + 100}`);
  }
  if (f.error !== undefined) parts.push(f.error ? `NOT ${OK}` : OK);
  if (f.errorKind !== undefined) parts.push(`error_kind = $${bind(f.errorKind)}`);
  if (f.stream !== undefined) parts.push(`stream = ${f.stream ? 'true' : 'false'}`);
  if (f.minDurationMs !== undefined) parts.push(`duration_ms >= $${bind(f.minDurationMs)}::DOUBLE`);
  if (f.q !== undefined)
    parts.push(`id ILIKE $${bind(`%${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)} ESCAPE '\\'`);
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
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

const SELECT_ROW = ROW_COLUMNS.map((c) => (c === 'ts' ? 'epoch_ms(ts)::DOUBLE AS ts' : c)).join(', ');

/** DuckDB hands BIGINT/HUGEINT back as bigint; the API speaks plain JSON numbers. */
function plain(v: unknown): unknown {
  return typeof v === 'bigint' ? Number(v) : v;
}

function plainRow<T>(r: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) out[k] = plain(v);
  return out as T;
}

export async function queryPage(conn: DuckDBConnection, q: LogQuery): Promise<LogPage> {
  const { sql: where, params } = whereClause(q);
  let sql = where;
  if (q.cursor !== undefined) {
    const c = decodeCursor(q.cursor);
    if (!c) throw new Error('invalid cursor'); // params validation catches this first
    const cmp = q.order === 'desc' ? '<' : '>';
    params.ct = c.ts;
    params.cid = c.id;
    const after = `(ts ${cmp} ${tsParam('ct')} OR (ts = ${tsParam('ct')} AND id ${cmp} $cid))`;
    sql = sql ? `${sql} AND ${after}` : `WHERE ${after}`;
  }
  const dir = q.order === 'desc' ? 'DESC' : 'ASC';
  const reader = await conn.runAndReadAll(
    `SELECT ${SELECT_ROW} FROM ${TABLE} ${sql} ORDER BY ts ${dir}, id ${dir} LIMIT ${q.limit + 1}`,
    params,
  );
  const rows = reader.getRowObjectsJS().map((r) => plainRow<AccessLogRow>(r));
  const more = rows.length > q.limit;
  if (more) rows.pop();
  return { rows, next_cursor: more && rows.length ? encodeCursor(rows[rows.length - 1]!) : null };
}

const AGGREGATE = `
  count(*)::DOUBLE AS requests,
  count(*) FILTER (WHERE NOT ${OK})::DOUBLE AS errors,
  quantile_cont(duration_ms, 0.5) AS latency_p50_ms,
  quantile_cont(duration_ms, 0.95) AS latency_p95_ms,
  quantile_cont(ttft_ms, 0.5) AS ttft_p50_ms,
  quantile_cont(ttft_ms, 0.95) AS ttft_p95_ms,
  coalesce(sum(input_tokens), 0)::DOUBLE AS input_tokens,
  coalesce(sum(output_tokens), 0)::DOUBLE AS output_tokens,
  coalesce(sum(cache_read_tokens), 0)::DOUBLE AS cache_read_tokens,
  coalesce(sum(cache_write_tokens), 0)::DOUBLE AS cache_write_tokens,
  coalesce(sum(cost_usd), 0)::DOUBLE AS cost_usd,
  count(*) FILTER (WHERE cost_usd IS NULL AND input_tokens + output_tokens + cache_read_tokens + cache_write_tokens > 0)::DOUBLE AS unpriced`;

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

export async function aggregate(conn: DuckDBConnection, q: AnalyticsQuery): Promise<Analytics> {
  const { sql: where, params } = whereClause(q);
  const bucketMs = Math.round(q.bucketS * 1000);
  const bucket = `((epoch_ms(ts) // ${bucketMs}) * ${bucketMs})::DOUBLE`;
  // One scan answers every grouping; GROUPING() says which set a row belongs to (1 = rolled up).
  const grouped = await conn.runAndReadAll(
    `WITH f AS (SELECT *, ${MODEL} AS model, ${bucket} AS t FROM ${TABLE} ${where})
     SELECT GROUPING(model) AS g_model, GROUPING(mode) AS g_mode, GROUPING(format) AS g_format, GROUPING(t) AS g_t,
            model, mode, format, t, ${AGGREGATE}
     FROM f
     GROUP BY GROUPING SETS ((), (model), (mode), (format), (t), (t, model))
     ORDER BY t NULLS FIRST, requests DESC`,
    params,
  );
  const errors = await conn.runAndReadAll(
    `WITH f AS (SELECT error_kind, ${bucket} AS t FROM ${TABLE} ${where ? `${where} AND` : 'WHERE'} NOT ${OK})
     SELECT GROUPING(t) AS g_t, coalesce(error_kind, 'unknown') AS kind, t, count(*)::DOUBLE AS count
     FROM f GROUP BY GROUPING SETS ((error_kind), (t, error_kind))
     ORDER BY t NULLS FIRST, count DESC`,
    params,
  );

  const out: Analytics = {
    from: q.from ?? null,
    to: q.to ?? null,
    bucket_s: q.bucketS,
    totals: toAggregate({}),
    by_model: [],
    by_mode: [],
    by_format: [],
    by_error_kind: [],
    timeseries: [],
    timeseries_by_model: [],
    errors_by_kind: [],
  };
  for (const r of grouped.getRowObjectsJS()) {
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
    else out.totals = agg;
  }
  for (const r of errors.getRowObjectsJS()) {
    const count = Number(plain(r.count));
    if (Number(plain(r.g_t)) === 0) out.errors_by_kind.push({ t: Number(r.t), kind: String(r.kind), count });
    else out.by_error_kind.push({ kind: String(r.kind), count });
  }
  return out;
}
