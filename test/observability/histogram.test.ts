/**
 * The access log's histograms are kept as plain counts (src/observability/histogram.ts) and must read
 * exactly as prom-client's own Histogram would: the same observations, the same exposition text.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import client from 'prom-client';
import { Histogram } from '../../src/observability/histogram.ts';

const BOUNDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5];

test('the exposition is prom-client’s, byte for byte: bucket edges, +Inf, sum, count, label escaping', async () => {
  const theirs = new client.Registry();
  const reference = new client.Histogram({
    name: 'x_seconds',
    help: 'Help with "quotes" and a \\ backslash.',
    labelNames: ['mode', 'model'],
    buckets: BOUNDS,
    registers: [theirs],
  });
  const ours = new client.Registry();
  const h = new Histogram('x_seconds', 'Help with "quotes" and a \\ backslash.', BOUNDS);
  ours.registerMetric(h as unknown as client.Metric);

  const observations: Array<[Record<string, string>, number]> = [
    [{ mode: 'api', model: 'claude "odd" \\ name\n' }, 0.01],
    [{ mode: 'api', model: 'claude "odd" \\ name\n' }, 0.05], // on an edge: that bucket (le)
    [{ mode: 'api', model: 'claude "odd" \\ name\n' }, 0.3],
    [{ mode: 'api', model: 'claude "odd" \\ name\n' }, 1e6], // past the last bound: +Inf only
    [{ mode: 'sdk', model: 'claude-sonnet-5-5' }, 0.2],
  ];
  for (const [labels, v] of observations) {
    reference.observe(labels, v);
    h.seriesFor(labels).observe(v);
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
});

test('a series shows once observed, NaN is ignored, and reset hides what was counted', async () => {
  const registry = new client.Registry();
  const h = new Histogram('y_seconds', 'y', BOUNDS);
  registry.registerMetric(h as unknown as client.Metric);
  const s = h.seriesFor({ mode: 'api' });
  assert.equal(h.seriesFor({ mode: 'api' }), s, 'one series per label set');
  assert.doesNotMatch(await registry.metrics(), /y_seconds_count/);
  s.observe(Number.NaN);
  assert.doesNotMatch(await registry.metrics(), /y_seconds_count/);
  s.observe(0.2);
  assert.match(await registry.metrics(), /y_seconds_count\{mode="api"\} 1/);
  registry.resetMetrics();
  assert.doesNotMatch(await registry.metrics(), /y_seconds_count/);
  s.observe(3);
  assert.match(
    await registry.metrics(),
    /y_seconds_bucket\{le="2.5",mode="api"\} 0\ny_seconds_bucket\{le="\+Inf",mode="api"\} 1/,
  );
});
