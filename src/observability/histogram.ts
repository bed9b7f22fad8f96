/**
 * A Prometheus histogram kept as plain counts and handed to prom-client's registry at scrape time,
 * as the counters' sums are (metrics.ts). prom-client's own `observe` validates and hashes its
 * labels on every call (~1.5 µs, two a request); here a request's series is found once, with the
 * sums it adds to, and observing is a bucket search and three additions.
 */

/** A sample as prom-client's registry reads it from a metric's `get()`. */
interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/** One label set's counts: `counts[i]` observations in bucket i (not cumulative; the last is +Inf). */
export class Series {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class Histogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  /** The series of a label set (the same object every time: keep it). */
  seriesFor(labels: Readonly<Record<string, string>>): Series {
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (!s) {
      s = new Series(labels, this.bounds);
      this.series.set(key, s);
    }
    return s;
  }

  /** What prom-client's registry asks of a metric: its exposition, as its own histograms give it. */
  async get(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    aggregator: 'sum';
    values: Sample[];
  }> {
    const values: Sample[] = [];
    for (const s of this.series.values()) {
      if (s.count === 0) continue; // as prom-client: a label set shows once observed
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += s.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...s.labels }, value: acc });
      });
      values.push(
        { metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...s.labels }, value: s.count },
        { metricName: `${this.name}_sum`, labels: { ...s.labels }, value: s.sum },
        { metricName: `${this.name}_count`, labels: { ...s.labels }, value: s.count },
      );
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** prom-client's `registry.resetMetrics()`: zeroes each series (their holders keep them), which hides it. */
  reset(): void {
    for (const s of this.series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
