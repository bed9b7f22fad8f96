/**
 * The logs API: `/logs/status`, `/logs/query`, `/logs/analytics`, `/logs/stream` (SSE),
 * `/logs/export` (CSV or NDJSON) and `/logs/requests/{id}` (one request: its row and its capture).
 * Read-only; the server's guard has already checked the caller.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { AccountView } from '../../accounts/index.ts';
import type { AccessLogRow } from '../access-log/row.ts';
import type { AccessLogStore, StoreStatus } from '../access-log/store.ts';
import type { AccessLogWriter, WriterStats } from '../access-log/writer.ts';
import type { CaptureMode } from '../capture/recorder.ts';
import { fromStoredDoc } from '../capture/store-doc.ts';
import type { RequestDetail } from '../capture/types.ts';
import type { CaptureWriter, CaptureWriterStats } from '../capture/writer.ts';
import type { RateLimitReading } from '../metrics.ts';
import { CSV_HEADER, csvLine } from './csv.ts';
import { ParamError, parseAnalytics, parseExport, parseQuery, parseStream } from './params.ts';
import type { StreamHub } from './stream.ts';

export interface LogsApiDeps {
  store: AccessLogStore;
  writer: AccessLogWriter;
  hub: StreamHub;
  log: Logger;
  settings: {
    retention_days: number;
    batch_size: number;
    flush_interval_ms: number;
    capture?: CaptureMode;
    capture_days?: number;
    capture_max_mb?: number;
  };
  rateLimits?: () => RateLimitReading[];
  accounts?: () => AccountView[];
  /** Captures on their way to the store (observability.capture on). */
  captures?: CaptureWriter;
}

/** `GET /logs/status`. */
export interface LogsStatus {
  store: StoreStatus;
  writer: WriterStats;
  retention_days: number;
  batch_size: number;
  flush_interval_ms: number;
  /** Clients following `/logs/stream`. */
  stream_clients: number;
  /** Every account's readings, each naming its account. */
  rate_limits: RateLimitReading[];
  /** Every account: state, window utilisation and resets (the dashboard's bars); never a token. */
  accounts: AccountView[];
  /** Request capture: its mode, and (when on) its writer and the store's captures. */
  capture: {
    mode: CaptureMode;
    days: number;
    max_mb: number;
    writer: CaptureWriterStats | null;
    stored: { rows: number; bytes: number } | null;
  };
}

/** `GET /logs/query`: one page of rows, newest first unless `order=asc`. */
export interface QueryPage {
  rows: AccessLogRow[];
  count: number;
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}

const EXPORT_PAGE = 5000;

function sendError(reply: FastifyReply, status: number, type: string, message: string) {
  return reply.code(status).header('cache-control', 'no-store').send({ error: { type, message } });
}

