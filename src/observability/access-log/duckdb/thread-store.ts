/**
 * The access log's DuckDB file, run on a thread of its own (thread.ts) so that writing it never
 * holds the event loop: `ccproxy serve` uses this, `ccproxy usage` and the tests the in-process
 * DuckDbStore it wraps. Every method is one message to the thread and one reply; rows cross by
 * structured clone (~2 µs a row on this thread; DuckDB's append and commit ~8 µs a row, there).
 *
 * Opened with a writer's options, the thread runs the access log's writer too, and `writer` is its
 * stand-in here (thread-writer.ts): rows are handed over within milliseconds of their request's end
 * and wait for their batch there.
 *
 * If the thread dies, the calls waiting on it fail, the rows its writer held are counted as dropped,
 * and the next call starts a new one. `close()` waits for the thread to write what it was given and
 * end, so no row handed over before it is lost.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CaptureStats, CaptureStore } from '../../capture/store.ts';
import type { StoredCapture } from '../../capture/store-doc.ts';
import type { AccessLogRow } from '../row.ts';
import type { AccessLogStore, Analytics, AnalyticsQuery, LogPage, LogQuery, StoreStatus } from '../store.ts';
import type { WriterLog, WriterOptions, WriterStats } from '../writer.ts';
import type { DuckDbStore } from './store.ts';
import { ThreadWriter } from './thread-writer.ts';

/** The store methods a call can name, and the thread's writer's two. */
type Op =
  | (Exclude<keyof (AccessLogStore & CaptureStore), 'captures' | 'writer'> & keyof DuckDbStore)
  | 'flushWriter'
  | 'closeWriter';
export type StoreCall = { id: number; op: Op; args: unknown[] };
/** Rows for the thread's writer: no reply. */
export type Append = { rows: readonly AccessLogRow[] };
export type ToThread = StoreCall | Append;
/** `id` 0 answers the thread's start: `value` 'ready', or the `error` opening the file gave. */
export type StoreReply = { id: number; value?: unknown; error?: string };
/** The thread's writer's stats (after each write), and how many rows it had received by then. */
export type WriterReport = { stats: WriterStats; received: number };
export type FromThread =
  | StoreReply
  | { report: WriterReport }
  | { log: ['info' | 'warn' | 'error', object, string] };

/** The writer's options that cross to the thread (its log lines come back to `log`). */
export type ThreadWriterOptions = Omit<
  WriterOptions,
  'log' | 'now' | 'changed' | 'weigh' | 'maxWeight' | 'what'
>;
export type ThreadSetup = { file: string; writer?: ThreadWriterOptions };

