/**
 * The access log in PostgreSQL (storage.url), shared by every instance that points at the database:
 * the same columns and the same queries (access-log/sql.ts) as the DuckDB file. A batch is one
 * INSERT … SELECT FROM unnest(…) — one round trip, one array per column — and writing it again
 * after a lost acknowledgement adds nothing ((ts, id) is the key). When the server cannot be reached,
 * `insertBatch` rejects with StorageUnavailableError and the writer keeps the rows for later.
 */
import type { PgDatabase } from '../../../storage/postgres/database.ts';
import { CAPTURES_TABLE, REQUESTS_TABLE } from '../../../storage/postgres/migrations.ts';
import {
  boundDeleteSql,
  captureStatsSql,
  getCaptureSql,
  overBoundSql,
  pruneCapturesSql,
} from '../../capture/sql.ts';
import type { CaptureStats, CaptureStore } from '../../capture/store.ts';
import type { StoredCapture } from '../../capture/store-doc.ts';
import { type AccessLogRow, COLUMN_TYPES, type ColumnType, ROW_COLUMNS, SMALLINT_MAX } from '../row.ts';
import { analyticsSql, type Dialect, type Params, pageSql, toAnalytics, toPage } from '../sql.ts';
import type { AccessLogStore, Analytics, AnalyticsQuery, LogPage, LogQuery, StoreStatus } from '../store.ts';

interface PgParams extends Params {
  values: unknown[];
}

export const postgres: Dialect<PgParams> = {
  params() {
    const values: unknown[] = [];
    const bind = (value: unknown) => {
      values.push(value);
      return `$${values.length}`;
    };
    // A Date goes over the wire as an ISO string with its offset: exact to the millisecond.
    return { values, bind, ts: (ms) => `${bind(new Date(Math.trunc(ms)))}::timestamptz` };
  },
  // extract() is numeric since PostgreSQL 14 (double before): the cast rounds either to the whole ms stored.
  epochMs: '(extract(epoch FROM ts) * 1000)::bigint',
  intDiv: (a, b) => `(${a} / ${b})`,
  quantile: (column, p) => `percentile_cont(${p}) WITHIN GROUP (ORDER BY ${column})`,
  captures: CAPTURES_TABLE,
};

/** Each column's SQL type, for the unnest() arrays of a batch. */
const PG_TYPES: Record<ColumnType, string> = {
  text: 'text',
  timestamp: 'timestamptz',
  boolean: 'boolean',
  smallint: 'smallint',
  integer: 'integer',
  double: 'float8',
};
const TYPES = ROW_COLUMNS.map((c) => PG_TYPES[COLUMN_TYPES[c]]);

const INSERT = `INSERT INTO ${REQUESTS_TABLE} (${ROW_COLUMNS.join(', ')})
  SELECT * FROM unnest(${TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})
  ON CONFLICT (ts, id) DO NOTHING`;

/** A row's value for its column, as the DuckDB store keeps it. */
function cell(r: AccessLogRow, c: (typeof ROW_COLUMNS)[number]): unknown {
  const v = r[c];
  if (v === null) return v;
  if (COLUMN_TYPES[c] === 'timestamp') return new Date(Math.trunc(v as number));
  if (COLUMN_TYPES[c] === 'smallint') return Math.min(v as number, SMALLINT_MAX);
  return v;
}

const INSERT_CAPTURES = `INSERT INTO ${CAPTURES_TABLE} (id, ts, size_bytes, truncated, doc)
  SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::boolean[], $5::text[])
  ON CONFLICT (ts, id) DO NOTHING`;

export class PgAccessLogStore implements AccessLogStore, CaptureStore {
  readonly captures: CaptureStore = this;

  constructor(private readonly db: PgDatabase) {}

  async insertBatch(rows: readonly AccessLogRow[]): Promise<void> {
    if (rows.length === 0) return;
    const columns = ROW_COLUMNS.map((c) => rows.map((r) => cell(r, c)));
    await this.db.query(INSERT, columns);
  }

