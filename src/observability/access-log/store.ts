/**
 * The access log's storage contract. The embedded DuckDB file implements it today; a team
 * deployment can plug in a server database by implementing the same five calls.
 */
import type { CaptureStore } from '../capture/store.ts';
import type { AccessLogRow } from './row.ts';

export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx';

/** Filters shared by queries, analytics, the live stream and the export. All optional. */
export interface LogFilter {
  /** Inclusive lower bound, epoch ms. */
  from?: number;
  /** Exclusive upper bound, epoch ms. */
  to?: number;
  /** Matches the upstream or the client model, exactly. */
  model?: string;
  mode?: string;
  format?: string;
  /** The account that answered, by name. */
  account?: string;
  /** A class (`4xx`) or an exact code. */
  status?: StatusClass | number;
  /** Only failed (true) or only successful (false) requests. */
  error?: boolean;
  errorKind?: string;
  stream?: boolean;
  /** Slower than this many milliseconds. */
  minDurationMs?: number;
  /** Substring of the request id (case-insensitive). */
  q?: string;
  /** Exactly this request id. */
  id?: string;
  /** Only requests with (true) or without (false) a capture. */
  captured?: boolean;
}

export interface LogQuery extends LogFilter {
  order: 'asc' | 'desc';
  limit: number;
  /** Opaque cursor from a previous page's `next_cursor`. */
  cursor?: string;
}

export interface LogPage {
  rows: AccessLogRow[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}

export interface AnalyticsQuery extends LogFilter {
  /** Time-series bucket width in seconds. */
  bucketS: number;
}

export interface Aggregate {
  requests: number;
  errors: number;
  /** 0..1; null when there were no requests. */
  success_rate: number | null;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  ttft_p50_ms: number | null;
  ttft_p95_ms: number | null;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  /** Sum of the priced rows; rows with an unknown model add nothing (see `unpriced`). */
  cost_usd: number;
  /** Requests with tokens but no price. */
  unpriced: number;
}

export interface Analytics {
  from: number | null;
  to: number | null;
  bucket_s: number;
  totals: Aggregate;
  by_model: Array<Aggregate & { model: string }>;
  by_mode: Array<Aggregate & { mode: string }>;
  by_format: Array<Aggregate & { format: string }>;
  /** By the account that answered (`(none)` for requests no account took). */
  by_account: Array<Aggregate & { account: string }>;
  by_error_kind: Array<{ kind: string; count: number }>;
  /** One point per bucket (epoch ms of its start), all models together. */
  timeseries: Array<Aggregate & { t: number }>;
  /** Requests, tokens and cost per bucket and model. */
  timeseries_by_model: Array<{
    t: number;
    model: string;
    requests: number;
    input_tokens: number;
    output_tokens: number;
    cache_read_tokens: number;
    cache_write_tokens: number;
    cost_usd: number;
  }>;
  /** Failed requests per bucket and error kind. */
  errors_by_kind: Array<{ t: number; kind: string; count: number }>;
}

export interface StoreStatus {
  /** Which implementation (`duckdb`). */
  kind: string;
  /** Where the data lives (file path or a redacted URL). */
  location: string;
  /** null when the store cannot be read now (`unavailable` says why). */
  rows: number | null;
  /** Epoch ms of the oldest and newest rows, or null when empty. */
  oldest: number | null;
  newest: number | null;
  /** Bytes on disk, when known. */
  size_bytes: number | null;
  schema_version: number;
  /** Why the store could not be read just now (a database outage); absent when it could. */
  unavailable?: string;
}

export interface AccessLogStore {
  /** Append rows (already validated). Rejects on failure; the writer decides what to do. */
  insertBatch(rows: readonly AccessLogRow[]): Promise<void>;
  query(q: LogQuery): Promise<LogPage>;
  aggregate(q: AnalyticsQuery): Promise<Analytics>;
  status(): Promise<StoreStatus>;
  /** Delete rows that started before `before` (epoch ms); returns how many. */
  prune(before: number): Promise<number>;
  close(): Promise<void>;
  /** The captured requests, kept beside the access log (observability.capture). */
  readonly captures?: CaptureStore;
}
