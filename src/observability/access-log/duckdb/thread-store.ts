/**
 * The access log's DuckDB file, run on a thread of its own (thread.ts) so that writing it never
 * holds the event loop: `ccproxy serve` uses this, `ccproxy usage` and the tests the in-process
 * DuckDbStore it wraps. Every method is one message to the thread and one reply; rows cross by
 * structured clone, which costs this thread ~2.5 µs a row (DuckDB's append and commit ~8 µs a row,
 * there), so a big batch crosses in slices, one per turn of the event loop.
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
import type { DuckDbStore } from './store.ts';

/**
 * The store methods a call can name, and the thread's own three for a batch sent in slices: `stage`
 * (a slice, kept on the thread), `insertStaged` (the last slice: the batch is written) and `unstage`.
 */
type Op = (Exclude<keyof (AccessLogStore & CaptureStore), 'captures'> & keyof DuckDbStore) | StagingOp;
export type StagingOp = 'stage' | 'insertStaged' | 'unstage';
export type StoreCall = { id: number; op: Op; args: unknown[] };
/** `id` 0 answers the thread's start: `value` 'ready', or the `error` opening the file gave. */
export type StoreReply = { id: number; value?: unknown; error?: string };

/**
 * Rows per message. A batch of 2,000 in one message would hold every request for ~5 ms while it is
 * copied; in slices of 500 each turn of the event loop holds them ~1 ms.
 */
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
  private lastBatch = 0;
  /** Batches still being sent in slices: close() lets them finish first. */
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
    if (rows.length <= SLICE_ROWS) return this.call('insertBatch', rows);
    const sending = this.insertSliced(rows);
    this.sending.add(sending);
    const done = () => this.sending.delete(sending);
    sending.then(done, done);
    return sending;
  }

  /**
   * A batch in slices: the thread keeps each slice and writes the whole batch when the
   * last arrives with the count it must have kept (a thread that died and was replaced mid-batch has
   * lost the first slices: the batch fails and the writer sends it again).
   */
  private async insertSliced(rows: readonly AccessLogRow[]): Promise<void> {
    const batch = ++this.lastBatch;
    const calls: Promise<unknown>[] = [];
    let failed = false;
    let sent = 0;
    for (; sent + SLICE_ROWS < rows.length && !failed; sent += SLICE_ROWS) {
      const call = this.call('stage', batch, rows.slice(sent, sent + SLICE_ROWS));
      call.catch(() => {
        failed = true;
      });
      calls.push(call);
      await nextTurn();
    }
    if (failed) this.call('unstage', batch).catch(() => {});
    else calls.push(this.call('insertStaged', batch, sent, rows.slice(sent)));
    await Promise.all(calls);
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
