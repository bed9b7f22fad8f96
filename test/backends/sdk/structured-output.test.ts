/**
 * Structured output in SDK mode, through the server with the real clients and the real Claude Code
 * binary: the answer tool (the stand-in for `response_format` / `output_config.format`) ends the
 * agent's turn, so the run is complete — never suspended for a result no client will send — and its
 * input is the answer's text.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { AnswerAsText } from '../../../src/backends/sdk/client-tools.ts';
import type { StreamEvent } from '../../../src/formats/anthropic/types.ts';
import { startProxy, type TestProxy } from '../../helpers/proxy.ts';
import { reply } from '../../support/fake-upstream.ts';
import { eventually, type Harness, pool, startHarness } from './harness.ts';

type Obj = Record<string, any>;

const ANSWER_TOOL = 'mcp__ccproxy_client__json_response';

const PERSON = {
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer' } },
  required: ['name', 'age'],
  additionalProperties: false,
};

describe('SDK mode: structured output with one agent slot', () => {
  let h: Harness;
  let proxy: TestProxy;
  let openai: OpenAI;

  before(async () => {
    // One slot: an agent left waiting for a tool result nobody sends would block every next request.
    h = await startHarness({ claude: { max_concurrent_agents: 1, queue_timeout_s: 5 } });
    proxy = await startProxy({ settings: { claude: { cwd: h.cwd } }, app: { backends: { sdk: h.backend } } });
    openai = new OpenAI({ baseURL: `${proxy.url}/sdk/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await proxy.close();
    await h.close();
  });
  beforeEach(() => h.fake.reset());

  /** The agents have settled (no turn being read to its end). */
  const settled = () =>
    eventually(
      async () => ((await h.backend.status()).processes as Obj).busy_agents === 0,
      'the agents to settle',
    );

  it('json_object twice in a row: both answered, nothing suspended, no model call after the answer', async () => {
    for (const n of [1, 2]) {
      h.fake.enqueue(reply.toolUse({ name: ANSWER_TOOL, input: { n } }));
      const done = await openai.chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: `json number ${n}` }],
        response_format: { type: 'json_object' },
      });
      assert.deepEqual(JSON.parse(done.choices[0].message.content ?? ''), { n });
      assert.equal(done.choices[0].finish_reason, 'stop');
      assert.equal(done.choices[0].message.tool_calls, undefined);
    }
    await settled();
    assert.equal((await pool(h.backend)).suspended_runs, 0);
    // The answer tool's result ended each turn: one model call per request.
    assert.equal(h.fake.messages().length, 2);
  });

  it('json_schema on a Claude 4.5+ model: the schema reaches the agent; parse() gets the object', async () => {
    h.fake.enqueue(reply.toolUse({ name: ANSWER_TOOL, input: { name: 'Bob', age: 3 } }));
    const done = await openai.chat.completions.parse({
      model: 'claude-sonnet-4-5',
      messages: [{ role: 'user', content: 'make a person' }],
      response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: PERSON } },
    });
    assert.deepEqual(done.choices[0].message.parsed, { name: 'Bob', age: 3 });
    const body = h.fake.messages()[0].body as Obj;
    assert.equal(body.output_config?.format, undefined);
    const tool = (body.tools as Obj[]).find((t) => t.name === ANSWER_TOOL);
    assert.deepEqual(Object.keys(tool?.input_schema.properties ?? {}), ['name', 'age']);
    await settled();
    assert.equal((await pool(h.backend)).suspended_runs, 0);
  });

  it('streamed, after a preamble: the content is the JSON alone', async () => {
    h.fake.enqueue(
      reply.toolUse({ name: ANSWER_TOOL, input: { name: 'Ada', age: 36 } }, { text: 'Here you go.' }),
    );
    const stream = openai.chat.completions.stream({
      model: 'claude-sonnet-4-5',
      messages: [{ role: 'user', content: 'another person' }],
      response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: PERSON } },
    });
    const done = await stream.finalChatCompletion();
    assert.deepEqual(JSON.parse(done.choices[0].message.content ?? ''), { name: 'Ada', age: 36 });
    assert.equal(done.choices[0].finish_reason, 'stop');
  });

  it('Anthropic client with output_config.format: a text block of JSON, end_turn', async () => {
    const anthropic = new Anthropic({ baseURL: `${proxy.url}/sdk`, apiKey: 'unused', maxRetries: 0 });
    h.fake.enqueue(reply.toolUse({ name: ANSWER_TOOL, input: { name: 'Lin', age: 7 } }));
    const msg = await anthropic.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'a person please' }],
      output_config: { format: { type: 'json_schema', schema: PERSON } },
    } as Anthropic.MessageCreateParamsNonStreaming);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(msg.content.length, 1);
    assert.deepEqual(JSON.parse((msg.content[0] as Anthropic.TextBlock).text), { name: 'Lin', age: 7 });
  });

  it('Responses API text.format: output_text is the JSON', async () => {
    h.fake.enqueue(reply.toolUse({ name: ANSWER_TOOL, input: { name: 'Kim', age: 40 } }));
    const res = await openai.responses.create({
      model: 'claude-sonnet-4-5',
      input: 'one more person',
      text: { format: { type: 'json_schema', name: 'person', strict: true, schema: PERSON } },
    });
    assert.deepEqual(JSON.parse(res.output_text), { name: 'Kim', age: 40 });
  });

  it('a stateless chat goes on with the agent that gave the JSON answer', async () => {
    h.fake.enqueue(reply.toolUse({ name: ANSWER_TOOL, input: { city: 'Oslo' } }));
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'a city as json' }];
    const first = await openai.chat.completions.create({
      model: 'gpt-4o',
      messages,
      response_format: { type: 'json_object' },
    });
    await settled();
    const reuses = (await pool(h.backend)).conversation_reuses;
    messages.push(first.choices[0].message, { role: 'user', content: 'Why that one?' });
    h.fake.enqueue(reply.text('It is cold.'));
    const second = await openai.chat.completions.create({ model: 'gpt-4o', messages });
    assert.equal(second.choices[0].message.content, 'It is cold.');
    assert.equal((await pool(h.backend)).conversation_reuses, reuses + 1);
  });

  it('in a session: the answered turn keeps the agent for the next turn', async () => {
    const session = new OpenAI({
      baseURL: `${proxy.url}/sdk/v1`,
      apiKey: 'unused',
      maxRetries: 0,
      defaultHeaders: { 'x-ccproxy-session-id': 'structured' },
    });
    h.fake.enqueue(reply.toolUse({ name: ANSWER_TOOL, input: { ok: true } }));
    const first = await session.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'json please' }],
      response_format: { type: 'json_object' },
    });
    assert.deepEqual(JSON.parse(first.choices[0].message.content ?? ''), { ok: true });
    const reuses = (await pool(h.backend)).session_reuses;
    h.fake.enqueue(reply.text('Plain again.'));
    const second = await session.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'now in words' }],
    });
    assert.equal(second.choices[0].message.content, 'Plain again.');
    assert.equal((await pool(h.backend)).session_reuses, reuses + 1);
  });
});

