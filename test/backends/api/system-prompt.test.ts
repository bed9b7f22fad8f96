import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CLAUDE_CODE_IDENTITY,
  cacheMarks,
  injectSystemPrompt,
  looksLikeClaudeCode,
} from '../../../src/backends/api/system-prompt.ts';
import { unreadFirstByte } from '../../../src/body-bytes.ts';
import { ChunkedBytes } from '../../../src/chunked-bytes.ts';
import type { MessagesRequest } from '../../../src/formats/anthropic/types.ts';
import { parseInPieces } from '../../../src/server/json-pieces.ts';
import { JsonShapeScanner } from '../../../src/server/json-shape.ts';

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

  it('counts the marks of a conversation and tools left unread in their bytes, reading neither', () => {
    const conversation = (ttl: string | undefined, escaped: boolean): MessagesRequest =>
      req('S', {
        tools: [
          { name: 't', input_schema: { type: 'object', properties: { cache_control: { type: 'string' } } } },
          { name: 'u', input_schema: { type: 'object' }, cache_control: eph },
        ],
        messages: [
          // Text that talks about marks is not a mark.
          {
            role: 'user',
            content: [{ type: 'text', text: escaped ? 'a "cache_control": {"ttl": "1h"}' : 'a' }],
          },
          {
            role: 'user',
            content: [{ type: 'text', text: 'b', cache_control: ttl ? { type: 'ephemeral', ttl } : eph }],
          },
        ],
      });
    for (const ttl of [undefined, '5m', '1h'])
      for (const escaped of [false, true]) {
        const r = conversation(ttl as string | undefined, escaped);
        // Cut into chunks as a body arrives, every member over 8 bytes unread.
        const bytes = Buffer.from(JSON.stringify(r, null, 1));
        const scanner = new JsonShapeScanner();
        scanner.feed(bytes);
        const chunks = [bytes.subarray(0, 50), bytes.subarray(50, 61), bytes.subarray(61)];
        const lazy = parseInPieces(
          new ChunkedBytes(chunks),
          scanner.topLevel,
          scanner.nested,
          0,
          8,
        ) as MessagesRequest;
        const marks = cacheMarks(lazy);
        assert.equal(unreadFirstByte(lazy, 'messages'), '['.charCodeAt(0), 'messages not read');
        assert.equal(unreadFirstByte(lazy, 'tools'), '['.charCodeAt(0), 'tools not read');
        // The parsed count, plus the tool's property named cache_control (the bytes' count errs high).
        assert.deepEqual(marks, { count: cacheMarks(r).count + 1, oneHour: cacheMarks(r).oneHour });
      }
  });
});