export function registerLogsApi(app: FastifyInstance, deps: LogsApiDeps): void {
  const { store, writer, hub, log } = deps;

  /** Parse, run, and turn parameter errors into 400s and store errors into generic 500s. */
  const handle =
    <T>(parse: (query: unknown) => T, run: (parsed: T, reply: FastifyReply) => Promise<unknown>) =>
    async (req: { query: unknown }, reply: FastifyReply) => {
      let parsed: T;
      try {
        parsed = parse(req.query);
      } catch (err) {
        if (err instanceof ParamError) return sendError(reply, 400, 'invalid_request_error', err.message);
        throw err;
      }
      try {
        reply.header('cache-control', 'no-store');
        return await run(parsed, reply);
      } catch (err) {
        // The database's own words stay in ccproxy's log: they may quote the query or the file.
        log.warn({ err }, 'access log: query failed');
        return sendError(
          reply,
          500,
          'api_error',
          "The access log could not be read; ccproxy's log has the details.",
        );
      }
    };

  app.get(
    '/logs/status',
    handle(
      (q) => parseQuery(q, Date.now(), []),
      async (): Promise<LogsStatus> => {
        let readings: RateLimitReading[] = [];
        let accounts: AccountView[] = [];
        try {
          readings = deps.rateLimits?.() ?? [];
          accounts = deps.accounts?.() ?? [];
        } catch {}
        // Left out while the database cannot be read (an outage): the rest of the status still helps.
        const stored = deps.captures
          ? await store.captures?.captureStats().catch(() => undefined)
          : undefined;
        return {
          store: await store.status(),
          writer: writer.stats,
          retention_days: deps.settings.retention_days,
          batch_size: deps.settings.batch_size,
          flush_interval_ms: deps.settings.flush_interval_ms,
          stream_clients: hub.size,
          rate_limits: readings.filter((r) => Number.isFinite(r.value)).slice(0, 32 * 64),
          accounts,
          capture: {
            mode: deps.settings.capture ?? 'off',
            days: deps.settings.capture_days ?? 0,
            max_mb: deps.settings.capture_max_mb ?? 0,
            writer: deps.captures?.stats ?? null,
            stored: stored ?? null,
          },
        };
      },
    ),
  );

  app.get(
    '/logs/query',
    handle(parseQuery, async (q): Promise<QueryPage> => {
      // `ccproxy trace list` right after a request: what waits for the store is written first (the
      // first page only: later pages follow rows already read).
      if (q.captured && deps.captures && !q.cursor)
        await Promise.all([writer.flush(2000), deps.captures.flush(2000)]);
      const page = await store.query(q);
      return { rows: page.rows, count: page.rows.length, next_cursor: page.next_cursor };
    }),
  );

  app.get(
    '/logs/analytics',
    handle(parseAnalytics, (q) => store.aggregate(q)),
  );

  app.get(
    '/logs/export',
    handle(parseExport, async (q, reply) => {
      const csv = q.output === 'csv';
      const stamp = new Date().toISOString().slice(0, 19).replaceAll(':', '-');
      async function* lines() {
        if (csv) yield CSV_HEADER;
        let cursor = q.cursor;
        let left = q.total ?? Number.POSITIVE_INFINITY;
        while (left > 0) {
          const page = await store.query({ ...q, cursor, limit: Math.min(EXPORT_PAGE, left) });
          let chunk = '';
          for (const row of page.rows) chunk += csv ? csvLine(row) : `${JSON.stringify(row)}\n`;
          if (chunk) yield chunk;
          left -= page.rows.length;
          if (!page.next_cursor) return;
          cursor = page.next_cursor;
        }
      }
      return reply
        .type(csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header(
          'content-disposition',
          `attachment; filename="ccproxy-access-log-${stamp}.${csv ? 'csv' : 'ndjson'}"`,
        )
        .send(Readable.from(lines()));
    }),
  );

  /** The newest row and capture of a request id; null each when there is none. */
  const lookup = async (id: string): Promise<RequestDetail> => {
    const page = await store.query({ id, order: 'desc', limit: 1 });
    const row = page.rows[0] ?? null;
    const doc = deps.captures ? await store.captures?.getCapture(id, row?.ts) : null;
    return { row, capture: doc ? fromStoredDoc(doc) : null, capture_mode: deps.settings.capture ?? 'off' };
  };

  // A wildcard, not `:id`: the router refuses a parameter past 100 characters with its own 414, and a
  // client may choose an x-request-id of up to 128 (server/app.ts).
  app.get(
    '/logs/requests/*',
    handle(
      (q) => parseQuery(q, Date.now(), []),
      async (_q, reply) => {
        const id = (reply.request.params as { '*': string })['*'];
        // Longer than any id this proxy gives (server/app.ts: 128 at most): unknown, without a look.
        const plausible = id.length > 0 && id.length <= 128;
        let found: RequestDetail = plausible
          ? await lookup(id)
          : { row: null, capture: null, capture_mode: deps.settings.capture ?? 'off' };
        if (plausible && (!found.row || (!found.capture && deps.captures))) {
          // Asked for at once after the answer (its x-request-id in hand): write what waits, then look again.
          await Promise.all([writer.flush(2000), deps.captures?.flush(2000)]);
          found = await lookup(id);
        }
        if (!found.row && !found.capture) {
          return sendError(
            reply,
            404,
            'not_found_error',
            `No request ${JSON.stringify(id.slice(0, 200))} in the access log (it may be older than observability.retention_days, or not a request id this proxy gave).`,
          );
        }
        return found;
      },
    ),
  );

  app.get('/logs/stream', async (req, reply) => {
    let parsed: ReturnType<typeof parseStream>;
    try {
      parsed = parseStream(req.query);
    } catch (err) {
      if (err instanceof ParamError) return sendError(reply, 400, 'invalid_request_error', err.message);
      throw err;
    }
    const { events, ...filter } = parsed;
    reply.hijack();
    hub.attach(reply.raw, filter, events);
  });
}
