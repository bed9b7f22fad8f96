/**
 * SDK mode's lockdown with the real Claude Code binary against the fake upstream, which drives the
 * agent's tool calls: a request can only narrow what the settings let the agent do, agents work in
 * a folder ccproxy owns unless told otherwise, and the number of Claude Code processes is capped.
 * Issue 17.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { ProxyError } from '../../../src/errors.ts';
import type { StreamEvent } from '../../../src/formats/anthropic/types.ts';
import { startProxy, type TestProxy } from '../../helpers/proxy.ts';
import { reply } from '../../support/fake-upstream.ts';
import {
  collect,
  eventually,
  type Harness,
  messageOf,
  pool,
  processes,
  request,
  startHarness,
  textOf,
} from './harness.ts';

const WAIT_MS = 60_000;

function tmpDir(prefix: string): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

/** Everything the upstream received, as one string (to look for what must not have left). */
const upstreamSaw = (h: Harness) => JSON.stringify(h.fake.messages().map((r) => r.body));

/** The tool_result the agent got for its call, as the upstream saw it in the next model call. */
function toolResultText(h: Harness): string {
  const last = h.fake.messages().at(-1)!.body as { messages: Array<{ content: unknown }> };
  const blocks = last.messages.at(-1)!.content as Array<{ type: string; content?: unknown }>;
  const result = blocks.find((b) => b.type === 'tool_result');
  assert.ok(result, 'the agent answered its own tool call with a tool_result');
  return JSON.stringify(result.content);
}

describe('SDK overrides only narrow the settings', () => {
  let h: Harness;
  let outside: string;
  before(async () => {
    outside = tmpDir('ccproxy-sdk-outside-');
    h = await startHarness({
      claude: { allowed_tools: ['Read'], disallowed_tools: [], permission_mode: 'default' },
    });
  });
  after(async () => {
    await h.close();
    fs.rmSync(outside, { recursive: true, force: true });
  });

  it('allowed_tools: ["Bash"] when the settings do not allow Bash: the command does not run, the answer says so', async () => {
    h.fake.reset();
    const marker = path.join(outside, 'bash-ran');
    h.fake.enqueue(reply.toolUse({ name: 'Bash', input: { command: `touch ${marker}` } }));
    const ctx = h.ctx();
    const res = await h.backend.send(
      request([{ role: 'user', content: 'run it' }], { ccproxy: { allowed_tools: ['Bash', 'Read'] } }),
      ctx,
    );
    const msg = messageOf(res);
    assert.equal(fs.existsSync(marker), false, 'the command did not run');
    assert.match(toolResultText(h), /permission|approv|denied|not allowed/i, 'Claude Code refused the call');
    assert.match(textOf(msg.content), /permission|approv|denied|not allowed/i, 'the answer says so');
    assert.equal(res.headers?.['x-ccproxy-dropped-tools'], 'Bash', 'the dropped tool is named');
    const sent = h.fake.messages()[0].body as { tools: Array<{ name: string }> };
    assert.ok(
      sent.tools.some((t) => t.name === 'Bash'),
      'Bash exists, it was only not allowed',
    );
  });

  it('permission_mode above the settings is a 400 naming the setting; a narrower one is taken', async () => {
    const { started } = await processes(h.backend);
    // plan too: it lets a model classifier allow reads outside the working folder (overrides.ts).
    for (const mode of ['acceptEdits', 'auto', 'bypassPermissions', 'plan']) {
      await assert.rejects(
        h.backend.send(
          request([{ role: 'user', content: 'x' }], { ccproxy: { permission_mode: mode } }),
          h.ctx(),
        ),
        (err: unknown) =>
          err instanceof ProxyError &&
          err.status === 400 &&
          err.param === 'ccproxy.permission_mode' &&
          err.message.includes('claude.permission_mode (default)'),
      );
    }
    assert.equal((await processes(h.backend)).started, started, 'no agent started for a refused request');
    await assert.rejects(
      h.backend.send(
        request([{ role: 'user', content: 'x' }], { ccproxy: { system_prompt_mode: 'replace' } }),
        h.ctx(),
      ),
      /replace is only allowed when claude\.system_prompt_mode is replace/,
    );
    h.fake.reset();
    messageOf(
      await h.backend.send(
        request([{ role: 'user', content: 'go' }], { ccproxy: { permission_mode: 'dontAsk' } }),
        h.ctx(),
      ),
    );
  });
});

