/**
 * Shared state in PostgreSQL: a row per key (JSON value, version from one sequence, time written),
 * `pg_advisory_xact_lock` for `withLock` (held by the transaction, so a crashed holder's lock goes
 * with its connection), and LISTEN/NOTIFY for change notices: every write announces its key on
 * `ccproxy_shared_state` when it commits, and each instance's listener reads that key again. The
 * listener has a connection of its own; when it drops, it reconnects with backoff and compares
 * every key against what it last saw, so a change made meanwhile is still delivered.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import { LockTimeoutError } from '../errors.ts';
import {
  Listeners,
  type SetOptions,
  type SharedEntry,
  type SharedListener,
  type SharedOps,
  type SharedState,
  toJson,
} from '../shared-state.ts';
import type { PgDatabase } from './database.ts';
import { LOCK_SPACE, SHARED_CHANNEL, SHARED_TABLE, SHARED_VERSIONS } from './migrations.ts';

type Row = { key: string; value: unknown; version: string; updated_ms: string };

const COLUMNS = `key, value, version, (extract(epoch FROM updated_at) * 1000)::bigint AS updated_ms`;

const toEntry = <T>(r: Row): SharedEntry<T> => ({
  value: r.value as T,
  version: Number(r.version),
  updatedAt: Number(r.updated_ms),
});

/** A key's lock id: the same on every instance, whatever the PostgreSQL version. */
export function lockId(key: string): number {
  return createHash('sha256').update(key).digest().readInt32BE(0);
}

type Query = (text: string, values?: unknown[]) => Promise<{ rows: Row[]; rowCount: number | null }>;

/** The three operations over any connection: the pool, or a lock's transaction. */
function ops(query: Query): SharedOps {
  return {
    async get<T>(key: string) {
      const r = await query(`SELECT ${COLUMNS} FROM ${SHARED_TABLE} WHERE key = $1`, [key]);
      return r.rows[0] && toEntry<T>(r.rows[0]);
    },
    async set<T>(key: string, value: T, opts: SetOptions = {}) {
      const json = JSON.stringify(toJson(key, value));
      const next = `nextval('${SHARED_VERSIONS}')`;
      const write =
        opts.ifVersion === undefined
          ? `INSERT INTO ${SHARED_TABLE} AS s (key, value, version) VALUES ($1, $2::jsonb, ${next})
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version, updated_at = now()`
          : opts.ifVersion === 0
            ? `INSERT INTO ${SHARED_TABLE} AS s (key, value, version) VALUES ($1, $2::jsonb, ${next})
               ON CONFLICT (key) DO NOTHING`
            : `UPDATE ${SHARED_TABLE} AS s SET value = $2::jsonb, version = ${next}, updated_at = now()
               WHERE key = $1 AND version = $3`;
      const params = opts.ifVersion ? [key, json, opts.ifVersion] : [key, json];
      // The notice goes out only if a row was written, and only when the transaction commits.
      const r = await query(
        `WITH w AS (${write} RETURNING ${COLUMNS})
         SELECT w.*, pg_notify('${SHARED_CHANNEL}', w.key) FROM w`,
        params,
      );
      return r.rows[0] && toEntry<T>(r.rows[0]);
    },
    async delete(key: string) {
      const r = await query(
        `WITH d AS (DELETE FROM ${SHARED_TABLE} WHERE key = $1 RETURNING key)
         SELECT pg_notify('${SHARED_CHANNEL}', d.key) FROM d`,
        [key],
      );
      return (r.rowCount ?? 0) > 0;
    },
  };
}

export class PgSharedState implements SharedState {
  readonly kind = 'postgres';
  private readonly direct: SharedOps;
  private readonly listeners = new Listeners();
  private readonly watcher: Watcher;

  constructor(
    private readonly db: PgDatabase,
    log: Logger,
  ) {
    this.direct = ops((text, values) => db.query<Row>(text, values));
    this.watcher = new Watcher(
      db,
      log,
      this.listeners,
      (key) => this.direct.get(key),
      () => this.listAll(),
    );
  }

  get<T>(key: string) {
    return this.direct.get<T>(key);
  }

  set<T>(key: string, value: T, opts?: SetOptions) {
    return this.direct.set<T>(key, value, opts);
  }

  delete(key: string) {
    return this.direct.delete(key);
  }

