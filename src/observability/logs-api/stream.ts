/**
 * The live feed behind `/logs/stream`: lifecycle listeners `publish` (an array push), and the hub
 * writes the queued events to its SSE clients on the next turn of the event loop. A client that
 * cannot keep up loses events (counted, and told with a `dropped` event) instead of buffering
 * without bound.
 */
import type { ServerResponse } from 'node:http';
import type { AccessLogRow } from '../access-log/row.ts';
import type { LogFilter } from '../access-log/store.ts';
import type { RequestRecord } from '../lifecycle.ts';
import type { StreamEventName } from './params.ts';

/** A request that has begun: what its row will say once it ends, as far as that is known at the start. */
export type StartEvent = Pick<AccessLogRow, 'id' | 'ts' | 'mode' | 'format' | 'method' | 'path'>;

type Queued = { event: 'start'; data: StartEvent } | { event: 'request'; data: AccessLogRow };

interface Client {
  res: ServerResponse;
  filter: LogFilter;
  events: Set<StreamEventName>;
  /** Events lost while the socket was full, reported once it drains. */
  dropped: number;
  congested: boolean;
}

const KEEPALIVE_MS = 15_000;
const MAX_QUEUE = 10_000;

/** Does a finished request pass a filter? Mirrors the SQL in access-log/sql.ts. */
export function matches(row: AccessLogRow, f: LogFilter): boolean {
  if (f.model !== undefined && row.upstream_model !== f.model && row.client_model !== f.model) return false;
  if (f.account !== undefined && row.account !== f.account) return false;
  if (f.mode !== undefined && row.mode !== f.mode) return false;
  if (f.format !== undefined && row.format !== f.format) return false;
  if (f.status !== undefined) {
    if (row.status === null) return false;
    if (
      typeof f.status === 'number'
        ? row.status !== f.status
        : Math.floor(row.status / 100) !== Number(f.status[0])
    ) {
      return false;
    }
  }
  const failed = row.error_kind !== null || (row.status ?? 0) >= 400;
  if (f.error !== undefined && f.error !== failed) return false;
  if (f.errorKind !== undefined && row.error_kind !== f.errorKind) return false;
  if (f.stream !== undefined && row.stream !== f.stream) return false;
  if (f.minDurationMs !== undefined && (row.duration_ms ?? 0) < f.minDurationMs) return false;
  if (f.q !== undefined && !row.id.toLowerCase().includes(f.q.toLowerCase())) return false;
  return true;
}

/** A start event only knows mode and format; other filters wait for the finished row. */
function startMatches(e: StartEvent, f: LogFilter): boolean {
  return (f.mode === undefined || e.mode === f.mode) && (f.format === undefined || e.format === f.format);
}

const frame = (event: string, json: string) => `event: ${event}\ndata: ${json}\n\n`;

export class StreamHub {
  private readonly clients = new Set<Client>();
  private queue: Queued[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private readonly keepalive: NodeJS.Timeout;

  constructor() {
    this.keepalive = setInterval(() => {
      for (const c of this.clients) if (!c.congested) c.res.write(': keepalive\n\n');
    }, KEEPALIVE_MS);
    this.keepalive.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Hot path: O(1) when nobody listens, a push otherwise. */
  publishStart(r: RequestRecord): void {
    if (this.clients.size === 0) return;
    this.enqueue({
      event: 'start',
      data: { id: r.id, ts: r.startedAt, mode: r.mode, format: r.format, method: r.method, path: r.route },
    });
  }

  publishRow(row: AccessLogRow): void {
    if (this.clients.size === 0) return;
    this.enqueue({ event: 'request', data: row });
  }

  /** Take over an HTTP response as an SSE stream until the client leaves. */
  attach(res: ServerResponse, filter: LogFilter, events: Set<StreamEventName>): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const client: Client = { res, filter, events, dropped: 0, congested: false };
    res.on('drain', () => {
      client.congested = false;
      if (client.dropped > 0) {
        res.write(frame('dropped', JSON.stringify({ count: client.dropped })));
        client.dropped = 0;
      }
    });
    res.on('close', () => this.clients.delete(client));
    this.clients.add(client);
    res.write(frame('ready', JSON.stringify({ time: Date.now(), events: [...events] })));
  }

  close(): void {
    clearInterval(this.keepalive);
    if (this.scheduled) clearImmediate(this.scheduled);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }

  private enqueue(item: Queued): void {
    if (this.queue.length >= MAX_QUEUE) return;
    this.queue.push(item);
    this.scheduled ??= setImmediate(() => this.deliver());
  }

  private deliver(): void {
    this.scheduled = undefined;
    const queue = this.queue;
    this.queue = [];
    for (const item of queue) {
      let text: string | undefined; // serialised once, only if someone wants it
      for (const c of this.clients) {
        if (!c.events.has(item.event)) continue;
        if (item.event === 'start' ? !startMatches(item.data, c.filter) : !matches(item.data, c.filter))
          continue;
        if (c.congested) {
          c.dropped++;
          continue;
        }
        text ??= frame(item.event, JSON.stringify(item.data));
        if (!c.res.write(text)) c.congested = true;
      }
    }
  }
}
