/**
 * One access-log row: a finished request as it is stored and served by the logs API (snake_case,
 * the same names as the table's columns). Built once per request, at `end`, from its RequestRecord.
 */
import { kindForStatus } from '../../errors.ts';
import { emptyUsage, type RequestRecord } from '../lifecycle.ts';
import type { Pricing } from '../pricing.ts';

export interface AccessLogRow {
  id: string;
  /** Start time, epoch milliseconds. */
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
  /** Time to first token: streamed, successful answers only (a non-streamed answer arrives whole). */
  ttft_ms: number | null;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cache_write_1h_tokens: number;
  /** API-equivalent cost in USD; null when the model has no price. */
  cost_usd: number | null;
  stop_reason: string | null;
  retries: number;
  sdk_turns: number | null;
  sdk_cost_usd: number | null;
  user_agent: string | null;
  upstream_request_id: string | null;
  client_aborted: boolean;
  /** The account that answered (its name from the settings); null when none was chosen. */
  account: string | null;
  /**
   * How that account is paid: `subscription` (cost_usd is the API-equivalent value) or `api_key`
   * (spill-over: cost_usd is real money); null when no account was chosen.
   */
  billing: 'subscription' | 'api_key' | null;
}

/** Columns in table order: the schema, the appender, the CSV export and the query all follow it. */
export const ROW_COLUMNS = [
  'id',
  'ts',
  'mode',
  'format',
  'method',
  'path',
  'client_model',
  'upstream_model',
  'stream',
  'status',
  'error_kind',
  'duration_ms',
  'ttft_ms',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'cache_write_1h_tokens',
  'cost_usd',
  'stop_reason',
  'retries',
  'sdk_turns',
  'sdk_cost_usd',
  'user_agent',
  'upstream_request_id',
  'client_aborted',
  'account',
  'billing',
] as const satisfies ReadonlyArray<keyof AccessLogRow>;

/** What a column holds, as both stores type it (DuckDB's schema.ts and PostgreSQL's migrations). */
export type ColumnType = 'text' | 'timestamp' | 'boolean' | 'smallint' | 'integer' | 'double';

export const COLUMN_TYPES = {
  id: 'text',
  ts: 'timestamp',
  mode: 'text',
  format: 'text',
  method: 'text',
  path: 'text',
  client_model: 'text',
  upstream_model: 'text',
  stream: 'boolean',
  status: 'smallint',
  error_kind: 'text',
  duration_ms: 'double',
  ttft_ms: 'double',
  input_tokens: 'integer',
  output_tokens: 'integer',
  cache_read_tokens: 'integer',
  cache_write_tokens: 'integer',
  cache_write_1h_tokens: 'integer',
  cost_usd: 'double',
  stop_reason: 'text',
  retries: 'smallint',
  sdk_turns: 'integer',
  sdk_cost_usd: 'double',
  user_agent: 'text',
  upstream_request_id: 'text',
  client_aborted: 'boolean',
  account: 'text',
  billing: 'text',
} as const satisfies Record<keyof AccessLogRow, ColumnType>;

/** A SMALLINT's bound: a count past it (retries) is stored at it rather than refusing its batch. */
export const SMALLINT_MAX = 32767;

const MAX_TEXT = 512;
const text = (s: string | undefined): string | null => (s ? s.slice(0, MAX_TEXT) : null);
/** The columns' INTEGER bound: a count past it (a broken usage report) is kept at it, not refused with its batch. */
const INT_MAX = 2 ** 31 - 1;
const count = (n: number | undefined): number =>
  Number.isFinite(n) && n! > 0 ? Math.min(Math.round(n!), INT_MAX) : 0;
const ms = (n: number | undefined): number | null =>
  Number.isFinite(n) ? Math.round(n! * 1000) / 1000 : null;

/** A finished request's row. Pure and cheap: called in the `end` listener. */
export function toRow(r: RequestRecord, pricing: Pricing): AccessLogRow {
  const status = r.status ?? null;
  const errorKind = r.errorKind ?? (status !== null && status >= 400 ? kindForStatus(status) : null);
  const model = r.upstreamModel ?? r.clientModel;
  const u = r.usage;
  // Priced from the table; an SDK run on a model the table lacks falls back to the SDK's own figure.
  // No usage (a refused request) costs 0 on a priced model.
  const cost =
    pricing.costUsd(model, u ?? emptyUsage()) ?? (Number.isFinite(r.sdkCostUsd) ? r.sdkCostUsd! : null);
  return {
    id: r.id,
    ts: r.startedAt,
    mode: r.mode,
    format: r.format,
    method: r.method,
    path: r.route,
    client_model: text(r.clientModel),
    upstream_model: text(r.upstreamModel),
    stream: r.stream,
    status,
    error_kind: errorKind,
    duration_ms: ms(r.durationMs),
    ttft_ms: r.stream && errorKind === null ? ms(r.ttfbMs) : null,
    input_tokens: count(u?.input),
    output_tokens: count(u?.output),
    cache_read_tokens: count(u?.cacheRead),
    cache_write_tokens: count(u?.cacheWrite),
    cache_write_1h_tokens: count(u?.cacheWrite1h),
    cost_usd: cost,
    stop_reason: text(r.stopReason),
    retries: count(r.retries),
    sdk_turns: Number.isFinite(r.sdkTurns) ? count(r.sdkTurns) : null,
    sdk_cost_usd: Number.isFinite(r.sdkCostUsd) ? r.sdkCostUsd! : null,
    user_agent: text(r.userAgent),
    upstream_request_id: text(r.upstreamRequestId),
    client_aborted: r.clientAborted === true,
    account: text(r.account),
    billing: r.billing ?? null,
  };
}
