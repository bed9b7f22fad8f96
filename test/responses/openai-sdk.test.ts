/**
 * The Responses API end to end: the real `openai` npm client's `responses.create`, `.stream` and
 * `.parse` → ccproxy (/api/v1/responses) → the fake Anthropic upstream. Every case checks what the
 * client got and what the upstream received; the tool and reasoning cases play two turns, sending
 * the first response's output back as input the way Codex does (stateless, `store: false`).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import OpenAI from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import type {
  FunctionTool,
  ResponseInputItem,
  ResponseStreamEvent,
} from 'openai/resources/responses/responses';
import { z } from 'zod';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, reply, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

type Obj = Record<string, any>;

const WEATHER: FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Current weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
};

describe('OpenAI SDK responses → /api/v1/responses (API mode)', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;
  let client: OpenAI;

  before(async () => {
    fake = await startFakeUpstream();
    proxy = await startProxy({
      settings: { upstream: { base_url: fake.url } },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
    });
    client = new OpenAI({ baseURL: `${proxy.url}/api/v1`, apiKey: 'client-dummy-key', maxRetries: 0 });
  });
  after(async () => {
    await proxy.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  /** The /v1/messages bodies the fake received, in order. */
  const upstream = (): Obj[] => fake.messages().map((m) => m.body as Obj);

  it('create: a response object for the model asked for; the upstream got a Messages request', async () => {
    fake.enqueue(reply.text('Hi there.', { usage: { input_tokens: 12, output_tokens: 4 } }));
    const { data, response } = await client.responses
      .create({
        model: 'gpt-5',
        instructions: 'Be brief.',
        input: 'Hello',
        max_output_tokens: 100,
        store: true,
      })
      .withResponse();
    assert.equal(data.id, `resp_${response.headers.get('x-request-id')}`);
    assert.equal(data.object, 'response');
    assert.equal(data.status, 'completed');
    assert.equal(data.model, 'gpt-5');
    assert.equal(data.output_text, 'Hi there.');
    assert.equal(data.usage?.input_tokens, 12);
    assert.equal(data.usage?.output_tokens, 4);
    assert.equal(data.usage?.total_tokens, 16);

    const [body] = upstream();
    assert.equal(fake.messages()[0].headers.authorization, `Bearer ${TEST_ACCESS_TOKEN}`);
    assert.equal(body.model, 'claude-opus-5-5', 'gpt-5 maps to Opus');
    assert.equal(body.max_tokens, 100);
    assert.equal(body.stream, undefined);
    assert.equal(body.system.at(-1).text, 'Be brief.');
    assert.equal(body.messages[0].content[0].text, 'Hello');
  });

  it('stream: every event in order with increasing sequence numbers; finalResponse() is the answer', async () => {
    fake.enqueue(reply.text('one two three four', { deltas: 4 }));
    const stream = client.responses.stream({ model: 'gpt-4.1', input: 'count' });
    const events: ResponseStreamEvent[] = [];
    for await (const ev of stream) events.push(ev);
    const final = await stream.finalResponse();
    assert.deepEqual(
      events.map((e) => e.sequence_number),
      events.map((_, i) => i),
    );
    assert.equal(events[0].type, 'response.created');
    assert.equal(events.at(-1)?.type, 'response.completed');
    const deltas = events.filter((e) => e.type === 'response.output_text.delta');
    assert.equal(deltas.length, 4);
    assert.equal(final.output_text, 'one two three four');
    assert.equal(upstream()[0].stream, true);
    assert.equal(upstream()[0].model, 'claude-sonnet-5-5');
  });

  it('a function tool round trip: function_call, then function_call_output on the next turn', async () => {
    fake.enqueue(
      reply.toolUse({ name: 'get_weather', input: { city: 'Paris' } }, { text: 'Let me look.' }),
      reply.text('Sunny in Paris.'),
    );
    const input: ResponseInputItem[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await client.responses
      .stream({ model: 'gpt-5', input, tools: [WEATHER], store: false })
      .finalResponse();
    const call = first.output.find((i) => i.type === 'function_call');
    assert.ok(call && call.type === 'function_call');
    assert.equal(call.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' });
    assert.match(call.call_id, /^toolu_/);

    input.push(...(first.output as ResponseInputItem[]), {
      type: 'function_call_output',
      call_id: call.call_id,
      output: '22°C and sunny',
    });
    const second = await client.responses.create({ model: 'gpt-5', input, tools: [WEATHER], store: false });
    assert.equal(second.output_text, 'Sunny in Paris.');

    const turn2 = upstream()[1];
    assert.deepEqual(
      turn2.messages.map((m: Obj) => m.role),
      ['user', 'assistant', 'user'],
    );
    assert.deepEqual(turn2.messages[1].content, [
      { type: 'text', text: 'Let me look.' },
      { type: 'tool_use', id: call.call_id, name: 'get_weather', input: { city: 'Paris' } },
    ]);
    assert.deepEqual(turn2.messages[2].content[0], {
      type: 'tool_result',
      tool_use_id: call.call_id,
      content: '22°C and sunny',
      cache_control: { type: 'ephemeral' },
    });
    assert.equal(turn2.tools[0].name, 'get_weather');
  });

  it('reasoning with encrypted_content: the thinking block returns with its signature on the next turn', async () => {
    fake.enqueue(
      reply.message(
        [
          {
            type: 'thinking',
            thinking: 'The user wants the weather; call the tool.',
            signature: 'EqSignatureFromClaude==',
          },
          { type: 'tool_use', name: 'get_weather', input: { city: 'Oslo' } },
        ],
        { stopReason: 'tool_use' },
      ),
      reply.thinking('It is cold.', 'Cold in Oslo.'),
    );
    const params = {
      model: 'o3',
      reasoning: { effort: 'low' as const, summary: 'auto' as const },
      include: ['reasoning.encrypted_content' as const],
      tools: [WEATHER],
      store: false,
    };
    const input: ResponseInputItem[] = [{ role: 'user', content: 'Weather in Oslo?' }];
    const summaries: string[] = [];
    const stream = client.responses.stream({ ...params, input });
    stream.on('response.reasoning_summary_text.delta', (e) => summaries.push(e.delta));
    const first = await stream.finalResponse();
    const rs = first.output[0];
    assert.ok(rs.type === 'reasoning');
    assert.equal(rs.encrypted_content, 'EqSignatureFromClaude==');
    assert.equal(rs.summary[0].text, 'The user wants the weather; call the tool.');
    assert.equal(summaries.join(''), rs.summary[0].text);
    assert.deepEqual(upstream()[0].thinking, { type: 'adaptive' });

    const call = first.output[1];
    assert.ok(call.type === 'function_call');
    input.push(...(first.output as ResponseInputItem[]), {
      type: 'function_call_output',
      call_id: call.call_id,
      output: '-3°C',
    });
    const second = await client.responses.create({ ...params, input });
    assert.equal(second.output_text, 'Cold in Oslo.');

    const turn2 = upstream()[1];
    assert.deepEqual(turn2.messages[1].content[0], {
      type: 'thinking',
      thinking: 'The user wants the weather; call the tool.',
      signature: 'EqSignatureFromClaude==',
    });
    assert.deepEqual(turn2.thinking, { type: 'adaptive' }, 'with its thinking kept, the tool loop may think');
  });

  it('json_schema: responses.parse() with zodTextFormat → native structured output', async () => {
    fake.enqueue(reply.text('{"city":"Paris","celsius":21}'));
    const Weather = z.object({ city: z.string(), celsius: z.number() });
    const r = await client.responses.parse({
      model: 'gpt-5',
      input: 'Weather in Paris as JSON',
      text: { format: zodTextFormat(Weather, 'weather') },
    });
    assert.deepEqual(r.output_parsed, { city: 'Paris', celsius: 21 });
    const format = upstream()[0].output_config.format;
    assert.equal(format.type, 'json_schema');
    assert.deepEqual(Object.keys(format.schema.properties), ['city', 'celsius']);
  });

  it('json_schema on a model without structured outputs → a forced tool, streamed as text', async () => {
    fake.enqueue(reply.toolUse({ name: 'weather', input: { city: 'Rome', celsius: 25 } }));
    const Weather = z.object({ city: z.string(), celsius: z.number() });
    const stream = client.responses.stream({
      model: 'claude-3-7-sonnet-latest',
      input: 'Weather in Rome as JSON',
      text: { format: zodTextFormat(Weather, 'weather') },
    });
    const final = await stream.finalResponse();
    assert.deepEqual(final.output_parsed, { city: 'Rome', celsius: 25 });
    assert.deepEqual(upstream()[0].tool_choice, { type: 'tool', name: 'weather' });
  });

  describe('errors', () => {
    it('previous_response_id: 400 saying the proxy is stateless, as a BadRequestError with param', async () => {
      await assert.rejects(
        client.responses.create({ model: 'gpt-5', input: 'more', previous_response_id: 'resp_abc' }),
        (err: unknown) =>
          err instanceof OpenAI.BadRequestError &&
          err.param === 'previous_response_id' &&
          /stateless/.test(err.message) &&
          err.type === 'invalid_request_error',
      );
      assert.equal(fake.messages().length, 0);
    });

    it('a bad item: 400 naming the item and field', async () => {
      await assert.rejects(
        client.responses.create({
          model: 'gpt-5',
          input: [{ type: 'function_call_output', call_id: 'call_unknown', output: 'x' }],
        }),
        (err: unknown) => err instanceof OpenAI.BadRequestError && err.param === 'input[0].call_id',
      );
    });
    // Upstream faults, a 405 and the rest: test/resilience/faults.test.ts, in every format.
  });
});
