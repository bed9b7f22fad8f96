import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProxyError } from '../../../src/errors.ts';
import type { Message, StreamEvent } from '../../../src/formats/anthropic/types.ts';
import { openaiFrontend } from '../../../src/formats/openai/index.ts';
import { framePayloads, META, options, parsedFor, reassemble, renderStream } from './helpers.ts';

const startMsg: Message = {
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-5-5',
  content: [],
  stop_reason: null,
  stop_sequence: null,
  usage: { input_tokens: 10, cache_read_input_tokens: 5, output_tokens: 1 },
};
const ev = {
  start: (): StreamEvent => ({ type: 'message_start', message: startMsg }),
  text: (index: number): StreamEvent => ({
    type: 'content_block_start',
    index,
    content_block: { type: 'text', text: '' },
  }),
  thinking: (index: number): StreamEvent => ({
    type: 'content_block_start',
    index,
    content_block: { type: 'thinking', thinking: '', signature: '' },
  }),
  tool: (index: number, id: string, name: string): StreamEvent => ({
    type: 'content_block_start',
    index,
    content_block: { type: 'tool_use', id, name, input: {} },
  }),
  td: (index: number, text: string): StreamEvent => ({
    type: 'content_block_delta',
    index,
    delta: { type: 'text_delta', text },
  }),
  thd: (index: number, thinking: string): StreamEvent => ({
    type: 'content_block_delta',
    index,
    delta: { type: 'thinking_delta', thinking },
  }),
  json: (index: number, partial_json: string): StreamEvent => ({
    type: 'content_block_delta',
    index,
    delta: { type: 'input_json_delta', partial_json },
  }),
  stop: (index: number): StreamEvent => ({ type: 'content_block_stop', index }),
  delta: (stop_reason: string, extra: Record<string, unknown> = {}): StreamEvent => ({
    type: 'message_delta',
    delta: { stop_reason, stop_sequence: null, ...extra },
    usage: { output_tokens: 7 },
  }),
  end: (): StreamEvent => ({ type: 'message_stop' }),
  ping: (): StreamEvent => ({ type: 'ping' }),
};

