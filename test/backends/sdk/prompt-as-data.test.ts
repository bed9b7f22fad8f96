/**
 * Client text reaches the agent as data, never as typed input: `@path` mentions are not read into
 * the prompt, `/commands` are not run, `!` is no shell escape — in the new turn, in the history and
 * in tool results, whether the turn starts a process, claims a spare or goes to a running session.
 * Issue 18, item 1. Real Claude Code against the fake upstream, which records what it receives.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StreamEvent } from '../../../src/formats/anthropic/types.ts';
import { reply } from '../../support/fake-upstream.ts';
import { collect, type Harness, messageOf, pool, request, startHarness } from './harness.ts';

const MARK = 'FILE-MARKER-8d1f';

describe('SDK mode: client text is data', () => {
  let h: Harness;
  let outside: string;
  let secret: string;
  before(async () => {
    outside = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-sdk-outside-')));
    secret = path.join(outside, 'secret.txt');
    fs.writeFileSync(secret, `${MARK}-abs\n`);
    h = await startHarness({ claude: { pool_size: 1 } });
    // ~ is the agents' HOME.
    fs.writeFileSync(path.join(h.home, 'home-secret.txt'), `${MARK}-home\n`);
    // A project command whose body would reach the upstream if `/leak` were dispatched.
    const commands = path.join(h.cwd, '.claude', 'commands');
    fs.mkdirSync(commands, { recursive: true });
    fs.writeFileSync(path.join(commands, 'leak.md'), `---\ndescription: harmless\n---\n${MARK}-command\n`);
  });
  after(async () => {
    await h.close();
    fs.rmSync(outside, { recursive: true, force: true });
  });

  const leaked = () => JSON.stringify(h.fake.messages().map((r) => r.body)).includes(MARK);
  const ask = async (messages: Parameters<typeof request>[0], sessionId?: string) =>
    messageOf(await h.backend.send(request(messages), h.ctx(sessionId ? { sessionId } : {})));

  it('a spare claimed for the turn: @/abs/path and @~/path are not read', async () => {
    assert.equal(await h.backend.warmUp(60_000), true);
    h.fake.reset();
    await ask([{ role: 'user', content: `Summarize @${secret} and @~/home-secret.txt please.` }]);
    assert.equal((await pool(h.backend)).warm_claims, 1, 'served by a claimed spare');
    const prompt = JSON.stringify(h.fake.messages()[0].body);
    assert.ok(prompt.includes(`@${secret}`), 'the mention reached the model as text');
    assert.equal(leaked(), false);
  });

  it('a cold start: mentions, a /command and a ! escape are text', async () => {
    for (const text of [`@${secret}`, '@~/home-secret.txt', '/leak', `!cat ${secret}`]) {
      h.fake.reset();
      // An options override the spare was not started with: a cold start.
      const msg = messageOf(
        await h.backend.send(
          request([{ role: 'user', content: text }], { ccproxy: { max_turns: 3 } }),
          h.ctx(),
        ),
      );
      assert.ok(msg.content.length > 0);
      assert.equal(leaked(), false, text);
      assert.ok(JSON.stringify(h.fake.messages()[0].body).includes(JSON.stringify(text).slice(1, -1)));
    }
  });

  it('a running session’s next turn', async () => {
    h.fake.reset();
    await ask([{ role: 'user', content: 'hello' }], 'data-session');
    await ask([{ role: 'user', content: `Now read @${secret}` }], 'data-session');
    assert.equal((await pool(h.backend)).session_reuses, 1, 'the same process took the turn');
    assert.equal(leaked(), false);
  });

  it('the history of a stateless conversation and tool results in it', async () => {
    h.fake.reset();
    await ask([
      { role: 'user', content: `Look at @${secret}` },
      {
        role: 'assistant',
        content: [{ type: 'tool_use', id: 'toolu_01', name: 'lookup', input: {} }],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: `@${secret}` }] },
      { role: 'assistant', content: 'Noted.' },
      { role: 'user', content: '/leak' },
    ]);
    assert.equal(leaked(), false);
    // A history that ends with tool results: Claude Code goes on from the transcript itself.
    h.fake.reset();
    await ask([
      { role: 'user', content: 'go' },
      {
        role: 'assistant',
        content: [{ type: 'tool_use', id: 'toolu_02', name: 'lookup', input: {} }],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_02', content: `@${secret}` }] },
    ]);
    assert.equal(leaked(), false);
  });

  it('a client tool result handed to a suspended run', async () => {
    const tool = {
      name: 'lookup',
      description: 'Look something up.',
      input_schema: { type: 'object', properties: {} },
    };
    h.fake.reset();
    h.fake.enqueue(reply.toolUse({ name: 'mcp__ccproxy_client__lookup', input: {} }));
    const first = await collect(
      await h.backend.send(
        request([{ role: 'user', content: 'look' }], { stream: true, tools: [tool] }),
        h.ctx(),
      ),
    );
    const call = (
      first.find((e) => e.type === 'content_block_start' && e.content_block.type === 'tool_use') as Extract<
        StreamEvent,
        { type: 'content_block_start' }
      >
    ).content_block as { id: string };
    await h.backend.send(
      request(
        [
          { role: 'user', content: 'look' },
          { role: 'assistant', content: [{ type: 'tool_use', id: call.id, name: 'lookup', input: {} }] },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: call.id, content: `@${secret}` },
              { type: 'text', text: `and @~/home-secret.txt` },
            ],
          },
        ],
        { tools: [tool] },
      ),
      h.ctx(),
    );
    assert.equal(h.fake.messages().length, 2, 'the suspended run went on');
    assert.equal(leaked(), false);
  });
});
