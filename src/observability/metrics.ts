/**
 * Prometheus metrics, in a registry of their own (tests create several). A finished request adds to
 * a sum per label set and observes the two histograms; the counters, the gauges, rate-limit readings
 * and access-log counters are read from those sums at scrape time.
 * Naming: https://prometheus.io/docs/practices/naming/ — label values are bounded: mode, format,
 * a known Claude model id or `other`, the numeric status, the error kind.
 */
import client from 'prom-client';
import { RETRY_REASONS } from '../backends/api/retry.ts';
import { BUILTIN_MODELS } from '../formats/models.ts';
import type { AccessLogRow } from './access-log/row.ts';
import type { WriterStats } from './access-log/writer.ts';
import { Histogram, type Series } from './histogram.ts';
import type { LifecycleEvent, RequestRecord } from './lifecycle.ts';
import { baseModel, type Pricing } from './pricing.ts';

export type RefreshResult = 'success' | 'failure' | 'invalid_grant';
/** One rate-limit reading (`unified_5h_utilization`…) of one account (`default` when unnamed). */
export type RateLimitReading = { name: string; value: number; account?: string };

/** The states an account can be in, as the `ccproxy_account_state` gauge lists them. */
const ACCOUNT_STATES = ['ok', 'cooling', 'paused', 'invalid', 'disabled'] as const;

export interface MetricsOptions {
  version: string;
  pricing: Pricing;
  rateLimits?: () => RateLimitReading[];
  /** Each account's name and state (names come from the settings: the label stays bounded). */
  accounts?: () => Array<{ name: string; state: string }>;
  /** The access log's counters, when it is on. */
  accessLog?: () => WriterStats;
}

const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];
const TTFT_BUCKETS = [0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 5, 8, 15, 30, 60];
const READING_NAME = /^[a-z][a-z0-9_]{0,63}$/;
/** Retry reasons as labels; anything else (SDK mode's `http_<status>`) is counted as `other` (labels stay bounded). */
const KNOWN_RETRY_REASONS: ReadonlySet<string> = new Set(RETRY_REASONS);
const MAX_READINGS = 32;
/** More accounts than anyone configures; the gauges stop there. */
const MAX_ACCOUNTS = 64;

/**
 * One label set's per-request counts, summed here and handed to prom-client at scrape time: its
 * `inc` validates and hashes the labels on every call (~1 µs each, up to seven a request), where a
 * sum here is one map lookup. The histograms' series for its mode and model come with it.
 */
interface Tally {
  mode: string;
  format: string;
  model: string;
  status: number;
  account: string;
  billing: string;
  kind: string | null;
  requests: number;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  cost: number;
  duration: Series;
  ttft: Series;
}

const TOKEN_TYPES = [
  ['input', 'input'],
  ['output', 'output'],
  ['cache_read', 'cacheRead'],
  ['cache_write', 'cacheWrite'],
] as const;

/** Distinct model ids remembered with their label; past this the memo starts again (ids come from clients). */
const MAX_MODEL_MEMO = 256;

export class Metrics {
  readonly registry = new client.Registry();
  private readonly knownModels: Set<string>;
  /** Requests counted in the active gauges, so each is taken out exactly once. */
  private readonly inFlight = new WeakSet<RequestRecord>();
  private readonly streaming = new WeakSet<RequestRecord>();
  private inFlightCount = 0;
  private streamingCount = 0;
  private readonly tallies = new Map<string, Tally>();
  private readonly modelLabels = new Map<string, string>();
  /** The last request's tally: consecutive requests mostly share one. */
  private lastTally: Tally | undefined;
  private readonly duration = new Histogram(
    'ccproxy_request_duration_seconds',
    'Time from request start to the end of the answer.',
    DURATION_BUCKETS,
  );
  private readonly ttft = new Histogram(
    'ccproxy_time_to_first_token_seconds',
    'Time from request start to the first byte of a streamed answer.',
    TTFT_BUCKETS,
  );
  private readonly refreshes;
  private readonly retries;

