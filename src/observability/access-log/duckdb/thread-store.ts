/**
 * The access log's DuckDB file, run on a thread of its own (thread.ts) so that writing it never
 * holds the event loop: `ccproxy serve` uses this, `ccproxy usage` and the tests the in-process
 * DuckDbStore it wraps. Every method is one message to the thread and one reply. A batch of rows
 * crosses as columns (columns.ts), encoded a slice per turn of the event loop and transferred, not
 * copied: a structured clone of the row objects cost ~4.7 µs a row on the two threads together.
 *
 * If the thread dies, the calls waiting on it fail (the writer keeps their rows and tries again)
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
import { RowColumnsBuilder } from './columns.ts';

/** The store methods a call can name (a batch of rows goes as `insertColumns`). */
type Op = Exclude<keyof (AccessLogStore & CaptureStore), 'captures' | 'insertBatch'> | 'insertColumns';
export type StoreCall = { id: number; op: Op; args: unknown[] };
/** `id` 0 answers the thread's start: `value` 'ready', or the `error` opening the file gave. */
export type StoreReply = { id: number; value?: unknown; error?: string };

/** Rows encoded a turn of the event loop: a batch of 2,000 at once would hold every request 2–4 ms. */
export const SLICE_ROWS = 500;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** thread.ts beside this file: .ts when run from the sources (tsx), .js when built. */
const THREAD = new URL(`./thread${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url);

function newThread(file: string): Worker {
  const workerData = { file };
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
  private thread: Promise<Worker> | undefined;
  /** The running thread, once it has opened the file. */
  private worker: Worker | undefined;
  /** Resolves when the current thread has ended. */
  private ended: Promise<unknown> = Promise.resolve();
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private lastId = 0;
  /** Batches still being encoded: close() lets them finish first. */
  private readonly sending = new Set<Promise<void>>();
  private closed = false;
  private closing = false;

  private constructor(private readonly file: string) {}

  /** Open (creating the file) on a new thread; rejects with DuckDbStore.open's error if it cannot. */
  static async open(file: string): Promise<DuckDbThreadStore> {
    const store = new DuckDbThreadStore(path.resolve(file));
    await store.start();
    return store;
  }

  private start(): Promise<Worker> {
    this.thread ??= new Promise<Worker>((resolve, reject) => {
      const worker = newThread(this.file);
      this.ended = new Promise((ended) => worker.once('exit', ended));
      let started = false;
      worker.on('message', (r: StoreReply) => {
        if (r.id !== 0) return this.settle(r);
        if (r.error !== undefined) return reject(new Error(r.error));
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
      });
    });
    // A thread that could not start is tried again by the next call.
    this.thread.catch(() => {
      this.thread = undefined;
    });
    return this.thread;
  }

  private call<T>(op: StoreCall['op'], ...args: unknown[]): Promise<T> {
    return this.callWith<T>([], op, ...args);
  }

  /** A call whose `transfer` buffers move to the thread rather than being copied. */
  private async callWith<T>(transfer: ArrayBuffer[], op: StoreCall['op'], ...args: unknown[]): Promise<T> {
    if (this.closed) throw new Error('The access log is closed.');
    const worker = await this.start();
    return new Promise<T>((resolve, reject) => {
      const id = ++this.lastId;
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.ref();
      worker.postMessage({ id, op, args } satisfies StoreCall, transfer);
    });
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
    if (rows.length === 0) return Promise.resolve();
    const sending = this.send(rows);
    this.sending.add(sending);
    const done = () => this.sending.delete(sending);
    sending.then(done, done);
    return sending;
  }

  /** A batch encoded a slice per turn, then handed over whole in one message. */
  private async send(rows: readonly AccessLogRow[]): Promise<void> {
    const columns = new RowColumnsBuilder(rows.length);
    for (let from = 0; from < rows.length; from += SLICE_ROWS) {
      if (from > 0) await nextTurn();
      columns.add(rows, from, Math.min(from + SLICE_ROWS, rows.length));
    }
    const batch = columns.done();
    await this.callWith([batch.values.buffer as ArrayBuffer], 'insertColumns', batch);
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

  /** Write what was handed over, checkpoint, close the file and end the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.thread) {
      this.closed = true;
      return;
    }
    // The thread's end is awaited: it must keep the process alive until then.
    this.closing = true;
    this.worker?.ref();
    await Promise.allSettled(this.sending);
    try {
      await this.call('close');
    } finally {
      this.closed = true;
      await this.ended;
    }
  }
}
