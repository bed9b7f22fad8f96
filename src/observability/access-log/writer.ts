/**
 * Batches access-log rows off the request path. `push` only appends to an array; a timer (every
 * `flushIntervalMs`, or at once when `batchSize` rows wait) hands batches to the store. A failing
 * store is logged and counted, never thrown at a request, and the buffer is bounded so a dead disk
 * or database cannot eat the memory (the oldest rows go first, with one warning).
 *
 * Two kinds of failure: a store that cannot be reached (StorageUnavailableError: a database that is
 * down or restarting) keeps its rows — the batch is retried with backoff, however long it takes,
 * and nothing is lost under a short outage; any other failure (a bad row, a broken file) is tried
 * once more, then dropped, so one bad batch cannot block the rest.
 */
import type { Logger } from 'pino';
import { StorageUnavailableError } from '../../storage/errors.ts';
import type { AccessLogRow } from './row.ts';

/** Where a writer's rows go: the access log's store, or its capture table (capture/writer.ts). */
export interface BatchSink<T> {
  insertBatch(rows: readonly T[]): Promise<void>;
  prune(before: number): Promise<number>;
}

export interface WriterOptions {
  batchSize: number;
  flushIntervalMs: number;
  /** Prune rows older than this many days, at start and hourly (0 = keep forever). */
  retentionDays: number;
  log: Logger;
  /** Most rows held in memory while the store is failing; older ones are dropped first. */
  maxBuffered?: number;
  /** How long `close` keeps trying to write what is left (default 5 s). */
  closeTimeoutMs?: number;
  now?: () => number;
  /** What the rows are, in log lines (default `access log`). */
  what?: string;
  /** A row's weight (bytes) and the most weight held while waiting: beyond it the oldest rows go. */
  weigh?: (row: never) => number;
  maxWeight?: number;
}

export interface WriterStats {
  /** Rows waiting to be written. */
  pending: number;
  written: number;
  /** Batches the store refused. */
  failures: number;
  /** Rows given up on (after a retry, or because the buffer was full). */
  dropped: number;
  pruned: number;
  last_error: string | null;
  /** Since when (epoch ms) the store cannot be reached; null while it can. */
  unavailable_since: number | null;
}

const PRUNE_EVERY_MS = 60 * 60 * 1000;
const LOG_EVERY_MS = 60 * 1000;
/** Backoff between attempts while the store cannot be reached: doubles from the first to the last. */
const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 5000;

/** Wait for `p`, or `ms` at most (its timer cleared either way). */
function atMost(p: Promise<unknown> | undefined, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race(p ? [p, timeout] : [timeout]).finally(() => clearTimeout(timer));
}

export class AccessLogWriter<T = AccessLogRow> {
  private buffer: T[] = [];
  /** A batch that failed once and waits for its second try. */
  private retry: T[] = [];
  /** Weight of the rows in `buffer` (with `weigh`). */
  private weight = 0;
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Immediate | undefined;
  private closed = false;
  private lastLoggedAt = 0;
  /** Rows of the batch being written right now. */
  private writing = 0;
  /** While the store cannot be reached: no attempt before this time, and the next wait. */
  private retryAt = 0;
  private backoffMs = 0;
  /** The buffer overflowed during this outage (warned once). */
  private overflowed = false;
  private readonly maxBuffered: number;
  private readonly now: () => number;
  private readonly counts: Omit<WriterStats, 'pending'> = {
    written: 0,
    failures: 0,
    dropped: 0,
    pruned: 0,
    last_error: null,
    unavailable_since: null,
  };

  constructor(
    private readonly store: BatchSink<T>,
    private readonly opts: WriterOptions,
  ) {
    this.maxBuffered = opts.maxBuffered ?? Math.max(opts.batchSize * 20, 50_000);
    this.now = opts.now ?? Date.now;
    this.timer = setInterval(() => this.kick(), opts.flushIntervalMs);
    this.timer.unref();
    if (opts.retentionDays > 0) {
      void this.prune();
      this.pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
      this.pruneTimer.unref();
    }
  }

  /** Hot path: amortized O(1), never throws, never waits. */
  push(row: T): void {
    if (this.closed) return;
    if (this.opts.weigh) this.pushWeighed(row, this.opts.weigh as (row: T) => number);
    if (this.buffer.length >= this.maxBuffered) {
      // Drop the oldest batch at once rather than shifting the array on every push.
      const n = Math.min(this.opts.batchSize, this.buffer.length);
      this.unweigh(this.buffer.splice(0, n));
      this.counts.dropped += n;
      if (!this.overflowed) {
        this.overflowed = true;
        this.opts.log.warn(
          { max_rows: this.maxBuffered },
          `${this.what}: ${this.maxBuffered} rows are waiting for the store; dropping the oldest until it takes writes again`,
        );
      }
    }
    this.buffer.push(row);
    if (this.buffer.length >= this.opts.batchSize) this.kickSoon();
  }

  /** Rows with a weight (captures): the oldest waiting go while the new one would not fit. */
  private pushWeighed(row: T, weigh: (row: T) => number): void {
    const max = this.opts.maxWeight ?? Number.POSITIVE_INFINITY;
    this.weight += weigh(row);
    while (this.weight > max && this.buffer.length > 0) {
      this.weight -= weigh(this.buffer.shift()!);
      this.counts.dropped++;
      if (!this.overflowed) {
        this.overflowed = true;
        this.opts.log.warn(
          { max_bytes: max },
          `${this.what}: more than ${max} bytes are waiting for the store; dropping the oldest`,
        );
      }
    }
  }

