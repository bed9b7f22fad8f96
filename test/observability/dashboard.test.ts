/**
 * The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
 * the page loads without console errors, a request emitted through the lifecycle shows up in the
 * live table, the charts draw, and the token prompt works behind a guard that answers 401.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import fastify, { type FastifyInstance } from 'fastify';
import type { BrowserContext, Page } from 'playwright-core';
import type { AccountView } from '../../src/accounts/index.ts';
import {
  createObservability,
  isPublicDashboardPath,
  type Observability,
} from '../../src/observability/index.ts';
import { Lifecycle } from '../../src/observability/lifecycle.ts';
import { ARTIFACTS, buildDashboard, chromiumSkip, launchChromium } from '../support/chromium.ts';
import { emitRequest, record, settingsWith, silent, tempDir, waitFor } from './helpers.ts';

const skip = chromiumSkip;

interface Server {
  url: string;
  lifecycle: Lifecycle;
  app: FastifyInstance;
  obs: Observability;
  /** Paths of API calls that reached past the guard with the right token, and every URL asked for. */
  seen: { authorized: string[]; urls: string[] };
}

async function startServer(
  dir: string,
  bundle: string,
  name: string,
  token?: string,
  accounts?: () => AccountView[],
): Promise<Server> {
  const lifecycle = new Lifecycle();
  const obs = await createObservability({
    settings: settingsWith({
      dashboard: true,
      duckdb_path: path.join(dir, `${name}.duckdb`),
      flush_interval_ms: 50,
    }),
    lifecycle,
    log: silent,
    version: 'test',
    dashboardDir: bundle,
    rateLimits: () => [
      { name: 'unified_5h_utilization', value: 0.42 },
      { name: 'unified_7d_utilization', value: 0.93 },
      { name: 'unified_status', value: 1 },
      { name: 'unified_overage_in_use', value: 0 },
    ],
    accounts: accounts && { views: accounts, readings: () => [] },
  });
  const app = fastify();
  const seen = { authorized: [] as string[], urls: [] as string[] };
  // A stand-in for the server's guard: the token on everything but the dashboard's static files.
  app.addHook('onRequest', async (req, reply) => {
    seen.urls.push(req.url);
    if (!token || isPublicDashboardPath(req.url)) return;
    if (req.headers.authorization !== `Bearer ${token}`) {
      return reply.code(401).send({ error: { type: 'authentication_error', message: 'token required' } });
    }
    seen.authorized.push(req.url.split('?')[0]!);
  });
  await obs.register(app);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, lifecycle, app, obs, seen };
}

/** A few requests over the last half hour, so every chart has something to draw. */
function seedHistory(lifecycle: Lifecycle) {
  const now = Date.now();
  const models = ['claude-sonnet-5-5', 'claude-opus-5-5', 'claude-haiku-5-5'];
  for (let i = 0; i < 30; i++) {
    const failed = i % 7 === 3;
    emitRequest(lifecycle, {
      id: `hist_${i}`,
      startedAt: now - (30 - i) * 60_000,
      upstreamModel: models[i % 3],
      clientModel: models[i % 3],
      durationMs: 400 + i * 37,
      ttfbMs: 80 + (i % 5) * 20,
      status: failed ? 529 : 200,
      errorKind: failed ? 'overloaded' : undefined,
      usage: failed ? undefined : { input: 1200 + i * 10, output: 300 + i, cacheRead: 800 },
      mode: i % 4 === 0 ? 'sdk' : 'api',
      format: i % 3 === 0 ? 'openai' : 'anthropic',
    });
  }
}

function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  return problems;
}

