/**
 * The SDK backend end to end: the real Claude Code binary (from the Agent SDK's platform package)
 * against the fake upstream, `backend.send()` called directly.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeCredentialsFile } from '../../../src/auth/credentials.ts';
import { agentSessionId } from '../../../src/backends/sdk/session-id.ts';
import { projectKey } from '../../../src/backends/sdk/transcript.ts';
import { ProxyError } from '../../../src/errors.ts';
import type { StreamEvent } from '../../../src/formats/anthropic/types.ts';
import { reply, TEST_ACCESS_TOKEN } from '../../support/fake-upstream.ts';
import {
  collect,
  dialogue,
  eventually,
  type Harness,
  messageOf,
  pool,
  processes,
  request,
  startHarness,
  streamedText,
  textOf,
} from './harness.ts';

const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'The weather in a city.',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

function transcripts(h: Harness): string[] {
  const dir = path.join(h.home, '.claude', 'projects');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.jsonl'));
}

describe('SDK backend with Claude Code against the fake upstream', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
    assert.equal((await processes(h.backend)).running, 0, 'no Claude Code process outlives the backend');
  });

  it('streams an answer token by token and fills the request record', async () => {
    h.fake.reset();
    h.fake.enqueue(reply.text('Streaming works fine today.', { deltas: 4 }));
    const ctx = h.ctx();
    const events = await collect(
      await h.backend.send(request([{ role: 'user', content: 'hi' }], { stream: true }), ctx),
    );
    const deltas = events.filter((e) => e.type === 'content_block_delta');
    assert.equal(deltas.length, 4, 'one client delta per upstream delta');
    assert.equal(streamedText(events), 'Streaming works fine today.');
    assert.equal(events[0].type, 'message_start');
    assert.equal(events.at(-1)?.type, 'message_stop');
    const end = events.at(-2) as Extract<StreamEvent, { type: 'message_delta' }>;
    assert.equal(end.delta.stop_reason, 'end_turn');
    assert.ok((end.usage.input_tokens ?? 0) > 0);
    assert.equal(ctx.record.upstreamModel, 'claude-sonnet-5-5');
    assert.equal(ctx.record.sdkTurns, 1);
    assert.ok((ctx.record.sdkCostUsd ?? -1) >= 0);
    assert.ok((ctx.record.usage?.input ?? 0) > 0);
    const sent = h.fake.messages().at(-1)!;
    assert.equal(sent.query.beta, 'true');
    assert.equal((sent.body as { stream: boolean }).stream, true);
  });

  it('answers a non-streamed request with one whole message', async () => {
    h.fake.reset();
    h.fake.enqueue(reply.text('A whole answer.'));
    const msg = messageOf(
      await h.backend.send(request([{ role: 'user', content: 'hi' }], { system: 'Be terse.' }), h.ctx()),
    );
    assert.equal(msg.type, 'message');
    assert.equal(textOf(msg.content), 'A whole answer.');
    assert.equal(msg.stop_reason, 'end_turn');
    const system = JSON.stringify((h.fake.messages().at(-1)!.body as { system: unknown }).system);
    assert.match(system, /Be terse\./, 'the request’s system prompt is appended to Claude Code’s');
  });

  it('runs the built-in Read tool on a file and streams the final answer', async () => {
    h.fake.reset();
    const file = path.join(h.cwd, 'notes.txt');
    fs.writeFileSync(file, 'the secret word is pineapple\n');
    h.fake.enqueue(reply.toolUse({ name: 'Read', input: { file_path: file } }, { text: 'Let me read it.' }));
    const ctx = h.ctx();
    const events = await collect(
      await h.backend.send(request([{ role: 'user', content: 'read notes.txt' }], { stream: true }), ctx),
    );
    const text = streamedText(events);
    assert.match(text, /Let me read it\./);
    assert.match(text, new RegExp(`> \\*\\*Read\\*\\* ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(text, /pineapple/, 'the answer after the tool ran');
    assert.ok(
      !events.some((e) => e.type === 'content_block_start' && e.content_block.type === 'tool_use'),
      'the agent’s own tools are never tool_use blocks',
    );
    assert.equal(ctx.record.sdkTurns, 2);
    const second = h.fake.messages().at(-1)!;
    assert.match(JSON.stringify(dialogue(second.body).at(-1)), /tool_result.*pineapple/);
  });

  it('sends the whole history of a stateless conversation as real turns, and keeps nothing', async () => {
    h.fake.reset();
    const reqBody = request([
      { role: 'user', content: 'My name is Ada.' },
      { role: 'assistant', content: 'Nice to meet you, Ada.' },
      { role: 'user', content: [{ type: 'text', text: 'I live in Paris.' }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'noted', signature: 'sig' },
          { type: 'text', text: 'Lovely city.' },
        ],
      },
      { role: 'user', content: 'What is my name?' },
    ]);
    const msg = messageOf(await h.backend.send(reqBody, h.ctx()));
    assert.ok(textOf(msg.content).length > 0);
    const sent = h.fake.messages().at(-1)!.body as { messages: Array<{ role: string; content: unknown }> };
    assert.deepEqual(dialogue(sent), [
      ['user', 'My name is Ada.'],
      ['assistant', 'Nice to meet you, Ada.'],
      ['user', 'I live in Paris.'],
      ['assistant', 'Lovely city.'],
      ['user', 'What is my name?'],
    ]);
    for (const m of sent.messages)
      assert.ok(
        m.content !== '' && !(Array.isArray(m.content) && m.content.length === 0),
        'no empty message',
      );
  });

  it('the next turn of a stateless conversation goes to the agent that answered the last one', async () => {
    h.fake.reset();
    h.fake.enqueue(reply.text('Hello, Grace.'));
    const first = messageOf(
      await h.backend.send(request([{ role: 'user', content: 'I am Grace.' }]), h.ctx()),
    );
    const { started } = await processes(h.backend);
    const reuses = (await pool(h.backend)).conversation_reuses;
    h.fake.enqueue(reply.text('You are Grace.'));
    const second = messageOf(
      await h.backend.send(
        request([
          { role: 'user', content: 'I am Grace.' },
          { role: 'assistant', content: textOf(first.content) },
          { role: 'user', content: 'Who am I?' },
        ]),
        h.ctx(),
      ),
    );
    assert.equal(textOf(second.content), 'You are Grace.');
    assert.equal((await pool(h.backend)).conversation_reuses, reuses + 1);
    assert.equal((await processes(h.backend)).started, started, 'no process started');
    assert.deepEqual(dialogue(h.fake.messages().at(-1)!.body), [
      ['user', 'I am Grace.'],
      ['assistant', 'Hello, Grace.'],
      ['user', 'Who am I?'],
    ]);
    // A history that differs (here: edited) is not that conversation: a fresh agent gets it.
    messageOf(
      await h.backend.send(
        request([
          { role: 'user', content: 'I am Grace.' },
          { role: 'assistant', content: 'Hello, Ada.' },
          { role: 'user', content: 'Who am I?' },
        ]),
        h.ctx(),
      ),
    );
    assert.equal((await pool(h.backend)).conversation_reuses, reuses + 1);
  });

  it('with a session id, keeps the agent between turns and sends only the new turn', async () => {
    h.fake.reset();
    h.fake.enqueue(reply.text('Hello Ada.'));
    const ctx1 = h.ctx({ sessionId: 'chat-ada' });
    const first = messageOf(
      await h.backend.send(request([{ role: 'user', content: 'My name is Ada.' }]), ctx1),
    );
    const started = (await processes(h.backend)).started;

    h.fake.enqueue(reply.text('You are Ada.'));
    const second = messageOf(
      await h.backend.send(
        request([
          { role: 'user', content: 'My name is Ada.' },
          { role: 'assistant', content: first.content },
          { role: 'user', content: 'What is my name?' },
        ]),
        h.ctx({ sessionId: 'chat-ada' }),
      ),
    );
    assert.equal(textOf(second.content), 'You are Ada.');
    assert.deepEqual(dialogue(h.fake.messages().at(-1)!.body), [
      ['user', 'My name is Ada.'],
      ['assistant', 'Hello Ada.'],
      ['user', 'What is my name?'],
    ]);
    assert.equal((await processes(h.backend)).started, started, 'the second turn went to the same process');
    assert.equal((await pool(h.backend)).session_reuses, 1);

    // After a restart the session resumes from Claude Code's transcript.
    await h.restart();
    h.fake.enqueue(reply.text('Still Ada.'));
    const third = messageOf(
      await h.backend.send(
        request([{ role: 'user', content: 'And now?' }]),
        h.ctx({ sessionId: 'chat-ada' }),
      ),
    );
    assert.equal(textOf(third.content), 'Still Ada.');
    assert.deepEqual(dialogue(h.fake.messages().at(-1)!.body), [
      ['user', 'My name is Ada.'],
      ['assistant', 'Hello Ada.'],
      ['user', 'What is my name?'],
      ['assistant', 'You are Ada.'],
      ['user', 'And now?'],
    ]);
  });

  it('a new session that arrives with history is seeded with it', async () => {
    h.fake.reset();
    messageOf(
      await h.backend.send(
        request([
          { role: 'user', content: 'Remember 42.' },
          { role: 'assistant', content: 'Noted: 42.' },
          { role: 'user', content: 'What number?' },
        ]),
        h.ctx({ sessionId: 'seeded' }),
      ),
    );
    assert.deepEqual(dialogue(h.fake.messages().at(-1)!.body), [
      ['user', 'Remember 42.'],
      ['assistant', 'Noted: 42.'],
      ['user', 'What number?'],
    ]);
  });

  it('client tools: the response ends with the client’s tool_use, its result resumes the same run', async () => {
    h.fake.reset();
    h.fake.enqueue(
      reply.toolUse(
        { name: 'mcp__ccproxy_client__get_weather', input: { city: 'Paris' } },
        { text: 'Let me check.' },
      ),
    );
    const first = await collect(
      await h.backend.send(
        request([{ role: 'user', content: 'Weather in Paris?' }], { stream: true, tools: [WEATHER_TOOL] }),
        h.ctx(),
      ),
    );
    const offered = (h.fake.messages().at(-1)!.body as { tools: Array<{ name: string }> }).tools.map(
      (t) => t.name,
    );
    assert.ok(offered.includes('mcp__ccproxy_client__get_weather'), 'the agent sees the client’s tool');
    const start = first.find(
      (e) => e.type === 'content_block_start' && e.content_block.type === 'tool_use',
    ) as Extract<StreamEvent, { type: 'content_block_start' }>;
    assert.ok(start, 'a tool_use block for the client');
    const call = start.content_block as { id: string; name: string };
    assert.equal(call.name, 'get_weather', 'with the client’s own tool name');
    const end = first.at(-2) as Extract<StreamEvent, { type: 'message_delta' }>;
    assert.equal(end.delta.stop_reason, 'tool_use');
    assert.equal((await pool(h.backend)).suspended_runs, 1);
    const { started } = await processes(h.backend);
    const coldStarts = (await pool(h.backend)).cold_starts;

    const second = await collect(
      await h.backend.send(
        request(
          [
            { role: 'user', content: 'Weather in Paris?' },
            {
              role: 'assistant',
              content: [
                { type: 'text', text: 'Let me check.' },
                { type: 'tool_use', id: call.id, name: 'get_weather', input: { city: 'Paris' } },
              ],
            },
            {
              role: 'user',
              content: [{ type: 'tool_result', tool_use_id: call.id, content: 'Sunny, 21°C' }],
            },
          ],
          { stream: true, tools: [WEATHER_TOOL] },
        ),
        h.ctx(),
      ),
    );
    assert.match(streamedText(second), /Sunny, 21°C/, 'the agent answered with the client’s result');
    const last = dialogue(h.fake.messages().at(-1)!.body);
    assert.deepEqual(last.at(-1), ['user', '[tool_result [{"type":"text","text":"Sunny, 21°C"}]]']);
    assert.equal(h.fake.messages().length, 2, 'the same run went on: no new conversation upstream');
    assert.equal((await processes(h.backend)).started, started, 'no new process');
    assert.equal((await pool(h.backend)).cold_starts, coldStarts);
    assert.equal((await pool(h.backend)).suspended_runs, 0);
  });

  it('parallel client tool calls: both results resume the same run, each handler finding its own', async () => {
    h.fake.reset();
    h.fake.enqueue(
      reply.toolUse([
        { name: 'mcp__ccproxy_client__get_weather', input: { city: 'Paris' } },
        { name: 'mcp__ccproxy_client__get_weather', input: { city: 'Oslo' } },
      ]),
    );
    const ask = [{ role: 'user' as const, content: 'Weather in Paris and Oslo?' }];
    const first = await collect(
      await h.backend.send(request(ask, { stream: true, tools: [WEATHER_TOOL] }), h.ctx()),
    );
    const calls = first
      .filter((e) => e.type === 'content_block_start' && e.content_block.type === 'tool_use')
      .map(
        (e) => (e as Extract<StreamEvent, { type: 'content_block_start' }>).content_block as { id: string },
      );
    assert.equal(calls.length, 2, 'two tool_use blocks for the client');
    const results = ['Sunny, 21°C', 'Snow, -3°C'];
    const second = await h.backend.send(
      request(
        [
          ...ask,
          {
            role: 'assistant',
            content: calls.map((c, i) => ({
              type: 'tool_use',
              id: c.id,
              name: 'get_weather',
              input: { city: i ? 'Oslo' : 'Paris' },
            })),
          },
          {
            role: 'user',
            content: calls.map((c, i) => ({ type: 'tool_result', tool_use_id: c.id, content: results[i] })),
          },
        ],
        { stream: false, tools: [WEATHER_TOOL] },
      ),
      h.ctx(),
    );
    const text = JSON.stringify(second);
    for (const r of results) assert.ok(text.includes(r), `the agent answered with ${r}`);
    assert.equal(h.fake.messages().length, 2, 'the same run went on with both results');
    assert.equal((await pool(h.backend)).suspended_runs, 0);
  });

  it('a client that hangs up interrupts the run and frees its process', async () => {
    h.fake.reset();
    h.fake.enqueue(reply.slow(300, reply.text('one two three four five six seven eight', { deltas: 8 })));
    const ac = new AbortController();
    const before = new Set((await processes(h.backend)).pids);
    const r = await h.backend.send(
      request([{ role: 'user', content: 'slow please' }], { stream: true }),
      h.ctx({ signal: ac.signal }),
    );
    const mine = (await processes(h.backend)).pids.filter((p) => !before.has(p));
    assert.equal(mine.length, 1, 'the run has its own process');
    assert.equal(r.type, 'stream');
    const it = (r as { events: AsyncIterable<StreamEvent> }).events[Symbol.asyncIterator]();
    for (;;) {
      const n = await it.next();
      assert.ok(!n.done);
      if (n.value.type === 'content_block_delta') break;
    }
    ac.abort();
    await assert.rejects(async () => {
      for (;;) if ((await it.next()).done) break;
    }, /closed the request/);
    const upstream = await h.fake.messages().at(-1)!.ended;
    assert.equal(upstream.aborted, true, 'the upstream request was cancelled');
    await eventually(async () => !(await processes(h.backend)).pids.includes(mine[0]), 'the process to exit');
    assert.equal(
      ((await h.backend.status()) as { processes: { busy_agents: number } }).processes.busy_agents,
      0,
    );
  });

  it('refuses unknown overrides with the allowed keys', async () => {
    await assert.rejects(
      h.backend.send(request([{ role: 'user', content: 'x' }]), h.ctx({ extras: { max_turn: 2 } })),
      (err: unknown) =>
        err instanceof ProxyError && err.status === 400 && /Allowed keys: max_turns/.test(err.message),
    );
  });

  it('max_turns reached: the agent’s message, not a stack trace', async () => {
    h.fake.reset();
    h.fake.enqueue(reply.toolUse({ name: 'Read', input: { file_path: path.join(h.cwd, 'notes.txt') } }));
    await assert.rejects(
      h.backend.send(request([{ role: 'user', content: 'read' }]), h.ctx({ extras: { max_turns: 1 } })),
      (err: unknown) =>
        err instanceof ProxyError &&
        err.kind === 'invalid_request' &&
        /max_turns/.test(err.message) &&
        !/ at /.test(err.message),
    );
  });
});

describe('SDK backend transcripts', () => {
  it('stateless runs leave no transcript behind once their agents stop; sessions keep theirs', async () => {
    const h = await startHarness();
    try {
      messageOf(await h.backend.send(request([{ role: 'user', content: 'one-off' }]), h.ctx()));
      // An image, which Claude Code saves in its temp folder for the session.
      const PNG =
        'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==';
      messageOf(
        await h.backend.send(
          request([
            {
              role: 'user',
              content: [
                { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
                { type: 'text', text: 'what is it?' },
              ],
            },
          ]),
          h.ctx(),
        ),
      );
      messageOf(
        await h.backend.send(
          request([
            { role: 'user', content: 'a' },
            { role: 'assistant', content: 'b' },
            { role: 'user', content: 'c' },
          ]),
          h.ctx(),
        ),
      );
      messageOf(
        await h.backend.send(request([{ role: 'user', content: 'kept' }]), h.ctx({ sessionId: 'keep-me' })),
      );
      assert.ok(transcripts(h).length >= 3, 'running agents have their transcripts');
      const scratch = path.join(
        os.tmpdir(),
        `claude-${process.getuid?.()}`,
        projectKey(fs.realpathSync(h.cwd)),
      );
      const images = () =>
        fs.existsSync(scratch)
          ? fs.readdirSync(scratch).filter((s) => fs.existsSync(path.join(scratch, s, 'images')))
          : [];
      assert.equal(images().length, 1, 'Claude Code saved the image while its run lives');
      await h.restart();
      assert.deepEqual(
        transcripts(h).map((f) => path.basename(f)),
        [`${agentSessionId('keep-me')}.jsonl`],
      );
      assert.deepEqual(images(), [], "the stateless run's saved image is gone with it");
    } finally {
      await h.close();
    }
  });
});

describe('SDK backend failures', () => {
  it('Claude Code missing: 503 that says how to install it', async () => {
    const h = await startHarness({ claude: { cli_path: '/nonexistent/claude' } });
    try {
      await assert.rejects(
        h.backend.send(request([{ role: 'user', content: 'x' }]), h.ctx()),
        (err: unknown) => {
          assert.ok(err instanceof ProxyError);
          assert.equal(err.status, 503);
          assert.equal(err.kind, 'unavailable');
          assert.match(err.message, /\/nonexistent\/claude/);
          assert.match(err.message, /claude\.cli_path/);
          return true;
        },
      );
      const health = await h.backend.health();
      assert.equal(health.ok, false);
      assert.equal((await processes(h.backend)).started, 0);
    } finally {
      await h.close();
    }
  });

  it('not logged in: 401 that says claude /login or CLAUDE_CODE_OAUTH_TOKEN', async () => {
    const h = await startHarness({ noToken: true });
    try {
      await assert.rejects(
        h.backend.send(request([{ role: 'user', content: 'x' }], { stream: true }), h.ctx()),
        (err: unknown) => {
          assert.ok(err instanceof ProxyError);
          assert.equal(err.status, 401);
          assert.match(err.message, /claude \/login/);
          assert.match(err.message, /CLAUDE_CODE_OAUTH_TOKEN/);
          return true;
        },
      );
    } finally {
      await h.close();
    }
  });

  it("logged in with `ccproxy auth login` only: the agent runs on ccproxy's token", async () => {
    const h = await startHarness({ ccproxyLogin: true });
    try {
      assert.equal(h.env.CLAUDE_CODE_OAUTH_TOKEN, undefined);
      h.fake.enqueue(reply.text('On the shared login.'));
      const msg = messageOf(await h.backend.send(request([{ role: 'user', content: 'hi' }]), h.ctx()));
      assert.equal(textOf(msg.content), 'On the shared login.');
      assert.equal(h.fake.messages().at(-1)!.headers.authorization, `Bearer ${TEST_ACCESS_TOKEN}`);
    } finally {
      await h.close();
    }
  });

  it('a login replaced after agents started: spares and kept agents with the old token are not reused', async () => {
    const h = await startHarness({ ccproxyLogin: true, claude: { pool_size: 1 } });
    try {
      h.fake.enqueue(reply.text('Noted.'));
      messageOf(
        await h.backend.send(
          request([{ role: 'user', content: 'Remember 7.' }]),
          h.ctx({ sessionId: 'lent' }),
        ),
      );
      assert.equal(await h.backend.warmUp(60_000), true, 'a spare parked with the first token');

      // `ccproxy auth login` again: a new token; the old one expires at the upstream.
      const second = TEST_ACCESS_TOKEN.replace(/0{8}$/, '22222222');
      h.fake.credentials.accessTokens.add(second);
      h.fake.credentials.expire(TEST_ACCESS_TOKEN);
      writeCredentialsFile(h.settings.auth.credentials_file, {
        accessToken: second,
        refreshToken: 'sk-ant-ort01-unused',
        expiresAt: Date.now() + 3_600_000,
      });
      h.tokens!.reload();
      assert.equal(h.env.CLAUDE_CODE_OAUTH_TOKEN, undefined, 'the shared environment is never changed');

      h.fake.enqueue(reply.text('Fresh start.'));
      const stateless = messageOf(await h.backend.send(request([{ role: 'user', content: 'hi' }]), h.ctx()));
      assert.equal(textOf(stateless.content), 'Fresh start.');
      assert.equal(h.fake.messages().at(-1)!.headers.authorization, `Bearer ${second}`);
      assert.equal((await pool(h.backend)).warm_claims, 0, 'the spare with the old token was let go');

      h.fake.enqueue(reply.text('It was 7.'));
      const next = messageOf(
        await h.backend.send(
          request([{ role: 'user', content: 'Which number?' }]),
          h.ctx({ sessionId: 'lent' }),
        ),
      );
      assert.equal(textOf(next.content), 'It was 7.');
      assert.equal(h.fake.messages().at(-1)!.headers.authorization, `Bearer ${second}`);
      assert.deepEqual(dialogue(h.fake.messages().at(-1)!.body).at(0), ['user', 'Remember 7.'], 'resumed');
    } finally {
      await h.close();
    }
  });

  it('a run past claude.timeout_s: 504, and the process is freed', async () => {
    const h = await startHarness({ claude: { timeout_s: 1 } });
    try {
      h.fake.enqueue(reply.stall());
      await assert.rejects(
        h.backend.send(request([{ role: 'user', content: 'x' }]), h.ctx()),
        (err: unknown) =>
          err instanceof ProxyError && err.status === 504 && /claude\.timeout_s/.test(err.message),
      );
      await eventually(async () => (await processes(h.backend)).running === 0, 'the process to exit');
    } finally {
      await h.close();
    }
  });
});

describe('SDK backend warm pool', () => {
  it('the second request claims a pre-warmed process and starts none', async () => {
    const h = await startHarness({ claude: { pool_size: 1 } });
    try {
      h.fake.enqueue(reply.text('cold'));
      messageOf(await h.backend.send(request([{ role: 'user', content: 'one' }]), h.ctx()));
      assert.equal(await h.backend.warmUp(60_000), true);
      const before = await pool(h.backend);
      assert.equal(before.cold_starts, 1);
      const spare = (before as unknown as { spare_pids: number[] }).spare_pids[0];
      assert.ok(spare, 'a spare is parked');

      h.fake.enqueue(reply.text('warm'));
      const ctx = h.ctx();
      const msg = messageOf(
        await h.backend.send(request([{ role: 'user', content: 'two' }], { system: 'Sys.' }), ctx),
      );
      assert.equal(textOf(msg.content), 'warm');
      const after = await pool(h.backend);
      assert.equal(after.warm_claims, 1, 'served by the spare');
      assert.equal(after.cold_starts, 1, 'no process started for the request');
      assert.ok(!(after as unknown as { spare_pids: number[] }).spare_pids.includes(spare));
      const systemOf = (i: number) =>
        JSON.stringify((h.fake.messages().at(i)!.body as { system: unknown }).system);
      assert.match(systemOf(-1), /Sys\./);
      // The spare runs on Claude Code's own system prompt, as the cold start did (it had the SDK's
      // one-line prompt: no safety guidance, no tool guidance).
      const cold = systemOf(0).length;
      assert.ok(cold > 5000, `a cold start's system prompt: ${cold} characters`);
      assert.ok(systemOf(-1).length > cold / 2, `the spare's: ${systemOf(-1).length} characters`);
    } finally {
      await h.close();
    }
    assert.equal((await processes(h.backend)).running, 0);
  });
});

describe('SDK backend warm pool, a refused claim', () => {
  it('bug-spare-refusal-missed: a spare that refuses its claim gives way to a cold start', async () => {
    const h = await startHarness({ claude: { pool_size: 1 } });
    try {
      assert.equal(await h.backend.warmUp(60_000), true);
      // Project settings that set `model`, written after the spare started: it cannot take the
      // folder (the SDK's ClaimOptions). (A request's ccproxy.cwd may not name a folder with
      // settings of its own: these are claude.cwd's, the operator's.)
      fs.mkdirSync(path.join(h.cwd, '.claude'), { recursive: true });
      fs.writeFileSync(
        path.join(h.cwd, '.claude', 'settings.json'),
        JSON.stringify({ model: 'claude-sonnet-4-5' }),
      );
      h.fake.enqueue(reply.text('Answered cold.'));
      const msg = messageOf(await h.backend.send(request([{ role: 'user', content: 'hi' }]), h.ctx()));
      assert.equal(textOf(msg.content), 'Answered cold.');
      const p = await pool(h.backend);
      assert.equal(p.claim_refusals, 1, 'the spare refused');
      assert.equal(p.cold_starts, 1, 'the request started cold instead');
    } finally {
      await h.close();
    }
  });
});

describe('SDK backend warm pool, pre-claimed', () => {
  it('claims a spare ahead for requests like the last one; a different request still finds a warm one', async () => {
    const h = await startHarness({ claude: { pool_size: 2 } });
    try {
      assert.equal(await h.backend.warmUp(60_000), true);
      const ask = (system: string) =>
        h.backend.send(request([{ role: 'user', content: 'hi' }], { system }), h.ctx()).then(messageOf);
      await ask('You are the release bot.');
      await eventually(async () => (await pool(h.backend)).spares_preclaimed === 1, 'a spare claimed ahead');
      const before = await pool(h.backend);
      await ask('You are the release bot.');
      const after = await pool(h.backend);
      assert.equal(after.preclaimed_hits, before.preclaimed_hits + 1, 'the session was already set up');
      assert.match(
        JSON.stringify((h.fake.messages().at(-1)!.body as { system: unknown }).system),
        /release bot/,
      );

      await eventually(async () => (await pool(h.backend)).spares_ready === 2, 'the pool to refill');
      await ask('You are someone else.');
      const other = await pool(h.backend);
      assert.equal(other.cold_starts, 0, 'every request was served warm');
      assert.equal(other.warm_claims, 3);
      assert.match(
        JSON.stringify((h.fake.messages().at(-1)!.body as { system: unknown }).system),
        /someone else/,
      );
    } finally {
      await h.close();
    }
  });
});

describe('SDK backend recovery', () => {
  it('a client tool result that no run waits for any more still reaches the agent', async () => {
    const h = await startHarness();
    try {
      h.fake.enqueue(
        reply.toolUse(
          { name: 'mcp__ccproxy_client__get_weather', input: { city: 'Oslo' } },
          { text: 'Checking.' },
        ),
      );
      const first = await collect(
        await h.backend.send(
          request([{ role: 'user', content: 'Weather in Oslo?' }], { stream: true, tools: [WEATHER_TOOL] }),
          h.ctx(),
        ),
      );
      const call = (
        first.find((e) => e.type === 'content_block_start' && e.content_block.type === 'tool_use') as Extract<
          StreamEvent,
          { type: 'content_block_start' }
        >
      ).content_block as { id: string };
      await h.restart(); // the suspended run is gone
      const second = messageOf(
        await h.backend.send(
          request(
            [
              { role: 'user', content: 'Weather in Oslo?' },
              {
                role: 'assistant',
                content: [
                  { type: 'text', text: 'Checking.' },
                  { type: 'tool_use', id: call.id, name: 'get_weather', input: { city: 'Oslo' } },
                ],
              },
              {
                role: 'user',
                content: [{ type: 'tool_result', tool_use_id: call.id, content: 'Snow, -3°C' }],
              },
            ],
            { tools: [WEATHER_TOOL] },
          ),
          h.ctx(),
        ),
      );
      assert.match(textOf(second.content), /Snow, -3°C/);
      const last = dialogue(h.fake.messages().at(-1)!.body);
      assert.deepEqual(last.slice(0, 2), [
        ['user', 'Weather in Oslo?'],
        ['assistant', 'Checking. [tool_use mcp__ccproxy_client__get_weather]'],
      ]);
      assert.match(last[2][1], /^\[tool_result "Snow, -3°C"\]/, 'the result right after its call');
    } finally {
      await h.close();
    }
  });

  it('a session that moves on without answering its client tool call gets a clean next turn', async () => {
    const h = await startHarness();
    try {
      h.fake.enqueue(reply.toolUse({ name: 'mcp__ccproxy_client__get_weather', input: { city: 'Lima' } }));
      const first = await collect(
        await h.backend.send(
          request([{ role: 'user', content: 'Weather in Lima?' }], { stream: true, tools: [WEATHER_TOOL] }),
          h.ctx({ sessionId: 'moving-on' }),
        ),
      );
      assert.equal(
        (first.at(-2) as Extract<StreamEvent, { type: 'message_delta' }>).delta.stop_reason,
        'tool_use',
      );
      h.fake.enqueue(reply.text('Sure, forget the weather.'));
      const next = messageOf(
        await h.backend.send(
          request([{ role: 'user', content: 'Never mind.' }], { tools: [WEATHER_TOOL] }),
          h.ctx({ sessionId: 'moving-on' }),
        ),
      );
      assert.equal(textOf(next.content), 'Sure, forget the weather.');
      const last = dialogue(h.fake.messages().at(-1)!.body);
      assert.equal(last.at(-1)?.[0], 'user');
      assert.match(
        last.at(-1)![1],
        /interrupted[\s\S]*Never mind\.$/,
        'the call closed as interrupted, then the new turn',
      );
      assert.equal((await pool(h.backend)).suspended_runs, 0);
    } finally {
      await h.close();
    }
  });

  it('a session whose process died resumes from its transcript', async () => {
    const h = await startHarness();
    try {
      h.fake.enqueue(reply.text('Noted.'));
      const before = new Set((await processes(h.backend)).pids);
      messageOf(
        await h.backend.send(
          request([{ role: 'user', content: 'Remember 7.' }]),
          h.ctx({ sessionId: 'crashy' }),
        ),
      );
      const [pid] = (await processes(h.backend)).pids.filter((p) => !before.has(p));
      assert.ok(pid);
      process.kill(pid, 'SIGKILL');
      await eventually(
        async () => !(await processes(h.backend)).pids.includes(pid),
        'the killed process to be gone',
      );
      h.fake.enqueue(reply.text('It was 7.'));
      const msg = messageOf(
        await h.backend.send(
          request([{ role: 'user', content: 'Which number?' }]),
          h.ctx({ sessionId: 'crashy' }),
        ),
      );
      assert.equal(textOf(msg.content), 'It was 7.');
      assert.deepEqual(dialogue(h.fake.messages().at(-1)!.body), [
        ['user', 'Remember 7.'],
        ['assistant', 'Noted.'],
        ['user', 'Which number?'],
      ]);
    } finally {
      await h.close();
    }
  });

  it('the pool replaces a spare that died, and stops idle spares', async () => {
    // The pool's clock stands still until the test moves it: however long a replacement takes to
    // start on a loaded machine, the spares never go idle before the test says so.
    let now = Date.now();
    const h = await startHarness({ claude: { pool_size: 1, pool_idle_s: 2 }, clock: () => now });
    try {
      assert.equal(await h.backend.warmUp(60_000), true);
      const [spare] = (await pool(h.backend)).spare_pids as unknown as number[];
      process.kill(spare, 'SIGKILL');
      await eventually(async () => {
        const p = (await pool(h.backend)) as unknown as { spare_pids: number[]; spare_failures: number };
        return p.spare_failures === 1 && p.spare_pids.length === 1 && p.spare_pids[0] !== spare;
      }, 'a replacement spare');
      assert.equal((await h.backend.health()).ok, true);
      assert.equal((await pool(h.backend)).spares_ready, 1, 'not idle yet: the clock has not moved');
      now += 2000;
      await eventually(async () => (await processes(h.backend)).running === 0, 'idle spares to stop');
      assert.equal((await pool(h.backend)).spares_ready, 0);
    } finally {
      await h.close();
    }
  });
});
