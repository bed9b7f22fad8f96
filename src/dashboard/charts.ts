/**
 * A uPlot time-series chart as a Preact component, and the analytics → chart data mappings.
 * uPlot draws on canvas and is ~50 KB; the series and axes are all there is to configure.
 */
import { h } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { ms, num, pct, shortModel, usd } from './format.ts';
import type { Analytics } from './types.ts';

const PALETTE = ['#4f7cff', '#e8793a', '#2bb673', '#c94fd8', '#d8b43a', '#38b6c9', '#e0485a', '#8a8f98'];
export const color = (i: number) => PALETTE[i % PALETTE.length]!;

export interface SeriesSpec {
  label: string;
  color: string;
  dash?: number[];
}

export interface ChartData {
  /** Bucket starts, epoch seconds. */
  x: number[];
  series: SeriesSpec[];
  ys: Array<Array<number | null>>;
}

type Kind = 'count' | 'ms' | 'usd' | 'pct';
const formatter: Record<Kind, (v: number) => string> = { count: num, ms, usd, pct };
/** Counts tick at whole numbers only. */
const COUNT_STEPS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 1e8,
  1e9,
];

export function Chart(props: { title: string; data: ChartData; kind: Kind; id: string }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = props.data.series.map((s) => s.label).join('\u0000');

  // (Re)build when the set of series changes; otherwise just swap the data.
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const fmt = formatter[props.kind];
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height: 180,
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.15)' } },
        {
          stroke: 'currentColor',
          grid: { stroke: 'rgba(128,128,128,0.15)' },
          size: 70,
          incrs: props.kind === 'count' ? COUNT_STEPS : undefined,
          values: (_u, vals) => vals.map(fmt),
        },
      ],
      series: [
        {},
        ...props.data.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          dash: s.dash,
          // Percentiles join across quiet buckets; counts are zero there, so nothing to join.
          spanGaps: props.kind === 'ms',
          points: { show: props.data.x.length < 40 },
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : fmt(v)),
        })),
      ],
    };
    plot.current = new uPlot(opts, [props.data.x, ...props.data.ys] as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(el.clientWidth, 200), height: 180 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape, props.kind]);

  useEffect(() => {
    plot.current?.setData([props.data.x, ...props.data.ys] as uPlot.AlignedData);
  }, [props.data]);

  return h(
    'section',
    { class: 'card chart', id: props.id },
    h('h3', null, props.title),
    props.data.series.length === 0 ? h('p', { class: 'empty' }, 'No data yet') : null,
    h('div', { ref: host, class: 'plot' }),
  );
}

/** Every bucket in the range, so gaps show as zero traffic rather than a joined line. */
function buckets(a: Analytics, now: number): number[] {
  const step = a.bucket_s * 1000;
  const from = Math.floor((a.from ?? now) / step) * step;
  const to = a.to ?? now;
  const xs: number[] = [];
  for (let t = from; t <= to; t += step) xs.push(t);
  return xs;
}

/** The chart data the dashboard draws, all from one analytics answer. */
export function chartData(a: Analytics, now: number) {
  const xs = buckets(a, now);
  const x = xs.map((t) => t / 1000);
  const index = new Map(xs.map((t, i) => [t, i]));
  const zeros = () => xs.map(() => 0 as number | null);
  const nulls = () => xs.map(() => null as number | null);

  const requests = zeros();
  const errors = zeros();
  const p50 = nulls();
  const p95 = nulls();
  const t50 = nulls();
  const t95 = nulls();
  for (const p of a.timeseries) {
    const i = index.get(p.t);
    if (i === undefined) continue;
    requests[i] = p.requests;
    errors[i] = p.errors;
    p50[i] = p.latency_p50_ms;
    p95[i] = p.latency_p95_ms;
    t50[i] = p.ttft_p50_ms;
    t95[i] = p.ttft_p95_ms;
  }

  const models = [...new Set(a.timeseries_by_model.map((p) => p.model))];
  const tokens = models.map(zeros);
  const cost = models.map(zeros);
  for (const p of a.timeseries_by_model) {
    const i = index.get(p.t);
    const m = models.indexOf(p.model);
    if (i === undefined) continue;
    tokens[m]![i] = p.input_tokens + p.output_tokens + p.cache_read_tokens + p.cache_write_tokens;
    cost[m]![i] = p.cost_usd;
  }
  const modelSeries = models.map((m, i) => ({ label: shortModel(m), color: color(i) }));

  const kinds = [...new Set(a.errors_by_kind.map((e) => e.kind))];
  // 0 where there was traffic and no such error, a gap where there was no traffic.
  const errorRate = kinds.map(() => requests.map((n): number | null => (n ? 0 : null)));
  for (const e of a.errors_by_kind) {
    const i = index.get(e.t);
    if (i === undefined || !requests[i]) continue;
    errorRate[kinds.indexOf(e.kind)]![i] = e.count / requests[i]!;
  }

  return {
    requests: {
      x,
      series: [
        { label: 'requests', color: color(0) },
        { label: 'errors', color: '#e0485a' },
      ],
      ys: [requests, errors],
    },
    latency: {
      x,
      series: [
        { label: 'p50', color: color(0) },
        { label: 'p95', color: color(1), dash: [4, 3] },
      ],
      ys: [p50, p95],
    },
    ttft: {
      x,
      series: [
        { label: 'p50', color: color(2) },
        { label: 'p95', color: color(3), dash: [4, 3] },
      ],
      ys: [t50, t95],
    },
    tokens: { x, series: modelSeries, ys: tokens },
    cost: { x, series: modelSeries, ys: cost },
    errors: { x, series: kinds.map((k, i) => ({ label: k, color: color(i + 6) })), ys: errorRate },
  } satisfies Record<string, ChartData>;
}
