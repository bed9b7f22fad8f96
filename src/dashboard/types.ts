/**
 * The shapes the logs API answers with, taken from the server's own declarations. Type-only: the
 * bundle carries none of the server's code, and a change there shows here at compile time.
 */
export type { AccessLogRow as Row } from '../observability/access-log/row.ts';
export type { Analytics } from '../observability/access-log/store.ts';
export type { Capture, RequestDetail } from '../observability/capture/types.ts';
export type { LogsStatus as Status, QueryPage as Page } from '../observability/logs-api/routes.ts';
export type { StartEvent as Pending } from '../observability/logs-api/stream.ts';

/** The request table's filters, as the page holds them ('' = any). */
export interface Filters {
  model: string;
  mode: string;
  format: string;
  status: string;
  q: string;
}
