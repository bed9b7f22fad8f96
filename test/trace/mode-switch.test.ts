/**
 * `ccproxy trace replay ID --mode sdk` as a user runs it: the real `ccproxy serve` with capture on
 * answers an Anthropic SDK request in API mode; the real CLI replays that capture in SDK mode, where
 * the real Claude Code agent answers it (both against the fake upstream).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { claudeCodeEnv } from '../backends/sdk/harness.ts';
import { cliEnv, runCli, startServe } from '../security/cli.ts';
import { type FakeUpstream, reply, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

describe('trace replay: an API-mode capture answered again in SDK mode', () => {
  let fake: FakeUpstream;
  let dir: string;
  before(async () => {
    fake = await startFakeUpstream();
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-mode-switch-')));
  });
  after(async () => {
    await fake?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('replays through /sdk, and Claude Code asks the upstream the captured question', async () => {
    // One environment for the proxy and the agents it starts: the fake as both's API, no login.
    const env = cliEnv(dir, {
      ...claudeCodeEnv(dir, fake.url),
      CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN,
      UPSTREAM__BASE_URL: fake.url,
      OBSERVABILITY__CAPTURE: 'all',
      OBSERVABILITY__FLUSH_INTERVAL_MS: '20',
    });
    const serve = await startServe(['--port', '0'], { cwd: dir, env });
    try {
      const url = serve.url;
      fake.enqueue(reply.text('Answered in API mode.'));
      const anthropic = new Anthropic({ baseURL: `${url}/api`, apiKey: 'unused', maxRetries: 0 });
      const first = await anthropic.messages.create(
        {
          model: 'claude-sonnet-5-5',
          max_tokens: 64,
          messages: [{ role: 'user', content: 'What is the meaning of the replay?' }],
        },
        { headers: { 'x-request-id': 'switch_me' } },
      );
      assert.equal((first.content[0] as Anthropic.TextBlock).text, 'Answered in API mode.');
      // The capture is written after the answer: wait until the proxy has it.
      for (let i = 0; ; i++) {
        const res = await fetch(`${url}/logs/requests/switch_me`);
        if (res.status === 200 && ((await res.json()) as { capture?: unknown }).capture) break;
        assert.ok(i < 1500, 'the capture was stored within 30 s');
        await new Promise((r) => setTimeout(r, 20));
      }

      const before = fake.messages().length;
      fake.enqueue(reply.text('Answered by the agent.'));
      const r = await runCli(['trace', 'replay', 'switch_me', '--mode', 'sdk', '--no-stream', '--url', url], {
        cwd: dir,
        env,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^POST \/sdk\/v1\/messages → HTTP 200 \(replayed as req_\w+\)/);
      const again = JSON.parse(r.stdout) as Anthropic.Message;
      assert.equal((again.content[0] as Anthropic.TextBlock).text, 'Answered by the agent.');
      // Claude Code itself asked the upstream, with the captured question in its prompt.
      const asked = fake.messages().slice(before);
      assert.ok(asked.length >= 1);
      const last = asked.at(-1)!;
      assert.match(String(last.headers['user-agent']), /^claude-cli\//);
      assert.ok(JSON.stringify(last.body).includes('What is the meaning of the replay?'));
    } finally {
      await serve.stop();
    }
    assert.doesNotMatch(serve.stderr(), /ERROR|FATAL/, serve.stderr());
  });
});