  async query(q: LogQuery): Promise<LogPage> {
    const { sql, params } = pageSql(REQUESTS_TABLE, postgres, q);
    const r = await this.db.query(sql, params.values);
    return toPage(r.rows, q.limit);
  }

  async aggregate(q: AnalyticsQuery): Promise<Analytics> {
    const { grouped, errors, params } = analyticsSql(REQUESTS_TABLE, postgres, q);
    const [g, e] = await Promise.all([
      this.db.query(grouped, params.values),
      this.db.query(errors, params.values),
    ]);
    return toAnalytics(q, g.rows, e.rows);
  }

  async status(): Promise<StoreStatus> {
    const ms = (t: string) => `(extract(epoch FROM ${t}) * 1000)::bigint::float8`;
    const base = { kind: 'postgres', location: this.db.location, schema_version: this.db.schemaVersion };
    let r: { rows: Array<{ rows: number; oldest: number | null; newest: number | null; size: number }> };
    try {
      r = await this.db.query<{
        rows: number;
        oldest: number | null;
        newest: number | null;
        size: number;
      }>(
        `SELECT count(*)::float8 AS rows, ${ms('min(ts)')} AS oldest, ${ms('max(ts)')} AS newest,
              pg_total_relation_size('${REQUESTS_TABLE}')::float8 AS size
       FROM ${REQUESTS_TABLE}`,
      );
    } catch (err) {
      // During an outage the status still answers: the writer's `unavailable_since` says the rest.
      const why = (err as Error).message;
      return { ...base, rows: null, oldest: null, newest: null, size_bytes: null, unavailable: why };
    }
    const row = r.rows[0];
    return {
      ...base,
      rows: row?.rows ?? 0,
      oldest: row?.oldest ?? null,
      newest: row?.newest ?? null,
      size_bytes: row?.size ?? null,
    };
  }

  async prune(before: number): Promise<number> {
    const r = await this.db.query(`DELETE FROM ${REQUESTS_TABLE} WHERE ts < $1::timestamptz`, [
      new Date(Math.trunc(before)),
    ]);
    return r.rowCount ?? 0;
  }

  async insertCaptures(rows: readonly StoredCapture[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.query(INSERT_CAPTURES, [
      rows.map((r) => r.id),
      rows.map((r) => new Date(Math.trunc(r.ts))),
      rows.map((r) => r.size_bytes),
      rows.map((r) => r.truncated),
      rows.map((r) => r.doc),
    ]);
  }

  async getCapture(id: string, ts?: number): Promise<string | null> {
    const { sql, params } = getCaptureSql(CAPTURES_TABLE, postgres, id, ts);
    const r = await this.db.query<{ doc: string }>(sql, params.values);
    return r.rows[0]?.doc ?? null;
  }

  async pruneCaptures(before: number): Promise<number> {
    const { sql, params } = pruneCapturesSql(CAPTURES_TABLE, postgres, before);
    return (await this.db.query(sql, params.values)).rowCount ?? 0;
  }

  async boundCaptures(maxBytes: number): Promise<number> {
    const over = overBoundSql(CAPTURES_TABLE, postgres, maxBytes);
    const r = (await this.db.query<{ ts: number }>(over.sql, over.params.values)).rows[0];
    if (!r) return 0;
    const del = boundDeleteSql(CAPTURES_TABLE, postgres, Number(r.ts));
    return (await this.db.query(del.sql, del.params.values)).rowCount ?? 0;
  }

  async captureStats(): Promise<CaptureStats> {
    const r = await this.db.query<{ n: number; bytes: number }>(captureStatsSql(CAPTURES_TABLE));
    return { rows: Number(r.rows[0]?.n ?? 0), bytes: Number(r.rows[0]?.bytes ?? 0) };
  }

  /** The database is the storage's to close (the shared state uses it too). */
  async close(): Promise<void> {}
}
