/**
 * A log reader that stops reading (a stuck log shipper, a full pipe) must not stop the proxy nor cost
 * lines: with the real `ccproxy serve` spawned and its stderr left unread well past what the pipe
 * holds, every request is still answered, and once the reader comes back every line arrives, in full.
 * (Node queues what a full pipe cannot take and writes it once the reader drains it; a logger
 * writing stderr another way must keep both promises.)
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { bodyFor } from '../helpers/formats.ts';
import { bannerUrl, cliEnv, spawnCli } from '../security/cli.ts';
import { type FakeUpstream, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';
import { within } from './harness.ts';

/** ~200 bytes a line: 1,500 requests are ~300 KB of log, several times what a pipe and node's reader hold. */
const REQUESTS = 1500;

describe('resilience: a stalled log reader', () => {
  let fake: FakeUpstream;
  let dir: string;
  before(async () => {
    fake = await startFakeUpstream();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-stalled-log-'));
  });
  after(async () => {
    await fake?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('does not stall requests, and loses no line once reading resumes', async () => {
    const child = spawnCli(['serve', '--port', '0'], {
      cwd: dir,
      env: cliEnv(dir, { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN, UPSTREAM__BASE_URL: fake.url }),
    });
    child.stdin.end();
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const agent = new Agent({ connections: 8 });
    try {
      // stderr stays paused: node reads up to its buffer's mark, then the pipe fills and stays full.
      child.stderr.pause();
      const url = await bannerUrl(child);

      const body = JSON.stringify(bodyFor('anthropic', false, 'stalled log'));
      let sent = 0;
      const worker = async () => {
        while (sent < REQUESTS) {
          sent++;
          const r = await request(`${url}/api/v1/messages`, {
            method: 'POST',
            dispatcher: agent,
            headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
            body,
          });
          await r.body.text();
          assert.equal(r.statusCode, 200);
        }
      };
      await within(
        60_000,
        `${REQUESTS} requests with stderr unread`,
        Promise.all(Array.from({ length: 8 }, worker)),
      );

      let err = '';
      child.stderr.on('data', (c) => {
        err += c;
      });
      child.stderr.resume();
      const lines = () => err.match(/INFO: POST \/api\/v1\/messages/g)?.length ?? 0;
      await within(
        20_000,
        'every request line',
        (async () => {
          while (lines() < REQUESTS) await new Promise((r) => setTimeout(r, 50));
        })(),
      );
      assert.equal(lines(), REQUESTS);
      child.kill('SIGTERM');
      assert.equal(await within(20_000, 'exit', exited), 0);
    } finally {
      await agent.close();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
