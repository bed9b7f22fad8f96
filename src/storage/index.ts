/**
 * Where ccproxy keeps what outlives a request: the access log and the state several instances share.
 * `storage.url` empty (the default): the embedded DuckDB file and an in-process shared state — one
 * instance. `storage.url = "postgres://…"`: both in PostgreSQL, so instances behind a load balancer
 * act as one (docs/team.md). The driver loads only then: a proxy without it pays nothing at start.
 *
 * Opening never waits for the server: migrations are tried at once in the background and again on
 * first use, and an unreachable database is logged, not fatal.
 */
import type { Logger } from 'pino';
import type { Settings } from '../config/schema.ts';
import type { PgDatabase } from './postgres/database.ts';
import { MemorySharedState, type SharedState } from './shared-state.ts';

export type { SharedEntry, SharedListener, SharedOps, SharedState } from './shared-state.ts';

export interface Storage {
  readonly kind: 'embedded' | 'postgres';
  /** Where the data lives, without a password: the DuckDB file, or the redacted URL. */
  readonly location: string;
  readonly shared: SharedState;
  /** The PostgreSQL database, when storage.url is set (the access log's PostgreSQL store uses it). */
  readonly postgres?: PgDatabase;
  /** Resolves once the database is reachable and migrated (at once when embedded); rejects with why not. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export async function openStorage(settings: Settings, log: Logger): Promise<Storage> {
  const url = settings.storage.url;
  if (!url) {
    const shared = new MemorySharedState();
    return {
      kind: 'embedded',
      location: settings.observability.duckdb_path,
      shared,
      ready: async () => {},
      close: () => shared.close(),
    };
  }

  const [{ PgDatabase }, { PgSharedState }] = await Promise.all([
    import('./postgres/database.ts'),
    import('./postgres/shared-state.ts'),
  ]);
  const slog = log.child({ component: 'storage' });
  const db = new PgDatabase({ url, poolSize: settings.storage.pool_size, log: slog });
  const shared = new PgSharedState(db, slog);
  const first = db.ready().then(
    (version) => slog.info(`storage: PostgreSQL at ${db.location}, schema ${version}`),
    (err: Error) =>
      slog.warn(
        { err: err.message },
        `storage: PostgreSQL at ${db.location} is not usable yet; requests are served and access-log rows wait in memory (storage.buffer_rows) until it is`,
      ),
  );
  return {
    kind: 'postgres',
    location: db.location,
    shared,
    postgres: db,
    ready: async () => {
      await first;
      await db.ready();
    },
    async close() {
      await shared.close();
      await db.close();
    },
  };
}
