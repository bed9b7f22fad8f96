/**
 * Observability, assembled: Prometheus metrics, the access log (the DuckDB file, or PostgreSQL with
 * storage.url) with its logs API and live stream, and the dashboard — each switched on in settings
 * (`observability.enabled` turns all on).
 * One lifecycle listener feeds them all; it only counts and pushes to buffers, so nothing here can
 * delay a request, and a broken access log never breaks proxying.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { Accounts } from '../accounts/index.ts';
import type { Settings } from '../config/schema.ts';
import { scrubSecrets } from '../redact.ts';
import { openStorage, type Storage } from '../storage/index.ts';
import { toRow } from './access-log/row.ts';
import type { AccessLogStore } from './access-log/store.ts';
import { registerDashboard } from './dashboard-routes.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { RateLimitReading, RefreshResult } from './metrics.ts';
import { createPricing } from './pricing.ts';

export { isPublicDashboardPath, PUBLIC_DASHBOARD_PATHS } from './dashboard-routes.ts';
export type { Pricing } from './pricing.ts';
export { createPricing } from './pricing.ts';

export interface Observability {
  /** Register the enabled pieces' routes on the app: /metrics, /logs/status|query|analytics|stream|export, /dashboard (+ assets). */
  register(app: FastifyInstance): Promise<void>;
  /** Request capture is on and has somewhere to go: the routes record each request, bodies up to `maxBytes`. */
  readonly capture?: { maxBytes: number };
  /** Hooks for parts outside the request lifecycle. */
  tokenRefresh(result: RefreshResult): void;
  /** Flushes the access log, then closes everything. */
  close(): Promise<void>;
}

export interface ObservabilityDeps {
  settings: Settings;
  lifecycle: Lifecycle;
  log: Logger;
  version: string;
  /** Latest upstream rate-limit readings, e.g. [{ name: 'unified_5h_utilization', value: 0.42, account: 'work' }]; bounded names. */
  rateLimits?: () => RateLimitReading[];
  /** The accounts, for their readings (unless `rateLimits` is given), states and `/logs/status`. */
  accounts?: Pick<Accounts, 'views' | 'readings'>;
  /** Where the dashboard bundle is (default: dist/dashboard, found from src/ or dist/). */
  dashboardDir?: string;
  /** Use this store instead of the one the storage settings name (tests). */
  store?: AccessLogStore;
  /** Where the access log lives (default: opened here from the settings, and closed with the rest). */
  storage?: Storage;
  /** Values captures must never hold (the subscription's tokens; the proxy's own token is added here). */
  secrets?: () => Iterable<string | undefined>;
  /** The clock captures are aged by (tests), epoch ms. */
  now?: () => number;
}

/**
 * Which pieces are on: `enabled` turns on all; the dashboard needs the access log, so it brings it
 * along, and so does request capture (captures are stored and served with the access log's rows).
 */
export function enabledPieces(o: Settings['observability']) {
  const dashboard = o.enabled || o.dashboard;
  const capture = o.capture !== 'off';
  return {
    metrics: o.enabled || o.metrics,
    accessLog: o.enabled || o.access_log || dashboard || capture,
    dashboard,
    capture,
  };
}

