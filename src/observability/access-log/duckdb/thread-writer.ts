/**
 * The server's side of the access log's writer when it runs on the DuckDB thread (thread.ts): rows
 * are gathered for a few milliseconds and handed over, so they wait for their batch on the thread's
 * heap, not here. Held here for a second (the flush interval), every row outlived two scavenges and
 * was promoted to the old generation: ~3× the bytes a request promotes with observability off
 * (docs/performance.md, twelfth session).
 *
 * Batching, retries, outages and pruning are the thread's writer's (writer.ts), unchanged; its stats
 * come back after each write and are read here as the writer's, plus the rows still on their way.
 */
import type { AccessLogRow } from '../row.ts';
import { noCounts, type RowWriter, type WriterLog, type WriterStats } from '../writer.ts';
import type { WriterReport } from './thread-store.ts';

/** What this needs of the thread (thread-store.ts). */
export interface WriterThread {
  /** Post rows to the thread (starting one if none runs); rejects when no thread can start. */
  append(rows: readonly AccessLogRow[]): Promise<void>;
  call(op: 'flushWriter' | 'closeWriter', ...args: unknown[]): Promise<unknown>;
}

/**
 * How long a row waits here before it is handed over: long enough that a message carries tens of
 * rows under load (each message has a cost of its own), short enough that few rows live through a
 * scavenge (one every ~40 ms at 5,000 requests a second).
 */
export const HAND_OVER_MS = 10;
/** Most rows in one message: a burst crosses in slices, one per turn of the event loop. */
export const SLICE_ROWS = 500;

const LOG_EVERY_MS = 60_000;

const NO_REPORT: WriterReport = { stats: { pending: 0, ...noCounts() }, received: 0 };

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class ThreadWriter implements RowWriter<AccessLogRow> {
  private rows: AccessLogRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Hand-overs in order, each after the one before. */
  private sending: Promise<void> = Promise.resolve();
  /** Rows taken from `rows` and not yet posted (a thread starting, or slices waiting their turn). */
  private posting = 0;
  /** Rows posted to the running thread, and its last report. */
  private sent = 0;
  private report = NO_REPORT;
  /** What threads that ended reported, and the rows lost with them. */
  private readonly past = noCounts();
  private closed = false;
  private loggedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly thread: WriterThread,
    private readonly log: WriterLog,
  ) {}

  push(row: AccessLogRow): void {
    if (this.closed) return;
    this.rows.push(row);
    this.timer ??= setTimeout(() => this.handOver(), HAND_OVER_MS);
  }

  get pending(): number {
    const r = this.report;
    return this.rows.length + this.posting + (this.sent - r.received) + r.stats.pending;
  }

  get stats(): WriterStats {
    const { stats } = this.report;
    const p = this.past;
    return {
      pending: this.pending,
      written: p.written + stats.written,
      failures: p.failures + stats.failures,
      dropped: p.dropped + stats.dropped,
      pruned: p.pruned + stats.pruned,
      last_error: stats.last_error ?? p.last_error,
      unavailable_since: stats.unavailable_since,
    };
  }

  /** Post what waits, in slices of at most SLICE_ROWS, one per turn; resolves when all is posted. */
  private handOver(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.rows;
    if (rows.length === 0) return this.sending;
    this.rows = [];
    this.posting += rows.length;
    this.sending = this.sending.then(async () => {
      for (let at = 0; at < rows.length; at += SLICE_ROWS) {
        if (at > 0) await nextTurn();
        const slice = rows.length <= SLICE_ROWS ? rows : rows.slice(at, at + SLICE_ROWS);
        try {
          await this.thread.append(slice);
          this.sent += slice.length;
        } catch (err) {
          this.lost(slice.length, err as Error, 'could not be handed to the DuckDB thread');
        } finally {
          this.posting -= slice.length;
        }
      }
    });
    return this.sending;
  }

  async flush(timeoutMs?: number): Promise<boolean> {
    await this.handOver();
    try {
      return (await this.thread.call('flushWriter', timeoutMs)) as boolean;
    } catch {
      return this.pending === 0;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handOver();
    try {
      await this.thread.call('closeWriter');
    } catch (err) {
      this.threadLost(err as Error);
    }
  }

  /** The thread's writer's stats after a write. */
  reported(report: WriterReport): void {
    this.report = report;
  }

  /** A line the thread's writer logged. */
  logged(level: 'info' | 'warn' | 'error', obj: object, msg: string): void {
    this.log[level](obj, msg);
  }

  /** The thread ended: what it held is lost, and what it had counted is kept; a new one takes the next rows. */
  threadLost(err: Error): void {
    const { stats, received } = this.report;
    const p = this.past;
    p.written += stats.written;
    p.failures += stats.failures;
    p.dropped += stats.dropped;
    p.pruned += stats.pruned;
    const held = stats.pending + this.sent - received;
    this.report = NO_REPORT;
    this.sent = 0;
    this.lost(held, err, 'were lost with the DuckDB thread; a new thread takes the next ones');
  }

  /** Rows given up on: counted, and said at most once a minute (a file that cannot open would flood the log). */
  private lost(rows: number, err: Error, what: string): void {
    this.past.last_error = err.message;
    if (rows === 0) return;
    this.past.dropped += rows;
    const now = Date.now();
    if (now - this.loggedAt < LOG_EVERY_MS) return;
    this.loggedAt = now;
    this.log.error(
      { rows, err: err.message, dropped_total: this.past.dropped },
      `access log: ${rows} rows ${what}`,
    );
  }
}
