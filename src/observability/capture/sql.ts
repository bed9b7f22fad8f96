/**
 * The capture table's queries, written once for both stores in the access log's dialects
 * (access-log/sql.ts): each store binds and runs them.
 */
import type { Dialect, Params } from '../access-log/sql.ts';

export function getCaptureSql<P extends Params>(table: string, d: Dialect<P>, id: string, ts?: number) {
  const params = d.params();
  const at = ts === undefined ? '' : ` AND ts = ${params.ts(ts)}`;
  return {
    sql: `SELECT doc FROM ${table} WHERE id = ${params.bind(id)}${at} ORDER BY ts DESC LIMIT 1`,
    params,
  };
}

export function pruneCapturesSql<P extends Params>(table: string, d: Dialect<P>, before: number) {
  const params = d.params();
  return { sql: `DELETE FROM ${table} WHERE ts < ${params.ts(before)}`, params };
}

/**
 * The newest capture that no longer fits under `maxBytes` when counting from the newest down: it
 * and everything older go (`boundDeleteSql`). One row when over the bound, none when within.
 */
export function overBoundSql<P extends Params>(table: string, d: Dialect<P>, maxBytes: number) {
  const params = d.params();
  return {
    sql: `SELECT ${d.epochMs}::FLOAT8 AS ts FROM (
        SELECT ts, sum(size_bytes) OVER (ORDER BY ts DESC, id DESC ROWS UNBOUNDED PRECEDING) AS kept FROM ${table}
      ) s WHERE kept > ${params.bind(maxBytes)}::FLOAT8 ORDER BY ts DESC LIMIT 1`,
    params,
  };
}

export function boundDeleteSql<P extends Params>(table: string, d: Dialect<P>, newestGone: number) {
  const params = d.params();
  return { sql: `DELETE FROM ${table} WHERE ts <= ${params.ts(newestGone)}`, params };
}

export const captureStatsSql = (table: string) =>
  `SELECT count(*)::FLOAT8 AS n, coalesce(sum(size_bytes), 0)::FLOAT8 AS bytes FROM ${table}`;
