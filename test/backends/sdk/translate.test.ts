import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import fc from 'fast-check';
import { SdkEventTranslator, type TranslatorOptions } from '../../../src/backends/sdk/translate.ts';
import { MessageAccumulator } from '../../../src/formats/anthropic/accumulate.ts';
import type { StreamEvent, TextBlock } from '../../../src/formats/anthropic/types.ts';
import {
  assistant,
  type BlockSpec,
  result,
  streamEvent,
  systemInit,
  toolResults,
  turn,
} from './sdk-messages.ts';

const CLIENT = new Map([['mcp__ccproxy_client__get_weather', 'get_weather']]);

function translate(messages: SDKMessage[], opts: Partial<TranslatorOptions> = {}) {
  const tr = new SdkEventTranslator({
    messageId: 'msg_test',
    model: 'claude-x',
    toolDisplay: 'text',
    ...opts,
  });
  const events: StreamEvent[] = [];
  for (const m of messages) events.push(...tr.push(m));
  return { tr, events };
}

function fold(events: StreamEvent[]) {
  const acc = new MessageAccumulator();
  for (const e of events) acc.push(e);
  return acc.message();
}

/** Structural checks every answer must pass: one message, blocks opened and closed in order. */
function assertCoherent(events: StreamEvent[]) {
  assert.equal(events[0]?.type, 'message_start');
  assert.equal(events.filter((e) => e.type === 'message_start').length, 1);
  assert.equal(events.filter((e) => e.type === 'message_stop').length, 1);
  assert.equal(events.at(-1)?.type, 'message_stop');
  assert.equal(events.at(-2)?.type, 'message_delta');
  let open = -1;
  let next = 0;
  for (const e of events) {
    if (e.type === 'content_block_start') {
      assert.equal(open, -1, 'a block starts while another is open');
      assert.equal(e.index, next, 'block indexes count up from 0');
      open = e.index;
      next++;
    } else if (e.type === 'content_block_delta') assert.equal(e.index, open);
    else if (e.type === 'content_block_stop') {
      assert.equal(e.index, open);
      open = -1;
    }
  }
  assert.equal(open, -1);
}

