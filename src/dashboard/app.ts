/**
 * The dashboard page: live requests from `/logs/stream`, charts from `/logs/analytics`, a
 * filterable table from `/logs/query`, rate-limit readings (or, with several accounts, one bar per
 * account) from `/logs/status`.
 */
import { h } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { MODES } from '../backends/backend.ts';
import { FORMATS } from '../formats/frontend.ts';
import { followStream, getJson, onUnauthorized, setToken, Unauthorized } from './api.ts';
import { Chart, chartData } from './charts.ts';
import { bytes, dateTime, ms, num, pct, time, usd } from './format.ts';
import { matchesFilters, RequestDetails, RequestTable } from './table.ts';
import type { Analytics, Filters, Page, Pending, Row, Status } from './types.ts';

const RANGES = {
  '1h': [3_600_000, 60],
  '6h': [21_600_000, 300],
  '24h': [86_400_000, 900],
  '7d': [604_800_000, 3600],
} as const;
type Range = keyof typeof RANGES;
const MAX_ROWS = 500;
const MAX_PENDING = 50;
const STALE_PENDING_MS = 15 * 60_000;
const NO_FILTERS: Filters = { model: '', mode: '', format: '', status: '', q: '' };

function statusParams(status: string): Record<string, string> {
  if (status === 'error') return { error: 'true' };
  return status ? { status } : {};
}