describe('SDK overrides cannot lift a configured deny', () => {
  it('disallowed_tools: [] keeps claude.disallowed_tools', async () => {
    const outside = tmpDir('ccproxy-sdk-deny-');
    const h = await startHarness({
      claude: { allowed_tools: ['Bash'], disallowed_tools: ['Bash(touch:*)'] },
    });
    try {
      // Bash itself runs in these settings…
      const control = path.join(outside, 'control');
      h.fake.enqueue(reply.toolUse({ name: 'Bash', input: { command: `mkdir ${control}` } }));
      messageOf(await h.backend.send(request([{ role: 'user', content: 'mkdir' }]), h.ctx()));
      assert.equal(fs.existsSync(control), true, 'an allowed command runs');
      // …but the denied command stays denied, whatever the request's deny-list says.
      const marker = path.join(outside, 'touched');
      h.fake.reset();
      h.fake.enqueue(reply.toolUse({ name: 'Bash', input: { command: `touch ${marker}` } }));
      messageOf(
        await h.backend.send(
          request([{ role: 'user', content: 'touch' }], { ccproxy: { disallowed_tools: [] } }),
          h.ctx(),
        ),
      );
      assert.equal(fs.existsSync(marker), false, 'the denied command did not run');
      assert.match(toolResultText(h), /denied|permission|not allowed/i);
    } finally {
      await h.close();
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe('a session turn that narrows the permission mode runs under it', () => {
  it('acceptEdits in the settings, default asked on a later turn: the write is not made', async () => {
    const h = await startHarness({ claude: { permission_mode: 'acceptEdits' } });
    try {
      const write = (name: string) =>
        reply.toolUse({ name: 'Write', input: { file_path: path.join(h.cwd, name), content: 'x' } });
      h.fake.enqueue(write('first.txt'));
      messageOf(
        await h.backend.send(request([{ role: 'user', content: 'one' }]), h.ctx({ sessionId: 'narrow' })),
      );
      assert.equal(fs.existsSync(path.join(h.cwd, 'first.txt')), true, 'acceptEdits writes');
      h.fake.enqueue(write('second.txt'));
      messageOf(
        await h.backend.send(
          request([{ role: 'user', content: 'two' }], { ccproxy: { permission_mode: 'default' } }),
          h.ctx({ sessionId: 'narrow' }),
        ),
      );
      assert.equal(fs.existsSync(path.join(h.cwd, 'second.txt')), false, 'the narrowed turn did not write');
    } finally {
      await h.close();
    }
  });
});

describe('SDK overrides on a proxy bound beyond loopback', () => {
  it('tool, permission and folder overrides are refused unless claude.allow_request_overrides', async () => {
    const exposed = await startHarness({ claude: { allowed_tools: ['Read'] } });
    try {
      exposed.settings.server.host = '0.0.0.0';
      for (const ccproxy of [
        { allowed_tools: ['Read'] },
        { disallowed_tools: ['Bash'] },
        { permission_mode: 'plan' },
        { cwd: '.' },
      ]) {
        await assert.rejects(
          exposed.backend.send(request([{ role: 'user', content: 'x' }], { ccproxy }), exposed.ctx()),
          (err: unknown) =>
            err instanceof ProxyError &&
            err.status === 403 &&
            /beyond loopback/.test(err.message) &&
            /claude\.allow_request_overrides/.test(err.message),
        );
      }
      assert.equal((await processes(exposed.backend)).started, 0);
      // Cost and display overrides stay available.
      messageOf(
        await exposed.backend.send(
          request([{ role: 'user', content: 'x' }], { ccproxy: { max_turns: 2, tool_display: 'hidden' } }),
          exposed.ctx(),
        ),
      );
      exposed.settings.claude.allow_request_overrides = true;
      messageOf(
        await exposed.backend.send(
          request([{ role: 'user', content: 'x' }], { ccproxy: { permission_mode: 'dontAsk' } }),
          exposed.ctx(),
        ),
      );
    } finally {
      await exposed.close();
    }
  });
});

describe('SDK agents without claude.cwd', () => {
  it('work in an empty folder ccproxy owns and cannot read the folder ccproxy started from', async () => {
    const started = tmpDir('ccproxy-sdk-started-');
    const secret = path.join(started, 'notes.txt');
    fs.writeFileSync(secret, 'STARTDIR-SECRET-31337\n');
    const was = process.cwd();
    process.chdir(started);
    const h = await startHarness({ claude: { cwd: '' } });
    try {
      h.fake.enqueue(reply.toolUse({ name: 'Read', input: { file_path: secret } }));
      messageOf(await h.backend.send(request([{ role: 'user', content: 'read notes.txt' }]), h.ctx()));
      h.fake.enqueue(reply.toolUse({ name: 'Read', input: { file_path: 'notes.txt' } }));
      messageOf(await h.backend.send(request([{ role: 'user', content: 'read notes.txt' }]), h.ctx()));
      assert.doesNotMatch(upstreamSaw(h), /STARTDIR-SECRET/, 'the file never reached the upstream');

      const home = path.join(h.home, '.local', 'share', 'ccproxy', 'agent-home');
      const settings = (await h.backend.status()).settings as { cwd: string };
      assert.equal(settings.cwd, home);
      assert.equal(fs.statSync(home).mode & 0o777, 0o700);
      assert.ok(upstreamSaw(h).includes(`Primary working directory: ${home}`), 'the agent works there');
    } finally {
      process.chdir(was);
      await h.close();
      fs.rmSync(started, { recursive: true, force: true });
    }
  });
});

describe('SDK agents are capped (claude.max_concurrent_agents)', () => {
  /** Hold every upstream call until `open()`: the agents that got a slot stay busy meanwhile. */
  function gate(h: Harness) {
    let open!: () => void;
    const opened = new Promise<void>((r) => {
      open = r;
    });
    h.fake.handle(async () => {
      await opened;
      return reply.text('Done.');
    });
    return open;
  }

  it('20 concurrent requests with a cap of 2: never more than 2 Claude Code processes, the rest 429 with retry-after', async () => {
    const h = await startHarness({ claude: { max_concurrent_agents: 2, queue_timeout_s: 0 } });
    let proxy: TestProxy | undefined;
    try {
      proxy = await startProxy({ app: { backends: { sdk: h.backend } } });
      const anthropic = new Anthropic({ baseURL: `${proxy.url}/sdk`, apiKey: 'unused', maxRetries: 0 });
      const open = gate(h);
      const results = Array.from({ length: 20 }, (_, i) =>
        anthropic.messages
          .create({
            model: 'claude-sonnet-5-5',
            max_tokens: 64,
            messages: [{ role: 'user', content: `n${i}` }],
          })
          .then(
            (m) => ({ ok: true as const, m }),
            (err: unknown) => ({ ok: false as const, err }),
          ),
      );
      await eventually(() => h.fake.messages().length === 2, 'two agents at the upstream', WAIT_MS);
      const refused: unknown[] = [];
      await eventually(
        async () => {
          refused.length = 0;
          const settled = await Promise.all(results.map((r) => Promise.race([r, null])));
          for (const s of settled) if (s && !s.ok) refused.push(s.err);
          return refused.length === 18;
        },
        'the other 18 to be refused',
        WAIT_MS,
      );
      for (const err of refused) {
        assert.ok(err instanceof Anthropic.APIError, String(err));
        assert.equal(err.status, 429);
        assert.equal((err.error as { error: { type: string } }).error.type, 'rate_limit_error');
        assert.match(err.message, /claude\.max_concurrent_agents/);
        assert.ok(Number(err.headers?.get('retry-after')) >= 1, 'retry-after in seconds');
      }
      open();
      const done = (await Promise.all(results)).filter((r) => r.ok);
      assert.equal(done.length, 2);
      const p = await processes(h.backend);
      assert.equal((p as unknown as { peak: number }).peak, 2, 'never more than 2 processes at once');

      // The OpenAI shape of the same refusal. (The two finished agents are kept for their
      // conversations, idle: the next two requests take their slots.)
      const openai = new OpenAI({ baseURL: `${proxy.url}/sdk/v1`, apiKey: 'unused', maxRetries: 0 });
      h.fake.reset();
      const reopen = gate(h);
      const busy = [1, 2].map((i) =>
        openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `b${i}` }] }),
      );
      await eventually(() => h.fake.messages().length === 2, 'two agents busy', WAIT_MS);
      await assert.rejects(
        openai.chat.completions.create({
          model: 'gpt-4o',
          messages: [{ role: 'user', content: 'one more' }],
        }),
        (err: unknown) =>
          err instanceof OpenAI.APIError &&
          err.status === 429 &&
          (err.error as { type?: string }).type !== undefined &&
          Number(err.headers?.get('retry-after')) >= 1,
      );
      reopen();
      await Promise.all(busy);
      assert.equal(((await processes(h.backend)) as unknown as { peak: number }).peak, 2);
    } finally {
      await proxy?.close();
      await h.close();
    }
  });

  it('a request over the cap waits in line and is answered when a slot frees', async () => {
    const h = await startHarness({ claude: { max_concurrent_agents: 2, queue_timeout_s: 120 } });
    try {
      const open = gate(h);
      const all = [0, 1, 2, 3].map((i) =>
        h.backend.send(request([{ role: 'user', content: `q${i}` }]), h.ctx()).then(messageOf),
      );
      await eventually(
        async () =>
          h.fake.messages().length === 2 &&
          ((await processes(h.backend)) as unknown as { queued: number }).queued === 2,
        'two running, two queued',
        WAIT_MS,
      );
      open();
      const answers = await Promise.all(all);
      assert.deepEqual(
        answers.map((m) => textOf(m.content)),
        ['Done.', 'Done.', 'Done.', 'Done.'],
      );
      assert.equal(((await processes(h.backend)) as unknown as { peak: number }).peak, 2);
    } finally {
      await h.close();
    }
  });

  it('an idle session gives its slot to a request instead of making it wait', async () => {
    const h = await startHarness({ claude: { max_concurrent_agents: 1, queue_timeout_s: 120 } });
    try {
      messageOf(await h.backend.send(request([{ role: 'user', content: 'hi' }]), h.ctx({ sessionId: 's1' })));
      const [sessionPid] = (await processes(h.backend)).pids;
      assert.equal((await pool(h.backend)).sessions, 1);
      messageOf(await h.backend.send(request([{ role: 'user', content: 'other' }]), h.ctx()));
      assert.ok(!(await processes(h.backend)).pids.includes(sessionPid), 'the idle session was stopped');
      // The session goes on from its transcript.
      messageOf(
        await h.backend.send(request([{ role: 'user', content: 'again' }]), h.ctx({ sessionId: 's1' })),
      );
      assert.equal(((await processes(h.backend)) as unknown as { peak: number }).peak, 1);
    } finally {
      await h.close();
    }
  });

  it('a run waiting for a client tool result holds its slot', async () => {
    const h = await startHarness({ claude: { max_concurrent_agents: 1, queue_timeout_s: 0 } });
    try {
      const tool = {
        name: 'get_weather',
        description: 'The weather in a city.',
        input_schema: { type: 'object', properties: { city: { type: 'string' } } },
      };
      h.fake.enqueue(reply.toolUse({ name: 'mcp__ccproxy_client__get_weather', input: { city: 'Rome' } }));
      const first = await collect(
        await h.backend.send(
          request([{ role: 'user', content: 'Weather?' }], { stream: true, tools: [tool] }),
          h.ctx(),
        ),
      );
      assert.equal((await pool(h.backend)).suspended_runs, 1);
      await assert.rejects(
        h.backend.send(request([{ role: 'user', content: 'meanwhile' }]), h.ctx()),
        (err: unknown) => err instanceof ProxyError && err.status === 429,
      );
      const call = (
        first.find((e) => e.type === 'content_block_start' && e.content_block.type === 'tool_use') as Extract<
          StreamEvent,
          { type: 'content_block_start' }
        >
      ).content_block as { id: string };
      const done = messageOf(
        await h.backend.send(
          request(
            [
              { role: 'user', content: 'Weather?' },
              {
                role: 'assistant',
                content: [{ type: 'tool_use', id: call.id, name: 'get_weather', input: {} }],
              },
              { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'Warm.' }] },
            ],
            { tools: [tool] },
          ),
          h.ctx(),
        ),
      );
      assert.match(textOf(done.content), /Warm\./);
      // The finished run's process is kept for its conversation, idle: it gives its slot up.
      messageOf(await h.backend.send(request([{ role: 'user', content: 'now' }]), h.ctx()));
      assert.equal(((await processes(h.backend)) as unknown as { peak: number }).peak, 1);
    } finally {
      await h.close();
    }
  });

  it('spares stay under the cap and leave a slot for requests', async () => {
    const h = await startHarness({ claude: { max_concurrent_agents: 2, pool_size: 2 } });
    try {
      h.backend.warmUp(1).catch(() => {});
      await eventually(async () => (await pool(h.backend)).spares_ready === 1, 'one spare', WAIT_MS);
      messageOf(await h.backend.send(request([{ role: 'user', content: 'warm' }]), h.ctx()));
      assert.equal((await pool(h.backend)).warm_claims, 1);
      messageOf(
        await h.backend.send(
          request([
            { role: 'user', content: 'a' },
            { role: 'assistant', content: 'b' },
            { role: 'user', content: 'history starts cold' },
          ]),
          h.ctx(),
        ),
      );
      assert.ok(((await processes(h.backend)) as unknown as { peak: number }).peak <= 2);
    } finally {
      await h.close();
    }
  });
});
