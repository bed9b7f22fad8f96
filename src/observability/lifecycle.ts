/**
 * Request lifecycle events. The hot path fills one RequestRecord per request and announces
 * `start`, `first_byte`, `usage` and `end`; metrics and the access log subscribe. Listeners are
 * called synchronously and must be cheap (count, push to a buffer): nothing here is awaited.
 */
import type { Mode } from '../backends/backend.ts';
import type { ErrorKind } from '../errors.ts';
import type { Format } from '../formats/frontend.ts';
import type { RequestCapture } from './capture/recorder.ts';

export interface TokenUsage {
  input: number;
  output: number;
  cacheRead: number;
  /** Cache writes, both TTLs together. */
  cacheWrite: number;
  /** Of cacheWrite, the part written with the 1-hour TTL (priced higher). */
  cacheWrite1h: number;
}

export interface RequestRecord {
  id: string;
  /** Epoch milliseconds. */
  startedAt: number;
  /** performance.now() at start, for durations. */
  t0: number;
  /** `none`: a request no route took (a 404, a refused body). */
  mode: Mode | 'none';
  format: Format | 'none';
  /** Route pattern (`/api/v1/messages`), never the raw URL. */
  route: string;
  method: string;
  clientModel?: string;
  upstreamModel?: string;
  stream: boolean;
  status?: number;
  errorKind?: ErrorKind;
  /** Milliseconds from start to the first byte of the answer body sent to the client. */
  ttfbMs?: number;
  durationMs?: number;
  usage?: TokenUsage;
  stopReason?: string;
  /** Upstream retries made for this request. */
  retries: number;
  /** Why each retry happened (`connection`, `timeout`, `server_error`, `overloaded`, `rate_limited`). */
  retryReasons?: string[];
  sdkTurns?: number;
  sdkCostUsd?: number;
  userAgent?: string;
  upstreamRequestId?: string;
  /** The account that answered (the last one tried), by its name from the settings. */
  account?: string;
  /** How that account is paid for: a subscription, or an API key billed per token (spill-over). */
  billing?: 'subscription' | 'api_key';
  /** Set when the client hung up before the answer was complete. */
  clientAborted?: boolean;
  /** What the request sent and got, when observability.capture is on (sealed before `end`). */
  capture?: RequestCapture;
}

export type LifecycleEvent = 'start' | 'first_byte' | 'usage' | 'end';
export type LifecycleListener = (event: LifecycleEvent, record: RequestRecord) => void;

export class Lifecycle {
  private listeners: LifecycleListener[] = [];

  subscribe(listener: LifecycleListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  get active(): boolean {
    return this.listeners.length > 0;
  }

  emit(event: LifecycleEvent, record: RequestRecord): void {
    for (const l of this.listeners) {
      try {
        l(event, record);
      } catch {
        // An observer's bug must never break a request.
      }
    }
  }
}

export function emptyUsage(): TokenUsage {
  return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0 };
}
