/**
 * What ccproxy keeps in PostgreSQL, as numbered migrations applied at start. A migration, once
 * released, is never edited: add the next one. Tables carry a `ccproxy_` prefix because a team's
 * database may hold other applications' tables (a `schema_migrations` of their own, say); put them in
 * a schema of their own with `?options=-c search_path=ccproxy` in storage.url if you like.
 *
 * Several instances may start at once: the migrations run in one transaction holding an advisory
 * lock, so one applies them and the others, once it commits, find nothing left to do.
 */
import type pg from 'pg';

export const MIGRATIONS_TABLE = 'ccproxy_schema_migrations';
export const REQUESTS_TABLE = 'ccproxy_requests';
export const CAPTURES_TABLE = 'ccproxy_captures';
export const SHARED_TABLE = 'ccproxy_shared_state';
export const SHARED_VERSIONS = 'ccproxy_shared_state_version';
/** The LISTEN/NOTIFY channel shared-state writes announce their key on. */
export const SHARED_CHANNEL = 'ccproxy_shared_state';

/**
 * Advisory locks are (int4, int4) pairs: the first says whose lock it is. 0x63637078 is "ccpx".
 * (LOCK_SPACE, 0) guards migrations; (LOCK_SPACE + 1, hash of a key) is a shared-state lock.
 */
export const LOCK_SPACE = 0x63637078;

/** Migration n takes the database from version n to n + 1. */
const MIGRATIONS: readonly string[] = [
  // 1: the access log. Text compares byte by byte (COLLATE "C"), as DuckDB's does: the cursor's
  // (ts, id) order and every tie-break are the same on both stores, whatever the database's locale.
  // (ts, id) is the key: a batch written again after a lost acknowledgement adds nothing.
  `CREATE TABLE ${REQUESTS_TABLE} (
    id text COLLATE "C" NOT NULL,
    ts timestamptz NOT NULL,
    mode text COLLATE "C" NOT NULL,
    format text COLLATE "C" NOT NULL,
    method text COLLATE "C" NOT NULL,
    path text COLLATE "C" NOT NULL,
    client_model text COLLATE "C",
    upstream_model text COLLATE "C",
    stream boolean NOT NULL,
    status smallint,
    error_kind text COLLATE "C",
    duration_ms double precision,
    ttft_ms double precision,
    input_tokens integer NOT NULL,
    output_tokens integer NOT NULL,
    cache_read_tokens integer NOT NULL,
    cache_write_tokens integer NOT NULL,
    cache_write_1h_tokens integer NOT NULL,
    cost_usd double precision,
    stop_reason text COLLATE "C",
    retries smallint NOT NULL,
    sdk_turns integer,
    sdk_cost_usd double precision,
    user_agent text COLLATE "C",
    upstream_request_id text COLLATE "C",
    client_aborted boolean NOT NULL,
    PRIMARY KEY (ts, id)
  )`,
  // 2: shared state. Versions come from one sequence, so they only grow, even across a delete.
  `CREATE SEQUENCE ${SHARED_VERSIONS};
   CREATE TABLE ${SHARED_TABLE} (
     key text COLLATE "C" PRIMARY KEY,
     value jsonb NOT NULL,
     version bigint NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  // 3: which account answered, and whether it was a subscription or an API key (issue 11).
  `ALTER TABLE ${REQUESTS_TABLE} ADD COLUMN account text COLLATE "C";
   ALTER TABLE ${REQUESTS_TABLE} ADD COLUMN billing text COLLATE "C"`,
  // 4: captured requests (observability.capture), keyed like the access log's rows. `doc` is the
  // redacted capture as JSON text (kept as written: jsonb would reorder it and refuse \u0000).
  `CREATE TABLE ${CAPTURES_TABLE} (
    id text COLLATE "C" NOT NULL,
    ts timestamptz NOT NULL,
    size_bytes bigint NOT NULL,
    truncated boolean NOT NULL,
    doc text NOT NULL,
    PRIMARY KEY (ts, id)
  )`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The database's schema version (0 when ccproxy never ran on it). */
export async function schemaVersion(client: pg.ClientBase): Promise<number> {
  const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [MIGRATIONS_TABLE]);
  if (!exists.rows[0]?.t) return 0;
  const r = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${MIGRATIONS_TABLE}`);
  return r.rows[0]?.v ?? 0;
}

function tooNew(current: number): Error {
  return new Error(
    `The database was set up by a newer ccproxy (schema ${current}, this one knows ${SCHEMA_VERSION}). Upgrade ccproxy, or point storage.url elsewhere.`,
  );
}

/** Apply the missing migrations; returns the version reached. Refuses a database newer than this build. */
export async function migrate(client: pg.ClientBase): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_SPACE]);
    // Read committed: each statement from here sees what an instance that held the lock before committed.
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const current = await schemaVersion(client);
    if (current > SCHEMA_VERSION) throw tooNew(current);
    for (let v = current; v < SCHEMA_VERSION; v++) {
      await client.query(MIGRATIONS[v]!);
      await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (version) VALUES ($1)`, [v + 1]);
    }
    await client.query('COMMIT');
    return SCHEMA_VERSION;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** For readers that must not change the database (`ccproxy usage`): its version, checked. */
export async function checkVersion(client: pg.ClientBase): Promise<number> {
  const current = await schemaVersion(client);
  if (current === 0) throw new Error('This database holds no ccproxy data yet (no ccproxy has run on it).');
  if (current > SCHEMA_VERSION) throw tooNew(current);
  return current;
}
