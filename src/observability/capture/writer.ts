/**
 * Captures on their way to the store. At a request's `end` the capture is kept (every request with
 * `all`, failed ones with `errors`) or let go; kept ones are written in batches by the access log's
 * writer (access-log/writer.ts: timer, retries, outages), each turned into its stored, redacted
 * document only then (store-doc.ts), one at a time between turns of the event loop. After writes the
 * store is held under `observability.capture_max_mb` (oldest captures deleted, one warning), and
 * captures older than `observability.capture_days` are pruned at start and hourly.
 */
import type { Logger } from 'pino';
import type { AccessLogRow } from '../access-log/row.ts';
import { AccessLogWriter, type WriterStats } from '../access-log/writer.ts';
import type { RequestRecord } from '../lifecycle.ts';
import type { CaptureMode, RequestCapture } from './recorder.ts';
import type { CaptureStore } from './store.ts';
import { type PendingCapture, toStoredCapture } from './store-doc.ts';

export interface CaptureWriterOptions {
  mode: Exclude<CaptureMode, 'off'>;
  /** Delete captures older than this many days (0 = never by age). */
  days: number;
  /** The most bytes of stored documents kept in all. */
  maxStoreBytes: number;
  /** Values to redact wherever they appear (the proxy's token, the subscription's tokens). */
  secrets: () => Iterable<string | undefined>;
  flushIntervalMs: number;
  closeTimeoutMs?: number;
  log: Logger;
  now?: () => number;
}

export interface CaptureWriterStats extends WriterStats {
  mode: CaptureMode;
  /** Captures deleted to keep the store under its size bound. */
  evicted: number;
}

/** Most bytes of finished captures held in memory while they wait for the store. */
const MAX_WAITING_BYTES = 64 * 1024 * 1024;
/** Check the store's size after this share of the bound was written since the last check… */
const CHECK_SHARE = 0.02;
/** …or this long after it. */
const CHECK_EVERY_MS = 60_000;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Bytes a finished capture holds in memory (bodies as recorded). */
export function weightOf(c: RequestCapture): number {
  return (
    (c.client.body?.length ?? 0) +
    (c.upstreamRequest?.body?.length ?? 0) +
    (c.upstreamResponse?.body.kept ?? 0) +
    c.response.kept +
    (c.agent?.kept ?? 0) +
    4096
  );
}

export class CaptureWriter {
  private readonly writer: AccessLogWriter<PendingCapture>;
  private readonly now: () => number;
  private written = 0;
  private lastCheck = 0;
  private evicted = 0;
  private warnedFull = false;

  constructor(
    private readonly store: CaptureStore,
    private readonly opts: CaptureWriterOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.writer = new AccessLogWriter<PendingCapture>(
      {
        insertBatch: (rows) => this.insert(rows),
        prune: (before) => store.pruneCaptures(before),
      },
      {
        what: 'capture',
        batchSize: 20,
        flushIntervalMs: opts.flushIntervalMs,
        retentionDays: opts.days,
        closeTimeoutMs: opts.closeTimeoutMs,
        log: opts.log,
        now: opts.now,
        weigh: (p: PendingCapture) => weightOf(p.capture),
        maxWeight: MAX_WAITING_BYTES,
      },
    );
  }

  /** At a request's `end` (hot path: a check and a push). */
  finish(r: RequestRecord, row: AccessLogRow): void {
    const capture = r.capture;
    if (!capture) return;
    if (this.opts.mode === 'errors' && row.error_kind === null) return;
    this.writer.push({ id: row.id, ts: row.ts, mode: row.mode, format: row.format, capture });
  }

  get stats(): CaptureWriterStats {
    return { ...this.writer.stats, mode: this.opts.mode, evicted: this.evicted };
  }

  /** Write what waits (the logs API asks before it answers "not found"). */
  flush(timeoutMs?: number): Promise<boolean> {
    return this.writer.flush(timeoutMs);
  }

  /** Delete captures past their age now (also done at start and hourly). */
  prune(): Promise<void> {
    return this.writer.prune();
  }

  close(): Promise<void> {
    return this.writer.close();
  }

  private async insert(rows: readonly PendingCapture[]): Promise<void> {
    const stored = [];
    for (let i = 0; i < rows.length; i++) {
      if (i > 0) await yieldToLoop();
      stored.push(toStoredCapture(rows[i]!, this.opts.secrets()));
    }
    await this.store.insertCaptures(stored);
    for (const s of stored) this.written += s.size_bytes;
    await this.bound();
  }

  /** Keep the store under its bound: the oldest captures go, with one warning. */
  private async bound(): Promise<void> {
    const max = this.opts.maxStoreBytes;
    const due = this.written >= max * CHECK_SHARE || this.now() - this.lastCheck >= CHECK_EVERY_MS;
    if (!due) return;
    this.written = 0;
    this.lastCheck = this.now();
    const n = await this.store.boundCaptures(max);
    if (n === 0) return;
    this.evicted += n;
    if (this.warnedFull) return;
    this.warnedFull = true;
    this.opts.log.warn(
      { deleted: n, max_mb: Math.round(max / 1024 / 1024) },
      'capture: the capture store is full (observability.capture_max_mb); the oldest captures are being deleted',
    );
  }
}
