/** Shapes the logs API answers with (see src/observability/access-log/store.ts and row.ts). */

export interface Row {
  id: string;
  ts: number;
  mode: string;
  format: string;
  method: string;
  path: string;
  client_model: string | null;
  upstream_model: string | null;
  stream: boolean;
  status: number | null;
  error_kind: string | null;
  duration_ms: number | null;
  ttft_ms: number | null;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cache_write_1h_tokens: number;
  cost_usd: number | null;
  stop_reason: string | null;
  retries: number;
  sdk_turns: number | null;
  sdk_cost_usd: number | null;
  user_agent: string | null;
  upstream_request_id: string | null;
  client_aborted: boolean;
}

/** A request still in flight (from a `start` event). */
export interface Pending {
  id: string;
  ts: number;
  mode: string;
  format: string;
  method: string;
  path: string;
}

export interface Page {
  rows: Row[];
  count: number;
  next_cursor: string | null;
}

export interface Aggregate {
  requests: number;
  errors: number;
  success_rate: number | null;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  ttft_p50_ms: number | null;
  ttft_p95_ms: number | null;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cost_usd: number;
  unpriced: number;
}

export interface Analytics {
  from: number | null;
  to: number | null;
  bucket_s: number;
  totals: Aggregate;
  by_model: Array<Aggregate & { model: string }>;
  by_error_kind: Array<{ kind: string; count: number }>;
  timeseries: Array<Aggregate & { t: number }>;
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
  errors_by_kind: Array<{ t: number; kind: string; count: number }>;
}

export interface Status {
  store: {
    kind: string;
    location: string;
    rows: number;
    oldest: number | null;
    newest: number | null;
    size_bytes: number | null;
  };
  writer: { pending: number; written: number; failures: number; dropped: number; last_error: string | null };
  rate_limits: Array<{ name: string; value: number }>;
}

export interface Filters {
  model: string;
  mode: string;
  format: string;
  status: string;
  q: string;
}