  constructor(opts: MetricsOptions) {
    const registers = [this.registry];
    this.knownModels = new Set([...BUILTIN_MODELS.map((m) => m.id), ...opts.pricing.models()]);
    client.collectDefaultMetrics({ register: this.registry });

    new client.Gauge({
      name: 'ccproxy_build_info',
      help: 'ccproxy version and Node.js runtime; always 1.',
      labelNames: ['version', 'node_version'],
      registers,
    }).set({ version: opts.version, node_version: process.version }, 1);

    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new client.Counter<L>({ name, help, labelNames, registers });
    // Summed in `tallies` and set from them at scrape.
    const tallied = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      add: (inc: (labels: Record<L, string>, n: number) => void, t: Tally) => void,
    ) => {
      const tallies = this.tallies;
      return new client.Counter<L>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          const inc = (labels: Record<L, string>, n: number) => {
            if (n > 0) this.inc(labels, n);
          };
          for (const t of tallies.values()) add(inc, t);
        },
      });
    };
    const gauge = (name: string, help: string, read: () => number) =>
      new client.Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });

    tallied(
      'ccproxy_requests_total',
      'Finished requests.',
      ['mode', 'format', 'model', 'status', 'account'],
      (inc, t) =>
        inc(
          { mode: t.mode, format: t.format, model: t.model, status: String(t.status), account: t.account },
          t.requests,
        ),
    );
    // Labelled mode and model; kept here (histogram.ts) and read by the registry at scrape.
    for (const h of [this.duration, this.ttft]) this.registry.registerMetric(h as unknown as client.Metric);
    tallied(
      'ccproxy_tokens_total',
      'Tokens used, by type (input, output, cache_read, cache_write).',
      ['mode', 'model', 'type', 'account'],
      (inc, t) => {
        for (const [type, key] of TOKEN_TYPES)
          inc({ mode: t.mode, model: t.model, type, account: t.account }, t[key]);
      },
    );
    tallied(
      'ccproxy_cost_usd_total',
      'Cost of the tokens used, in USD: API-equivalent on a subscription, real money on an api_key account (billing label); models without a price add nothing.',
      ['mode', 'model', 'account', 'billing'],
      (inc, t) => inc({ mode: t.mode, model: t.model, account: t.account, billing: t.billing }, t.cost),
    );
    tallied(
      'ccproxy_errors_total',
      'Failed requests, by error kind.',
      ['mode', 'format', 'kind'],
      (inc, t) => {
        if (t.kind !== null) inc({ mode: t.mode, format: t.format, kind: t.kind }, t.requests);
      },
    );
    gauge('ccproxy_active_requests', 'Requests in flight.', () => this.inFlightCount);
    gauge('ccproxy_active_streams', 'Streamed answers being sent.', () => this.streamingCount);
    this.refreshes = counter('ccproxy_token_refreshes_total', 'Upstream OAuth token refreshes, by result.', [
      'result',
    ]);
    this.retries = counter(
      'ccproxy_upstream_retries_total',
      'Upstream requests tried again before anything was sent to the client, by reason.',
      ['mode', 'reason'],
    );

    const rateLimits = opts.rateLimits;
    if (rateLimits) {
      new client.Gauge({
        name: 'ccproxy_upstream_ratelimit',
        help: 'Latest rate-limit readings from upstream response headers, per account (utilization 0..1, reset times in epoch seconds).',
        labelNames: ['account', 'reading'],
        registers,
        collect() {
          this.reset();
          let readings: RateLimitReading[] = [];
          try {
            readings = rateLimits();
          } catch {}
          for (const r of readings.slice(0, MAX_READINGS * MAX_ACCOUNTS)) {
            if (READING_NAME.test(r.name) && Number.isFinite(r.value))
              this.set({ account: r.account ?? 'default', reading: r.name }, r.value);
          }
        },
      });
    }

    const accounts = opts.accounts;
    if (accounts) {
      new client.Gauge({
        name: 'ccproxy_account_state',
        help: 'Each account’s state: 1 for the one it is in (ok, cooling, paused, invalid, disabled), 0 for the others.',
        labelNames: ['account', 'state'],
        registers,
        collect() {
          this.reset();
          let list: Array<{ name: string; state: string }> = [];
          try {
            list = accounts();
          } catch {}
          for (const a of list.slice(0, MAX_ACCOUNTS))
            for (const state of ACCOUNT_STATES)
              this.set({ account: a.name, state }, a.state === state ? 1 : 0);
        },
      });
    }

    const accessLog = opts.accessLog;
    if (accessLog) {
      const fromStats = (name: string, help: string, pick: (s: WriterStats) => number) => {
        let reported = 0;
        new client.Counter({
          name,
          help,
          registers,
          collect() {
            const now = pick(accessLog());
            if (now > reported) this.inc(now - reported);
            reported = now;
          },
        });
      };
      fromStats('ccproxy_access_log_rows_written_total', 'Rows written to the access log.', (s) => s.written);
      fromStats(
        'ccproxy_access_log_write_failures_total',
        'Access-log writes that failed.',
        (s) => s.failures,
      );
      fromStats('ccproxy_access_log_rows_dropped_total', 'Access-log rows given up on.', (s) => s.dropped);
      new client.Gauge({
        name: 'ccproxy_access_log_pending_rows',
        help: 'Access-log rows waiting to be written.',
        registers,
        collect() {
          this.set(accessLog().pending);
        },
      });
    }
  }

  /** A model id as a label: known Claude ids (dates stripped), else `other`; no model → `none`. */
  modelLabel(model: string | null | undefined): string {
    if (!model) return 'none';
    let label = this.modelLabels.get(model);
    if (label === undefined) {
      const base = baseModel(model);
      label = this.knownModels.has(base) ? base : 'other';
      if (this.modelLabels.size >= MAX_MODEL_MEMO) this.modelLabels.clear();
      this.modelLabels.set(model, label);
    }
    return label;
  }

  /** Lifecycle listener part: cheap counter updates only. `row` is given with `end`. */
  observe(event: LifecycleEvent, r: RequestRecord, row?: AccessLogRow): void {
    switch (event) {
      case 'start':
        if (!this.inFlight.has(r)) {
          this.inFlight.add(r);
          this.inFlightCount++;
        }
        return;
      case 'first_byte':
        if (r.stream && !this.streaming.has(r)) {
          this.streaming.add(r);
          this.streamingCount++;
        }
        return;
      case 'usage':
        return;
      case 'end':
        if (this.inFlight.delete(r)) this.inFlightCount--;
        if (this.streaming.delete(r)) this.streamingCount--;
        for (const reason of r.retryReasons ?? [])
          this.retries.inc({ mode: r.mode, reason: KNOWN_RETRY_REASONS.has(reason) ? reason : 'other' });
        if (row) this.finished(row);
        return;
    }
  }

  tokenRefresh(result: RefreshResult): void {
    this.refreshes.inc({ result });
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    this.registry.clear();
  }

  private finished(row: AccessLogRow): void {
    const mode = row.mode;
    const model = this.modelLabel(row.upstream_model ?? row.client_model);
    // Account names come from the settings (the backends never make one up): bounded.
    const account = row.account ?? 'none';
    const status = row.status ?? 0;
    const billing = row.billing ?? 'subscription';
    // The row already names a kind for every status >= 400.
    const kind = row.error_kind;
    const format = row.format;
    let t = this.lastTally;
    if (
      t?.mode !== mode ||
      t.model !== model ||
      t.status !== status ||
      t.format !== format ||
      t.account !== account ||
      t.billing !== billing ||
      t.kind !== kind
    ) {
      t = this.tally(mode, format, model, status, account, billing, kind);
      this.lastTally = t;
    }
    t.requests++;
    t.input += row.input_tokens;
    t.output += row.output_tokens;
    t.cacheRead += row.cache_read_tokens;
    t.cacheWrite += row.cache_write_tokens;
    if (row.cost_usd !== null && row.cost_usd > 0) t.cost += row.cost_usd;
    if (row.duration_ms !== null) t.duration.observe(row.duration_ms / 1000);
    if (row.ttft_ms !== null) t.ttft.observe(row.ttft_ms / 1000);
  }

  private tally(
    mode: string,
    format: string,
    model: string,
    status: number,
    account: string,
    billing: string,
    kind: string | null,
  ): Tally {
    const key = `${mode}\0${format}\0${model}\0${status}\0${account}\0${billing}\0${kind}`;
    let t = this.tallies.get(key);
    if (!t) {
      const zero = { requests: 0, input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cost: 0 };
      const duration = this.duration.seriesFor({ mode, model });
      const ttft = this.ttft.seriesFor({ mode, model });
      t = { mode, format, model, status, account, billing, kind, ...zero, duration, ttft };
      this.tallies.set(key, t);
    }
    return t;
  }
}
