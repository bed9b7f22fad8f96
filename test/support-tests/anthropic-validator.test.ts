/**
 * The validator answers like the real API: what it accepts (including everything Claude Code 2.1
 * sends) and the messages it rejects with.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateAnthropicRequest } from '../support/anthropic-validator.ts';

type Obj = Record<string, unknown>;

const base = { model: 'claude-sonnet-5-5', max_tokens: 1024, messages: [{ role: 'user', content: 'Hi' }] };
const text = (t: string, extra: Obj = {}) => ({ type: 'text', text: t, ...extra });
const ephemeral = { cache_control: { type: 'ephemeral' } };

function rejects(
  body: unknown,
  message: string | RegExp,
  opts?: Parameters<typeof validateAnthropicRequest>[1],
) {
  const r = validateAnthropicRequest(body, opts);
  assert.equal(r.ok, false, `expected a rejection for ${JSON.stringify(body).slice(0, 200)}`);
  if (!r.ok) {
    if (typeof message === 'string') assert.equal(r.message, message);
    else assert.match(r.message, message);
  }
}

function accepts(body: unknown, opts?: Parameters<typeof validateAnthropicRequest>[1]) {
  assert.deepEqual(validateAnthropicRequest(body, opts), { ok: true });
}

/** A conversation with one tool round trip. */
const toolTurns = [
  { role: 'user', content: 'Weather?' },
  {
    role: 'assistant',
    content: [
      text('Checking.'),
      { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { city: 'Paris' } },
    ],
  },
  { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01A', content: 'sunny' }] },
];
const tools = [
  { name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
];

describe('validateAnthropicRequest', () => {
  it('accepts ordinary requests, tool round trips, server tools and Claude Code 2.1 shapes', () => {
    accepts(base);
    accepts({
      ...base,
      system: 'Be brief.',
      stream: true,
      stop_sequences: ['END'],
      metadata: { user_id: 'u1' },
    });
    accepts({ ...base, messages: toolTurns, tools, tool_choice: { type: 'auto' } });
    accepts({ ...base, tools: [...tools, { type: 'web_search_20250305', name: 'web_search', max_uses: 3 }] });
    accepts({ ...base, messages: [...base.messages, { role: 'assistant', content: '' }] }, undefined);
    accepts({
      ...base,
      system: [
        text('x-anthropic-billing-header: cc_version=2.1.332.1c9;'),
        text('You are Claude Code.', ephemeral),
      ],
      thinking: { type: 'adaptive', display: 'omitted' },
      context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
      output_config: { effort: 'medium' },
      messages: [
        { role: 'user', content: [text('<system-reminder>…</system-reminder>'), text('Say hello')] },
        { role: 'system', content: [text('# Environment')], output_config: { effort: 'medium' } },
      ],
    });
    accepts({ ...base, thinking: { type: 'enabled', budget_tokens: 1024 }, max_tokens: 2048 });
    accepts({ model: 'm', messages: base.messages }, { endpoint: 'count_tokens' });
  });

  it('names missing and mistyped top-level fields', () => {
    rejects({ model: 'm', messages: base.messages }, 'max_tokens: Field required');
    rejects({ max_tokens: 1, messages: base.messages }, 'model: Field required');
    rejects({ model: 'm', max_tokens: 1 }, 'messages: Field required');
    rejects({ ...base, max_tokens: 0 }, 'max_tokens: Input should be greater than or equal to 1');
    rejects({ ...base, max_tokens: 1.5 }, 'max_tokens: Input should be a valid integer');
    rejects({ ...base, messages: [] }, 'messages: at least one message is required');
    rejects({ ...base, stream: 'yes' }, 'stream: Input should be a valid boolean');
    rejects({ ...base, n: 2 }, 'n: Extra inputs are not permitted');
    rejects({ ...base, metadata: { session: 'x' } }, 'metadata.session: Extra inputs are not permitted');
    rejects([base], 'Input should be a valid dictionary or object to extract fields from');
  });

  it('checks roles, content and blocks', () => {
    rejects(
      { ...base, messages: [{ role: 'tool', content: 'x' }] },
      "messages.0.role: Input should be 'user' or 'assistant'",
    );
    rejects(
      { ...base, messages: [{ role: 'user', content: '' }] },
      'messages.0: all messages must have non-empty content except for the optional final assistant message',
    );
    rejects(
      { ...base, messages: [{ role: 'user', content: [text('')] }] },
      'messages: text content blocks must be non-empty',
    );
    rejects(
      { ...base, messages: [{ role: 'user', content: [text('  ')] }] },
      'messages: text content blocks must contain non-whitespace text',
    );
    rejects(
      { ...base, messages: [{ role: 'user', content: [{ type: 'text' }] }] },
      'messages.0.content.0.text: Field required',
    );
    rejects(
      { ...base, messages: [{ role: 'user', content: [{ type: 'video', url: 'x' }] }] },
      /^messages\.0\.content\.0: Input tag 'video' found using 'type' does not match any of the expected tags: 'text', 'image'/,
    );
    rejects(
      {
        ...base,
        messages: [
          {
            role: 'user',
            content: [{ type: 'image', source: { type: 'base64', media_type: 'image/bmp', data: 'x' } }],
          },
        ],
      },
      /^messages\.0\.content\.0\.source\.base64\.media_type: Input should be/,
    );
    rejects(
      {
        ...base,
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'n', input: 'not an object' }] },
        ],
      },
      'messages.1.content.0.input: Input should be a valid dictionary',
    );
  });

  it('pairs tool_use and tool_result like the API', () => {
    rejects(
      {
        ...base,
        messages: [
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_X', content: 'x' }] },
        ],
      },
      'messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_X. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.',
    );
    const stray = structuredClone(toolTurns) as Obj[];
    (stray[2].content as Obj[])[0].tool_use_id = 'toolu_other';
    rejects(
      { ...base, messages: stray },
      'messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01A. Each `tool_use` block must have a corresponding `tool_result` block in the next message.',
    );
    rejects(
      { ...base, messages: [...toolTurns.slice(0, 2), { role: 'user', content: 'no result' }] },
      /^messages\.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01A\./,
    );
    // A final assistant turn that calls a tool has nothing after it yet: fine.
    accepts({ ...base, messages: toolTurns.slice(0, 2) });
  });

  it('checks tools and tool_choice', () => {
    rejects({ ...base, tools: [{ name: 'x' }] }, 'tools.0.custom.input_schema: Field required');
    rejects(
      { ...base, tools: [{ input_schema: { type: 'object' } }] },
      'tools.0.custom.name: Field required',
    );
    rejects(
      { ...base, tools: [{ name: 'bad name', input_schema: { type: 'object' } }] },
      /^tools\.0\.custom\.name: String should match pattern/,
    );
    rejects({ ...base, tools: [tools[0], tools[0]] }, 'tools: Tool names must be unique.');
    rejects({ ...base, tools, tool_choice: { type: 'tool' } }, 'tool_choice.tool.name: Field required');
    rejects({ ...base, tools, tool_choice: { type: 'required' } }, /^tool_choice: Input tag 'required'/);
    rejects(
      { ...base, tool_choice: { type: 'any' } },
      'tool_choice may only be specified while providing tools.',
    );
  });

  it('checks thinking, sampling ranges and cache_control marks', () => {
    rejects(
      { ...base, thinking: { type: 'enabled', budget_tokens: 512 } },
      'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024',
    );
    rejects(
      { ...base, thinking: { type: 'enabled', budget_tokens: 1024 } },
      /^`max_tokens` must be greater than `thinking.budget_tokens`/,
    );
    rejects({ ...base, temperature: 1.5 }, 'temperature: range: 0..1');
    rejects({ ...base, top_p: -0.1 }, 'top_p: range: 0..1');
    rejects(
      { ...base, max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 }, temperature: 0.5 },
      /^`temperature` may only be set to 1 when thinking is enabled/,
    );
    const five = [text('a', ephemeral), text('b', ephemeral), text('c', ephemeral)];
    accepts({ ...base, system: five.slice(0, 2), messages: [{ role: 'user', content: five.slice(0, 2) }] });
    rejects(
      { ...base, system: five, messages: [{ role: 'user', content: five.slice(0, 2) }] },
      'A maximum of 4 blocks with cache_control may be provided. Found 5.',
    );
    rejects(
      {
        ...base,
        messages: [{ role: 'user', content: [text('a', { cache_control: { type: 'persistent' } })] }],
      },
      "messages.0.content.0.cache_control.type: Input should be 'ephemeral'",
    );
  });

  it('applies the rules of API version 2026-10-21', () => {
    const v2026 = { version: '2026-10-21' };
    accepts(base, v2026);
    accepts({ ...base, temperature: 0.5 });
    rejects({ ...base, temperature: 1 }, 'temperature: Extra inputs are not permitted', v2026);
    rejects({ ...base, top_k: 5 }, 'top_k: Extra inputs are not permitted', v2026);
    const doc = { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'd' } };
    accepts({ ...base, messages: [{ role: 'user', content: [doc, text('Summarise')] }] }, v2026);
    rejects(
      { ...base, messages: [...base.messages, { role: 'assistant', content: [doc] }] },
      /^messages\.1\.content\.0: /,
      v2026,
    );
    const cited = text('quoted', {
      citations: [
        { type: 'char_location', cited_text: 'q', document_index: 0, start_char_index: 0, end_char_index: 1 },
      ],
    });
    rejects(
      { ...base, messages: [{ role: 'user', content: [cited] }] },
      /^messages\.0\.content\.0\.citations: /,
      v2026,
    );
    accepts({ ...base, messages: [...base.messages, { role: 'assistant', content: [cited] }] }, v2026);
  });
});
