import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CLAUDE_CODE_IDENTITY,
  cacheMarks,
  injectSystemPrompt,
  looksLikeClaudeCode,
} from '../../../src/backends/api/system-prompt.ts';
import type { MessagesRequest } from '../../../src/formats/anthropic/types.ts';

const req = (system?: MessagesRequest['system'], extra: Partial<MessagesRequest> = {}): MessagesRequest => ({
  model: 'claude-sonnet-5-5',
  max_tokens: 10,
  messages: [{ role: 'user', content: 'hi' }],
  ...(system === undefined ? {} : { system }),
  ...extra,
});
const eph = { type: 'ephemeral' as const };

describe('system prompt injection', () => {
  it('prepends the identity as its own first block (none, string, blocks)', () => {
    assert.deepEqual(injectSystemPrompt(req(), 'auto').system, [
      { type: 'text', text: CLAUDE_CODE_IDENTITY, cache_control: eph },
    ]);
    assert.deepEqual(injectSystemPrompt(req('Be brief.'), 'auto').system, [
      { type: 'text', text: CLAUDE_CODE_IDENTITY, cache_control: eph },
      { type: 'text', text: 'Be brief.' },
    ]);
    const blocks = [
      { type: 'text' as const, text: 'A' },
      { type: 'text' as const, text: 'B', cache_control: eph },
    ];
    assert.deepEqual(injectSystemPrompt(req(blocks), 'always').system, [
      { type: 'text', text: CLAUDE_CODE_IDENTITY, cache_control: eph },
      ...blocks,
    ]);
  });

  it("leaves Claude Code's own requests untouched in auto mode", () => {
    const billing = [
      {
        type: 'text' as const,
        text: 'x-anthropic-billing-header: cc_version=2.1.332.9a2; cc_entrypoint=cli;',
      },
      { type: 'text' as const, text: 'You are…' },
    ];
    assert.equal(looksLikeClaudeCode(billing), true);
    assert.deepEqual(injectSystemPrompt(req(billing), 'auto').system, billing);
    assert.deepEqual(
      injectSystemPrompt(req(`${CLAUDE_CODE_IDENTITY} More.`), 'auto').system,
      `${CLAUDE_CODE_IDENTITY} More.`,
    );
  });

  it('never duplicates the identity, even in always mode', () => {
    const once = injectSystemPrompt(req('x'), 'always');
    const twice = injectSystemPrompt(once, 'always');
    assert.equal((twice.system as unknown[]).length, 2);
  });

  it('never mode changes nothing', () => {
    assert.equal(injectSystemPrompt(req('x'), 'never').system, 'x');
  });

  it("keeps the client's cache marks and drops ours when four are used already", () => {
    const r = req([{ type: 'text', text: 'S', cache_control: eph }], {
      tools: [{ name: 't', input_schema: { type: 'object' }, cache_control: eph }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'a', cache_control: eph }] },
        { role: 'assistant', content: 'b' },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 'x',
              content: [{ type: 'text', text: 'r', cache_control: eph }],
            },
          ],
        },
      ],
    });
    assert.equal(cacheMarks(r).count, 4);
    const out = injectSystemPrompt(r, 'auto');
    assert.deepEqual((out.system as unknown[])[0], { type: 'text', text: CLAUDE_CODE_IDENTITY });
  });

  it("follows the client's 1-hour TTL so longer TTLs stay first", () => {
    const out = injectSystemPrompt(
      req([{ type: 'text', text: 'S', cache_control: { type: 'ephemeral', ttl: '1h' } }]),
      'auto',
    );
    assert.deepEqual((out.system as Array<{ cache_control?: unknown }>)[0].cache_control, {
      type: 'ephemeral',
      ttl: '1h',
    });
  });
});
