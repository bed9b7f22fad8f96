/**
 * SDK mode with several accounts, through the server with the real Anthropic SDK and the real
 * Claude Code binary: each agent process runs with its request's account, and an agent started on
 * one account is never reused for another.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { claudeCodeEnv } from '../backends/sdk/harness.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, reply, startFakeUpstream } from '../support/fake-upstream.ts';
import { accountOf, TOKEN_A, TOKEN_B } from './helpers.ts';

describe('SDK mode: each agent on its request’s account', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;
  let client: Anthropic;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-sdk-accounts-'));

  before(async () => {
    fake = await startFakeUpstream({ accessTokens: [TOKEN_A, TOKEN_B] });
    proxy = await startProxy({
      settings: {
        claude: { pool_size: 0, max_concurrent_agents: 4 },
        accounts: {
          list: [
            { name: 'a', oauth_token: '${TOKEN_A}' },
            { name: 'b', oauth_token: '${TOKEN_B}' },
          ] as never,
        },
      },
      // A token of the machine's own would be one more login: with accounts, only theirs is lent.
      env: {
        ...claudeCodeEnv(home, fake.url),
        TOKEN_A,
        TOKEN_B,
        CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-not-this-one',
      },
    });
    client = new Anthropic({ baseURL: `${proxy.url}/sdk`, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await proxy?.close();
    await fake?.close();
  });

  const turn = (session: string, text: string) =>
    client.messages.create(
      { model: 'claude-sonnet-5-5', max_tokens: 256, messages: [{ role: 'user', content: text }] },
      { headers: { 'x-ccproxy-session-id': session } },
    );

  it('a session runs on its account; when that account cannot answer, its next turn starts on another', async () => {
    fake.reset();
    fake.handle(() => reply.text('From the agent.'));
    await turn('s-1', 'first turn');
    const first = fake.messages().map(accountOf);
    assert.ok(first.length > 0 && first.every((a) => a === 'a'), `all on a: ${first}`);

    await turn('s-1', 'second turn');
    const second = fake.messages().map(accountOf);
    assert.ok(
      second.every((a) => a === 'a'),
      `still a: ${second}`,
    );
    const pidsBefore = (await (await fetch(`${proxy.url}/sdk/status`)).json()) as {
      processes: { started: number };
    };

    // a cools (say, its window is used up): the session's next turn may not use the agent started on a.
    proxy.proxy.accounts.get('a')!.cool(Date.now() + 3_600_000, 'test');
    fake.reset();
    fake.handle(() => reply.text('From b.'));
    const third = await turn('s-1', 'third turn');
    assert.equal((third.content[0] as { text: string }).text, 'From b.');
    const used = fake.messages().map(accountOf);
    assert.ok(used.length > 0 && used.every((a) => a === 'b'), `all on b: ${used}`);
    const pidsAfter = (await (await fetch(`${proxy.url}/sdk/status`)).json()) as {
      processes: { started: number };
    };
    assert.equal(pidsAfter.processes.started, pidsBefore.processes.started + 1, 'a new process for b');
    assert.doesNotMatch(JSON.stringify(fake.messages().map((r) => r.headers)), /not-this-one/);
  });

  it('the access log of an SDK request names its account', async () => {
    const rows: Array<{ account?: string; billing?: string }> = [];
    const off = proxy.proxy.lifecycle.subscribe((e, r) => {
      if (e === 'end') rows.push({ account: r.account, billing: r.billing });
    });
    fake.reset();
    fake.handle(() => reply.text('ok'));
    await turn('s-2', 'hello');
    off();
    assert.deepEqual(rows, [{ account: 'b', billing: 'subscription' }]);
  });
});
