import assert from 'node:assert/strict';
import type net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import fastify from 'fastify';
import { periods, usageReport } from '../../src/cli/usage.ts';
import { createObservability } from '../../src/observability/index.ts';
import { Lifecycle } from '../../src/observability/lifecycle.ts';
import { freePort } from '../helpers/net.ts';
import { startProxy } from '../helpers/proxy.ts';
import { emitRequest, settingsWith, silent, tempDir, waitFor } from './helpers.ts';

/** Wednesday noon, local time: Monday 00:00 starts the week, Tuesday is "this week, not today". */
const NOW = new Date(2026, 10, 25, 12, 0, 0);
const at = (day: number, hour: number) => new Date(2026, 10, day, hour).getTime();

function seed(lifecycle: Lifecycle) {
  emitRequest(lifecycle, { startedAt: at(25, 9), account: 'work', usage: { input: 1000, output: 100 } });
  emitRequest(lifecycle, {
    startedAt: at(25, 10),
    account: 'personal',
    upstreamModel: 'claude-opus-5-5',
    usage: { input: 2000, output: 200 },
  });
  emitRequest(lifecycle, {
    startedAt: at(24, 10),
    account: 'work',
    usage: { input: 5000, output: 500, cacheRead: 10_000 },
  });
  emitRequest(lifecycle, {
    startedAt: at(23, 0) + 1,
    account: 'personal',
    upstreamModel: 'mystery',
    usage: { input: 7 },
    status: 500,
  });
  emitRequest(lifecycle, { startedAt: at(22, 23), account: 'work', usage: { input: 99_999 } }); // last week
}

test('periods: today from local midnight, the week from Monday', () => {
  const [today, week] = periods(NOW);
  assert.equal(today!.from.getTime(), at(25, 0));
  assert.equal(week!.from.getTime(), at(23, 0));
  const [, sundayWeek] = periods(new Date(2026, 10, 29, 18));
  assert.equal(sundayWeek!.from.getTime(), at(23, 0));
  const [, mondayWeek] = periods(new Date(2026, 10, 23, 1));
  assert.equal(mondayWeek!.from.getTime(), at(23, 0));
});

test('with no server running, the report reads the DuckDB file read-only', async (t) => {
  const file = path.join(tempDir(t), 'log.duckdb');
  const lifecycle = new Lifecycle();
  const obs = await createObservability({
    settings: settingsWith({ access_log: true, duckdb_path: file, retention_days: 0 }),
    lifecycle,
    log: silent,
    version: 'test',
  });
  seed(lifecycle);
  await obs.close();

  const settings = settingsWith({ duckdb_path: file }, { server: { port: await freePort() } });
  const report = await usageReport(settings, { now: NOW });
  assert.match(report, new RegExp(`from ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const [today, week] = report.split('This week');
  assert.match(today!, /claude-sonnet-5-5\s+1\s+0\s+1,000\s+100\s+0\s+0\s+\$0\.0030/);
  assert.match(today!, /claude-opus-5-5\s+1\s+0\s+2,000\s+200/);
  assert.match(today!, /total\s+2\s+0\s+3,000\s+300/);
  assert.match(week!, /claude-sonnet-5-5\s+2\s+0\s+6,000\s+600\s+10,000/);
  assert.match(week!, /mystery\s+1\s+1\s+7\s+0\s+0\s+0\s+unknown/);
  assert.match(week!, /total\s+4\s+1\s+8,007\s+800\s+10,000\s+0\s+\$0\.0310\*/);
  assert.match(week!, /not in the cost/);
  assert.doesNotMatch(report, /99,999/, 'last week is left out');
  // Two accounts answered: a table by account too.
  assert.match(today!, /work\s+1\s+0\s+1,000\s+100/);
  assert.match(week!, /personal\s+2\s+1\s+2,007\s+200/);

  const work = await usageReport(settings, { now: NOW, account: 'work' });
  assert.match(work, /^ccproxy usage of account work, from /);
  const [, workWeek] = work.split('This week');
  assert.match(workWeek!, /total\s+2\s+0\s+6,000\s+600/);
  assert.doesNotMatch(work, /account\s+requests/, 'one account: no table by account');
});

test('with the server running (token on), the report asks its /logs/analytics', async (t) => {
  const file = path.join(tempDir(t), 'live.duckdb');
  const token = 'usage-test-token';
  const lifecycle = new Lifecycle();
  const obs = await createObservability({
    settings: settingsWith({ access_log: true, duckdb_path: file, flush_interval_ms: 20, retention_days: 0 }),
    lifecycle,
    log: silent,
    version: 'test',
  });
  const app = fastify();
  app.addHook('onRequest', async (req, reply) => {
    if (req.headers.authorization !== `Bearer ${token}`)
      return reply.code(401).send({ error: { message: 'no' } });
  });
  await obs.register(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(async () => {
    await app.close();
    await obs.close();
  });
  seed(lifecycle);
  await waitFor(async () => {
    const res = await app.inject({ url: '/logs/status', headers: { authorization: `Bearer ${token}` } });
    return res.json().store.rows === 5;
  }, 'rows written');

  const port = (app.server.address() as net.AddressInfo).port;
  const settings = settingsWith(
    { duckdb_path: file },
    { server: { host: '0.0.0.0', port }, security: { auth_token: token } },
  );
  const report = await usageReport(settings, { now: NOW });
  assert.match(report, new RegExp(`from the running server at http://127\\.0\\.0\\.1:${port}`));
  assert.match(report, /total\s+2\s+0\s+3,000\s+300/);
  const personal = await usageReport(settings, { now: NOW, account: 'personal' });
  assert.match(personal.split('This week')[0]!, /total\s+1\s+0\s+2,000\s+200/);

  // A malformed account name: the server's reason, not a fall-back to its locked file.
  await assert.rejects(
    usageReport(settings, { now: NOW, account: 'x'.repeat(65) }),
    /refused the query: Parameter 'account' must be an account name/,
  );

  // A wrong token: a message that says so, not a crash.
  const wrong = settingsWith({ duckdb_path: file }, { server: { port }, security: { auth_token: 'nope' } });
  await assert.rejects(usageReport(wrong, { now: NOW }), /refused the token/);
});

test('no access log yet: says how to turn it on', async (t) => {
  const settings = settingsWith(
    { duckdb_path: path.join(tempDir(t), 'missing.duckdb') },
    { server: { port: await freePort() } },
  );
  await assert.rejects(
    usageReport(settings, { now: NOW }),
    /No access log at .*observability\.access_log = true/,
  );
  // A proxy running without one: said in words, not as its 404.
  const proxy = await startProxy({ logLevel: 'silent' });
  t.after(() => proxy.close());
  const port = Number(new URL(proxy.url).port);
  await assert.rejects(
    usageReport({ ...settings, server: { ...settings.server, port } }, { now: NOW }),
    (err: Error) => {
      assert.match(
        err.message,
        /^No access log at .*, and the server at http:\/\/127\.0\.0\.1:\d+ keeps none \(it runs without observability\.access_log\)\. Turn it on/,
      );
      return true;
    },
  );
});
