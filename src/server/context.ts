/**
 * One request's context: its record for observability, an abort signal that fires when the
 * client hangs up or the request outlives its time limit, and the lifecycle events around it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { type Abortable, RequestSignal } from '../abort.ts';
import type { Mode, RequestContext } from '../backends/backend.ts';
import { ProxyError } from '../errors.ts';
import type { Format } from '../formats/frontend.ts';
import { RequestCapture } from '../observability/capture/recorder.ts';
import type { Lifecycle, RequestRecord } from '../observability/lifecycle.ts';

/** Why a context's signal fired when the client went away (as opposed to a time limit). */
export class ClientClosed extends Error {
  constructor() {
    super('The client closed the connection.');
    this.name = 'ClientClosed';
  }
}

export interface OpenContext {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  mode: Mode | 'none';
  format: Format | 'none';
  route: string;
  lifecycle: Lifecycle;
  log: Logger;
  /** Abort the work after this long (0 = never). */
  timeoutMs: number;
  timeoutMessage?: string;
  /** Every in-flight request's signal, so shutdown can end them with a proper error. */
  live?: Set<RequestSignal>;
  /** Capture this request (observability.capture): bodies kept up to `maxBytes`; the client's own bytes. */
  capture?: { maxBytes: number; body?: Uint8Array };
}

export interface LiveContext extends RequestContext {
  /** Mark the first byte of the answer body as sent (once). */
  firstByte(): void;
}

export function openContext(o: OpenContext): LiveContext {
  // Every field is here from the start, in one order: each record then has the same shape, where
  // fields added as a request goes gave each path its own and made every reader (the access-log
  // row, metrics) look them up the slow way.
  const record: RequestRecord = {
    id: o.requestId,
    startedAt: Date.now(),
    t0: performance.now(),
    mode: o.mode,
    format: o.format,
    route: o.route,
    method: o.req.method ?? 'GET',
    clientModel: undefined,
    upstreamModel: undefined,
    stream: false,
    status: undefined,
    errorKind: undefined,
    ttfbMs: undefined,
    durationMs: undefined,
    usage: undefined,
    stopReason: undefined,
    retries: 0,
    retryReasons: undefined,
    sdkTurns: undefined,
    sdkCostUsd: undefined,
    userAgent: o.req.headers['user-agent'],
    upstreamRequestId: undefined,
    account: undefined,
    billing: undefined,
    clientAborted: undefined,
    capture: undefined,
  };
  const capture = o.capture
    ? new RequestCapture(record.t0, o.capture.maxBytes, {
        method: record.method,
        url: o.req.url ?? '/',
        headers: o.req.headers,
        body: o.capture.body,
      })
    : undefined;
  record.capture = capture;
  const signal = new RequestSignal();
  o.live?.add(signal);
  let timer: NodeJS.Timeout | undefined;
  if (o.timeoutMs > 0) {
    timer = setTimeout(() => {
      signal.abort(
        new ProxyError('timeout', o.timeoutMessage ?? `The request took longer than ${o.timeoutMs / 1000}s.`),
      );
    }, o.timeoutMs);
    timer.unref();
  }
  const { res, lifecycle } = o;
  res.once('close', () => {
    if (timer) clearTimeout(timer);
    o.live?.delete(signal);
    if (!res.writableFinished) {
      record.clientAborted = true;
      signal.abort(new ClientClosed());
    }
    // A client that left before the answer began got no status at all: 499 (as nginx logs it),
    // not the 200 a response object starts with.
    record.status ??= res.headersSent ? res.statusCode : record.clientAborted ? 499 : res.statusCode;
    record.durationMs = performance.now() - record.t0;
    capture?.seal(res);
    lifecycle.emit('end', record);
  });
  lifecycle.emit('start', record);

  const [, query = ''] = (o.req.url ?? '').split('?', 2);
  return {
    requestId: o.requestId,
    mode: o.mode as Mode,
    format: o.format as Format,
    signal,
    headers: o.req.headers,
    query,
    passthrough: false,
    sessionId: undefined,
    extras: undefined,
    record,
    capture,
    log: o.log,
    firstByte() {
      if (record.ttfbMs !== undefined) return;
      record.ttfbMs = performance.now() - record.t0;
      lifecycle.emit('first_byte', record);
    },
  };
}

/** The error to report for a failure, given what the context's signal says. */
export function failureOf(err: unknown, signal: Abortable): unknown {
  if (signal.aborted && signal.reason instanceof ProxyError) return signal.reason;
  if (signal.aborted && signal.reason instanceof ClientClosed) return signal.reason;
  return err;
}
