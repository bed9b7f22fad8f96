/**
 * ccproxy's PostgreSQL database: one connection pool (node-postgres), migrations brought up to date
 * before first use, and every failure to reach the server turned into a StorageUnavailableError so
 * callers can tell "try later" from "this is wrong". Nothing here waits for the server at start:
 * an unreachable database costs a failed attempt per use, never a request.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { StorageUnavailableError } from '../errors.ts';
import { redactUrl } from '../url.ts';
import { checkVersion, migrate } from './migrations.ts';

export interface PgDatabaseOptions {
  url: string;
  /** Most pooled connections (storage.pool_size). */
  poolSize: number;
  log: Logger;
  /** Only read: check the schema instead of migrating (`ccproxy usage`). */
  readOnly?: boolean;
  /** How long opening a connection may take before the attempt counts as a failure. */
  connectTimeoutMs?: number;
}

/**
 * SQLSTATE classes that mean "the server, not the statement": connection exceptions (08),
 * insufficient resources (53: too many connections, disk full), operator intervention (57: shutting
 * down, starting up), transaction rollbacks (40: serialization, deadlock), and authorization (28,
 * 3D): a password or database being fixed is something to wait for, not a reason to drop rows.
 */
const TRANSIENT_CLASSES = new Set(['08', '53', '57', '40', '28', '3D']);

/** Socket-level failures to reach the server. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
/** node-postgres's own words for a connection it lost or could not open in time. */
const DRIVER_WORDS =
  /connection terminated|timeout exceeded when trying to connect|query read timeout|not queryable|connection (?:ended|closed)|the server closed the connection/i;

/** Does this error mean the database cannot be reached now (as opposed to a bad statement or row)? */
export function isTransient(err: unknown): boolean {
  if (err instanceof StorageUnavailableError) return true;
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const code = typeof e.code === 'string' ? e.code : undefined;
  // A five-character SQLSTATE came from the server.
  if (code && /^[0-9A-Z]{5}$/.test(code)) return TRANSIENT_CLASSES.has(code.slice(0, 2));
  if (code && NETWORK_CODES.has(code)) return true;
  return typeof e.message === 'string' && DRIVER_WORDS.test(e.message);
}

export class PgDatabase {
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly config: pg.PoolConfig;
  private version = 0;
  private migrating: Promise<number> | undefined;
  private closed = false;

  constructor(private readonly opts: PgDatabaseOptions) {
    this.location = redactUrl(opts.url);
    this.config = {
      connectionString: opts.url,
      application_name: 'ccproxy',
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
      // A server that vanished without closing the socket must not hold a write (and its rows) forever.
      query_timeout: 60_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    };
    this.pool = new pg.Pool({ ...this.config, max: opts.poolSize, idleTimeoutMillis: 30_000 });
    // An idle connection the server closed (restart, failover) is an event, not a crash: the pool
    // drops it and opens a new one on next use.
    this.pool.on('error', (err) =>
      opts.log.debug(
        { err: err.message },
        `storage: an idle PostgreSQL connection closed (${this.location})`,
      ),
    );
  }

  /** The schema version, migrating first if needed. Rejects (StorageUnavailableError when unreachable). */
  ready(): Promise<number> {
    if (this.version) return Promise.resolve(this.version);
    this.migrating ??= this.withRawClient((c) => (this.opts.readOnly ? checkVersion(c) : migrate(c)))
      .then((v) => {
        this.version = v;
        return v;
      })
      .finally(() => {
        this.migrating = undefined;
      });
    return this.migrating;
  }

  get schemaVersion(): number {
    return this.version;
  }

  /** One statement on a pooled connection, after `ready`. */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    await this.ready();
    try {
      return await this.pool.query<R>(text, values);
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /** `fn` inside one transaction on one connection, after `ready`; rolled back when it throws. */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.ready();
    return this.withRawClient(async (client) => {
      await client.query('BEGIN');
      try {
        const out = await fn(client);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  /** A connection of its own, outside the pool (LISTEN needs one that stays). Not connected yet. */
  newClient(): pg.Client {
    return new pg.Client(this.config);
  }

  /** Turn "cannot reach the server" into StorageUnavailableError; leave statement errors alone. */
  unavailable(err: unknown): unknown {
    if (err instanceof StorageUnavailableError || !isTransient(err)) return err;
    const why = (err as Error)?.message || String(err);
    return new StorageUnavailableError(`PostgreSQL at ${this.location} is unavailable: ${why}`, {
      cause: err,
    });
  }

  /** End the pool; a connection stuck on a dead server is not waited for beyond `timeoutMs`. */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.pool.end().catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  private async withRawClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.closed) throw new StorageUnavailableError(`PostgreSQL at ${this.location}: closed`);
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.unavailable(err);
    }
    let broken: Error | undefined;
    try {
      return await fn(client);
    } catch (err) {
      // A connection that failed mid-way is not given back for reuse.
      if (isTransient(err)) broken = err as Error;
      throw this.unavailable(err);
    } finally {
      client.release(broken ?? false);
    }
  }
}