  async list<T>(prefix: string): Promise<Array<SharedEntry<T> & { key: string }>> {
    // A range, not LIKE: a prefix may hold % or _.
    const r = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM ${SHARED_TABLE} WHERE key >= $1 AND left(key, length($1)) = $1 ORDER BY key`,
      [prefix],
    );
    return r.rows.map((row) => ({ key: row.key, ...toEntry<T>(row) }));
  }

  async withLock<R>(
    key: string,
    fn: (tx: SharedOps) => Promise<R>,
    opts: { timeoutMs?: number } = {},
  ): Promise<R> {
    return this.db.transaction(async (client) => {
      if (opts.timeoutMs !== undefined) {
        await client.query(`SELECT set_config('lock_timeout', $1, true)`, [
          `${Math.max(1, Math.ceil(opts.timeoutMs))}ms`,
        ]);
      }
      try {
        await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_SPACE + 1, lockId(key)]);
      } catch (err) {
        if ((err as { code?: string }).code === '55P03') throw new LockTimeoutError(key);
        throw err;
      }
      if (opts.timeoutMs !== undefined) await client.query(`SELECT set_config('lock_timeout', '0', true)`);
      return fn(ops((text, values) => client.query<Row>(text, values)));
    });
  }

  subscribe(prefix: string, listener: SharedListener): () => void {
    const off = this.listeners.add(prefix, listener);
    this.watcher.start();
    return () => {
      off();
      if (this.listeners.size === 0) this.watcher.stop();
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.watcher.stop();
  }

  private async listAll(): Promise<Array<SharedEntry & { key: string }>> {
    const r = await this.db.query<Row>(`SELECT ${COLUMNS} FROM ${SHARED_TABLE}`);
    return r.rows.map((row) => ({ key: row.key, ...toEntry(row) }));
  }
}

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5000;
/** A silent connection may be a dead one (a network cut sends nothing): ask it something this often. */
const PING_MS = 30_000;

/**
 * The LISTEN side: one connection while anyone listens. A notice names a key; the key is read
 * again (one read in flight per key, another queued if a notice comes meanwhile, so what listeners
 * hear for a key never goes back in time) and listeners hear it when its version changed.
 */
class Watcher {
  private client: pg.Client | undefined;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private ping: NodeJS.Timeout | undefined;
  private backoff = RECONNECT_MIN_MS;
  /** Last version heard per key, so that a re-read of an unchanged key stays quiet. */
  private readonly seen = new Map<string, number>();
  private readonly reading = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private connected = false;

  constructor(
    private readonly db: PgDatabase,
    private readonly log: Logger,
    private readonly listeners: Listeners,
    private readonly read: (key: string) => Promise<SharedEntry | undefined>,
    private readonly readAll: () => Promise<Array<SharedEntry & { key: string }>>,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.connect(true);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    clearInterval(this.ping);
    const c = this.client;
    this.client = undefined;
    this.connected = false;
    await c?.end().catch(() => {});
  }

  private async connect(first: boolean): Promise<void> {
    if (!this.running) return;
    const client = this.db.newClient();
    this.client = client;
    const lost = (err?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      clearInterval(this.ping);
      if (this.connected)
        this.log.warn(
          { err: err?.message },
          `shared state: lost the PostgreSQL notice connection (${this.db.location}); reconnecting`,
        );
      this.connected = false;
      client.end().catch(() => {});
      this.retry(false);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (n) => {
      if (n.channel === SHARED_CHANNEL && n.payload) this.refresh(n.payload);
    });
    try {
      await this.db.ready();
      await client.connect();
      await client.query(`LISTEN ${SHARED_CHANNEL}`);
      // Listening from here on. After a lost connection, catch up on what changed while we were away.
      // Not the first time: a key written just after LISTEN would be taken as already heard while its
      // notice is still on the way (callers start from `list` instead).
      if (!first) await this.resync();
      this.connected = true;
      this.backoff = RECONNECT_MIN_MS;
      clearInterval(this.ping);
      this.ping = setInterval(() => {
        client.query('SELECT 1').catch((err: Error) => lost(err));
      }, PING_MS);
      this.ping.unref();
    } catch (err) {
      if (this.client !== client) return;
      this.client = undefined;
      client.end().catch(() => {});
      if (first)
        this.log.warn(
          { err: (err as Error).message },
          'shared state: cannot listen for changes yet; retrying',
        );
      this.retry(first);
    }
  }

  private retry(first: boolean): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    const wait = this.backoff;
    this.backoff = Math.min(this.backoff * 2, RECONNECT_MAX_MS);
    this.timer = setTimeout(() => void this.connect(first), wait);
    this.timer.unref();
  }

  /** Compare every key against what was last heard: what differs (or was never heard) is delivered. */
  private async resync(): Promise<void> {
    const rows = await this.readAll();
    const present = new Set<string>();
    for (const e of rows) {
      if (!this.listeners.wants(e.key)) continue;
      present.add(e.key);
      if (this.seen.get(e.key) === e.version) continue;
      this.seen.set(e.key, e.version);
      this.listeners.emit(e.key, e);
    }
    for (const key of [...this.seen.keys()]) {
      if (present.has(key)) continue;
      this.seen.delete(key);
      this.listeners.emit(key, undefined);
    }
  }

  private refresh(key: string): void {
    if (!this.listeners.wants(key)) return;
    if (this.reading.has(key)) {
      this.again.add(key);
      return;
    }
    const p = this.read(key)
      .then((e) => {
        const last = this.seen.get(key);
        if (e && e.version !== last) {
          this.seen.set(key, e.version);
          this.listeners.emit(key, e);
        } else if (!e && last !== undefined) {
          this.seen.delete(key);
          this.listeners.emit(key, undefined);
        }
      })
      .catch(() => {
        // Could not read it just now (a busy pool, a blip): read it again shortly. A real outage
        // also drops this connection, and the reconnect's resync delivers it then.
        if (this.running && this.connected) setTimeout(() => this.refresh(key), RECONNECT_MIN_MS).unref();
      })
      .finally(() => {
        this.reading.delete(key);
        if (this.again.delete(key)) this.refresh(key);
      });
    this.reading.set(key, p);
  }
}