  /** Rows leaving the buffer. */
  private unweigh(rows: T[]): T[] {
    const weigh = this.opts.weigh as ((row: T) => number) | undefined;
    if (weigh) for (const r of rows) this.weight -= weigh(r);
    return rows;
  }

  private get what(): string {
    return this.opts.what ?? 'access log';
  }

  /** Rows not yet written: waiting, waiting for a retry, or being written. */
  get pending(): number {
    return this.buffer.length + this.retry.length + this.writing;
  }

  get stats(): WriterStats {
    return { pending: this.pending, ...this.counts };
  }

  /**
   * Write everything buffered now. Resolves true when all of it is written (or given up on after a
   * failure: recorded, not thrown), false when the store was still unreachable after `timeoutMs`.
   */
  async flush(timeoutMs = this.opts.closeTimeoutMs ?? 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.flushing || this.pending > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      if (this.flushing) {
        // A write stuck on a dead connection is not waited for past the deadline.
        await atMost(this.flushing, left);
        continue;
      }
      const wait = this.retryAt - this.now();
      if (wait > 0) {
        await atMost(undefined, Math.min(wait, left));
        continue;
      }
      await this.runOnce();
    }
    return true;
  }

  /**
   * Flush what is left (for at most `closeTimeoutMs`) and stop the timers; says how many rows could
   * not be written. Rows pushed after this are ignored.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.pruneTimer);
    if (this.soon) clearImmediate(this.soon);
    if (await this.flush()) return;
    const lost = this.pending;
    this.counts.dropped += lost;
    this.buffer = [];
    this.weight = 0;
    this.retry = [];
    this.opts.log.error(
      { rows: lost, dropped_total: this.counts.dropped, last_error: this.counts.last_error },
      `${this.what}: ${lost} rows could not be written before shutdown (the store is unreachable)`,
    );
  }

  private kick(): void {
    if (this.flushing || this.pending === 0 || this.now() < this.retryAt) return;
    void this.runOnce();
  }

  /** Write on the next turn of the event loop: never inside the request that pushed the row. */
  private kickSoon(): void {
    if (this.soon || this.closed) return;
    this.soon = setImmediate(() => {
      this.soon = undefined;
      this.kick();
    });
  }

  private runOnce(): Promise<void> {
    const p = this.writeBatch().then((ok) => {
      this.flushing = undefined;
      // Under a burst, full batches go one after another instead of one per interval.
      if (ok && this.buffer.length >= this.opts.batchSize) this.kickSoon();
    });
    this.flushing = p;
    return p;
  }

  /** One batch (or the retry of a failed one); false when the store refused it. */
  private async writeBatch(): Promise<boolean> {
    const second = this.retry.length > 0;
    const batch = second ? this.retry : this.unweigh(this.buffer.splice(0, this.opts.batchSize));
    this.retry = [];
    this.writing = batch.length;
    try {
      await this.store.insertBatch(batch);
      this.writing = 0;
      this.counts.written += batch.length;
      if (this.counts.unavailable_since !== null) this.recovered();
      return true;
    } catch (err) {
      this.writing = 0;
      this.counts.failures++;
      this.counts.last_error = (err as Error).message ?? String(err);
      if (err instanceof StorageUnavailableError) {
        this.unavailable(batch, err);
        return false;
      }
      if (second) this.counts.dropped += batch.length;
      else this.retry = batch;
      this.warn(
        err,
        second
          ? `${this.what}: dropped ${batch.length} rows after a second failure`
          : `${this.what}: write failed, will retry`,
      );
      return false;
    }
  }

  /** Keep the batch and wait longer before each new attempt; say so once per outage. */
  private unavailable(batch: T[], err: Error): void {
    this.retry = batch;
    this.backoffMs = Math.min(Math.max(this.backoffMs * 2, BACKOFF_FIRST_MS), BACKOFF_MAX_MS);
    this.retryAt = this.now() + this.backoffMs;
    if (this.counts.unavailable_since !== null) return;
    this.counts.unavailable_since = this.now();
    this.opts.log.warn(
      { err: err.message, max_rows: this.maxBuffered },
      `${this.what}: the store cannot be reached; rows wait in memory and are written when it is back`,
    );
  }

  private recovered(): void {
    const since = this.counts.unavailable_since ?? this.now();
    this.counts.unavailable_since = null;
    this.backoffMs = 0;
    this.retryAt = 0;
    this.overflowed = false;
    this.opts.log.info(
      {
        outage_s: Math.round((this.now() - since) / 1000),
        pending: this.pending,
        dropped_total: this.counts.dropped,
      },
      `${this.what}: the store is back; writing the rows that waited`,
    );
  }

  /** Delete what is older than the retention (done at start and hourly). */
  async prune(): Promise<void> {
    const before = this.now() - this.opts.retentionDays * 24 * 60 * 60 * 1000;
    try {
      const n = await this.store.prune(before);
      this.counts.pruned += n;
      if (n > 0)
        this.opts.log.info(
          { rows: n, retention_days: this.opts.retentionDays },
          `${this.what}: pruned old rows`,
        );
    } catch (err) {
      this.counts.failures++;
      this.counts.last_error = (err as Error).message ?? String(err);
      this.warn(err, `${this.what}: pruning failed`);
    }
  }

  /** At most one warning a minute: a broken disk must not flood the log too. */
  private warn(err: unknown, msg: string): void {
    const t = this.now();
    if (t - this.lastLoggedAt < LOG_EVERY_MS) return;
    this.lastLoggedAt = t;
    this.opts.log.warn({ err, failures: this.counts.failures, dropped: this.counts.dropped }, msg);
  }
}
