import assert from 'node:assert/strict';
import { test } from 'node:test';
import fastify from 'fastify';
import { createObservability } from '../../src/observability/index.ts';
import { Lifecycle } from '../../src/observability/lifecycle.ts';
import { emitRequest, record, settingsWith, silent } from './helpers.ts';

/** One sample line's value from Prometheus text, matched by name and exact label set. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '')
      .split(/,(?=[a-z_]+=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    if (got === want) return Number(m[3]);
  }
  return undefined;
}

async function setup(
  t: { after(fn: () => unknown): void },
  rateLimits?: () => Array<{ name: string; value: number }>,
) {
  const lifecycle = new Lifecycle();
  const obs = await createObservability({
    settings: settingsWith({ metrics: true }),
    lifecycle,
    log: silent,
    version: '9.9.9',
    rateLimits,
  });
  const app = fastify();
  await obs.register(app);
  t.after(async () => {
    await app.close();
    await obs.close();
  });
  const scrape = async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    return res.body;
  };
  return { lifecycle, obs, app, scrape };
}

test('metrics after a known sequence of requests', async (t) => {
  const { lifecycle, obs, scrape } = await setup(t);
  emitRequest(lifecycle, {
    upstreamModel: 'claude-sonnet-5-5-20261021',
    usage: { input: 1000, output: 200, cacheRead: 5000, cacheWrite: 300 },
    durationMs: 1500,
    ttfbMs: 250,
  });
  emitRequest(lifecycle, { usage: { input: 10, output: 20 }, stream: false, ttfbMs: 800, durationMs: 800 });
  emitRequest(lifecycle, {
    format: 'openai',
    route: '/api/v1/chat/completions',
    clientModel: 'gpt-4o',
    upstreamModel: 'claude-opus-5-5',
    status: 529,
    errorKind: 'overloaded',
    ttfbMs: 30,
    durationMs: 40,
  });
  emitRequest(lifecycle, {
    clientModel: 'mystery',
    upstreamModel: 'mystery-model',
    usage: { input: 100 },
    mode: 'sdk',
  });
  obs.tokenRefresh('success');
  obs.tokenRefresh('success');
  obs.tokenRefresh('invalid_grant');

  const text = await scrape();
  const m = (name: string, labels?: Record<string, string>) => sample(text, name, labels);
  assert.equal(
    m('ccproxy_requests_total', {
      mode: 'api',
      format: 'anthropic',
      model: 'claude-sonnet-5-5',
      status: '200',
      account: 'none',
    }),
    2,
  );
  assert.equal(
    m('ccproxy_requests_total', {
      mode: 'api',
      format: 'openai',
      model: 'claude-opus-5-5',
      status: '529',
      account: 'none',
    }),
    1,
  );
  // Unknown models are bounded to "other".
  assert.equal(
    m('ccproxy_requests_total', {
      mode: 'sdk',
      format: 'anthropic',
      model: 'other',
      status: '200',
      account: 'none',
    }),
    1,
  );
  assert.equal(m('ccproxy_errors_total', { mode: 'api', format: 'openai', kind: 'overloaded' }), 1);
  assert.equal(
    m('ccproxy_tokens_total', { mode: 'api', model: 'claude-sonnet-5-5', type: 'input', account: 'none' }),
    1010,
  );
  assert.equal(
    m('ccproxy_tokens_total', { mode: 'api', model: 'claude-sonnet-5-5', type: 'output', account: 'none' }),
    220,
  );
  assert.equal(
    m('ccproxy_tokens_total', {
      mode: 'api',
      model: 'claude-sonnet-5-5',
      type: 'cache_read',
      account: 'none',
    }),
    5000,
  );
  assert.equal(
    m('ccproxy_tokens_total', {
      mode: 'api',
      model: 'claude-sonnet-5-5',
      type: 'cache_write',
      account: 'none',
    }),
    300,
  );
  const cost = m('ccproxy_cost_usd_total', {
    mode: 'api',
    model: 'claude-sonnet-5-5',
    account: 'none',
    billing: 'subscription',
  })!;
  const want = (1010 * 2 + 220 * 10 + 5000 * 0.1 + 300 * 2.5) / 1e6;
  assert.ok(Math.abs(cost - want) < 1e-12, `cost ${cost} ≠ ${want}`);
  // An unknown model's tokens are counted but add no cost.
  assert.equal(
    m('ccproxy_tokens_total', { mode: 'sdk', model: 'other', type: 'input', account: 'none' }),
    100,
  );
  assert.equal(
    m('ccproxy_cost_usd_total', { mode: 'sdk', model: 'other', account: 'none', billing: 'subscription' }),
    undefined,
  );
  // Histograms: duration of all four, TTFT of the streamed successful ones only.
  assert.equal(m('ccproxy_request_duration_seconds_count', { mode: 'api', model: 'claude-sonnet-5-5' }), 2);
  assert.equal(m('ccproxy_request_duration_seconds_sum', { mode: 'api', model: 'claude-sonnet-5-5' }), 2.3);
  assert.equal(
    m('ccproxy_request_duration_seconds_bucket', { mode: 'api', model: 'claude-sonnet-5-5', le: '1' }),
    1,
  );
  assert.equal(
    m('ccproxy_time_to_first_token_seconds_count', { mode: 'api', model: 'claude-sonnet-5-5' }),
    1,
  );
  assert.equal(
    m('ccproxy_time_to_first_token_seconds_sum', { mode: 'api', model: 'claude-sonnet-5-5' }),
    0.25,
  );
  assert.equal(
    m('ccproxy_time_to_first_token_seconds_count', { mode: 'api', model: 'claude-opus-5-5' }),
    undefined,
  );
  assert.equal(m('ccproxy_token_refreshes_total', { result: 'success' }), 2);
  assert.equal(m('ccproxy_token_refreshes_total', { result: 'invalid_grant' }), 1);
  assert.equal(m('ccproxy_active_requests'), 0);
  assert.equal(m('ccproxy_active_streams'), 0);
  assert.equal(m('ccproxy_build_info', { version: '9.9.9', node_version: process.version }), 1);
  assert.ok(m('process_cpu_user_seconds_total') !== undefined, 'default process metrics are there');
  assert.ok(m('nodejs_heap_size_used_bytes') !== undefined);
});

test('active requests and streams follow start, first byte and end', async (t) => {
  const { lifecycle, scrape } = await setup(t);
  const a = record({ stream: true });
  const b = record({ stream: false });
  lifecycle.emit('start', a);
  lifecycle.emit('start', b);
  lifecycle.emit('first_byte', a);
  lifecycle.emit('first_byte', b);
  let text = await scrape();
  assert.equal(sample(text, 'ccproxy_active_requests'), 2);
  assert.equal(sample(text, 'ccproxy_active_streams'), 1);
  lifecycle.emit('end', a);
  text = await scrape();
  assert.equal(sample(text, 'ccproxy_active_requests'), 1);
  assert.equal(sample(text, 'ccproxy_active_streams'), 0);
  lifecycle.emit('end', b);
  lifecycle.emit('end', b); // a second end changes nothing
  text = await scrape();
  assert.equal(sample(text, 'ccproxy_active_requests'), 0);
});

test('counters are summed across label sets and read the same at every scrape', async (t) => {
  const { lifecycle, scrape } = await setup(t);
  const failed = { status: 529, errorKind: 'overloaded' as const, usage: { input: 7 } };
  emitRequest(lifecycle, { ...failed, upstreamModel: 'claude-opus-5-5' });
  emitRequest(lifecycle, { ...failed, upstreamModel: 'claude-sonnet-5-5', account: 'work' });
  const first = await scrape();
  const second = await scrape();
  for (const text of [first, second]) {
    // Two models and two accounts, one kind: one errors series.
    assert.equal(
      sample(text, 'ccproxy_errors_total', { mode: 'api', format: 'anthropic', kind: 'overloaded' }),
      2,
    );
    const input = { mode: 'api', model: 'claude-opus-5-5', type: 'input', account: 'none' };
    assert.equal(sample(text, 'ccproxy_tokens_total', input), 7);
    // A type with no tokens has no series.
    assert.equal(sample(text, 'ccproxy_tokens_total', { ...input, type: 'output' }), undefined);
  }
  emitRequest(lifecycle, { ...failed, upstreamModel: 'claude-opus-5-5' });
  assert.equal(
    sample(await scrape(), 'ccproxy_errors_total', { mode: 'api', format: 'anthropic', kind: 'overloaded' }),
    3,
  );
});

test('rate-limit readings are read at scrape time; bad names are left out', async (t) => {
  let value = 0.42;
  const { scrape } = await setup(t, () => [
    { name: 'unified_5h_utilization', value },
    { name: 'unified_7d_reset', value: 1_790_000_000 },
    { name: 'Bad Name{x="y"}', value: 1 },
    { name: 'nan_reading', value: Number.NaN },
  ]);
  let text = await scrape();
  assert.equal(
    sample(text, 'ccproxy_upstream_ratelimit', { account: 'default', reading: 'unified_5h_utilization' }),
    0.42,
  );
  assert.equal(
    sample(text, 'ccproxy_upstream_ratelimit', { account: 'default', reading: 'unified_7d_reset' }),
    1_790_000_000,
  );
  assert.doesNotMatch(text, /Bad Name|nan_reading/);
  value = 0.5;
  text = await scrape();
  assert.equal(
    sample(text, 'ccproxy_upstream_ratelimit', { account: 'default', reading: 'unified_5h_utilization' }),
    0.5,
  );
});

test('two instances keep separate registries; metrics off means no /metrics route', async (t) => {
  const one = await setup(t);
  const two = await setup(t);
  emitRequest(one.lifecycle, { usage: { input: 1 } });
  assert.equal(
    sample(await one.scrape(), 'ccproxy_requests_total', {
      mode: 'api',
      format: 'anthropic',
      model: 'claude-sonnet-5-5',
      status: '200',
      account: 'none',
    }),
    1,
  );
  assert.equal(
    sample(await two.scrape(), 'ccproxy_requests_total', {
      mode: 'api',
      format: 'anthropic',
      model: 'claude-sonnet-5-5',
      status: '200',
      account: 'none',
    }),
    undefined,
  );

  const lifecycle = new Lifecycle();
  const off = await createObservability({ settings: settingsWith({}), lifecycle, log: silent, version: '1' });
  const app = fastify();
  await off.register(app);
  assert.equal(lifecycle.active, false, 'nothing listens when everything is off');
  assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404);
  await app.close();
  await off.close();
});
