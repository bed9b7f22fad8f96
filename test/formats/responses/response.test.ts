import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProxyError } from '../../../src/errors.ts';
import { responsesFrontend } from '../../../src/formats/responses/index.ts';
import type { ResponsesHints } from '../../../src/formats/responses/types.ts';
import { reply } from '../../support/replies.ts';
import type { FakeResponse } from '../../support/types.ts';
import { accumulate, anthropicEvents, META, type Obj, options, parsedFor } from './helpers.ts';

/** The whole-answer rendering of a scripted reply. */
function rendered(r: FakeResponse, hints: Partial<ResponsesHints> = {}): Obj {
  const msg = accumulate(anthropicEvents(r));
  return responsesFrontend.renderMessage(msg, parsedFor(hints), META, options()) as Obj;
}

describe('responses: the response object', () => {
  it('text: one message item with an output_text part; completed; usage in Responses terms', () => {
    const r = rendered(
      reply.text('Hi there.', {
        usage: { input_tokens: 12, output_tokens: 4, cache_read_input_tokens: 100 },
      }),
    );
    assert.equal(r.id, 'resp_req_test');
    assert.equal(r.object, 'response');
    assert.equal(r.created_at, META.created);
    assert.equal(r.model, 'gpt-5');
    assert.equal(r.status, 'completed');
    assert.equal(r.error, null);
    assert.equal(r.incomplete_details, null);
    assert.deepEqual(r.output, [
      {
        id: 'msg_req_test_0',
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', annotations: [], logprobs: [], text: 'Hi there.' }],
      },
    ]);
    assert.deepEqual(r.usage, {
      input_tokens: 112,
      input_tokens_details: { cached_tokens: 100 },
      output_tokens: 4,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 116,
    });
    assert.deepEqual(r.tools, [], 'the echoed settings follow');
  });

  it('thinking: a reasoning item with the text as summary; the signature only when included', () => {
    const script = reply.thinking('Think first.', 'Answer.', { signature: 'EqSIG' });
    const plain = rendered(script);
    assert.deepEqual(plain.output[0], {
      id: 'rs_req_test_0',
      type: 'reasoning',
      summary: [{ type: 'summary_text', text: 'Think first.' }],
    });
    assert.equal(plain.output[1].type, 'message');
    const sealed = rendered(script, { encryptedReasoning: true });
    assert.equal(sealed.output[0].encrypted_content, 'EqSIG');
  });

  it('tool calls: function_call items with Claude ids as call_id, names and namespaces as the client has them', () => {
    const r = rendered(
      reply.toolUse(
        [
          { name: 'exec_command', input: { cmd: 'ls' }, id: 'toolu_A' },
          { name: 'multi_agent_v1__exec_command', input: {}, id: 'toolu_B' },
          { name: 'apply_patch', input: { input: '*** Begin Patch\n' }, id: 'toolu_C' },
        ],
        { text: 'On it.' },
      ),
      {
        clientTools: new Map([
          ['multi_agent_v1__exec_command', { name: 'exec_command', namespace: 'multi_agent_v1' }],
          ['apply_patch', { name: 'apply_patch', custom: true }],
        ]),
      },
    );
    assert.equal(r.status, 'completed');
    assert.deepEqual(
      r.output.map((i: Obj) => i.type),
      ['message', 'function_call', 'function_call', 'custom_tool_call'],
    );
    assert.deepEqual(r.output[1], {
      id: 'fc_req_test_1',
      type: 'function_call',
      status: 'completed',
      arguments: '{"cmd":"ls"}',
      call_id: 'toolu_A',
      name: 'exec_command',
    });
    assert.equal(r.output[2].namespace, 'multi_agent_v1');
    assert.equal(r.output[2].name, 'exec_command');
    assert.equal(r.output[2].arguments, '{}');
    assert.deepEqual(r.output[3], {
      id: 'ctc_req_test_3',
      type: 'custom_tool_call',
      call_id: 'toolu_C',
      name: 'apply_patch',
      input: '*** Begin Patch\n',
      status: 'completed',
    });
  });

  it('structured output through the stand-in tool is the message text', () => {
    const r = rendered(reply.toolUse({ name: 'answer', input: { answer: 42 } }), { jsonTool: 'answer' });
    assert.equal(r.output.length, 1);
    assert.equal(r.output[0].content[0].text, '{"answer":42}');
  });

  it('max_tokens → incomplete (max_output_tokens); refusal → incomplete (content_filter) with a refusal part', () => {
    const cut = rendered(reply.maxTokens('Cut off'));
    assert.equal(cut.status, 'incomplete');
    assert.deepEqual(cut.incomplete_details, { reason: 'max_output_tokens' });
    const refused = rendered(reply.refusal());
    assert.equal(refused.status, 'incomplete');
    assert.deepEqual(refused.incomplete_details, { reason: 'content_filter' });
    assert.equal(refused.output[0].content[0].type, 'refusal');
    assert.match(refused.output[0].content[0].refusal, /Usage Policy/);
  });
});

describe('responses: errors', () => {
  it("OpenAI's error shape with the proxy's status", () => {
    const r = responsesFrontend.renderError(ProxyError.invalid('input[2].call_id: nope', 'input[2].call_id'));
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, {
      error: {
        message: 'input[2].call_id: nope',
        type: 'invalid_request_error',
        param: 'input[2].call_id',
        code: null,
      },
    });
    const limited = responsesFrontend.renderError(
      new ProxyError('rate_limited', 'slow down', { retryAfter: 7 }),
    );
    assert.equal(limited.status, 429);
    assert.equal(limited.headers?.['retry-after'], '7');
    assert.equal((limited.body as Obj).error.code, 'rate_limit_exceeded');
  });

  it('a prompt over the context window is context_length_exceeded, the code Codex compacts on', () => {
    const r = responsesFrontend.renderError(
      ProxyError.invalid('prompt is too long: 212345 tokens > 200000 maximum'),
    );
    assert.equal((r.body as Obj).error.code, 'context_length_exceeded');
  });
});
