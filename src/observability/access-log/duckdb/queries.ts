/** The access log's queries (access-log/sql.ts) in DuckDB's dialect, run on a DuckDB connection. */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { analyticsSql, type Dialect, type Params, pageSql, toAnalytics, toPage } from '../sql.ts';
import type { Analytics, AnalyticsQuery, LogPage, LogQuery } from '../store.ts';
import { CAPTURES, TABLE } from './schema.ts';

interface DuckParams extends Params {
  values: Record<string, DuckDBValue>;
}

export const duckdb: Dialect<DuckParams> = {
  params() {
    const values: Record<string, DuckDBValue> = {};
    const bind = (value: unknown) => {
      const name = `p${Object.keys(values).length}`;
      values[name] = value as DuckDBValue;
      return `$${name}`;
    };
    return { values, bind, ts: (ms) => `make_timestamp(${bind(Math.trunc(ms))}::BIGINT * 1000)` };
  },
  epochMs: 'epoch_ms(ts)',
  intDiv: (a, b) => `(${a} // ${b})`,
  quantile: (column, p) => `quantile_cont(${column}, ${p})`,
  captures: CAPTURES,
};

export async function queryPage(conn: DuckDBConnection, q: LogQuery): Promise<LogPage> {
  const { sql, params } = pageSql(TABLE, duckdb, q);
  const reader = await conn.runAndReadAll(sql, params.values);
  return toPage(reader.getRowObjectsJS(), q.limit);
}

export async function aggregate(conn: DuckDBConnection, q: AnalyticsQuery): Promise<Analytics> {
  const { grouped, errors, params } = analyticsSql(TABLE, duckdb, q);
  const g = await conn.runAndReadAll(grouped, params.values);
  const e = await conn.runAndReadAll(errors, params.values);
  return toAnalytics(q, g.getRowObjectsJS(), e.getRowObjectsJS());
}

// The logs API's parameter checks read cursors from here.
export { decodeCursor, encodeCursor } from '../sql.ts';
