import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import OpenAI from 'openai';
import { ProxyError } from '../../../src/errors.ts';
import type { StreamEvent } from '../../../src/formats/anthropic/types.ts';
import { responsesFrontend } from '../../../src/formats/responses/index.ts';
import type { ResponsesHints } from '../../../src/formats/responses/types.ts';
import { reply } from '../../support/replies.ts';
import type { FakeResponse } from '../../support/types.ts';
import {
  accumulate,
  anthropicEvents,
  META,
  type Obj,
  offlineClient,
  options,
  parsedFor,
  reassemble,
  renderStream,
  streamEvents,
} from './helpers.ts';

/** Stream a scripted reply; check it reassembles to the whole-answer rendering; return the event types. */
function streamed(r: FakeResponse, hints: Partial<ResponsesHints> = {}) {
  const events = anthropicEvents(r);
  const parsed = parsedFor(hints);
  const body = renderStream(events, parsed);
  const got = reassemble(body);
  const whole = responsesFrontend.renderMessage(accumulate(events), parsed, META, options());
  assert.deepEqual(
    got.terminal.response,
    whole,
    'the stream ends with the same response as the whole answer',
  );
  return { ...got, body, types: got.events.map((e) => e.type) };
}

describe('responses stream: event sequences', () => {
  it('text: created, in_progress, the message item with its part and deltas, completed', () => {
    const { types, events, body } = streamed(reply.text('one two three', { deltas: 3 }));
    assert.deepEqual(types, [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    // The frames as they go on the wire.
    assert.ok(
      body.includes(
        'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_req_test_0","output_index":0,"content_index":0,"delta":"one ","logprobs":[]}\n\n',
      ),
    );
    assert.equal(events[0].response.id, 'resp_req_test');
    assert.equal(events.at(-1)?.response.usage.output_tokens > 0, true);
  });

  it('thinking then a tool call: reasoning summary events, the signature on the done item, arguments deltas', () => {
    const script = reply.message(
      [
        { type: 'thinking', thinking: 'Which command?', signature: 'EqSIG', deltas: ['Which ', 'command?'] },
        {
          type: 'tool_use',
          name: 'exec_command',
          input: { cmd: 'ls' },
          id: 'toolu_1',
          fragments: ['', '{"cmd":', '"ls"}'],
        },
      ],
      { stopReason: 'tool_use' },
    );
    const { types, events } = streamed(script, { encryptedReasoning: true });
    assert.deepEqual(types, [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    assert.equal(events[8].item.encrypted_content, 'EqSIG');
    assert.deepEqual(events[9].item, {
      id: 'fc_req_test_1',
      type: 'function_call',
      status: 'in_progress',
      arguments: '',
      call_id: 'toolu_1',
      name: 'exec_command',
    });
    assert.equal(events[12].arguments, '{"cmd":"ls"}');
    assert.equal(events[12].name, 'exec_command');
  });

  it('a call without arguments streams "{}"; parallel calls follow each other', () => {
    const { events } = streamed(
      reply.toolUse([
        { name: 'clock', input: {} },
        { name: 'clock', input: {} },
      ]),
    );
    const deltas = events.filter((e) => e.type === 'response.function_call_arguments.delta');
    assert.deepEqual(
      deltas.map((d) => [d.output_index, d.delta]),
      [
        [0, '{}'],
        [1, '{}'],
      ],
    );
  });

  it('text blocks in a row share one message item; structured output streams as text', () => {
    const two = streamed(
      reply.message([
        { type: 'text', text: 'a', deltas: ['a'] },
        { type: 'text', text: 'b', deltas: ['b'] },
      ]),
    );
    assert.equal(two.output.length, 1);
    assert.equal(two.output[0].content.length, 2);
    const json = streamed(reply.toolUse({ name: 'answer', input: { n: 1 } }), { jsonTool: 'answer' });
    assert.equal(json.output[0].content[0].text, '{"n":1}');
    assert.ok(json.types.includes('response.output_text.delta'));
    assert.ok(!json.types.includes('response.function_call_arguments.delta'));
  });

  it('custom tools: custom_tool_call with the input text', () => {
    const { types, output } = streamed(
      reply.toolUse({ name: 'apply_patch', input: { input: 'PATCH "x"' } }),
      {
        clientTools: new Map([['apply_patch', { name: 'apply_patch', custom: true }]]),
      },
    );
    assert.deepEqual(types.slice(2, -1), [
      'response.output_item.added',
      'response.custom_tool_call_input.delta',
      'response.custom_tool_call_input.done',
      'response.output_item.done',
    ]);
    assert.equal(output[0].input, 'PATCH "x"');
  });

  it('max_tokens ends with response.incomplete; a refusal adds a refusal part', () => {
    const cut = streamed(reply.maxTokens());
    assert.equal(cut.terminal.type, 'response.incomplete');
    assert.deepEqual(cut.terminal.response.incomplete_details, { reason: 'max_output_tokens' });
    const refused = streamed(reply.refusal());
    assert.deepEqual(refused.types.slice(2, -1), [
      'response.output_item.added',
      'response.content_part.added',
      'response.refusal.delta',
      'response.refusal.done',
      'response.content_part.done',
      'response.output_item.done',
    ]);
    assert.equal(refused.terminal.type, 'response.incomplete');
  });

  it('redacted thinking shows only as a sealed reasoning item, and only when asked for', () => {
    const script = reply.message([
      { type: 'redacted_thinking', data: 'OPAQUE' },
      { type: 'text', text: 'ok', deltas: ['ok'] },
    ]);
    assert.deepEqual(
      streamed(script).output.map((i) => i.type),
      ['message'],
    );
    const sealed = streamed(script, { encryptedReasoning: true });
    assert.deepEqual(sealed.output[0], {
      id: 'rs_req_test_0',
      type: 'reasoning',
      summary: [],
      encrypted_content: 'ccproxy-redacted:OPAQUE',
    });
  });
});

describe('responses stream: failures', () => {
  const start = anthropicEvents(reply.text('partial answer', { deltas: 2 })).slice(0, 4);

  it('mid-stream: an error event then response.failed with the error; nothing after', () => {
    const r = responsesFrontend.streamRenderer(parsedFor(), META, options());
    let body = '';
    for (const ev of start) body += r.push(ev);
    body += r.fail(new ProxyError('overloaded', 'Overloaded'));
    assert.equal(r.push({ type: 'ping' }), '');
    assert.equal(r.end(), '');
    const { events, terminal } = reassemble(body);
    const error = events.at(-2)!;
    assert.deepEqual(error, {
      type: 'error',
      sequence_number: error.sequence_number,
      code: 'overloaded',
      message: 'Overloaded',
      param: null,
      error: { message: 'Overloaded', type: 'server_error', param: null, code: 'overloaded' },
    });
    assert.equal(terminal.type, 'response.failed');
    assert.equal(terminal.response.status, 'failed');
    assert.deepEqual(terminal.response.error, { code: 'overloaded', message: 'Overloaded' });
  });

  it('an upstream error event fails the stream the same way', () => {
    const r = responsesFrontend.streamRenderer(parsedFor(), META, options());
    let body = '';
    for (const ev of start) body += r.push(ev);
    body += r.push({
      type: 'error',
      error: { type: 'rate_limit_error', message: 'Slow down' },
    } as StreamEvent);
    const { terminal } = reassemble(body);
    assert.deepEqual(terminal.response.error, { code: 'rate_limit_exceeded', message: 'Slow down' });
  });

  it('a failure before any event still opens the response first', () => {
    const r = responsesFrontend.streamRenderer(parsedFor(), META, options());
    const types = streamEvents(r.fail(new ProxyError('upstream', 'gone'))).map((e) => e.type);
    assert.deepEqual(types, ['response.created', 'response.in_progress', 'error', 'response.failed']);
  });
});

describe('responses stream: the openai SDK reads it', () => {
  it('responses.stream(): events with snapshots, and finalResponse() as the whole answer', async () => {
    const events = anthropicEvents(
      reply.toolUse({ name: 'get_weather', input: { city: 'Paris' } }, { text: 'Let me check.' }),
    );
    const body = renderStream(events);
    const stream = offlineClient(body).responses.stream({ model: 'gpt-5', input: 'x' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.snapshot));
    const final = await stream.finalResponse();
    assert.equal(deltas.at(-1), 'Let me check.');
    assert.equal(final.output_text, 'Let me check.');
    const whole = responsesFrontend.renderMessage(accumulate(events), parsedFor(), META, options()) as Obj;
    assert.deepEqual(
      final.output.map((i) => ({ ...i, content: undefined, parsed_arguments: undefined })),
      whole.output.map((i: Obj) => ({ ...i, content: undefined, parsed_arguments: undefined })),
    );
  });

  it('a failed stream is an APIError, never a complete-looking answer', async () => {
    const r = responsesFrontend.streamRenderer(parsedFor(), META, options());
    let body = '';
    for (const ev of anthropicEvents(reply.text('partial', { deltas: 2 })).slice(0, 4)) body += r.push(ev);
    body += r.fail(new ProxyError('overloaded', 'Overloaded'));
    const stream = await offlineClient(body).responses.create({ model: 'gpt-5', input: 'x', stream: true });
    await assert.rejects(
      async () => {
        for await (const _ of stream) {
          // drain
        }
      },
      (err: Error) => err instanceof OpenAI.APIError && /Overloaded/.test(err.message),
    );
  });
});