export async function createObservability(deps: ObservabilityDeps): Promise<Observability> {
  const o = deps.settings.observability;
  const on = enabledPieces(o);
  const log = deps.log.child({ component: 'observability' });
  const pricing = createPricing(o.pricing);
  const accounts = deps.accounts;
  const rateLimits = deps.rateLimits ?? (accounts ? () => accounts.readings() : undefined);
  const accountViews = accounts ? () => accounts.views() : undefined;

  let store: AccessLogStore | undefined;
  let storeError: string | undefined;
  let ownStorage: Storage | undefined;
  if (on.accessLog && !deps.store) {
    if (!deps.storage) ownStorage = await openStorage(deps.settings, deps.log);
    const storage = (deps.storage ?? ownStorage)!;
    try {
      // The database's module (and prom-client below) load only when switched on: DuckDB and
      // prom-client together weigh ~40 MB. DuckDB runs on a thread of its own: its appender commits
      // on the calling thread, which would hold every request in flight.
      store = storage.postgres
        ? new (await import('./access-log/postgres/store.ts')).PgAccessLogStore(storage.postgres)
        : await (await import('./access-log/duckdb/thread-store.ts')).DuckDbThreadStore.open(o.duckdb_path);
    } catch (err) {
      storeError = (err as Error).message;
      log.error(
        { err, path: storage.location },
        'access log: cannot open the store; requests are not being recorded',
      );
    }
  } else store = deps.store;
  // Like the store, the writers and the logs API load only when the access log is on.
  const writer = store
    ? new (await import('./access-log/writer.ts')).AccessLogWriter(store, {
        batchSize: o.batch_size,
        flushIntervalMs: o.flush_interval_ms,
        retentionDays: o.retention_days,
        maxBuffered: deps.settings.storage.buffer_rows,
        closeTimeoutMs: deps.settings.storage.flush_timeout_s * 1000,
        log,
      })
    : undefined;
  /** The secrets ccproxy knows by value: the proxy's token, every account's tokens, a database password. */
  const knownSecrets = () =>
    [deps.settings.security.auth_token, ...(deps.secrets?.() ?? [])].filter((s): s is string => !!s);
  // The same list for every row of a second (~0.3 µs a row less): tokens rotate far more rarely,
  // and a rotated Claude token is caught by its shape meanwhile.
  let secretsAt = Number.NEGATIVE_INFINITY;
  let secrets: string[] = [];
  const rowSecrets = () => {
    const now = performance.now();
    if (now - secretsAt > 1000) {
      secrets = knownSecrets();
      secretsAt = now;
    }
    return secrets;
  };
  const captureStore = on.capture ? store?.captures : undefined;
  const captures =
    captureStore && o.capture !== 'off'
      ? new (await import('./capture/writer.ts')).CaptureWriter(captureStore, {
          mode: o.capture,
          // 0: as long as the access log keeps its rows.
          days: o.capture_days || o.retention_days,
          maxStoreBytes: o.capture_max_mb * 1024 * 1024,
          secrets: knownSecrets,
          flushIntervalMs: o.flush_interval_ms,
          closeTimeoutMs: deps.settings.storage.flush_timeout_s * 1000,
          log,
          now: deps.now,
        })
      : undefined;
  const hub = on.accessLog ? new (await import('./logs-api/stream.ts')).StreamHub() : undefined;
  const metrics = on.metrics
    ? new (await import('./metrics.ts')).Metrics({
        version: deps.version,
        pricing,
        rateLimits,
        accounts: accountViews,
        accessLog: writer && (() => writer.stats),
      })
    : undefined;

  const unsubscribe =
    metrics || writer || hub
      ? deps.lifecycle.subscribe((event, r) => {
          if (event === 'end') {
            const row = toRow(r, pricing);
            // The one free text a client sets that the row keeps: no credential in it is stored.
            if (row.user_agent) row.user_agent = scrubSecrets(row.user_agent, rowSecrets());
            metrics?.observe(event, r, row);
            writer?.push(row);
            captures?.finish(r, row);
            hub?.publishRow(row);
            return;
          }
          metrics?.observe(event, r);
          if (event === 'start') hub?.publishStart(r);
        })
      : () => {};

  let closing: Promise<void> | undefined;

  return {
    capture: captures ? { maxBytes: o.capture_max_bytes } : undefined,

    async register(app) {
      if (metrics) {
        app.get('/metrics', async (_req, reply) =>
          reply
            .header('cache-control', 'no-store')
            .type(metrics.contentType)
            .send(await metrics.metrics()),
        );
      }
      if (on.accessLog) {
        if (store && writer && hub) {
          // Live streams never end by themselves: end them when the server shuts down, so it can.
          app.addHook('preClose', async () => hub.close());
          const { registerLogsApi } = await import('./logs-api/routes.ts');
          registerLogsApi(app, {
            store,
            writer,
            hub,
            log,
            settings: o,
            rateLimits,
            accounts: accountViews,
            captures,
          });
        } else {
          const unavailable = async (_req: unknown, reply: FastifyReply) =>
            reply.code(503).send({
              error: {
                type: 'api_error',
                message: `The access log is unavailable: ${storeError ?? 'not opened'}.`,
              },
            });
          for (const p of ['status', 'query', 'analytics', 'stream', 'export', 'requests/*'])
            app.get(`/logs/${p}`, unavailable);
        }
      }
      if (on.dashboard) registerDashboard(app, { dir: deps.dashboardDir, log });
    },

    tokenRefresh(result) {
      metrics?.tokenRefresh(result);
    },

    close() {
      closing ??= (async () => {
        unsubscribe();
        hub?.close();
        try {
          await captures?.close();
          await writer?.close();
          await store?.close();
          await ownStorage?.close();
        } catch (err) {
          log.warn({ err }, 'access log: close failed');
        }
        metrics?.close();
      })();
      return closing;
    },
  };
}
