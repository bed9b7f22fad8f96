/**
 * Where captures live: a table beside the access log's, in the same store (the DuckDB file or
 * PostgreSQL), keyed like its rows by (ts, id). The queries are written once (capture/sql.ts) in
 * the access log's dialects.
 */
import type { StoredCapture } from './store-doc.ts';

export interface CaptureStats {
  rows: number;
  /** Bytes of the stored documents (what `observability.capture_max_mb` bounds). */
  bytes: number;
}

export interface CaptureStore {
  insertCaptures(rows: readonly StoredCapture[]): Promise<void>;
  /** The stored document of the capture of request `id` started at `ts` (the newest of that id without `ts`). */
  getCapture(id: string, ts?: number): Promise<string | null>;
  /** Delete captures of requests started before `before` (epoch ms); returns how many. */
  pruneCaptures(before: number): Promise<number>;
  /** Delete the oldest captures until the rest hold at most `maxBytes`; returns how many went. */
  boundCaptures(maxBytes: number): Promise<number>;
  captureStats(): Promise<CaptureStats>;
}