export function App() {
  const [range, setRange] = useState<Range>('1h');
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [analytics, setAnalytics] = useState<Analytics | null>(null);
  const [status, setStatus] = useState<Status | null>(null);
  const [rows, setRows] = useState<Row[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [pending, setPending] = useState<Pending[]>([]);
  const [selected, setSelected] = useState<Row | null>(null);
  const [live, setLive] = useState(false);
  const [needToken, setNeedToken] = useState(false);
  const [authEpoch, setAuthEpoch] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const filtersRef = useRef(filters);
  filtersRef.current = filters;

  useEffect(() => onUnauthorized(() => setNeedToken(true)), []);

  const guard = useCallback(async (fn: () => Promise<void>) => {
    try {
      await fn();
      setError(null);
    } catch (err) {
      if (!(err instanceof Unauthorized)) setError((err as Error).message);
    }
  }, []);

  const loadCharts = useCallback(
    () =>
      guard(async () => {
        const [span, bucket] = RANGES[range];
        const now = Date.now();
        const [a, s] = await Promise.all([
          getJson<Analytics>('/logs/analytics', { from: now - span, to: now + 1000, bucket }),
          getJson<Status>('/logs/status'),
        ]);
        setAnalytics(a);
        setStatus(s);
      }),
    [range, guard],
  );

  const loadRows = useCallback(
    (after?: string) =>
      guard(async () => {
        const f = filtersRef.current;
        const page = await getJson<Page>('/logs/query', {
          limit: 100,
          cursor: after,
          model: f.model || undefined,
          mode: f.mode || undefined,
          format: f.format || undefined,
          q: f.q || undefined,
          ...statusParams(f.status),
        });
        setRows((old) => (after ? [...old, ...page.rows] : page.rows));
        setCursor(page.next_cursor);
      }),
    [guard],
  );

  // Charts: on range change, after a new token, and every 15 s.
  useEffect(() => {
    void loadCharts();
    const timer = setInterval(() => void loadCharts(), 15_000);
    return () => clearInterval(timer);
  }, [loadCharts, authEpoch]);

  // Table: on filter change (the id search waits for typing to pause) and after a new token.
  useEffect(() => {
    const timer = setTimeout(() => void loadRows(), filters.q ? 300 : 0);
    return () => clearTimeout(timer);
  }, [filters, loadRows, authEpoch]);

  // Live stream: start events mark requests in flight; request events finish them.
  const refreshSoon = useRef<number | undefined>(undefined);
  useEffect(() => {
    const abort = new AbortController();
    void followStream(
      {},
      ({ event, data }) => {
        if (event === 'start') {
          // Forget in-flight rows whose end never came (events dropped while the tab was slow).
          const cutoff = Date.now() - STALE_PENDING_MS;
          setPending((p) => [data as Pending, ...p.filter((x) => x.ts > cutoff)].slice(0, MAX_PENDING));
        } else if (event === 'request') {
          const row = data as Row;
          setPending((p) => p.filter((x) => x.id !== row.id));
          if (matchesFilters(row, filtersRef.current)) {
            setRows((old) => [row, ...old.filter((r) => r.id !== row.id)].slice(0, MAX_ROWS));
          }
          if (refreshSoon.current === undefined) {
            refreshSoon.current = window.setTimeout(() => {
              refreshSoon.current = undefined;
              void loadCharts();
            }, 2000);
          }
        }
      },
      (isLive) => {
        setLive(isLive);
        if (isLive) setPending([]); // a new connection starts from what it sees
      },
      abort.signal,
    );
    return () => {
      abort.abort();
      clearTimeout(refreshSoon.current);
      refreshSoon.current = undefined;
    };
  }, [authEpoch, loadCharts]);

  const charts = useMemo(() => (analytics ? chartData(analytics, Date.now()) : null), [analytics]);
  const t = analytics?.totals;

  return h(
    'div',
    { class: 'page' },
    h(
      'header',
      { class: 'top' },
      h('h1', null, 'ccproxy'),
      h('span', { class: `live ${live ? 'on' : 'off'}`, id: 'live-state' }, live ? 'live' : 'offline'),
      h(
        'nav',
        { class: 'ranges' },
        (Object.keys(RANGES) as Range[]).map((r) =>
          h(
            'button',
            { key: r, type: 'button', class: r === range ? 'active' : undefined, onClick: () => setRange(r) },
            r,
          ),
        ),
      ),
      status
        ? h(
            'span',
            { class: 'muted store', title: status.store.location },
            `${num(status.store.rows)} rows · ${bytes(status.store.size_bytes)}`,
            status.store.unavailable
              ? h('span', { class: 'pill bad', title: status.store.unavailable }, 'store unavailable')
              : null,
            status.writer.failures
              ? h('span', { class: 'pill bad' }, `${status.writer.failures} write failures`)
              : null,
          )
        : null,
    ),
    error ? h('p', { class: 'banner', role: 'alert' }, error) : null,
    h(
      'section',
      { class: 'tiles' },
      tile('Requests', num(t?.requests)),
      tile('Success', pct(t?.success_rate)),
      tile('Latency p50 / p95', `${ms(t?.latency_p50_ms)} / ${ms(t?.latency_p95_ms)}`),
      tile('TTFT p50 / p95', `${ms(t?.ttft_p50_ms)} / ${ms(t?.ttft_p95_ms)}`),
      tile('Tokens in / out', `${num(t?.input_tokens)} / ${num(t?.output_tokens)}`),
      tile('Cost (API-equivalent)', usd(t?.cost_usd), t?.unpriced ? `${t.unpriced} unpriced` : undefined),
    ),
    status?.accounts.some((a) => a.kind !== 'discovered')
      ? h(Accounts, { accounts: status.accounts })
      : h(RateLimits, { readings: status?.rate_limits ?? [] }),
    charts
      ? h(
          'section',
          { class: 'charts' },
          h(Chart, { id: 'chart-requests', title: 'Requests', data: charts.requests, kind: 'count' }),
          h(Chart, { id: 'chart-latency', title: 'Latency', data: charts.latency, kind: 'ms' }),
          h(Chart, { id: 'chart-ttft', title: 'Time to first token', data: charts.ttft, kind: 'ms' }),
          h(Chart, { id: 'chart-tokens', title: 'Tokens by model', data: charts.tokens, kind: 'count' }),
          h(Chart, { id: 'chart-cost', title: 'Cost by model (USD)', data: charts.cost, kind: 'usd' }),
          h(Chart, { id: 'chart-errors', title: 'Error rate by kind', data: charts.errors, kind: 'pct' }),
        )
      : null,
    h(
      'section',
      { class: 'card requests' },
      h('h3', null, 'Requests'),
      h(FilterBar, { filters, models: analytics?.by_model.map((m) => m.model) ?? [], onChange: setFilters }),
      h(
        'div',
        { class: 'split' },
        h(
          'div',
          { class: 'table-wrap' },
          h(RequestTable, {
            rows,
            pending,
            selected: selected?.id ?? null,
            onSelect: setSelected,
          }),
          rows.length === 0 && pending.length === 0 ? h('p', { class: 'empty' }, 'No requests yet.') : null,
          cursor
            ? h(
                'button',
                { type: 'button', class: 'more', onClick: () => void loadRows(cursor) },
                'Load more',
              )
            : null,
        ),
        selected ? h(RequestDetails, { row: selected, onClose: () => setSelected(null) }) : null,
      ),
    ),
    needToken
      ? h(TokenPrompt, {
          onSubmit: (token: string) => {
            setToken(token);
            setNeedToken(false);
            setAuthEpoch((n) => n + 1);
          },
          retry: authEpoch > 0,
        })
      : null,
  );
}

function tile(label: string, value: string, note?: string) {
  return h(
    'div',
    { class: 'card tile' },
    h('span', { class: 'label' }, label),
    h('strong', null, value),
    note ? h('span', { class: 'muted' }, note) : null,
  );
}

/** `unified_status` as the metrics gauge has it (backends/api/rate-limits.ts): a word, not a share. */
const STATUS_WORD: Record<number, string> = { 0: 'allowed', 1: 'warning', 2: 'rejected' };

function RateLimits(props: { readings: Array<{ name: string; value: number }> }) {
  if (props.readings.length === 0) return null;
  return h(
    'section',
    { class: 'card limits', id: 'rate-limits' },
    h('h3', null, 'Rate limits'),
    h(
      'ul',
      null,
      props.readings.map((r) => {
        const isReset = /reset/.test(r.name);
        const isShare = r.name.endsWith('_utilization');
        return h(
          'li',
          { key: r.name },
          h('span', { class: 'label' }, r.name.replaceAll('_', ' ')),
          isShare
            ? h('meter', {
                min: 0,
                max: 1,
                low: 0.7,
                high: 0.9,
                optimum: 0,
                value: r.value,
                title: pct(r.value),
              })
            : null,
          h(
            'span',
            { class: 'value' },
            isShare
              ? pct(r.value)
              : isReset
                ? new Date(r.value * 1000).toLocaleString()
                : r.name.endsWith('_status')
                  ? (STATUS_WORD[r.value] ?? num(r.value))
                  : r.name.endsWith('_in_use')
                    ? r.value
                      ? 'yes'
                      : 'no'
                    : num(r.value),
          ),
        );
      }),
    ),
  );
}

type AccountView = Status['accounts'][number];

/** What an account's state says, short: `ok`, `cooling until 14:05`, `invalid: why`. */
function stateText(a: AccountView, long = false): string {
  if (a.state === 'cooling' && a.until)
    return `cooling until ${(long ? dateTime : time)(Date.parse(a.until))}`;
  if (a.state === 'invalid') return `invalid: ${a.reason ?? 'credential rejected'}`;
  if (a.state === 'ok' && a.probe_pending) return 'ok (one request tries it first)';
  return a.state;
}

/** One bar per account: its 5-hour window's utilisation (7-day beside it), state and next reset. */
function Accounts(props: { accounts: AccountView[] }) {
  return h(
    'section',
    { class: 'card limits accounts', id: 'accounts' },
    h('h3', null, 'Accounts'),
    h(
      'ul',
      null,
      props.accounts.map((a) => {
        const five = a.windows['5h'];
        const seven = a.windows['7d'];
        const reset = Object.values(a.windows)
          .map((w) => w.resets_at)
          .filter((x): x is string => x !== null)
          .sort()[0];
        const title = [
          `${a.name} (${a.billing === 'api_key' ? 'api_key' : a.kind})`,
          stateText(a, true),
          ...Object.entries(a.windows).map(([n, w]) => `${n} ${pct(w.utilization)}`),
          reset ? `resets ${dateTime(Date.parse(reset))}` : '',
        ]
          .filter(Boolean)
          .join(' · ');
        return h(
          'li',
          { key: a.name, 'data-account': a.name, title },
          h(
            'span',
            { class: 'label' },
            a.name,
            a.billing === 'api_key' ? h('span', { class: 'muted' }, ' api_key') : null,
            ' ',
            h('span', { class: `pill ${a.state === 'ok' ? 'ok' : 'bad'}` }, stateText(a)),
          ),
          h('meter', {
            min: 0,
            max: 1,
            low: 0.7,
            high: 0.9,
            optimum: 0,
            value: five?.utilization ?? 0,
            title: `5h ${pct(five?.utilization)}`,
          }),
          h(
            'span',
            { class: 'value' },
            five?.utilization != null ? pct(five.utilization) : '—',
            seven?.utilization != null ? ` · 7d ${pct(seven.utilization)}` : '',
          ),
          h('span', { class: 'reset muted' }, reset ? `resets ${dateTime(Date.parse(reset))}` : ''),
        );
      }),
    ),
  );
}

function FilterBar(props: { filters: Filters; models: string[]; onChange: (f: Filters) => void }) {
  const f = props.filters;
  const set = (k: keyof Filters) => (e: Event) =>
    props.onChange({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  const select = (k: keyof Filters, label: string, options: readonly string[]) =>
    h(
      'select',
      { 'aria-label': label, value: f[k], onChange: set(k), name: k },
      h('option', { value: '' }, label),
      options.map((o) => h('option', { key: o, value: o }, o)),
    );
  return h(
    'div',
    { class: 'filters' },
    select('model', 'all models', props.models),
    select('mode', 'all modes', MODES),
    select('format', 'all formats', FORMATS),
    select('status', 'any status', ['2xx', '4xx', '5xx', 'error']),
    h('input', {
      type: 'search',
      placeholder: 'request id…',
      value: f.q,
      onInput: set('q'),
      name: 'q',
      'aria-label': 'request id',
    }),
  );
}

function TokenPrompt(props: { onSubmit: (token: string) => void; retry: boolean }) {
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return h(
    'div',
    { class: 'overlay' },
    h(
      'form',
      {
        class: 'card token',
        id: 'token-form',
        onSubmit: (e: Event) => {
          e.preventDefault();
          const v = input.current?.value.trim();
          if (v) props.onSubmit(v);
        },
      },
      h('h2', null, 'Token required'),
      h(
        'p',
        null,
        props.retry
          ? 'That token was refused. Check security.auth_token and try again.'
          : 'This ccproxy asks for its token (security.auth_token). It is kept in this tab only.',
      ),
      h('input', {
        ref: input,
        type: 'password',
        name: 'token',
        autocomplete: 'current-password',
        'aria-label': 'token',
      }),
      h('button', { type: 'submit' }, 'Continue'),
    ),
  );
}
