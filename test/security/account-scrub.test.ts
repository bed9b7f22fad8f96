/**
 * An account's credential never reaches the log, even one no pattern would know: with the real
 * `ccproxy serve` and two accounts, the first holding a token of no Anthropic shape, an upstream
 * error that quotes that token back (as some gateways do) is logged on failover with the token
 * replaced, and the request is answered by the second account.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bodyFor } from '../helpers/formats.ts';
import { within } from '../resilience/harness.ts';
import { type FakeUpstream, reply, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';
import { cliEnv, startServe } from './cli.ts';

const TEAM_TOKEN = 'team-gateway-token-of-no-known-shape-7f3a9c';

describe('security: account credentials in log lines', () => {
  let fake: FakeUpstream;
  let dir: string;
  before(async () => {
    fake = await startFakeUpstream({ acceptAnyToken: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-account-scrub-'));
  });
  after(async () => {
    await fake?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an upstream error quoting an account token is logged with the token redacted', async () => {
    const accounts = [
      { name: 'team', oauth_token: TEAM_TOKEN, priority: 1 },
      { name: 'main', oauth_token: TEST_ACCESS_TOKEN },
    ];
    const serve = await startServe(['--port', '0', '--log-level', 'debug'], {
      cwd: dir,
      env: cliEnv(dir, { UPSTREAM__BASE_URL: fake.url, ACCOUNTS__LIST: JSON.stringify(accounts) }),
    });
    try {
      const url = serve.url;
      fake.enqueue(reply.unauthorized(`Invalid bearer token ${TEAM_TOKEN} for this organization`));
      const res = await fetch(`${url}/api/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify(bodyFor('anthropic', false, 'x')),
      });
      assert.equal(res.status, 200, await res.clone().text());
      await res.text();
      const [first, second] = fake.messages();
      assert.equal(first!.headers.authorization, `Bearer ${TEAM_TOKEN}`, 'the team account went first');
      assert.equal(second!.headers.authorization, `Bearer ${TEST_ACCESS_TOKEN}`);

      await within(
        10_000,
        'the failover line',
        (async () => {
          while (!/looking for another/.test(serve.stderr())) await new Promise((r) => setTimeout(r, 20));
        })(),
      );
      const line = serve
        .stderr()
        .split('\n')
        .find((l) => /looking for another/.test(l))!;
      assert.match(line, /\[REDACTED\]/);
      assert.ok(!serve.stderr().includes(TEAM_TOKEN), 'the token appears nowhere in the log');
      assert.ok(!serve.stderr().includes(TEST_ACCESS_TOKEN));
    } finally {
      await serve.stop();
    }
    assert.ok(!serve.stderr().includes(TEAM_TOKEN), 'not in the shutdown lines either');
  });
});
