/**
 * The access log's tables, as numbered migrations. A file is brought up to date when it is
 * opened; a migration, once released, is never edited: add the next one instead.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

export const TABLE = 'requests';
/** Captured requests (observability.capture), keyed like the access log's rows by (ts, id). */
export const CAPTURES = 'captures';

/** Migration n takes a file from version n to n + 1. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE ${TABLE} (
    id VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    mode VARCHAR NOT NULL,
    format VARCHAR NOT NULL,
    method VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    client_model VARCHAR,
    upstream_model VARCHAR,
    stream BOOLEAN NOT NULL,
    status SMALLINT,
    error_kind VARCHAR,
    duration_ms DOUBLE,
    ttft_ms DOUBLE,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    cache_write_1h_tokens INTEGER NOT NULL,
    cost_usd DOUBLE,
    stop_reason VARCHAR,
    retries SMALLINT NOT NULL,
    sdk_turns INTEGER,
    sdk_cost_usd DOUBLE,
    user_agent VARCHAR,
    upstream_request_id VARCHAR,
    client_aborted BOOLEAN NOT NULL
  )`,
  // 2: which account answered, and whether it was a subscription or an API key (issue 11).
  `ALTER TABLE ${TABLE} ADD COLUMN account VARCHAR;
   ALTER TABLE ${TABLE} ADD COLUMN billing VARCHAR`,
  // 3: captured requests. `doc` is the redacted capture as JSON; `size_bytes` its length, which
  // observability.capture_max_mb bounds.
  `CREATE TABLE ${CAPTURES} (
    id VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    size_bytes BIGINT NOT NULL,
    truncated BOOLEAN NOT NULL,
    doc VARCHAR NOT NULL
  )`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The file's schema version (0 for a new file). */
export async function schemaVersion(conn: DuckDBConnection): Promise<number> {
  const exists = await conn.runAndReadAll(
    `SELECT count(*)::INTEGER AS n FROM information_schema.tables WHERE table_name = 'ccproxy_schema'`,
  );
  if (Number(exists.getRowObjectsJS()[0]?.n) === 0) return 0;
  const r = await conn.runAndReadAll('SELECT max(version)::INTEGER AS v FROM ccproxy_schema');
  return Number(r.getRowObjectsJS()[0]?.v ?? 0);
}

/** Apply the missing migrations, each in its own transaction. Refuses a file newer than this build. */
export async function migrate(conn: DuckDBConnection): Promise<number> {
  await conn.run(
    'CREATE TABLE IF NOT EXISTS ccproxy_schema (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)',
  );
  const current = await schemaVersion(conn);
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `The access log was written by a newer ccproxy (schema ${current}, this one knows ${SCHEMA_VERSION}). Upgrade ccproxy or point observability.duckdb_path elsewhere.`,
    );
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    await conn.run('BEGIN TRANSACTION');
    try {
      await conn.run(MIGRATIONS[v]!);
      await conn.run(`INSERT INTO ccproxy_schema VALUES (${v + 1}, current_timestamp::TIMESTAMP)`);
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK');
      throw err;
    }
  }
  return SCHEMA_VERSION;
}
