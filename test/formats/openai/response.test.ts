import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../../src/formats/anthropic/types.ts';
import { renderChatCompletion } from '../../../src/formats/openai/response.ts';
import { META, options, parsedFor } from './helpers.ts';

function message(over: Partial<Message>): Message {
  return {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-5-5',
    content: [],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 10, output_tokens: 5 },
    ...over,
  };
}

describe('openai response', () => {
  it('text, id, created, the client model, finish_reason and usage', () => {
    const c = renderChatCompletion(
      message({
        content: [
          { type: 'text', text: 'Hello' },
          { type: 'text', text: ' world' },
        ],
      }),
      parsedFor({}, 'gpt-4.1'),
      META,
      options(),
    );
    assert.deepEqual(c, {
      id: 'chatcmpl-req_test',
      object: 'chat.completion',
      created: META.created,
      model: 'gpt-4.1',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello world', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
        prompt_tokens_details: { cached_tokens: 0 },
      },
    });
  });

  it('tool calls keep Anthropic ids and carry arguments as JSON strings; content is null without text', () => {
    const c = renderChatCompletion(
      message({
        stop_reason: 'tool_use',
        content: [
          { type: 'tool_use', id: 'toolu_A', name: 'a', input: { q: 'say "hi"' } },
          { type: 'tool_use', id: 'toolu_B', name: 'b', input: {} },
        ],
      }),
      parsedFor(),
      META,
      options(),
    );
    const m = c.choices[0].message;
    assert.equal(m.content, null);
    assert.deepEqual(m.tool_calls, [
      { id: 'toolu_A', type: 'function', function: { name: 'a', arguments: '{"q":"say \\"hi\\""}' } },
      { id: 'toolu_B', type: 'function', function: { name: 'b', arguments: '{}' } },
    ]);
    assert.equal(c.choices[0].finish_reason, 'tool_calls');
  });

  it('legacy clients get function_call and finish_reason function_call', () => {
    const c = renderChatCompletion(
      message({
        stop_reason: 'tool_use',
        content: [{ type: 'tool_use', id: 'toolu_A', name: 'f', input: { x: 1 } }],
      }),
      parsedFor({ legacyFunctions: true }),
      META,
      options(),
    );
    assert.deepEqual(c.choices[0].message.function_call, { name: 'f', arguments: '{"x":1}' });
    assert.equal(c.choices[0].message.tool_calls, undefined);
    assert.equal(c.choices[0].finish_reason, 'function_call');
  });

  it('the forced response_format tool becomes the content', () => {
    const c = renderChatCompletion(
      message({
        stop_reason: 'tool_use',
        content: [{ type: 'tool_use', id: 'toolu_J', name: 'answer', input: { n: 4 } }],
      }),
      parsedFor({ jsonTool: 'answer' }),
      META,
      options(),
    );
    assert.equal(c.choices[0].message.content, '{"n":4}');
    assert.equal(c.choices[0].message.tool_calls, undefined);
    assert.equal(c.choices[0].finish_reason, 'stop');
  });

  it('thinking per reasoningOutput', () => {
    const msg = message({
      content: [
        { type: 'thinking', thinking: 'hmm', signature: 's' },
        { type: 'redacted_thinking', data: 'x' },
        { type: 'text', text: 'answer' },
      ],
    });
    const rc = renderChatCompletion(msg, parsedFor(), META, options()).choices[0].message;
    assert.equal(rc.reasoning_content, 'hmm');
    assert.equal(rc.content, 'answer');
    const tags = renderChatCompletion(msg, parsedFor(), META, options({ reasoningOutput: 'tags' })).choices[0]
      .message;
    assert.equal(tags.content, '<thinking>\nhmm\n</thinking>\n\nanswer');
    assert.equal(tags.reasoning_content, undefined);
    const drop = renderChatCompletion(msg, parsedFor(), META, options({ reasoningOutput: 'drop' })).choices[0]
      .message;
    assert.deepEqual(drop, { role: 'assistant', content: 'answer', refusal: null });
  });

  it('refusal: the explanation, content_filter', () => {
    const c = renderChatCompletion(
      message({ stop_reason: 'refusal', stop_details: { type: 'refusal', explanation: 'Not allowed.' } }),
      parsedFor(),
      META,
      options(),
    );
    assert.deepEqual(c.choices[0].message, { role: 'assistant', content: null, refusal: 'Not allowed.' });
    assert.equal(c.choices[0].finish_reason, 'content_filter');
    const bare = renderChatCompletion(message({ stop_reason: 'refusal' }), parsedFor(), META, options());
    assert.match(bare.choices[0].message.refusal ?? '', /declined/);
  });

  it('usage counts cached prompt tokens and reasoning tokens when known', () => {
    const c = renderChatCompletion(
      message({
        usage: {
          input_tokens: 3,
          cache_read_input_tokens: 100,
          cache_creation_input_tokens: 20,
          output_tokens: 50,
          output_tokens_details: { thinking_tokens: 30 },
        },
      }),
      parsedFor(),
      META,
      options(),
    );
    assert.deepEqual(c.usage, {
      prompt_tokens: 123,
      completion_tokens: 50,
      total_tokens: 173,
      prompt_tokens_details: { cached_tokens: 100 },
      completion_tokens_details: { reasoning_tokens: 30 },
    });
  });
});
