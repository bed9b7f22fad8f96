/**
 * The access log in an embedded DuckDB file. One instance per file per process: one writer
 * connection, used by one write at a time (appends, pruning), and a short-lived connection per
 * read, so a slow query never waits on a write (DuckDB runs both on its own threads).
 */
import fs from 'node:fs';
import path from 'node:path';
import { type DuckDBAppender, type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  boundDeleteSql,
  captureStatsSql,
  getCaptureSql,
  overBoundSql,
  pruneCapturesSql,
} from '../../capture/sql.ts';
import type { CaptureStats, CaptureStore } from '../../capture/store.ts';
import type { StoredCapture } from '../../capture/store-doc.ts';
import type { AccessLogRow } from '../row.ts';
import type { AccessLogStore, Analytics, AnalyticsQuery, LogPage, LogQuery, StoreStatus } from '../store.ts';
import { CHUNK_ROWS, ChunkWriter } from './chunk.ts';
import { encodeRows, type RowColumns } from './columns.ts';
import { aggregate, duckdb, queryPage } from './queries.ts';
import { CAPTURES, migrate, SCHEMA_VERSION, schemaVersion, TABLE } from './schema.ts';

export interface DuckDbStoreOptions {
  /** Open without writing (the `ccproxy usage` view while no server holds the file). */
  readOnly?: boolean;
}

/**
 * The access log says who used the proxy, when, for what and at what cost: for its owner only.
 * DuckDB creates its files with the process umask (0644 in a 0755 folder, typically) and has no
 * setting for it, so its folder is made 0700 — when created here, or when it holds nothing but this
 * log (the folder earlier versions made), never a folder of the user's with other files in it — and
 * the file and its write-ahead log (deleted and re-created at every checkpoint) are set to 0600.
 */
function privateFolder(dir: string, base: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform === 'win32') return;
  const mine = (name: string) => name === base || name.startsWith(`${base}.`);
  if ((fs.statSync(dir).mode & 0o077) !== 0 && fs.readdirSync(dir).every(mine)) fs.chmodSync(dir, 0o700);
}

