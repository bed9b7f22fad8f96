/**
 * `ccproxy status` against a real running proxy (credentials, plan windows, overage, concurrency,
 * last upstream error), with and without a token, and against nothing at all (exit code 1).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { statusReport } from '../../src/cli/status.ts';
import { settingsSchema } from '../../src/config/schema.ts';
import { freePort } from '../helpers/net.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { runCli } from '../security/cli.ts';
import { type FakeUpstream, reply, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

const TOKEN = 'status-test-token-0123456789';
const settingsFor = (port: number, token = '') =>
  settingsSchema.parse({ server: { port }, security: { auth_token: token } });
const portOf = (url: string) => Number(new URL(url).port);

describe('ccproxy status', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;

  before(async () => {
    fake = await startFakeUpstream({
      rateLimit: { fiveHourUtilization: 0.42, sevenDayUtilization: 0.17, overageStatus: 'rejected' },
    });
    proxy = await startProxy({
      settings: {
        upstream: { base_url: fake.url, max_concurrency: 4, retry: { max_attempts: 1 } },
        security: { auth_token: TOKEN },
        limits: { block_overage: true },
      },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
      logLevel: 'silent',
    });
  });
  after(async () => {
    await proxy?.close();
    await fake?.close();
  });

  const call = (body: unknown) =>
    fetch(`${proxy.url}/api/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TOKEN },
      body: JSON.stringify(body),
    }).then((r) => r.text());
  const BODY = { model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] };

  it('before any upstream answer: credentials, no readings yet', async () => {
    const r = await statusReport(settingsFor(portOf(proxy.url), TOKEN));
    assert.equal(r.code, 0);
    assert.match(r.text, /^ccproxy \S+ at http:\/\/127\.0\.0\.1:\d+: running, health pass/);
    assert.match(r.text, /Credentials\s+environment variable CLAUDE_CODE_OAUTH_TOKEN/);
    assert.match(r.text, /Plan limits\s+no readings yet/);
    assert.match(r.text, /Concurrency\s+0 in flight, 0 queued \(limit 4\)/);
    assert.match(r.text, /Last upstream error\s+none since start/);
  });

  it("after upstream answers: the plan's windows, extra usage, block_overage and the last error", async () => {
    await call(BODY);
    fake.enqueue(reply.overloaded());
    await call(BODY);
    const r = await statusReport(settingsFor(portOf(proxy.url), TOKEN));
    assert.equal(r.code, 0);
    assert.match(
      r.text,
      /Plan limits\s+allowed, binding window five_hour · as of \d{4}-\d\d-\d\d \d\d:\d\d \(\d+s ago\)/,
    );
    assert.match(r.text, /^ {2}5h\s+42% used · resets \d{4}-\d\d-\d\d \d\d:\d\d \(in (2h 59m|3h)\)$/m);
    assert.match(r.text, /^ {2}7d\s+17% used · resets .* \(in (4d 23h|5d)\)$/m);
    assert.match(r.text, /Extra usage\s+not available \(org_level_disabled\)/);
    assert.match(r.text, /Block overage\s+on: nothing refused now/);
    assert.match(r.text, /Last upstream error\s+.*HTTP 529: Overloaded/);
    assert.equal(r.json?.api?.rate_limits?.windows?.['5h']?.utilization, 0.42);
  });

  it('a wrong or missing token, or nothing listening: exit code 1 with what to do', async () => {
    const refused = await statusReport(settingsFor(portOf(proxy.url), 'not-the-token'));
    assert.equal(refused.code, 1);
    assert.match(refused.text, /refused the token: set security\.auth_token/);
    const port = await freePort();
    const down = await statusReport(settingsFor(port));
    assert.equal(down.code, 1);
    assert.match(
      down.text,
      new RegExp(`not running at http://127\\.0\\.0\\.1:${port} \\(connection refused\\).*--port`),
    );
    // Something else on the port is named as such (it read as "not running (SyntaxError)").
    const other = http.createServer((_req, res) => res.writeHead(404, { server: 'not-ccproxy' }).end('nope'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const otherPort = (other.address() as AddressInfo).port;
      const elsewhere = await statusReport(settingsFor(otherPort));
      assert.equal(elsewhere.code, 1);
      assert.match(
        elsewhere.text,
        new RegExp(
          `^http://127\\.0\\.0\\.1:${otherPort} is not a ccproxy: GET /health answered HTTP 404 from "not-ccproxy"`,
        ),
      );
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('the command itself: exit code 0 when running, 1 when not; --json prints what the proxy said', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-status-'));
    try {
      const env = { PATH: process.env.PATH, HOME: cwd, SECURITY__AUTH_TOKEN: TOKEN };
      const up = await runCli(['status', '--port', String(portOf(proxy.url))], { cwd, env });
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stdout, /running, health pass/);
      const json = await runCli(['status', '--json', '--url', proxy.url], { cwd, env });
      assert.equal(json.code, 0, json.stderr);
      assert.equal(JSON.parse(json.stdout).api.concurrency.max, 4);
      const down = await runCli(['status', '--port', String(await freePort())], { cwd, env });
      assert.equal(down.code, 1);
      assert.match(down.stderr, /ccproxy is not running/);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});
