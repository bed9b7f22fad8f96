/**
 * Writing a backend's Reply to the client: raw upstream bytes (with a usage tap after each
 * write), a rendered stream, or a rendered message. Backpressure is honoured throughout.
 */
import type { ServerResponse } from 'node:http';
import type { Abortable } from '../abort.ts';
import type { Reply } from '../backends/backend.ts';
import { anthropicErrorType, kindForAnthropicType, ProxyError } from '../errors.ts';
import { mergeUsage } from '../formats/anthropic/accumulate.ts';
import type { StreamEvent, Usage } from '../formats/anthropic/types.ts';
import { JsonUsageTap, SseUsageTap, type TapResult } from '../formats/anthropic/usage-tap.ts';
import type { StreamRenderer } from '../formats/frontend.ts';
import { toTokenUsage } from '../observability/usage.ts';
import { ClientClosed, type LiveContext } from './context.ts';
import { toProxyError } from './errors.ts';

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  // Reverse proxies in front of ccproxy (nginx) must not buffer the stream.
  'x-accel-buffering': 'no',
};

/** Returns the body written. */
export function writeJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): string {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
  return text;
}

function record(ctx: LiveContext, tap: TapResult): void {
  const r = ctx.record;
  if (tap.model) r.upstreamModel = tap.model;
  if (tap.stopReason) r.stopReason = tap.stopReason;
  if (tap.errorType) r.errorKind = kindForAnthropicType(tap.errorType);
  if (tap.usage) {
    r.usage = toTokenUsage(tap.usage);
  }
}

/**
 * The fast path: upstream bytes to the client as they arrive, unparsed. Usage is read from the
 * same chunks after each write. Resolves when the response is over, however it ended.
 */
export function pipeRaw(
  res: ServerResponse,
  reply: Extract<Reply, { type: 'raw' }>,
  ctx: LiveContext,
  onUsage: () => void,
): Promise<void> {
  const body = reply.body;
  const sse = (reply.headers['content-type'] ?? '').startsWith('text/event-stream');
  const tap = sse ? new SseUsageTap() : new JsonUsageTap();
  res.writeHead(reply.status, reply.headers);
  ctx.record.status = reply.status;
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      res.off('drain', onDrain);
      record(ctx, tap.end());
      if (ctx.record.usage) onUsage();
      resolve();
    };
    const onDrain = () => body.resume();
    res.on('drain', onDrain);
    const capture = ctx.capture;
    body.on('data', (chunk: Buffer) => {
      ctx.firstByte();
      if (!res.write(chunk)) body.pause();
      tap.push(chunk);
      capture?.passthrough(chunk);
    });
    body.once('end', () => {
      res.end();
      finish();
    });
    body.once('error', (err) => {
      const why = ctx.signal.aborted ? ctx.signal.reason : err;
      if (!(why instanceof ClientClosed) && !res.destroyed) {
        const pe = why instanceof ProxyError ? why : (reply.mapError?.(why) ?? toProxyError(why));
        ctx.record.errorKind = pe.kind;
        ctx.log.warn({ err: pe.message }, 'upstream stream failed mid-response');
        // An Anthropic client learns about it from a proper error event; a JSON answer cut short
        // must not look whole (or leave the client waiting for the rest of its Content-Length):
        // its connection closes.
        if (sse) {
          const frame = `\n\nevent: error\ndata: ${JSON.stringify({ type: 'error', error: { type: anthropicErrorType(pe.kind), message: pe.message } })}\n\n`;
          res.write(frame);
          capture?.responseData(frame);
          res.end();
        } else res.destroy();
      }
      finish();
    });
    res.once('close', () => {
      if (!res.writableFinished) body.destroy();
      finish();
    });
  });
}

/**
 * Render a stream of Anthropic events for the client. The first event is awaited before any
 * header is written, so a failure at the very start still gets a proper HTTP error status.
 */
export async function pumpStream(
  res: ServerResponse,
  events: AsyncIterable<StreamEvent>,
  renderer: StreamRenderer,
  ctx: LiveContext,
  headers: Record<string, string> | undefined,
  onUsage: () => void,
): Promise<void> {
  const it = events[Symbol.asyncIterator]();
  const first = await it.next(); // throws → the caller answers with an error status
  if (first.done)
    throw new ProxyError('upstream', 'The upstream answered with an event stream that holds no events.');
  if (first.value.type === 'error') {
    // Let go of the upstream response (and its connection) before answering with the error.
    await it.return?.();
    throw errorOf(first.value);
  }
  res.writeHead(200, { ...headers, ...SSE_HEADERS });
  ctx.record.status = 200;
  const usage: Usage = { input_tokens: 0, output_tokens: 0 };
  let sawUsage = false;
  let complete = false;
  // Frames rendered from one upstream chunk leave in one write (one HTTP chunk): they gather in
  // `pending` and go out once the events already decoded have been rendered (nextTick runs after
  // the pending microtasks). Many small writes cost a chunk header and a buffer each.
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (!pending || res.writableEnded) return;
    const out = pending;
    pending = '';
    res.write(out);
    ctx.capture?.responseData(out);
  };
  try {
    for (let step: IteratorResult<StreamEvent> = first; !step.done; step = await it.next()) {
      const ev = step.value;
      if (ev.type === 'error') throw errorOf(ev);
      if (ev.type === 'message_stop') complete = true;
      if (ev.type === 'message_start') {
        mergeUsage(usage, ev.message.usage);
        ctx.record.upstreamModel ??= ev.message.model;
        sawUsage = true;
      } else if (ev.type === 'message_delta') {
        if (ev.usage) mergeUsage(usage, ev.usage);
        if (ev.delta.stop_reason) ctx.record.stopReason = ev.delta.stop_reason;
        sawUsage = true;
      }
      const out = renderer.push(ev);
      if (out) {
        ctx.firstByte();
        pending += out;
        if (!scheduled) {
          scheduled = true;
          process.nextTick(flush);
        }
        // The state, not a flag: the 'drain' may already have come while the next chunk was awaited.
        if (res.writableNeedDrain) await drained(res, ctx.signal);
      }
    }
    // A stream that simply stops before message_stop is a cut-short answer, not a finished one.
    if (!complete) {
      throw new ProxyError(
        'upstream',
        'The upstream event stream ended before the answer was complete (no message_stop).',
      );
    }
    pending += renderer.end();
    flush();
  } catch (err) {
    const why = ctx.signal.aborted ? ctx.signal.reason : err;
    if (why instanceof ClientClosed || res.destroyed) {
      await it.return?.();
      return;
    }
    const pe = toProxyError(why);
    ctx.record.errorKind = pe.kind;
    ctx.log.warn({ err: pe.message, kind: pe.kind }, 'stream ended with an error');
    pending += renderer.fail(pe);
    flush();
    await it.return?.();
  } finally {
    if (sawUsage) {
      ctx.record.usage = toTokenUsage(usage);
      onUsage();
    }
    if (!res.writableEnded) {
      flush();
      res.end();
    }
  }
}

function errorOf(ev: Extract<StreamEvent, { type: 'error' }>): ProxyError {
  return new ProxyError(kindForAnthropicType(ev.error.type), ev.error.message, {
    upstream: { status: 200, type: ev.error.type, message: ev.error.message },
  });
}

function drained(res: ServerResponse, signal: Abortable): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      signal.removeEventListener('abort', done);
      if (signal.aborted) reject(signal.reason);
      else resolve();
    };
    res.on('drain', done);
    res.on('close', done);
    signal.addEventListener('abort', done);
  });
}