function keepPrivate(file: string): void {
  if (process.platform === 'win32') return;
  try {
    if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  } catch {
    // No write-ahead log right now (just checkpointed): nothing to protect.
  }
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * An appender to the access log's table, and the chunk its rows are written into. Kept between
 * batches: a new appender a batch cost ~1 µs a row more (docs/performance.md, nineteenth session).
 */
interface Appending {
  appender: DuckDBAppender;
  chunks: ChunkWriter;
}

async function appendingTo(conn: DuckDBConnection): Promise<Appending> {
  const appender = await conn.createAppender(TABLE);
  try {
    const types = Array.from({ length: appender.columnCount }, (_, c) => appender.columnType(c));
    return { appender, chunks: new ChunkWriter(types) };
  } catch (err) {
    appender.closeSync();
    throw err;
  }
}

export class DuckDbStore implements AccessLogStore, CaptureStore {
  readonly captures: CaptureStore = this;
  private closed = false;
  /** Writes (appends, pruning) run one at a time: a DuckDB connection is not for concurrent use. */
  private writes: Promise<unknown> = Promise.resolve();
  /** The access log's appender, kept from one batch to the next (made at the first). */
  private appending: Appending | undefined;

  private constructor(
    private readonly file: string,
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection | undefined,
    private readonly version: number,
  ) {}

  /** Open (creating the file and its parent directories) and bring the schema up to date. */
  static async open(file: string, opts: DuckDbStoreOptions = {}): Promise<DuckDbStore> {
    const resolved = path.resolve(file);
    if (!opts.readOnly) privateFolder(path.dirname(resolved), path.basename(resolved));
    const instance = await DuckDBInstance.create(resolved, opts.readOnly ? { access_mode: 'READ_ONLY' } : {});
    if (!opts.readOnly) keepPrivate(resolved);
    try {
      if (opts.readOnly) {
        const conn = await instance.connect();
        const version = await schemaVersion(conn).finally(() => conn.closeSync());
        if (version === 0) throw new Error(`${resolved} is not a ccproxy access log.`);
        return new DuckDbStore(resolved, instance, undefined, version);
      }
      const writer = await instance.connect();
      const version = await migrate(writer);
      keepPrivate(`${resolved}.wal`);
      return new DuckDbStore(resolved, instance, writer, version);
    } catch (err) {
      instance.closeSync();
      throw err;
    }
  }

  /** Run a write after the ones before it. */
  private write<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const writer = this.writer;
    if (!writer) return Promise.reject(new Error('The access log was opened read-only.'));
    if (this.closed) return Promise.reject(new Error('The access log is closed.'));
    const run = this.writes.then(() => fn(writer)).finally(() => keepPrivate(`${this.file}.wal`));
    this.writes = run.catch(() => {});
    return run;
  }

  /** Reads get a connection of their own, so concurrent API calls never share one. */
  private async read<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('The access log is closed.');
    const conn = await this.instance.connect();
    try {
      return await fn(conn);
    } finally {
      conn.closeSync();
    }
  }

  insertBatch(rows: readonly AccessLogRow[]): Promise<void> {
    return this.insertColumns(encodeRows(rows));
  }

  /** A batch already in columns (what the access log's thread is handed: thread-store.ts). */
  insertColumns(cols: RowColumns): Promise<void> {
    if (cols.count === 0) return Promise.resolve();
    return this.write(async (conn) => {
      this.appending ??= await appendingTo(conn);
      const { appender, chunks } = this.appending;
      try {
        for (let from = 0; from < cols.count; from += CHUNK_ROWS) {
          if (from > 0) await yieldToLoop();
          appender.appendDataChunk(chunks.write(cols, from, Math.min(from + CHUNK_ROWS, cols.count)));
        }
        appender.flushSync();
      } catch (err) {
        // The next batch starts afresh; what this one left in the appender goes with it.
        this.appending = undefined;
        try {
          appender.clear();
          appender.closeSync();
        } catch {}
        throw err;
      }
    });
  }

  query(q: LogQuery): Promise<LogPage> {
    return this.read((conn) => queryPage(conn, q));
  }

  aggregate(q: AnalyticsQuery): Promise<Analytics> {
    return this.read((conn) => aggregate(conn, q));
  }

  async status(): Promise<StoreStatus> {
    const r = await this.read((conn) =>
      conn.runAndReadAll(
        `SELECT count(*)::DOUBLE AS rows, epoch_ms(min(ts))::DOUBLE AS oldest, epoch_ms(max(ts))::DOUBLE AS newest FROM ${TABLE}`,
      ),
    );
    const row = r.getRowObjectsJS()[0] ?? {};
    let size: number | null = 0;
    for (const f of [this.file, `${this.file}.wal`]) {
      try {
        size += fs.statSync(f).size;
      } catch {}
    }
    return {
      kind: 'duckdb',
      location: this.file,
      rows: Number(row.rows ?? 0),
      oldest: row.oldest === null || row.oldest === undefined ? null : Number(row.oldest),
      newest: row.newest === null || row.newest === undefined ? null : Number(row.newest),
      size_bytes: size,
      schema_version: this.version,
    };
  }

  async prune(before: number): Promise<number> {
    if (!this.writer) return 0;
    const r = await this.write((conn) =>
      conn.run(`DELETE FROM ${TABLE} WHERE ts < make_timestamp($before::BIGINT * 1000)`, {
        before: Math.trunc(before),
      }),
    );
    return r.rowsChanged;
  }

  insertCaptures(rows: readonly StoredCapture[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    // An INSERT, not the appender the access log's small rows use: an appender's flush runs on
    // the event loop (flushSync), a few milliseconds for a batch of captures that every request
    // in flight would wait; an INSERT runs on DuckDB's threads.
    const p = duckdb.params();
    const values = rows.map(
      (r) =>
        `(${p.bind(r.id)}, ${p.ts(r.ts)}, ${p.bind(r.size_bytes)}, ${p.bind(r.truncated)}, ${p.bind(r.doc)})`,
    );
    return this.write(async (conn) => {
      await conn.run(`INSERT INTO ${CAPTURES} VALUES ${values.join(', ')}`, p.values);
    });
  }

  async getCapture(id: string, ts?: number): Promise<string | null> {
    const { sql, params } = getCaptureSql(CAPTURES, duckdb, id, ts);
    const r = await this.read((conn) => conn.runAndReadAll(sql, params.values));
    const doc = r.getRowObjectsJS()[0]?.doc;
    return typeof doc === 'string' ? doc : null;
  }

  async pruneCaptures(before: number): Promise<number> {
    if (!this.writer) return 0;
    const { sql, params } = pruneCapturesSql(CAPTURES, duckdb, before);
    return (await this.write((conn) => conn.run(sql, params.values))).rowsChanged;
  }

  async boundCaptures(maxBytes: number): Promise<number> {
    if (!this.writer) return 0;
    return this.write(async (conn) => {
      const over = overBoundSql(CAPTURES, duckdb, maxBytes);
      const r = (await conn.runAndReadAll(over.sql, over.params.values)).getRowObjectsJS()[0];
      if (!r) return 0;
      const del = boundDeleteSql(CAPTURES, duckdb, Number(r.ts));
      return (await conn.run(del.sql, del.params.values)).rowsChanged;
    });
  }

  async captureStats(): Promise<CaptureStats> {
    const r = await this.read((conn) => conn.runAndReadAll(captureStatsSql(CAPTURES)));
    const row = r.getRowObjectsJS()[0] ?? {};
    return { rows: Number(row.n ?? 0), bytes: Number(row.bytes ?? 0) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.writer) {
      // Fold the WAL into the file so a reader opening it read-only later sees everything.
      await this.write((conn) => {
        try {
          this.appending?.appender.closeSync();
        } catch {}
        this.appending = undefined;
        return conn.run('CHECKPOINT');
      }).catch(() => {});
      this.writer.closeSync();
    }
    this.closed = true;
    this.instance.closeSync();
  }
}

export { SCHEMA_VERSION };
