/**
 * The real Claude Code binary through API mode: `ANTHROPIC_BASE_URL=<proxy>/api` with a dummy API
 * key, as a user would run it. The proxy swaps the key for the subscription's token.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { runClaudeCode } from '../support/claude-code.ts';
import { type FakeUpstream, reply, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

describe('Claude Code through API mode', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;

  before(async () => {
    fake = await startFakeUpstream();
    proxy = await startProxy({
      settings: { upstream: { base_url: fake.url } },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
    });
  });
  after(async () => {
    await proxy.close();
    await fake.close();
  });

  it('completes a -p prompt; the upstream sees the subscription token and Claude Code’s own system prompt', async () => {
    fake.reset();
    fake.handle(() => reply.text('Hello from the subscription.'));
    const r = await runClaudeCode({
      baseUrl: `${proxy.url}/api`,
      prompt: 'hello',
      token: null,
      env: { ANTHROPIC_API_KEY: 'dummy' },
    });
    fake.handle(undefined);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Hello from the subscription\./);
    const sent = fake.messages().at(-1)!;
    assert.equal(sent.headers.authorization, `Bearer ${TEST_ACCESS_TOKEN}`);
    assert.equal(sent.headers['x-api-key'], undefined);
    const system = (sent.body as { system: Array<{ text: string }> }).system;
    assert.match(
      system[0].text,
      /^x-anthropic-billing-header:/,
      'Claude Code’s request is forwarded untouched',
    );
    assert.ok(
      !system.some((b) => b.text.startsWith("You are Claude Code, Anthropic's official CLI")),
      'no identity added to Claude Code’s own prompt',
    );
    assert.match(String(sent.headers['user-agent']), /^claude-cli\//);
  });

  it('runs a turn where the model asks it to Read a file, then answers with its content', async () => {
    fake.reset();
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-cc-'));
    const file = path.join(cwd, 'notes.txt');
    fs.writeFileSync(file, 'the secret word is pineapple\n');
    fake.enqueue(reply.toolUse({ name: 'Read', input: { file_path: file } }));
    const r = await runClaudeCode({
      baseUrl: `${proxy.url}/api`,
      prompt: 'read notes.txt',
      token: null,
      cwd,
      env: { ANTHROPIC_API_KEY: 'dummy' },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /pineapple/);
    const turns = fake.messages();
    assert.ok(turns.length >= 2);
    const last = turns.at(-1)!.body as { messages: Array<{ role: string; content: unknown }> };
    assert.match(JSON.stringify(last.messages.at(-1)), /tool_result.*pineapple/s);
    fs.rmSync(cwd, { recursive: true, force: true });
  });
});
