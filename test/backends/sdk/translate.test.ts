/**
 * The SDK translator (src/backends/sdk/translate.ts), fed with what the real Claude Code binary said
 * against the fake upstream (test/fixtures/sdk/, recorded by scripts/record-sdk-fixtures.ts). A few
 * cases stay hand-built (sdk-messages.ts) where no recording can show the input: each says why.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import fc from 'fast-check';
import { SdkEventTranslator, type TranslatorOptions } from '../../../src/backends/sdk/translate.ts';
import { MessageAccumulator } from '../../../src/formats/anthropic/accumulate.ts';
import type { StreamEvent, TextBlock } from '../../../src/formats/anthropic/types.ts';
import { sdkFixture, sdkFixtureNames } from './sdk-fixtures.ts';
import {
  apiRetry,
  type BlockSpec,
  cutTurn,
  result,
  streamEvent,
  turn,
  wholeMessage,
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

const texts = (events: StreamEvent[]) => fold(events).content.map((b) => (b as TextBlock).text);

describe('SDK messages → one Anthropic message (recorded from Claude Code)', () => {
  it('every recording: one coherent message, or an error before any output', () => {
    for (const name of sdkFixtureNames()) {
      // A run suspended in a client tool call goes on in its next part, with a translator of its own.
      const { tr, events } = translate(sdkFixture(name), { clientTools: CLIENT });
      if (tr.error && !tr.hasStarted) assert.deepEqual(events, [], name);
      else if (!tr.error) assertCoherent(events);
      assert.notEqual(tr.phase, 'streaming', `${name}: the recording ends the run or suspends it`);
    }
  });

  it('streams a one-turn answer delta by delta, with the result usage at the end', () => {
    const { tr, events } = translate(sdkFixture('text'));
    assertCoherent(events);
    assert.deepEqual(
      events.map((e) => e.type),
      [
        'message_start',
        'content_block_start',
        'content_block_delta',
        'content_block_delta',
        'content_block_delta',
        'content_block_delta',
        'content_block_stop',
        'message_delta',
        'message_stop',
      ],
    );
    const start = events[0] as Extract<StreamEvent, { type: 'message_start' }>;
    assert.equal(start.message.id, 'msg_test', 'the id is ours, stable for the run');
    assert.equal(start.message.model, 'claude-sonnet-4-5', 'the model that answered');
    assert.equal(start.message.usage.input_tokens, 1200);
    const delta = events.at(-2) as Extract<StreamEvent, { type: 'message_delta' }>;
    assert.deepEqual(delta.delta, { stop_reason: 'end_turn', stop_sequence: null });
    assert.deepEqual(delta.usage, {
      input_tokens: 1200,
      output_tokens: 8,
      cache_creation_input_tokens: 300,
      cache_read_input_tokens: 800,
    });
    assert.equal(tr.phase, 'done');
    assert.equal(fold(events).content.length, 1);
    assert.equal((fold(events).content[0] as TextBlock).text, 'Hello! How can I help you today?');
  });

  it('streams thinking with its signature, then the answer', () => {
    const { events } = translate(sdkFixture('thinking'));
    assertCoherent(events);
    const msg = fold(events);
    assert.deepEqual(
      msg.content.map((b) => b.type),
      ['thinking', 'text'],
    );
    assert.equal((msg.content[0] as { thinking: string }).thinking, 'Two plus two is four.');
    assert.equal((msg.content[0] as { signature: string }).signature, 'c2lnbmF0dXJl');
    assert.equal((msg.content[1] as TextBlock).text, '2 + 2 = 4.');
  });

  it('joins the agent turns into one message; its own tool calls become text, never tool_use', () => {
    const { events } = translate(sdkFixture('agent-tool-read'));
    assertCoherent(events);
    assert.ok(!events.some((e) => e.type === 'content_block_start' && e.content_block.type === 'tool_use'));
    const msg = fold(events);
    assert.deepEqual(
      msg.content.map((b) => b.type),
      ['text', 'text', 'text'],
    );
    assert.deepEqual(texts(events), [
      'Let me read it.',
      '\n\n> **Read** /fixture/cwd/notes.txt',
      '\n\nIt says the secret word is pineapple.',
    ]);
    assert.equal(msg.stop_reason, 'end_turn');
  });

  it('hides the agent’s tool activity with tool_display = hidden', () => {
    const { events } = translate(sdkFixture('agent-tool-denied'), { toolDisplay: 'hidden' });
    assertCoherent(events);
    assert.deepEqual(texts(events), ['I may not run commands here.']);
  });

  it('shows a failed agent tool call', () => {
    const { events } = translate(sdkFixture('agent-tool-denied'));
    const [call, failure, answer, ...rest] = texts(events);
    assert.equal(call, '> **Bash** npm test');
    assert.match(failure, /^\n\n> ✗ Permission for this tool use was denied\. /);
    assert.equal(answer, '\n\nI may not run commands here.');
    assert.deepEqual(rest, []);
  });

  it('buffered: an agent tool result that comes before its turn’s message_stop stays after the turn', () => {
    const msgs = sdkFixture('agent-tool-denied');
    // Claude Code sends the tool's result before or after the turn's message_stop (timing).
    const u = msgs.findIndex((m) => m.type === 'user');
    const stop = msgs
      .slice(0, u)
      .findLastIndex(
        (m) => m.type === 'stream_event' && (m.event as { type: string }).type === 'message_stop',
      );
    assert.ok(stop > 0);
    const early = [...msgs.slice(0, stop), msgs[u]!, ...msgs.slice(stop, u), ...msgs.slice(u + 1)];
    const { events } = translate(early, { buffered: true });
    assertCoherent(events);
    assert.equal(events[0]!.type, 'message_start');
    assert.deepEqual(texts(events), texts(translate(msgs).events));
  });

  it('ends the response with a real tool_use for a client tool, and suspends the run', () => {
    const { tr, events } = translate(sdkFixture('client-tool.1'), { clientTools: CLIENT });
    assertCoherent(events);
    assert.equal(tr.phase, 'suspended');
    assert.deepEqual(tr.clientToolCalls, [
      { id: 'toolu_01FixtureWeather00000000', agentName: 'mcp__ccproxy_client__get_weather' },
    ]);
    const msg = fold(events);
    assert.equal(msg.stop_reason, 'tool_use');
    assert.deepEqual(msg.content[1], {
      type: 'tool_use',
      id: 'toolu_01FixtureWeather00000000',
      name: 'get_weather',
      input: { city: 'Paris' },
    });
    assert.deepEqual(msg.usage, {
      input_tokens: 1200,
      output_tokens: 8,
      cache_creation_input_tokens: 300,
      cache_read_input_tokens: 800,
    });

    // The client's result resumes the run: a new message, usage net of what was already reported.
    const next = translate(sdkFixture('client-tool.2'), {
      clientTools: CLIENT,
      reported: tr.usage,
      messageId: 'msg_next',
    });
    assertCoherent(next.events);
    const m2 = fold(next.events);
    assert.equal(m2.id, 'msg_next');
    assert.equal((m2.content[0] as TextBlock).text, 'It is sunny in Paris, 24°C.');
    assert.equal(m2.usage.input_tokens, 1200);
    assert.equal(m2.usage.output_tokens, 7);
  });

  it('ignores what subagents say', () => {
    const { events } = translate(sdkFixture('subagent'));
    assertCoherent(events);
    assert.deepEqual(texts(events), ['> **Task** Add numbers', '\n\nThe helper says 4.']);
  });

  it('reports a login failure as authentication, with what to do', () => {
    const { tr, events } = translate(sdkFixture('not-logged-in'));
    assert.deepEqual(events, []);
    assert.equal(tr.phase, 'done');
    assert.equal(tr.error?.kind, 'authentication');
    assert.equal(tr.error?.status, 401);
    assert.match(tr.error!.message, /claude \/login/);
    assert.match(tr.error!.message, /CLAUDE_CODE_OAUTH_TOKEN/);
  });

  it('maps API failures the agent saw to their kind', () => {
    assert.equal(translate(sdkFixture('error-overloaded')).tr.error?.kind, 'overloaded');
    assert.equal(translate(sdkFixture('error-rate-limited')).tr.error?.kind, 'rate_limited');
    assert.equal(translate(sdkFixture('error-api-500')).tr.error?.kind, 'upstream');
  });

  it('reports max_turns with the agent’s limit and how to raise it', () => {
    const { tr } = translate(sdkFixture('max-turns'), { maxTurns: 1 });
    assert.equal(tr.error?.kind, 'invalid_request');
    assert.match(tr.error!.message, /after 1 turns \(max_turns\)/);
    assert.match(tr.error!.message, /claude\.max_turns/);
  });

  it('a run that keeps hitting max_tokens: Claude Code goes on three times, then fails', () => {
    const { tr, events } = translate(sdkFixture('max-tokens'));
    assert.equal(tr.hasStarted, true, 'the text so far was streamed');
    assert.ok(!events.some((e) => e.type === 'message_stop'), 'the stream ends with the error');
    assert.equal(tr.error?.kind, 'upstream');
    assert.match(tr.error!.message, /output token maximum/);
  });

  it('bug-spare-refusal-missed: recognises a spare that refused its claim', () => {
    // Claude Code answers a refused claim with an error_during_execution result; ccproxy looked only
    // at a success result's text and answered 502 instead of starting the request cold.
    assert.equal(translate(sdkFixture('bug-spare-refusal-missed')).tr.notClaimed, true);
    // Hand-built: the shape the Agent SDK's documentation describes (an error result's text).
    const documented = translate([result({ is_error: true, result: 'not_claimed: cwd_not_found' })]);
    assert.equal(documented.tr.notClaimed, true);
  });
});

describe('SDK messages → one Anthropic message (hand-built: what no recording shows)', () => {
  it('counts 1-hour cache writes apart', () => {
    // The fake upstream writes only 5-minute cache entries.
    const { tr } = translate([...turn('m', [{ type: 'text', text: 'x' }]), result()]);
    assert.equal(tr.usage.cache_creation_1h, 3);
  });

  it('ignores what subagents stream', () => {
    // Claude Code 2.x forwards no stream events of its subagents (see subagent.jsonl); should a
    // version do so, they carry the Task call as parent and stay out of the answer.
    const { events } = translate([
      ...turn('sub', [{ type: 'text', text: 'subagent chatter' }], { parent: 'toolu_task' }),
      ...turn('m1', [{ type: 'text', text: 'main' }]),
      result(),
    ]);
    assertCoherent(events);
    assert.deepEqual(texts(events), ['main']);
  });

  it('answers with the result text when nothing was streamed', () => {
    // Claude Code answers without a model turn only for its local commands, which client text
    // (sent as data, `client_composed`) cannot run.
    const { events } = translate([result({ result: 'Compacted.' })]);
    assertCoherent(events);
    assert.equal((fold(events).content[0] as TextBlock).text, 'Compacted.');
  });

  it('carries the final stop reason; a last agent tool_use turn counts as end_turn', () => {
    // A successful run never ends on max_tokens against the fake: Claude Code goes on by itself
    // (max-tokens.jsonl). These are the result's stop reasons as the mapping takes them.
    const a = translate([
      ...turn('m', [{ type: 'text', text: 'cut' }], { stop: 'max_tokens' }),
      result({ stop_reason: 'max_tokens' }),
    ]);
    assert.equal(fold(a.events).stop_reason, 'max_tokens');
    const b = translate([...turn('m', [{ type: 'text', text: 'x' }]), result({ stop_reason: 'tool_use' })]);
    assert.equal(fold(b.events).stop_reason, 'end_turn');
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
    // Recordings leave rate_limit_event out (their number and place vary from run to run).
    const { events } = translate([
      streamEvent({ type: 'ping' }),
      ...turn('m', [{ type: 'text', text: 'ok' }]),
      { type: 'rate_limit_event' } as unknown as SDKMessage,
      result(),
    ]);
    assertCoherent(events);
  });
});

describe('SDK messages → one Anthropic message: a model turn the API cut short', () => {
  // What Claude Code says when a stream fails midway (cut-answers.test.ts drives the real binary):
  // the cut turn ends without a message_delta, then comes the answer of its second call, whole
  // (`assistant` messages under a new id) after an `event: error`, streamed after a dropped connection.
  const FULL = 'This answer will be complete in the end.';
  const streamedText = (events: StreamEvent[]) =>
    events
      .map((e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : ''))
      .join('');

  it('buffered: the cut turn is dropped, the whole answer of the second call is the answer', () => {
    const { tr, events } = translate(
      [...cutTurn('m1', 'A first answer, '), ...wholeMessage('m2', [{ type: 'text', text: FULL }]), result()],
      { buffered: true },
    );
    assertCoherent(events);
    assert.deepEqual(texts(events), [FULL]);
    assert.equal(tr.error, undefined);
  });

  it('streamed: the rest of the text when the second answer continues it, in one paragraph', () => {
    const { events } = translate([
      ...turn('m0', [{ type: 'text', text: 'Before.' }]),
      ...cutTurn('m1', 'This answer '),
      ...wholeMessage('m2', [{ type: 'text', text: FULL }]),
      result(),
    ]);
    assertCoherent(events);
    assert.equal(streamedText(events), `Before.\n\n${FULL}`);
  });

  it('streamed: the second call streamed after a retry continues the text the same way', () => {
    const { events } = translate([
      ...cutTurn('m1', 'This answer '),
      apiRetry(),
      ...turn('m2', [{ type: 'text', text: FULL }]),
      result(),
    ]);
    assertCoherent(events);
    assert.equal(streamedText(events), FULL);
  });

  it('streamed: another answer stops the response with an error, never marked complete', () => {
    const { tr, events } = translate([
      ...cutTurn('m1', 'A first answer, '),
      ...wholeMessage('m2', [{ type: 'text', text: FULL }]),
      result(),
    ]);
    assert.equal(tr.phase, 'stopped', 'the agent still runs: the caller stops it');
    assert.equal(tr.error?.kind, 'upstream');
    assert.match(tr.error!.message, /cut off/);
    assert.ok(!events.some((e) => e.type === 'message_delta' || e.type === 'message_stop'));
  });

  it('streamed: a second answer shorter than what was sent is another answer', () => {
    const { tr } = translate([
      ...cutTurn('m1', 'This answer '),
      ...turn('m2', [{ type: 'text', text: 'This' }]),
    ]);
    assert.equal(tr.phase, 'stopped');
  });

  it('a cut turn’s client tool call never ran: no suspension, the second answer goes on', () => {
    const { tr, events } = translate(
      [
        ...cutTurn('m1', 'Let me check.', { clientTool: 'mcp__ccproxy_client__get_weather' }),
        ...wholeMessage('m2', [{ type: 'text', text: 'Sunny.' }]),
        result(),
      ],
      { clientTools: CLIENT, buffered: true },
    );
    assertCoherent(events);
    assert.deepEqual(texts(events), ['Sunny.']);
    assert.deepEqual(tr.clientToolCalls, []);
  });

  it('a whole answer with a client tool call ends the response with it', () => {
    const { tr, events } = translate(
      [
        ...cutTurn('m1', ''),
        ...wholeMessage(
          'm2',
          [
            {
              type: 'tool_use',
              id: 'toolu_1',
              name: 'mcp__ccproxy_client__get_weather',
              input: { city: 'Paris' },
            },
          ],
          'tool_use',
        ),
        { type: 'rate_limit_event' } as unknown as SDKMessage,
      ],
      { clientTools: CLIENT, buffered: true },
    );
    assertCoherent(events);
    assert.equal(tr.phase, 'suspended');
    const block = fold(events).content[0] as { type: string; name: string; input: unknown };
    assert.deepEqual([block.type, block.name, block.input], ['tool_use', 'get_weather', { city: 'Paris' }]);
  });

  it('a streamed turn’s own assistant messages are not shown twice; synthetic ones not at all', () => {
    const synthetic = {
      ...wholeMessage('x', [{ type: 'text', text: 'API Error: nope' }])[0],
      message: { id: 'x', model: '<synthetic>', content: [{ type: 'text', text: 'API Error: nope' }] },
    } as unknown as SDKMessage;
    const { events } = translate([
      ...turn('m1', [{ type: 'text', text: 'Once.' }]),
      ...wholeMessage('m1', [{ type: 'text', text: 'Once.' }]),
      synthetic,
      result(),
    ]);
    assertCoherent(events);
    assert.equal(streamedText(events), 'Once.');
  });

  it('the client gets the second answer whatever the cut (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 30 }),
        fc.nat(),
        fc.string({ maxLength: 30 }),
        (full, at, other) => {
          const cut = full.slice(0, at % (full.length + 1));
          // Buffered: always the second answer.
          const b = translate(
            [...cutTurn('m1', other), ...wholeMessage('m2', [{ type: 'text', text: full }]), result()],
            {
              buffered: true,
            },
          );
          assert.equal(streamedText(b.events), full);
          // Streamed: the second answer when it continues what was sent, else an error.
          const s = translate([
            ...cutTurn('m1', cut),
            ...wholeMessage('m2', [{ type: 'text', text: full }]),
            result(),
          ]);
          assertCoherent(s.events);
          assert.equal(streamedText(s.events), full);
          const d = translate([
            ...cutTurn('m1', other),
            ...wholeMessage('m2', [{ type: 'text', text: full }]),
            result(),
          ]);
          if (full.startsWith(other)) assert.equal(streamedText(d.events), full);
          else assert.equal(d.tr.phase, 'stopped');
        },
      ),
    );
  });
});

describe('SDK messages → one Anthropic message: a refusal', () => {
  it('is an answer with stop_reason refusal and stop_details, not Claude Code’s error result', () => {
    // Claude Code reports a refusal it could not get past as an error result whose text is its own
    // "API Error: …safeguards…" wording (cut-answers.test.ts shows it with the real binary).
    const details = { type: 'refusal', category: 'cyber', explanation: 'Blocked under the Usage Policy.' };
    const refusal = turn('m1', [], { stop: 'refusal' }).map((m) => {
      const ev = (m as unknown as { event: { type: string; delta?: Record<string, unknown> } }).event;
      if (ev.type === 'message_delta') ev.delta = { ...ev.delta, stop_details: details };
      return m;
    });
    const { tr, events } = translate([
      ...refusal,
      result({
        is_error: true,
        stop_reason: 'refusal',
        result: 'API Error: safeguards flagged this message.',
      }),
    ]);
    assertCoherent(events);
    assert.equal(tr.error, undefined);
    const msg = fold(events);
    assert.equal(msg.stop_reason, 'refusal');
    assert.deepEqual(msg.stop_details, details);
    assert.deepEqual(msg.content, []);
  });
});