describe('dashboard in headless Chromium', { skip }, () => {
  let dir: string;
  let bundle: string;
  let context: BrowserContext;
  const cleanups: Array<() => unknown> = [];

  before(async () => {
    dir = tempDir({ after: (fn) => cleanups.push(fn) });
    bundle = buildDashboard(path.join(dir, 'bundle'));
    context = await launchChromium(path.join(dir, 'profile'));
  });

  after(async () => {
    await context?.close();
    for (const fn of cleanups.reverse()) await fn();
  });

  test('loads without console errors, shows a live request as it happens, draws the charts', async () => {
    const server = await startServer(dir, bundle, 'open');
    try {
      seedHistory(server.lifecycle);
      await waitFor(
        async () => (await server.app.inject({ url: '/logs/status' })).json().store.rows === 30,
        'the history written',
      );
      const page = await context.newPage();
      const problems = watchConsole(page);
      const res = await page.goto(`${server.url}/dashboard`);
      assert.equal(res?.status(), 200);
      await page.waitForSelector('#live-state.on', { timeout: 10_000 });
      await page.waitForSelector('#live-table tr[data-id="hist_29"]', { timeout: 10_000 });

      // In flight first, then finished: each shows without a reload (the bound only keeps a broken
      // stream from hanging the test; a loaded machine may take seconds).
      const live = record(liveRecord);
      server.lifecycle.emit('start', live);
      await page.waitForSelector(`#live-table tbody tr.pending[data-id="${live.id}"]`, { timeout: 10_000 });
      server.lifecycle.emit('first_byte', live);
      server.lifecycle.emit('usage', live);
      server.lifecycle.emit('end', live);
      const done = `#live-table tbody tr[data-id="${live.id}"]:not(.pending)`;
      await page.waitForSelector(done, { timeout: 10_000 });
      assert.equal(await page.$(`#live-table tbody tr.pending[data-id="${live.id}"]`), null);
      const cells = await page.$$eval(`${done} td`, (tds) => tds.map((td) => td.textContent));
      assert.equal(cells[3], 'sonnet-5-5');
      assert.equal(cells[4], '200');

      for (const id of [
        'chart-requests',
        'chart-latency',
        'chart-ttft',
        'chart-tokens',
        'chart-cost',
        'chart-errors',
      ]) {
        const canvas = await page.waitForSelector(`#${id} canvas`, { timeout: 10_000 });
        const box = await canvas.boundingBox();
        assert.ok(box && box.width > 100 && box.height > 50, `${id} has a canvas`);
      }
      // Lines were drawn: the requests chart's canvas is not blank.
      const inked = await page.$eval('#chart-requests canvas', (c) => {
        const canvas = c as HTMLCanvasElement;
        const px = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) n++;
        return n;
      });
      assert.ok(inked > 500, `the chart drew ${inked} pixels`);
      const legend = await page.$$eval('#chart-tokens .u-legend .u-label', (els) =>
        els.map((e) => e.textContent),
      );
      assert.ok(legend.includes('sonnet-5-5') && legend.includes('opus-5-5'), `legend: ${legend.join(', ')}`);
      const limits = (await page.textContent('#rate-limits')) ?? '';
      assert.match(limits, /42%/);
      // A status and a yes/no are words, not shares (allowed_warning read "100%" with a full bar).
      assert.match(limits, /unified status\s*warning/);
      assert.match(limits, /unified overage in use\s*no/);
      assert.doesNotMatch(limits, /100%|\b0%/);
      assert.equal((await page.$$('#rate-limits meter')).length, 2, 'a bar for each utilisation only');

      // Details of one request.
      await page.click(done);
      assert.match((await page.textContent('#details')) ?? '', /live_request_1/);

      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
      assert.deepEqual(problems, []);
      await page.close();
    } finally {
      await server.app.close();
      await server.obs.close();
    }
  });

  test('with several accounts: one bar per account with its state, utilisation and reset', async () => {
    const soon = new Date(Date.now() + 2 * 3600_000).toISOString();
    const view = (over: Partial<AccountView>): AccountView => ({
      name: 'x',
      kind: 'oauth_token',
      billing: 'subscription',
      priority: 0,
      state: 'ok',
      until: null,
      reason: null,
      probe_pending: false,
      status: 'allowed',
      windows: {},
      readings_at: null,
      credential: null,
      ...over,
    });
    const accounts = [
      view({
        name: 'work',
        windows: {
          '5h': { utilization: 0.42, resets_at: soon },
          '7d': { utilization: 0.17, resets_at: null },
        },
      }),
      view({
        name: 'personal',
        kind: 'credentials_file',
        state: 'cooling',
        until: soon,
        reason: 'usage window exhausted',
        windows: { '5h': { utilization: 1, resets_at: soon } },
      }),
      view({ name: 'payg', kind: 'api_key', billing: 'api_key' }),
    ];
    const server = await startServer(dir, bundle, 'accounts', undefined, () => accounts);
    const page = await context.newPage();
    const problems = watchConsole(page);
    try {
      await page.goto(`${server.url}/dashboard`);
      await page.waitForSelector('#accounts li[data-account="payg"]');
      assert.equal(await page.$('#rate-limits'), null, 'the accounts replace the one credential’s readings');
      const bars = await page.$$eval('#accounts li', (els) =>
        els.map((e) => ({
          name: e.getAttribute('data-account'),
          text: e.textContent,
          meter: (e.querySelector('meter') as HTMLMeterElement | null)?.value,
        })),
      );
      assert.deepEqual(
        bars.map((b) => [b.name, b.meter]),
        [
          ['work', 0.42],
          ['personal', 1],
          ['payg', 0],
        ],
      );
      assert.match(bars[0]!.text!, /work ok.*42% · 7d 17%.*resets /);
      assert.match(bars[1]!.text!, /personal cooling until .*100%/);
      assert.match(bars[2]!.text!, /payg api_key ok—/);
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-accounts.png'), fullPage: true });
      assert.deepEqual(problems, []);
      await page.close();
    } finally {
      await server.app.close();
      await server.obs.close();
    }
  });

  test('asks for the token when the API answers 401, then sends it as a header, never in a URL', async () => {
    const token = 'dashboard-test-token-1234';
    const server = await startServer(dir, bundle, 'guarded', token);
    try {
      const page = await context.newPage();
      const problems = watchConsole(page);
      await page.goto(`${server.url}/dashboard`);
      await page.waitForSelector('#token-form', { timeout: 10_000 });

      await page.fill('#token-form input[name=token]', 'wrong-token');
      await page.click('#token-form button[type=submit]');
      await page.waitForSelector('#token-form >> text=That token was refused', { timeout: 10_000 });

      await page.fill('#token-form input[name=token]', token);
      await page.click('#token-form button[type=submit]');
      await page.waitForSelector('#live-state.on', { timeout: 10_000 });
      assert.equal(await page.$('#token-form'), null);

      emitRequest(server.lifecycle, { ...liveRecord, id: 'guarded_live' });
      await page.waitForSelector('#live-table tbody tr[data-id="guarded_live"]:not(.pending)', {
        timeout: 10_000,
      });

      for (const p of ['/logs/stream', '/logs/query', '/logs/analytics', '/logs/status']) {
        assert.ok(server.seen.authorized.includes(p), `${p} was called with the token`);
      }
      assert.ok(!server.seen.urls.some((u) => u.includes(token)), 'the token never appears in a URL');
      assert.equal(await page.evaluate(() => sessionStorage.getItem('ccproxy.token')), token);
      // The 401s the guard answered before the token was given are the only console complaints.
      assert.deepEqual(
        problems.filter((p) => !/401 \(Unauthorized\)/.test(p)),
        [],
      );
      await page.close();
    } finally {
      await server.app.close();
      await server.obs.close();
    }
  });
});

const liveRecord = {
  id: 'live_request_1',
  startedAt: Date.now(),
  upstreamModel: 'claude-sonnet-5-5',
  usage: { input: 4321, output: 321 },
  durationMs: 1234,
  ttfbMs: 210,
};