describe('SDK messages → one Anthropic message', () => {
  it('streams a one-turn answer delta by delta, with the result usage at the end', () => {
    const { tr, events } = translate([
      systemInit(),
      ...turn('msg_up_1', [{ type: 'text', text: 'Hello there' }]),
      result(),
    ]);
    assertCoherent(events);
    assert.deepEqual(
      events.map((e) => e.type),
      [
        'message_start',
        'content_block_start',
        'content_block_delta',
        'content_block_delta',
        'content_block_stop',
        'message_delta',
        'message_stop',
      ],
    );
    const start = events[0] as Extract<StreamEvent, { type: 'message_start' }>;
    assert.equal(start.message.id, 'msg_test', 'the id is ours, stable for the run');
    assert.equal(start.message.model, 'claude-sonnet-5-5', 'the model that answered');
    assert.equal(start.message.usage.input_tokens, 10);
    const delta = events.at(-2) as Extract<StreamEvent, { type: 'message_delta' }>;
    assert.deepEqual(delta.delta, { stop_reason: 'end_turn', stop_sequence: null });
    assert.deepEqual(delta.usage, {
      input_tokens: 20,
      output_tokens: 10,
      cache_creation_input_tokens: 3,
      cache_read_input_tokens: 100,
    });
    assert.equal(tr.phase, 'done');
    assert.equal(tr.usage.cache_creation_1h, 3);
    assert.equal(fold(events).content.length, 1);
    assert.equal((fold(events).content[0] as TextBlock).text, 'Hello there');
  });

  it('joins the agent turns into one message; its own tool calls become text, never tool_use', () => {
    const { events } = translate([
      ...turn('msg_up_1', [
        { type: 'thinking', thinking: 'I should look.' },
        { type: 'text', text: 'Let me read it.' },
        { type: 'tool_use', id: 'toolu_read', name: 'Read', input: { file_path: '/tmp/notes.txt' } },
      ]),
      toolResults([{ id: 'toolu_read', content: 'the secret word is pineapple' }]),
      ...turn('msg_up_2', [{ type: 'text', text: 'It says pineapple.' }]),
      result({ num_turns: 2 }),
    ]);
    assertCoherent(events);
    assert.ok(!events.some((e) => e.type === 'content_block_start' && e.content_block.type === 'tool_use'));
    const msg = fold(events);
    assert.deepEqual(
      msg.content.map((b) => b.type),
      ['thinking', 'text', 'text', 'text'],
    );
    assert.equal((msg.content[0] as { thinking: string }).thinking, 'I should look.');
    assert.equal((msg.content[0] as { signature: string }).signature, 'sig');
    assert.equal((msg.content[2] as TextBlock).text, '\n\n> **Read** /tmp/notes.txt');
    assert.equal(
      (msg.content[3] as TextBlock).text,
      '\n\nIt says pineapple.',
      'a later text block starts a new paragraph',
    );
    assert.equal(msg.stop_reason, 'end_turn');
  });

  it('hides the agent’s tool activity with tool_display = hidden', () => {
    const { events } = translate(
      [
        ...turn('m1', [{ type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'ls' } }]),
        toolResults([{ id: 't1', content: 'a b', isError: true }]),
        ...turn('m2', [{ type: 'text', text: 'Done.' }]),
        result(),
      ],
      { toolDisplay: 'hidden' },
    );
    assertCoherent(events);
    const msg = fold(events);
    assert.deepEqual(
      msg.content.map((b) => (b as TextBlock).text),
      ['Done.'],
    );
  });

  it('shows a failed agent tool call', () => {
    const { events } = translate([
      ...turn('m1', [{ type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'npm test' } }]),
      toolResults([{ id: 't1', content: 'Permission denied\nmore', isError: true }]),
      ...turn('m2', [{ type: 'text', text: 'It failed.' }]),
      result(),
    ]);
    const texts = fold(events).content.map((b) => (b as TextBlock).text);
    assert.deepEqual(texts, ['> **Bash** npm test', '\n\n> ✗ Permission denied more', '\n\nIt failed.']);
  });

  it('ends the response with a real tool_use for a client tool, and suspends the run', () => {
    const { tr, events } = translate(
      turn('m1', [
        { type: 'text', text: 'Checking.' },
        {
          type: 'tool_use',
          id: 'toolu_w',
          name: 'mcp__ccproxy_client__get_weather',
          input: { city: 'Paris' },
        },
      ]),
      { clientTools: CLIENT },
    );
    assertCoherent(events);
    assert.equal(tr.phase, 'suspended');
    assert.deepEqual(tr.clientToolCalls, [{ id: 'toolu_w', agentName: 'mcp__ccproxy_client__get_weather' }]);
    const msg = fold(events);
    assert.equal(msg.stop_reason, 'tool_use');
    assert.deepEqual(msg.content[1], {
      type: 'tool_use',
      id: 'toolu_w',
      name: 'get_weather',
      input: { city: 'Paris' },
    });
    assert.deepEqual(msg.usage, {
      input_tokens: 10,
      output_tokens: 5,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });

    // The client's result resumes the run: a new message, usage net of what was already reported.
    const next = translate(
      [
        toolResults([{ id: 'toolu_w', content: 'Sunny' }]),
        ...turn('m2', [{ type: 'text', text: 'Sunny in Paris.' }]),
        result({ num_turns: 2 }),
      ],
      { clientTools: CLIENT, reported: tr.usage, messageId: 'msg_next' },
    );
    assertCoherent(next.events);
    const m2 = fold(next.events);
    assert.equal(m2.id, 'msg_next');
    assert.equal((m2.content[0] as TextBlock).text, 'Sunny in Paris.');
    assert.equal(m2.usage.input_tokens, 10);
    assert.equal(m2.usage.output_tokens, 5);
  });

  it('ignores what subagents stream', () => {
    const { events } = translate([
      ...turn('sub', [{ type: 'text', text: 'subagent chatter' }], { parent: 'toolu_task' }),
      ...turn('m1', [{ type: 'text', text: 'main' }]),
      result(),
    ]);
    assertCoherent(events);
    assert.deepEqual(
      fold(events).content.map((b) => (b as TextBlock).text),
      ['main'],
    );
  });

  it('answers with the result text when nothing was streamed', () => {
    const { events } = translate([result({ result: 'Compacted.' })]);
    assertCoherent(events);
    assert.equal((fold(events).content[0] as TextBlock).text, 'Compacted.');
  });

  it('carries the final stop reason; a last agent tool_use turn counts as end_turn', () => {
    const a = translate([
      ...turn('m', [{ type: 'text', text: 'cut' }], { stop: 'max_tokens' }),
      result({ stop_reason: 'max_tokens' }),
    ]);
    assert.equal(fold(a.events).stop_reason, 'max_tokens');
    const b = translate([...turn('m', [{ type: 'text', text: 'x' }]), result({ stop_reason: 'tool_use' })]);
    assert.equal(fold(b.events).stop_reason, 'end_turn');
  });

  it('reports a login failure as authentication, with what to do', () => {
    const { tr, events } = translate([
      assistant('Not logged in · Please run /login', 'authentication_failed'),
      result({ is_error: true, result: 'Not logged in · Please run /login', stop_reason: 'stop_sequence' }),
    ]);
    assert.deepEqual(events, []);
    assert.equal(tr.phase, 'done');
    assert.equal(tr.error?.kind, 'authentication');
    assert.equal(tr.error?.status, 401);
    assert.match(tr.error!.message, /claude \/login/);
    assert.match(tr.error!.message, /CLAUDE_CODE_OAUTH_TOKEN/);
  });

  it('maps API failures the agent saw to their kind', () => {
    const overloaded = translate([
      assistant('API Error: 529 busy', 'server_error'),
      result({ is_error: true, result: 'API Error: 529 busy', api_error_status: 529 }),
    ]);
    assert.equal(overloaded.tr.error?.kind, 'overloaded');
    const limited = translate([
      assistant('You hit your limit', 'rate_limit'),
      result({ is_error: true, result: 'x', api_error_status: 429 }),
    ]);
    assert.equal(limited.tr.error?.kind, 'rate_limited');
  });

  it('reports max_turns with the agent’s limit and how to raise it', () => {
    const { tr } = translate(
      [
        ...turn('m', [{ type: 'tool_use', id: 't', name: 'Read', input: {} }]),
        result({ subtype: 'error_max_turns', is_error: true, errors: [] }),
      ],
      { maxTurns: 1 },
    );
    assert.equal(tr.error?.kind, 'invalid_request');
    assert.match(tr.error!.message, /after 1 turns \(max_turns\)/);
    assert.match(tr.error!.message, /claude\.max_turns/);
  });

  it('recognises a spare that refused its claim', () => {
    const { tr } = translate([result({ is_error: true, result: 'not_claimed: cwd_not_found' })]);
    assert.equal(tr.notClaimed, true);
  });

  it('keeps any agent run coherent (property)', () => {
    const block = fc.oneof(
      fc.record({ type: fc.constant('text' as const), text: fc.string({ minLength: 1, maxLength: 20 }) }),
      fc.record({
        type: fc.constant('thinking' as const),
        thinking: fc.string({ minLength: 1, maxLength: 20 }),
      }),
      fc.record({
        type: fc.constant('tool_use' as const),
        id: fc.uuid(),
        name: fc.constantFrom('Read', 'Bash', 'mcp__github__search'),
        input: fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 10 })),
      }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.array(block, { minLength: 0, maxLength: 4 }), { minLength: 1, maxLength: 5 }),
        fc.constantFrom('text' as const, 'hidden' as const),
        (turns: BlockSpec[][], toolDisplay) => {
          const msgs = turns.flatMap((blocks, i) => turn(`m${i}`, blocks));
          const { events } = translate([...msgs, result()], { toolDisplay });
          assertCoherent(events);
          const msg = fold(events);
          assert.ok(!msg.content.some((b) => b.type === 'tool_use'));
          const text = msg.content.map((b) => (b.type === 'text' ? (b as TextBlock).text : '')).join('');
          for (const b of turns.flat()) if (b.type === 'text') assert.ok(text.includes(b.text));
        },
      ),
    );
  });

  it('drops ping and unknown events from the agent stream', () => {
    const { events } = translate([
      streamEvent({ type: 'ping' }),
      ...turn('m', [{ type: 'text', text: 'ok' }]),
      { type: 'rate_limit_event' } as unknown as SDKMessage,
      result(),
    ]);
    assertCoherent(events);
  });
});