/** thread.ts beside this file: .ts when run from the sources (tsx), .js when built. */
const THREAD = new URL(`./thread${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url);

function newThread(workerData: ThreadSetup): Worker {
  if (THREAD.pathname.endsWith('.js')) return new Worker(THREAD, { workerData });
  // From the sources (the tests): on Node 20 a worker does not get tsx's loader from `--import tsx`,
  // so the thread's TypeScript is loaded through tsx's API.
  const [api, href] = [import.meta.resolve('tsx/esm/api'), THREAD.href].map((s) => JSON.stringify(s));
  return new Worker(`import(${api}).then(({ tsImport }) => tsImport(${href}, ${href}))`, {
    eval: true,
    workerData,
  });
}

export class DuckDbThreadStore implements AccessLogStore, CaptureStore {
  readonly captures: CaptureStore = this;
  /** The thread's writer, when opened with one. */
  readonly writer: ThreadWriter | undefined;
  private thread: Promise<Worker> | undefined;
  /** The running thread, once it has opened the file. */
  private worker: Worker | undefined;
  /** Resolves when the current thread has ended. */
  private ended: Promise<unknown> = Promise.resolve();
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private lastId = 0;
  private closed = false;
  private closing = false;

  private constructor(
    private readonly setup: ThreadSetup,
    log?: WriterLog,
  ) {
    if (setup.writer && log)
      this.writer = new ThreadWriter(
        {
          append: (rows) => this.append(rows),
          call: (op, ...args) => this.call(op, ...args),
        },
        log,
      );
  }

  /**
   * Open (creating the file) on a new thread; rejects with DuckDbStore.open's error if it cannot.
   * With `writer`, the thread runs the access log's writer with these options (its lines go to `log`).
   */
  static async open(
    file: string,
    writer?: { options: ThreadWriterOptions; log: WriterLog },
  ): Promise<DuckDbThreadStore> {
    const store = new DuckDbThreadStore({ file: path.resolve(file), writer: writer?.options }, writer?.log);
    await store.start();
    return store;
  }

  private start(): Promise<Worker> {
    this.thread ??= new Promise<Worker>((resolve, reject) => {
      const worker = newThread(this.setup);
      this.ended = new Promise((ended) => worker.once('exit', ended));
      let started = false;
      worker.on('message', (m: FromThread) => {
        if ('report' in m) return this.writer?.reported(m.report);
        if ('log' in m) return this.writer?.logged(...m.log);
        if (m.id !== 0) return this.settle(m);
        if (m.error !== undefined) return reject(new Error(m.error));
        started = true;
        this.worker = worker;
        // From now on only a call in flight keeps the process alive (see call()); an idle log does not.
        if (!this.closing) worker.unref();
        resolve(worker);
      });
      worker.on('error', (err) => {
        if (!started) reject(err);
      });
      worker.once('exit', (code) => {
        const err = new Error(`The access log's DuckDB thread stopped (exit code ${code}).`);
        if (!started) return reject(err);
        this.thread = undefined;
        this.worker = undefined;
        for (const w of this.waiting.values()) w.reject(err);
        this.waiting.clear();
        if (!this.closing) this.writer?.threadLost(err);
      });
    });
    // A thread that could not start is tried again by the next call.
    this.thread.catch(() => {
      this.thread = undefined;
    });
    return this.thread;
  }

  private async call<T>(op: StoreCall['op'], ...args: unknown[]): Promise<T> {
    if (this.closed) throw new Error('The access log is closed.');
    const worker = await this.start();
    return new Promise<T>((resolve, reject) => {
      const id = ++this.lastId;
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.ref();
      worker.postMessage({ id, op, args } satisfies StoreCall);
    });
  }

  /** Rows for the thread's writer (no reply); resolves once posted, to a thread that is running. */
  private async append(rows: readonly AccessLogRow[]): Promise<void> {
    if (this.closed) throw new Error('The access log is closed.');
    const worker = this.worker ?? (await this.start());
    worker.postMessage({ rows } satisfies Append);
  }

  private settle(r: StoreReply): void {
    const w = this.waiting.get(r.id);
    if (!w) return;
    this.waiting.delete(r.id);
    if (this.waiting.size === 0 && !this.closing) this.worker?.unref();
    if (r.error !== undefined) w.reject(new Error(r.error));
    else w.resolve(r.value);
  }

  insertBatch(rows: readonly AccessLogRow[]): Promise<void> {
    return rows.length === 0 ? Promise.resolve() : this.call('insertBatch', rows);
  }
  query(q: LogQuery): Promise<LogPage> {
    return this.call('query', q);
  }
  aggregate(q: AnalyticsQuery): Promise<Analytics> {
    return this.call('aggregate', q);
  }
  status(): Promise<StoreStatus> {
    return this.call('status');
  }
  prune(before: number): Promise<number> {
    return this.call('prune', before);
  }
  insertCaptures(rows: readonly StoredCapture[]): Promise<void> {
    return rows.length === 0 ? Promise.resolve() : this.call('insertCaptures', rows);
  }
  getCapture(id: string, ts?: number): Promise<string | null> {
    return this.call('getCapture', id, ts);
  }
  pruneCaptures(before: number): Promise<number> {
    return this.call('pruneCaptures', before);
  }
  boundCaptures(maxBytes: number): Promise<number> {
    return this.call('boundCaptures', maxBytes);
  }
  captureStats(): Promise<CaptureStats> {
    return this.call('captureStats');
  }

  /** Write what was handed over (the writer's rows too), checkpoint, close the file and end the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    // No thread (it died) and no rows waiting for one: nothing to write.
    if (!this.thread && !this.writer?.pending) {
      this.closed = true;
      return;
    }
    // The thread's end is awaited: it must keep the process alive until then.
    this.closing = true;
    this.worker?.ref();
    try {
      await this.writer?.close();
      await this.call('close');
    } finally {
      this.closed = true;
      await this.ended;
    }
  }
}