describe('AnswerAsText', () => {
  const run = (events: StreamEvent[]) => {
    const t = new AnswerAsText('json_response');
    return events.flatMap((e) => t.push(e));
  };
  const text = (index: number, s: string): StreamEvent[] => [
    { type: 'content_block_start', index, content_block: { type: 'text', text: '' } },
    { type: 'content_block_delta', index, delta: { type: 'text_delta', text: s } },
    { type: 'content_block_stop', index },
  ];
  const call = (index: number, name: string, json: string): StreamEvent[] => [
    {
      type: 'content_block_start',
      index,
      content_block: { type: 'tool_use', id: `t${index}`, name, input: {} },
    },
    { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json } },
    { type: 'content_block_stop', index },
  ];
  const end = (stop: 'tool_use' | 'end_turn'): StreamEvent => ({
    type: 'message_delta',
    delta: { stop_reason: stop, stop_sequence: null },
    usage: { output_tokens: 1 },
  });

  it('the answer call becomes a text block at index 0; text before it is dropped; end_turn', () => {
    const out = run([...text(0, 'Sure:'), ...call(1, 'json_response', '{"a":1}'), end('tool_use')]);
    assert.deepEqual(out, [
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: '{"a":1}' } },
      { type: 'content_block_stop', index: 0 },
      { ...end('end_turn') },
    ]);
  });

  it('no answer call: the held text comes out at the end, as it was', () => {
    const out = run([...text(0, 'In prose.'), end('end_turn')]);
    assert.deepEqual(out, [...text(0, 'In prose.'), end('end_turn')]);
  });

  it("a client's own call: the text before it comes out first, and the stop stays tool_use", () => {
    const out = run([...text(0, 'Checking.'), ...call(1, 'get_weather', '{}'), end('tool_use')]);
    assert.deepEqual(out, [...text(0, 'Checking.'), ...call(1, 'get_weather', '{}'), end('tool_use')]);
  });
});
