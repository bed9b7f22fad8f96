/**
 * Batches access-log rows off the request path. `push` only appends to an array; a timer (every
 * `flushIntervalMs`, or at once when `batchSize` rows wait) hands batches to the store. A failing
 * store is logged and counted, never thrown at a request: a failed batch is tried once more, then
 * dropped, and the buffer is bounded so a dead disk cannot eat the memory.
 */
import type { Logger } from 'pino';
import type { AccessLogRow } from './row.ts';
import type { AccessLogStore } from './store.ts';

export interface WriterOptions {
  batchSize: number;
  flushIntervalMs: number;
  /** Prune rows older than this many days, at start and hourly (0 = keep forever). */
  retentionDays: number;
  log: Logger;
  /** Most rows held in memory while the store is failing; older ones are dropped first. */
  maxBuffered?: number;
  now?: () => number;
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
}

const PRUNE_EVERY_MS = 60 * 60 * 1000;
const LOG_EVERY_MS = 60 * 1000;

export class AccessLogWriter {
  private buffer: AccessLogRow[] = [];
  /** A batch that failed once and waits for its second try. */
  private retry: AccessLogRow[] = [];
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Immediate | undefined;
  private closed = false;
  private lastLoggedAt = 0;
  private readonly maxBuffered: number;
  private readonly now: () => number;
  private readonly counts: Omit<WriterStats, 'pending'> = {
    written: 0,
    failures: 0,
    dropped: 0,
    pruned: 0,
    last_error: null,
  };

  constructor(
    private readonly store: AccessLogStore,
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
  push(row: AccessLogRow): void {
    if (this.closed) return;
    if (this.buffer.length >= this.maxBuffered) {
      // Drop the oldest batch at once rather than shifting the array on every push.
      const n = Math.min(this.opts.batchSize, this.buffer.length);
      this.buffer.splice(0, n);
      this.counts.dropped += n;
    }
    this.buffer.push(row);
    if (this.buffer.length >= this.opts.batchSize) this.kickSoon();
  }

  get pending(): number {
    return this.buffer.length + this.retry.length;
  }

  get stats(): WriterStats {
    return { pending: this.pending, ...this.counts };
  }

  /** Write everything buffered now; resolves when done (failures are recorded, not thrown). */
  async flush(): Promise<void> {
    // Each round writes, retries or drops a batch, so this ends even when the store keeps failing.
    while (this.flushing || this.pending > 0) {
      await (this.flushing ?? this.runOnce());
    }
  }

  /** Flush what is left and stop the timers. Rows pushed after this are ignored. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.pruneTimer);
    if (this.soon) clearImmediate(this.soon);
    await this.flush();
  }

  private kick(): void {
    if (this.flushing || this.pending === 0) return;
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
    const batch = second ? this.retry : this.buffer.splice(0, this.opts.batchSize);
    this.retry = [];
    try {
      await this.store.insertBatch(batch);
      this.counts.written += batch.length;
      return true;
    } catch (err) {
      this.counts.failures++;
      this.counts.last_error = (err as Error).message ?? String(err);
      if (second) this.counts.dropped += batch.length;
      else this.retry = batch;
      this.warn(
        err,
        second
          ? `access log: dropped ${batch.length} rows after a second failure`
          : 'access log: write failed, will retry',
      );
      return false;
    }
  }

  private async prune(): Promise<void> {
    const before = this.now() - this.opts.retentionDays * 24 * 60 * 60 * 1000;
    try {
      const n = await this.store.prune(before);
      this.counts.pruned += n;
      if (n > 0)
        this.opts.log.info(
          { rows: n, retention_days: this.opts.retentionDays },
          'access log: pruned old rows',
        );
    } catch (err) {
      this.counts.failures++;
      this.counts.last_error = (err as Error).message ?? String(err);
      this.warn(err, 'access log: pruning failed');
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