const chunk = (delta: unknown, finish: string | null = null, usageNull = false) =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-req_test',
    object: 'chat.completion.chunk',
    created: META.created,
    model: 'gpt-4o',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(usageNull ? { usage: null } : {}),
  })}\n\n`;

describe('openai stream', () => {
  it('renders a text stream frame by frame', () => {
    const r = openaiFrontend.streamRenderer(parsedFor(), META, options());
    assert.equal(r.push(ev.start()), chunk({ role: 'assistant', content: '', refusal: null }));
    assert.equal(r.push(ev.text(0)), '');
    assert.equal(r.push(ev.ping()), '');
    assert.equal(r.push(ev.td(0, 'Hé "you"\n')), chunk({ content: 'Hé "you"\n' }));
    assert.equal(r.push(ev.td(0, '')), '');
    assert.equal(r.push(ev.stop(0)), '');
    assert.equal(r.push(ev.delta('end_turn')), chunk({}, 'stop'));
    assert.equal(r.push(ev.end()), '');
    assert.equal(r.end(), 'data: [DONE]\n\n');
    assert.equal(r.end(), '', 'end is idempotent');
  });

  it('with include_usage: usage null on every chunk, then a usage chunk with no choices', () => {
    const body = renderStream(
      [ev.start(), ev.text(0), ev.td(0, 'hi'), ev.stop(0), ev.delta('max_tokens'), ev.end()],
      parsedFor({ includeUsage: true }),
    );
    const payloads = framePayloads(body);
    assert.equal(payloads.at(-1), '[DONE]');
    const chunks = payloads.slice(0, -1).map((p) => JSON.parse(p));
    for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null);
    assert.deepEqual(chunks.at(-1), {
      id: 'chatcmpl-req_test',
      object: 'chat.completion.chunk',
      created: META.created,
      model: 'gpt-4o',
      choices: [],
      usage: {
        prompt_tokens: 15,
        completion_tokens: 7,
        total_tokens: 22,
        prompt_tokens_details: { cached_tokens: 5 },
      },
    });
    assert.equal(chunks.at(-2).choices[0].finish_reason, 'length');
    const plain = renderStream([ev.start(), ev.delta('end_turn'), ev.end()]);
    assert.doesNotMatch(plain, /usage/);
  });

  it('streams parallel tool calls with their own index, id and name first', () => {
    const body = renderStream([
      ev.start(),
      ev.text(0),
      ev.td(0, 'Let me check.'),
      ev.stop(0),
      ev.tool(1, 'toolu_A', 'search'),
      ev.json(1, ''),
      ev.json(1, '{"q":'),
      ev.tool(2, 'toolu_B', 'clock'),
      ev.json(1, '"x"}'),
      ev.stop(1),
      ev.stop(2),
      ev.delta('tool_use'),
      ev.end(),
    ]);
    const deltas = framePayloads(body)
      .slice(0, -1)
      .map((p) => JSON.parse(p).choices[0].delta);
    assert.deepEqual(deltas.slice(2), [
      {
        tool_calls: [
          { index: 0, id: 'toolu_A', type: 'function', function: { name: 'search', arguments: '' } },
        ],
      },
      { tool_calls: [{ index: 0, function: { arguments: '{"q":' } }] },
      {
        tool_calls: [
          { index: 1, id: 'toolu_B', type: 'function', function: { name: 'clock', arguments: '' } },
        ],
      },
      { tool_calls: [{ index: 0, function: { arguments: '"x"}' } }] },
      { tool_calls: [{ index: 1, function: { arguments: '{}' } }] },
      {},
    ]);
    const { completion } = reassemble(body);
    assert.equal(completion.choices[0].finish_reason, 'tool_calls');
    assert.deepEqual(completion.choices[0].message.tool_calls, [
      { id: 'toolu_A', type: 'function', function: { name: 'search', arguments: '{"q":"x"}' } },
      { id: 'toolu_B', type: 'function', function: { name: 'clock', arguments: '{}' } },
    ]);
  });

  it('reasoning as reasoning_content, tags or nothing', () => {
    const events = [
      ev.start(),
      ev.thinking(0),
      ev.thd(0, 'a'),
      ev.thd(0, 'b'),
      ev.stop(0),
      ev.text(1),
      ev.td(1, 'ok'),
      ev.stop(1),
      ev.delta('end_turn'),
      ev.end(),
    ];
    const rc = reassemble(renderStream(events)).completion.choices[0].message;
    assert.deepEqual(rc, { role: 'assistant', content: 'ok', refusal: null, reasoning_content: 'ab' });
    const tags = reassemble(
      renderStream(events, parsedFor(), options({ reasoningOutput: 'tags' })),
    ).completion;
    assert.equal(tags.choices[0].message.content, '<thinking>\nab\n</thinking>\n\nok');
    const drop = reassemble(
      renderStream(events, parsedFor(), options({ reasoningOutput: 'drop' })),
    ).completion;
    assert.deepEqual(drop.choices[0].message, { role: 'assistant', content: 'ok', refusal: null });
  });

  it('refusal: a refusal delta, then content_filter', () => {
    const body = renderStream([
      ev.start(),
      ev.ping(),
      ev.delta('refusal', { stop_details: { explanation: 'No.' } }),
      ev.end(),
    ]);
    const { completion } = reassemble(body);
    assert.equal(completion.choices[0].message.refusal, 'No.');
    assert.equal(completion.choices[0].finish_reason, 'content_filter');
  });

  it('the response_format tool streams as content; legacy clients get function_call', () => {
    const json = reassemble(
      renderStream(
        [
          ev.start(),
          ev.tool(0, 'toolu_J', 'answer'),
          ev.json(0, '{"n"'),
          ev.json(0, ':4}'),
          ev.stop(0),
          ev.delta('tool_use'),
          ev.end(),
        ],
        parsedFor({ jsonTool: 'answer' }),
      ),
    ).completion;
    assert.deepEqual(json.choices[0].message, { role: 'assistant', content: '{"n":4}', refusal: null });
    assert.equal(json.choices[0].finish_reason, 'stop');

    const legacy = renderStream(
      [
        ev.start(),
        ev.tool(0, 'toolu_A', 'f'),
        ev.json(0, '{"x":1}'),
        ev.stop(0),
        ev.tool(1, 'toolu_B', 'g'),
        ev.json(1, '{}'),
        ev.stop(1),
        ev.delta('tool_use'),
        ev.end(),
      ],
      parsedFor({ legacyFunctions: true }),
    );
    const done = reassemble(legacy).completion.choices[0];
    assert.deepEqual(done.message.function_call, { name: 'f', arguments: '{"x":1}' });
    assert.equal(done.message.tool_calls, undefined);
    assert.equal(done.finish_reason, 'function_call');
  });

  it('fail() sends one error frame and closes the stream', () => {
    const r = openaiFrontend.streamRenderer(parsedFor(), META, options());
    r.push(ev.start());
    const frame = r.fail(new ProxyError('overloaded', 'Overloaded'));
    assert.equal(
      frame,
      `data: ${JSON.stringify({ error: { message: 'Overloaded', type: 'server_error', param: null, code: 'overloaded' } })}\n\n`,
    );
    assert.equal(r.push(ev.text(0)), '');
    assert.equal(r.end(), '');
    assert.equal(r.fail(new ProxyError('upstream', 'again')), '');
  });

  it('an upstream error event becomes the error frame', () => {
    const r = openaiFrontend.streamRenderer(parsedFor(), META, options());
    r.push(ev.start());
    const out = r.push({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    assert.deepEqual(JSON.parse(out.slice(6)), {
      error: { message: 'Overloaded', type: 'server_error', param: null, code: 'overloaded' },
    });
    assert.equal(r.end(), '');
  });

  it('a stream that ends early still finishes cleanly', () => {
    const body = renderStream([ev.start(), ev.text(0), ev.td(0, 'partial')]);
    const { completion, done } = reassemble(body);
    assert.ok(done);
    assert.equal(completion.choices[0].finish_reason, 'stop');
    assert.equal(renderStream([]).endsWith('data: [DONE]\n\n'), true);
    assert.equal(reassemble(renderStream([])).completion.choices[0].message.role, 'assistant');
  });
});
