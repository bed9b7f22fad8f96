/**
 * The real Claude Code binary, pointed straight at the fake (no proxy): the fake must be good
 * enough for Claude Code to finish a `-p` prompt, including a turn with its built-in Read tool.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { validateAnthropicRequest } from '../support/anthropic-validator.ts';
import { runClaudeCode } from '../support/claude-code.ts';
import { type FakeUpstream, reply, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

type Obj = Record<string, any>;

let fake: FakeUpstream;

before(async () => {
  fake = await startFakeUpstream();
});
after(() => fake.close());
beforeEach(() => fake.reset());

describe('Claude Code against the fake upstream', () => {
  it('completes a plain -p prompt, sending what Claude Code 2.1 sends', async () => {
    fake.enqueue(reply.text('Hello from the fake, Claude Code.'));
    const run = await runClaudeCode({ baseUrl: fake.url, prompt: 'Say hello' });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'Hello from the fake, Claude Code.');

    const [req] = fake.messages();
    assert.equal(req.query.beta, 'true');
    assert.equal(req.headers.authorization, `Bearer ${TEST_ACCESS_TOKEN}`);
    assert.equal(req.headers['x-app'], 'cli');
    assert.match(String(req.headers['user-agent']), /^claude-cli\/\d+\.\d+\.\d+ /);
    assert.ok(String(req.headers['anthropic-beta']).split(',').includes('oauth-2025-04-20'));
    const body = req.body as Obj;
    assert.equal(body.stream, true);
    assert.match(body.system[0].text, /^x-anthropic-billing-header: cc_version=/);
    assert.ok(body.tools.some((t: Obj) => t.name === 'Read'));
    assert.deepEqual(validateAnthropicRequest(body, { version: String(req.headers['anthropic-version']) }), {
      ok: true,
    });
  });

  it('runs the Read tool when the fake asks for it and answers with the file content', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-fake-read-'));
    try {
      const file = path.join(cwd, 'notes.txt');
      fs.writeFileSync(file, 'The secret word is pineapple-42.\n');
      fake.enqueue(reply.toolUse({ name: 'Read', input: { file_path: file } }, { text: 'Let me read it.' }));
      fake.handle((req) => {
        // Second turn: quote what the tool returned, as a model would.
        const last = (req.body as Obj).messages.at(-1);
        const result = last.content.find((b: Obj) => b.type === 'tool_result');
        const text =
          typeof result.content === 'string'
            ? result.content
            : result.content.map((b: Obj) => b.text).join('');
        return reply.text(`The file says: ${text.match(/The secret word is [\w-]+/)?.[0]}`);
      });
      const run = await runClaudeCode({ baseUrl: fake.url, prompt: 'What does notes.txt say?', cwd });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), 'The file says: The secret word is pineapple-42');

      const [first, second] = fake.messages();
      assert.ok(first && second, 'two model turns');
      const sent = (second.body as Obj).messages as Obj[];
      const toolUse = sent.at(-2)!.content.find((b: Obj) => b.type === 'tool_use');
      const toolResult = sent.at(-1)!.content.find((b: Obj) => b.type === 'tool_result');
      assert.equal(toolResult.tool_use_id, toolUse.id);
      assert.equal(second.status, 200, 'the follow-up passed validation');
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('picks a scenario from a directive in the prompt', async () => {
    const run = await runClaudeCode({ baseUrl: fake.url, prompt: 'Hi [[fake:fixture:anthropic-text]]' });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /I'm doing well, thank you for asking/);
  });
});
