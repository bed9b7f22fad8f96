/** The request table (live rows on top, in-flight ones marked) and one request's details. */
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getJson, Unauthorized } from './api.ts';
import { CapturePanel } from './capture.ts';
import { dateTime, ms, num, shortModel, time, usd } from './format.ts';
import type { Capture, Filters, Pending, RequestDetail, Row } from './types.ts';

/** The table's filters, applied to live rows the way the server applies them to queries. */
export function matchesFilters(r: Row, f: Filters): boolean {
  if (f.model && r.upstream_model !== f.model && r.client_model !== f.model) return false;
  if (f.mode && r.mode !== f.mode) return false;
  if (f.format && r.format !== f.format) return false;
  const failed = r.error_kind !== null || (r.status ?? 0) >= 400;
  if (f.status === 'error' && !failed) return false;
  if (/^\dxx$/.test(f.status) && Math.floor((r.status ?? 0) / 100) !== Number(f.status[0])) return false;
  if (f.q && !r.id.toLowerCase().includes(f.q.toLowerCase())) return false;
  return true;
}

const statusClass = (r: Row) => (r.error_kind !== null || (r.status ?? 0) >= 400 ? 'bad' : 'ok');

export function RequestTable(props: {
  rows: Row[];
  pending: Pending[];
  selected: string | null;
  onSelect: (r: Row) => void;
}) {
  return h(
    'table',
    { id: 'live-table' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ['Time', 'Mode', 'Format', 'Model', 'Status', 'Duration', 'TTFT', 'In', 'Out', 'Cache', 'Cost'].map(
          (c) => h('th', { key: c }, c),
        ),
      ),
    ),
    h(
      'tbody',
      null,
      props.pending.map((p) =>
        h(
          'tr',
          { key: `p-${p.id}`, class: 'pending', 'data-id': p.id },
          h('td', null, time(p.ts)),
          h('td', null, p.mode),
          h('td', null, p.format),
          h('td', { colSpan: 8, class: 'muted' }, `${p.method} ${p.path} — in flight…`),
        ),
      ),
      props.rows.map((r) =>
        h(
          'tr',
          {
            key: r.id,
            'data-id': r.id,
            class: r.id === props.selected ? 'selected' : undefined,
            onClick: () => props.onSelect(r),
          },
          h('td', { title: dateTime(r.ts) }, time(r.ts)),
          h('td', null, r.mode),
          h('td', null, r.format),
          h(
            'td',
            { title: r.upstream_model ?? r.client_model ?? '' },
            shortModel(r.upstream_model ?? r.client_model ?? '–'),
          ),
          h(
            'td',
            null,
            h('span', { class: `pill ${statusClass(r)}` }, r.error_kind ?? String(r.status ?? '–')),
          ),
          h('td', { class: 'num' }, ms(r.duration_ms)),
          h('td', { class: 'num' }, ms(r.ttft_ms)),
          h('td', { class: 'num' }, num(r.input_tokens)),
          h('td', { class: 'num' }, num(r.output_tokens)),
          h('td', { class: 'num' }, num(r.cache_read_tokens + r.cache_write_tokens)),
          h('td', { class: 'num' }, usd(r.cost_usd)),
        ),
      ),
    ),
  );
}

const FIELDS: Array<[keyof Row, string, (v: never) => string]> = [
  ['id', 'Request id', String],
  ['ts', 'Started', dateTime],
  ['method', 'Method', String],
  ['path', 'Route', String],
  ['mode', 'Mode', String],
  ['format', 'Format', String],
  ['client_model', 'Client model', String],
  ['upstream_model', 'Upstream model', String],
  ['stream', 'Streamed', String],
  ['status', 'HTTP status', String],
  ['error_kind', 'Error kind', String],
  ['stop_reason', 'Stop reason', String],
  ['duration_ms', 'Duration', ms],
  ['ttft_ms', 'Time to first token', ms],
  ['input_tokens', 'Input tokens', num],
  ['output_tokens', 'Output tokens', num],
  ['cache_read_tokens', 'Cache read tokens', num],
  ['cache_write_tokens', 'Cache write tokens', num],
  ['cache_write_1h_tokens', '… of which 1 h TTL', num],
  ['cost_usd', 'Cost (API-equivalent)', usd],
  ['retries', 'Upstream retries', String],
  ['sdk_turns', 'SDK turns', String],
  ['sdk_cost_usd', 'SDK-reported cost', usd],
  ['client_aborted', 'Client hung up', String],
  ['user_agent', 'User agent', String],
  ['upstream_request_id', 'Upstream request id', String],
];

/** One request: its capture when there is one (fetched on opening), and its access-log row. */
export function RequestDetails(props: { row: Row; onClose: () => void }) {
  const id = props.row.id;
  const [detail, setDetail] = useState<RequestDetail | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    setDetail(null);
    setProblem(null);
    getJson<RequestDetail>(`/logs/requests/${encodeURIComponent(id)}`).then(
      (d) => current && setDetail(d),
      (err: Error) => current && !(err instanceof Unauthorized) && setProblem(err.message),
    );
    return () => {
      current = false;
    };
  }, [id]);
  const captured = detail?.capture ? (detail as RequestDetail & { capture: Capture }) : null;
  const note = problem
    ? h('p', { class: 'muted' }, `The capture could not be read: ${problem}`)
    : detail && !captured
      ? h(
          'p',
          { class: 'muted', id: 'not-captured' },
          detail.capture_mode === 'off'
            ? 'Not captured: request capture is off (observability.capture).'
            : detail.capture_mode === 'errors'
              ? 'Not captured: only failed requests are kept (observability.capture = "errors").'
              : 'Not captured.',
        )
      : null;
  return h(
    'aside',
    { class: `card details${captured ? ' wide' : ''}`, id: 'details' },
    h(
      'header',
      null,
      h('h3', null, 'Request'),
      h('button', { type: 'button', onClick: props.onClose, 'aria-label': 'Close' }, '×'),
    ),
    captured ? h(CapturePanel, { key: id, detail: captured }) : note,
    h(
      'details',
      { class: 'row-fields', open: !captured },
      h('summary', null, 'Access-log row'),
      h(
        'dl',
        null,
        FIELDS.flatMap(([key, label, fmt]) => {
          const v = props.row[key];
          return [
            h('dt', { key: `t-${key}` }, label),
            h('dd', { key: `d-${key}` }, v === null ? '–' : fmt(v as never)),
          ];
        }),
      ),
    ),
  );
}
