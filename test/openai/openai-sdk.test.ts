/**
 * OpenAI compatibility end to end: the real `openai` npm client → ccproxy (/api/v1) → the fake
 * Anthropic upstream. Every case checks what the client got and what the upstream received.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import type {
  ChatCompletionChunk,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import { z } from 'zod';
import type { RequestRecord } from '../../src/observability/lifecycle.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, reply, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

type Obj = Record<string, any>;

/** A 1×1 PNG. */
const PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

const WEATHER: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
    },
  },
};

const IDENTITY = "You are Claude Code, Anthropic's official CLI for Claude.";

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const c of stream) chunks.push(c);
  return chunks;
}

describe('OpenAI SDK → /api/v1 (API mode)', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;
  let client: OpenAI;
  const records: RequestRecord[] = [];

  before(async () => {
    fake = await startFakeUpstream();
    proxy = await startProxy({
      settings: { upstream: { base_url: fake.url } },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
    });
    proxy.proxy.lifecycle.subscribe((ev, r) => ev === 'end' && records.push(r));
    client = new OpenAI({ baseURL: `${proxy.url}/api/v1`, apiKey: 'client-dummy-key', maxRetries: 0 });
  });
  after(async () => {
    await proxy.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    records.length = 0;
  });

  /** The one /v1/messages body the fake received (asserting there was exactly one). */
  const upstreamBody = (): Obj => {
    const msgs = fake.messages();
    assert.equal(msgs.length, 1, `expected one upstream request, got ${msgs.length}`);
    return msgs[0].body as Obj;
  };

  describe('answers', () => {
    it('create (non-stream): a chat.completion for the model asked for; the upstream got a Messages request', async () => {
      fake.enqueue(reply.text('Hi there.', { usage: { input_tokens: 12, output_tokens: 4 } }));
      const { data, response, request_id } = await client.chat.completions
        .create({
          model: 'gpt-4o',
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'Hello' },
          ],
          max_completion_tokens: 100,
          temperature: 0.5,
          stop: ['END'],
          user: 'user-42',
        })
        .withResponse();

      const requestId = response.headers.get('x-request-id');
      assert.ok(requestId);
      assert.equal(request_id, requestId);
      assert.equal(data.id, `chatcmpl-${requestId}`);
      assert.equal(data.object, 'chat.completion');
      assert.equal(data.model, 'gpt-4o', 'the model name the client asked for');
      assert.equal(data.choices.length, 1);
      assert.equal(data.choices[0].message.role, 'assistant');
      assert.equal(data.choices[0].message.content, 'Hi there.');
      assert.equal(data.choices[0].message.refusal, null);
      assert.equal(data.choices[0].finish_reason, 'stop');
      assert.equal(data.usage?.prompt_tokens, 12);
      assert.equal(data.usage?.completion_tokens, 4);
      assert.equal(data.usage?.total_tokens, 16);

      const got = fake.messages()[0];
      assert.equal(got.headers.authorization, `Bearer ${TEST_ACCESS_TOKEN}`);
      assert.doesNotMatch(JSON.stringify(got.headers), /client-dummy-key/);
      const body = upstreamBody();
      assert.equal(body.model, 'claude-sonnet-5-5', 'gpt-4o maps to Sonnet');
      assert.equal(body.max_tokens, 100);
      assert.equal(body.stream, undefined);
      assert.deepEqual(body.stop_sequences, ['END']);
      assert.deepEqual(body.metadata, { user_id: 'user-42' });
      // Claude 5 models take no sampling parameters: dropped, not an error.
      assert.equal(body.temperature, undefined);
      assert.equal(body.system[0].text, IDENTITY);
      assert.equal(body.system[1].text, 'Be brief.');
      assert.deepEqual(body.messages, [{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }]);
    });

    it('create (stream): role first, text deltas, finish_reason, one id throughout; no usage without include_usage', async () => {
      fake.enqueue(reply.text('one two three four', { deltas: 4 }));
      const { data: stream, response } = await client.chat.completions
        .create({
          model: 'gpt-4.1',
          messages: [{ role: 'user', content: 'count' }],
          stream: true,
        })
        .withResponse();
      assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
      const chunks = await collect(stream);
      assert.equal(chunks[0].id, `chatcmpl-${response.headers.get('x-request-id')}`);

      assert.ok(chunks.length >= 6, 'role chunk, four deltas, finish chunk');
      assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one id for every chunk');
      assert.equal(new Set(chunks.map((c) => c.created)).size, 1);
      for (const c of chunks) {
        assert.equal(c.object, 'chat.completion.chunk');
        assert.equal(c.model, 'gpt-4.1');
        assert.equal(c.choices.length, 1);
        assert.ok(!('usage' in c) || c.usage === undefined, 'no usage field without include_usage');
      }
      assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '', refusal: null });
      const text = chunks.map((c) => c.choices[0].delta.content ?? '').join('');
      assert.equal(text, 'one two three four');
      const deltas = chunks.filter((c) => c.choices[0].delta.content);
      assert.ok(deltas.length >= 4, 'text arrives in pieces');
      assert.equal(chunks.at(-1)?.choices[0].finish_reason, 'stop');
      assert.equal(chunks.filter((c) => c.choices[0].finish_reason).length, 1);
      assert.equal(upstreamBody().stream, true);
      assert.equal(upstreamBody().model, 'claude-sonnet-5-5');
    });

    it('stream_options.include_usage: usage: null on every chunk, then a last chunk with choices [] and the usage', async () => {
      fake.enqueue(
        reply.text('cached answer', {
          usage: { input_tokens: 10, output_tokens: 3, cache_read_input_tokens: 90 },
        }),
      );
      const chunks = await collect(
        await client.chat.completions.create({
          model: 'gpt-4o',
          messages: [{ role: 'user', content: 'x' }],
          stream: true,
          stream_options: { include_usage: true },
        }),
      );
      const last = chunks.at(-1)!;
      assert.deepEqual(last.choices, []);
      assert.equal(last.usage?.prompt_tokens, 100, 'input + cache read');
      assert.equal(last.usage?.prompt_tokens_details?.cached_tokens, 90);
      assert.equal(last.usage?.completion_tokens, 3);
      assert.equal(last.usage?.total_tokens, 103);
      for (const c of chunks.slice(0, -1)) {
        assert.equal(c.usage, null);
        assert.equal(c.choices.length, 1);
      }
      assert.equal(chunks.at(-2)?.choices[0].finish_reason, 'stop');
      assert.equal(chunks.filter((c) => c.choices.length === 0).length, 1, 'exactly one usage chunk');
    });

    it('chat.completions.stream(...).finalChatCompletion() assembles the answer, with content events on the way', async () => {
      fake.enqueue(reply.text('Streaming works fine.', { deltas: 3 }));
      const runner = client.chat.completions.stream({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'x' }],
      });
      const deltas: string[] = [];
      runner.on('content', (d) => deltas.push(d));
      const final = await runner.finalChatCompletion();
      assert.equal(final.choices[0].message.content, 'Streaming works fine.');
      assert.equal(final.choices[0].finish_reason, 'stop');
      assert.equal(final.model, 'gpt-4o-mini');
      assert.equal(deltas.join(''), 'Streaming works fine.');
      assert.ok(deltas.length >= 3);
      assert.equal(upstreamBody().model, 'claude-haiku-5-5', 'gpt-*-mini maps to Haiku');
    });

    it('a Claude model id passes through; unicode split inside characters arrives intact', async () => {
      fake.enqueue(reply.unicode());
      const final = await client.chat.completions
        .stream({ model: 'claude-opus-4-6', messages: [{ role: 'user', content: 'x' }] })
        .finalChatCompletion();
      assert.match(final.choices[0].message.content ?? '', /👋🏽.*你好.*🇫🇷/);
      assert.equal(upstreamBody().model, 'claude-opus-4-6');
    });
  });

  describe('tools', () => {
    it('a full round trip with two parallel calls, streamed: call → tool messages → answer', async () => {
      fake.enqueue(
        reply.toolUse(
          [
            { name: 'get_weather', input: { city: 'Paris' }, fragments: 4 },
            { name: 'get_weather', input: { city: 'Tokyo' }, fragments: 4 },
          ],
          { text: 'Checking both.' },
        ),
      );
      const messages: ChatCompletionMessageParam[] = [
        { role: 'user', content: 'Weather in Paris and Tokyo?' },
      ];
      const runner = client.chat.completions.stream({ model: 'gpt-4o', messages, tools: [WEATHER] });
      const chunks: ChatCompletionChunk[] = [];
      runner.on('chunk', (c) => chunks.push(c));
      const first = await runner.finalChatCompletion();

      const msg = first.choices[0].message;
      assert.equal(first.choices[0].finish_reason, 'tool_calls');
      assert.equal(msg.content, 'Checking both.');
      const calls = msg.tool_calls ?? [];
      assert.equal(calls.length, 2);
      const fnCalls = calls.map((c) => {
        assert.equal(c.type, 'function');
        if (c.type !== 'function') throw new Error('not a function call');
        return c;
      });
      assert.deepEqual(
        fnCalls.map((c) => [c.function.name, JSON.parse(c.function.arguments)]),
        [
          ['get_weather', { city: 'Paris' }],
          ['get_weather', { city: 'Tokyo' }],
        ],
      );
      for (const c of fnCalls) assert.match(c.id, /^toolu_/);
      assert.notEqual(fnCalls[0].id, fnCalls[1].id);

      // On the wire: each call opens with index, id, type, name and empty arguments; fragments follow.
      const toolDeltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
      const opens = toolDeltas.filter((d) => d.id);
      assert.deepEqual(
        opens.map((d) => [d.index, d.id, d.type, d.function?.name, d.function?.arguments]),
        fnCalls.map((c, i) => [i, c.id, 'function', 'get_weather', '']),
      );
      assert.ok(toolDeltas.filter((d) => !d.id && d.index === 1).length >= 2, 'arguments stream in pieces');

      const upstreamFirst = upstreamBody();
      assert.deepEqual(upstreamFirst.tools, [
        {
          name: 'get_weather',
          description: 'Current weather in a city',
          input_schema: WEATHER.function.parameters,
        },
      ]);

      fake.reset();
      fake.enqueue(reply.text('Paris is sunny, Tokyo is rainy.'));
      messages.push(msg as ChatCompletionMessageParam);
      messages.push({ role: 'tool', tool_call_id: fnCalls[0].id, content: 'sunny, 21°C' });
      messages.push({ role: 'tool', tool_call_id: fnCalls[1].id, content: 'rainy, 14°C' });
      const second = await client.chat.completions.create({ model: 'gpt-4o', messages, tools: [WEATHER] });
      assert.equal(second.choices[0].message.content, 'Paris is sunny, Tokyo is rainy.');
      assert.equal(second.choices[0].finish_reason, 'stop');

      const body = upstreamBody();
      assert.equal(body.messages.length, 3);
      assert.deepEqual(body.messages[1], {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking both.' },
          { type: 'tool_use', id: fnCalls[0].id, name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: fnCalls[1].id, name: 'get_weather', input: { city: 'Tokyo' } },
        ],
      });
      assert.deepEqual(body.messages[2], {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: fnCalls[0].id, content: 'sunny, 21°C' },
          { type: 'tool_result', tool_use_id: fnCalls[1].id, content: 'rainy, 14°C' },
        ],
      });
    });

    it('runTools: the SDK runs both functions and returns the final answer (non-stream)', async () => {
      fake.enqueue(
        reply.toolUse([
          { name: 'get_weather', input: { city: 'Paris' } },
          { name: 'get_weather', input: { city: 'Tokyo' } },
        ]),
      );
      // Then the fake's default: after tool results it quotes them.
      const ran: string[] = [];
      const runner = client.chat.completions.runTools({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'Weather in Paris and Tokyo?' }],
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              description: 'Current weather in a city',
              parameters: WEATHER.function.parameters as Obj,
              parse: (input: string) => JSON.parse(input) as { city: string },
              function: (args: { city: string }) => {
                ran.push(args.city);
                return `${args.city}: sunny`;
              },
            },
          },
        ],
      });
      const content = await runner.finalContent();
      assert.deepEqual(ran, ['Paris', 'Tokyo']);
      assert.equal(content, 'The tool returned:\nParis: sunny\nTokyo: sunny');
      const sent = fake.messages();
      assert.equal(sent.length, 2);
      const results = (sent[1].body as Obj).messages[2].content as Obj[];
      assert.deepEqual(
        results.map((b) => [b.type, b.content]),
        [
          ['tool_result', 'Paris: sunny'],
          ['tool_result', 'Tokyo: sunny'],
        ],
      );
    });

    it('tool_choice and parallel_tool_calls become Anthropic tool_choice', async () => {
      fake.enqueue(reply.toolUse({ name: 'get_weather', input: { city: 'Oslo' } }));
      const res = await client.chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'Oslo?' }],
        tools: [WEATHER],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        parallel_tool_calls: false,
      });
      assert.equal(res.choices[0].message.content, null);
      assert.equal(res.choices[0].message.tool_calls?.length, 1);
      assert.deepEqual(upstreamBody().tool_choice, {
        type: 'tool',
        name: 'get_weather',
        disable_parallel_tool_use: true,
      });
    });
  });

  describe('input and options', () => {
    it('an image as a data URL reaches the upstream as a base64 image block', async () => {
      fake.enqueue(reply.text('A single pixel.'));
      const res = await client.chat.completions.create({
        model: 'gpt-4o',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_BASE64}`, detail: 'low' } },
            ],
          },
        ],
      });
      assert.equal(res.choices[0].message.content, 'A single pixel.');
      assert.deepEqual(upstreamBody().messages[0].content, [
        { type: 'text', text: 'What is this?' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_BASE64 } },
      ]);
    });

    it('response_format json_schema → native output_config.format; the client parses the JSON content', async () => {
      const Person = z.object({ name: z.string(), age: z.number() });
      fake.enqueue(reply.text('{"name":"Ada","age":36}'));
      const res = await client.chat.completions.parse({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'Who wrote the first program?' }],
        response_format: zodResponseFormat(Person, 'person'),
      });
      assert.deepEqual(res.choices[0].message.parsed, { name: 'Ada', age: 36 });
      assert.equal(res.choices[0].finish_reason, 'stop');

      const body = upstreamBody();
      assert.equal(body.tools, undefined);
      assert.equal(body.output_config.format.type, 'json_schema');
      const schema = body.output_config.format.schema;
      assert.equal(schema.type, 'object');
      assert.deepEqual(Object.keys(schema.properties).sort(), ['age', 'name']);
      assert.equal(schema.additionalProperties, false);
    });

    it('response_format json_schema on a model without structured outputs → a forced tool streamed as content', async () => {
      fake.enqueue(reply.toolUse({ name: 'person', input: { name: 'Ada', age: 36 }, fragments: 3 }));
      const Person = z.object({ name: z.string(), age: z.number() });
      const format = zodResponseFormat(Person, 'person');
      const runner = client.chat.completions.stream({
        model: 'claude-sonnet-4-0',
        messages: [{ role: 'user', content: 'Who?' }],
        response_format: format,
      });
      const final = await runner.finalChatCompletion();
      const msg = final.choices[0].message;
      assert.equal(msg.tool_calls?.length ?? 0, 0, 'the stand-in tool is not a call to the client');
      assert.deepEqual(JSON.parse(msg.content ?? ''), { name: 'Ada', age: 36 });
      assert.deepEqual(msg.parsed, { name: 'Ada', age: 36 });
      assert.equal(final.choices[0].finish_reason, 'stop');

      const body = upstreamBody();
      assert.equal(body.output_config, undefined);
      assert.deepEqual(body.tool_choice, { type: 'tool', name: 'person' });
      assert.equal(body.tools[0].name, 'person');
      assert.deepEqual(body.tools[0].input_schema, format.json_schema.schema);
    });

    it('reasoning_effort on an adaptive model → adaptive thinking + effort; thinking returns as reasoning_content', async () => {
      fake.enqueue(reply.thinking('Let me weigh this.', 'Forty-two.'));
      const res = await client.chat.completions.create({
        model: 'gpt-5',
        messages: [{ role: 'user', content: 'Meaning of life?' }],
        reasoning_effort: 'high',
      });
      const msg = res.choices[0].message as (typeof res.choices)[0]['message'] & {
        reasoning_content?: string;
      };
      assert.equal(msg.content, 'Forty-two.');
      assert.equal(msg.reasoning_content, 'Let me weigh this.');
      const body = upstreamBody();
      assert.equal(body.model, 'claude-opus-5-5');
      assert.deepEqual(body.thinking, { type: 'adaptive' });
      assert.equal(body.output_config.effort, 'high');
    });

    it('reasoning_effort on an older model → a thinking budget inside max_tokens; streamed reasoning deltas', async () => {
      fake.enqueue(reply.thinking('Step one, step two.', 'Done.'));
      const chunks = await collect(
        await client.chat.completions.create({
          model: 'claude-sonnet-4-5',
          messages: [{ role: 'user', content: 'x' }],
          reasoning_effort: 'medium',
          max_completion_tokens: 20000,
          stream: true,
        }),
      );
      const reasoning = chunks
        .map(
          (c) => (c.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? '',
        )
        .join('');
      assert.equal(reasoning, 'Step one, step two.');
      assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'Done.');
      const body = upstreamBody();
      assert.deepEqual(body.thinking, { type: 'enabled', budget_tokens: 8192 });
      assert.equal(body.max_tokens, 20000);
    });
  });

  describe('errors', () => {
    it('an OpenAI endpoint ccproxy does not serve (embeddings) → NotFoundError in OpenAI shape', async () => {
      await assert.rejects(
        client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' }),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.NotFoundError, String(err));
          assert.deepEqual(Object.keys(err.error as Obj).sort(), ['code', 'message', 'param', 'type']);
          assert.match(err.message, /No route for POST \/api\/v1\/embeddings/);
          assert.match(err.message, /Claude has no embeddings model/);
          return true;
        },
      );
    });

    it('a model the upstream does not know → NotFoundError in OpenAI shape', async () => {
      fake.enqueue(reply.error(404, 'not_found_error', 'model: claude-nonexistent-9'));
      await assert.rejects(
        client.chat.completions.create({
          model: 'claude-nonexistent-9',
          messages: [{ role: 'user', content: 'x' }],
        }),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.NotFoundError, String(err));
          assert.equal(err.status, 404);
          assert.equal(err.type, 'not_found_error');
          assert.match(err.message, /claude-nonexistent-9/);
          assert.deepEqual(Object.keys(err.error as Obj).sort(), ['code', 'message', 'param', 'type']);
          assert.ok(err.requestID, 'x-request-id on errors too');
          return true;
        },
      );
      assert.equal(upstreamBody().model, 'claude-nonexistent-9');
    });

    it('429: the proxy retries a first 429 once, then the SDK honours retry-after and succeeds', async () => {
      fake.enqueue(
        reply.rateLimited({ retryAfterMs: 5 }),
        reply.rateLimited({ retryAfter: 2 }),
        reply.text('finally'),
      );
      const seen: Array<{ status: number; retryAfter: string | null; at: number }> = [];
      const retrying = new OpenAI({
        baseURL: `${proxy.url}/api/v1`,
        apiKey: 'x',
        maxRetries: 1,
        fetch: async (url, init) => {
          const res = await fetch(url, init);
          seen.push({ status: res.status, retryAfter: res.headers.get('retry-after'), at: Date.now() });
          return res;
        },
      });
      const res = await retrying.chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'x' }],
      });
      assert.equal(res.choices[0].message.content, 'finally');
      // Client: 429 (retry-after 2) then 200. Upstream: 429, 429 (the proxy's own retry), 200.
      assert.deepEqual(
        seen.map((s) => [s.status, s.retryAfter]),
        [
          [429, '2'],
          [200, null],
        ],
      );
      const upstream = fake.messages();
      assert.deepEqual(
        upstream.map((r) => r.status),
        [429, 429, 200],
      );
      assert.equal(upstream[2].headers['x-stainless-retry-count'], '1', 'the third call is the SDK retry');
      // The SDK waited the 2 s it was told to, not its own sub-second backoff.
      assert.ok(seen[1].at - seen[0].at >= 1900, `waited ${seen[1].at - seen[0].at} ms`);
    });

    it('429 when retries are spent → RateLimitError with retry-after', async () => {
      fake.enqueue(reply.rateLimited({ retryAfterMs: 5 }), reply.rateLimited({ retryAfter: 30 }));
      await assert.rejects(
        client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.RateLimitError, String(err));
          assert.equal(err.type, 'rate_limit_error');
          assert.equal(err.code, 'rate_limit_exceeded');
          assert.equal(err.headers?.get('retry-after'), '30');
          return true;
        },
      );
    });

    it('529 overloaded (after the proxy retries) → APIError with status 529', async () => {
      fake.enqueue(reply.overloaded(), reply.overloaded(), reply.overloaded());
      await assert.rejects(
        client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.InternalServerError, String(err));
          assert.equal(err.status, 529);
          assert.equal(err.type, 'server_error');
          assert.equal(err.code, 'overloaded');
          assert.match(err.message, /Overloaded/);
          return true;
        },
      );
      assert.equal(fake.messages().length, proxy.settings.upstream.retry.max_attempts);
    });

    it('an error mid-stream → the chunks so far, then an APIError from the error frame', async () => {
      fake.enqueue(reply.streamError({ afterEvents: 4, type: 'overloaded_error', message: 'Overloaded' }));
      const stream = await client.chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
      });
      const got: ChatCompletionChunk[] = [];
      await assert.rejects(
        (async () => {
          for await (const c of stream) got.push(c);
        })(),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.APIError, String(err));
          assert.match(err.message, /Overloaded/);
          assert.equal(err.type, 'server_error');
          assert.equal(err.code, 'overloaded');
          return true;
        },
      );
      assert.ok(got.length >= 2, 'the role chunk and some text came first');
      assert.ok(
        got.every((c) => c.choices[0]?.finish_reason == null),
        'no finish_reason before the error',
      );
      await waitFor(() => records.length === 1);
      assert.equal(records[0].errorKind, 'overloaded');
    });

    it('bad input → 400 BadRequestError naming the field; nothing reaches the upstream', async () => {
      const cases: Array<{ body: Obj; param: string; message: RegExp }> = [
        {
          body: { model: 'gpt-4o', n: 2, messages: [{ role: 'user', content: 'x' }] },
          param: 'n',
          message: /only 1/,
        },
        {
          body: {
            model: 'gpt-4o',
            messages: [
              { role: 'user', content: 'x' },
              { role: 'tool', tool_call_id: 'call_missing', content: 'r' },
            ],
          },
          param: 'messages[1].tool_call_id',
          message: /call_missing/,
        },
        {
          body: {
            model: 'gpt-4o',
            messages: [
              { role: 'user', content: 'x' },
              {
                role: 'assistant',
                tool_calls: [
                  {
                    id: 'call_1',
                    type: 'function',
                    function: { name: 'get_weather', arguments: '{"city": Par' },
                  },
                ],
              },
              { role: 'tool', tool_call_id: 'call_1', content: 'r' },
            ],
          },
          param: 'messages[1].tool_calls[0].function.arguments',
          message: /call_1.*not valid JSON/,
        },
        {
          body: {
            model: 'gpt-4o',
            messages: [
              {
                role: 'user',
                content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }],
              },
            ],
          },
          param: 'messages[0].content[0]',
          message: /audio/,
        },
        { body: { messages: [{ role: 'user', content: 'x' }] }, param: 'model', message: /model/ },
      ];
      for (const c of cases) {
        await assert.rejects(
          client.chat.completions.create(c.body as OpenAI.ChatCompletionCreateParamsNonStreaming),
          (err: unknown) => {
            assert.ok(err instanceof OpenAI.BadRequestError, `${c.param}: ${String(err)}`);
            assert.equal(err.param, c.param);
            assert.equal(err.type, 'invalid_request_error');
            assert.match(err.message, c.message);
            const message = (err.error as { message: string }).message;
            assert.ok(message.startsWith(`${c.param}: `), `the message names ${c.param}: ${message}`);
            return true;
          },
        );
      }
      assert.equal(fake.messages().length, 0);
    });
  });

  describe('the rest of the surface', () => {
    it('models.list(): the Claude models and the OpenAI names that map to them', async () => {
      const ids: string[] = [];
      for await (const m of client.models.list()) {
        assert.equal(m.object, 'model');
        assert.equal(typeof m.created, 'number');
        ids.push(m.id);
      }
      assert.ok(ids.includes('claude-sonnet-5-5'), ids.join(','));
      for (const name of ['gpt-4o', 'gpt-4o-mini', 'gpt-5', 'o3', 'o4-mini', 'sonnet', 'opus', 'haiku']) {
        assert.ok(ids.includes(name), `${name} is listed`);
      }
      assert.equal(new Set(ids).size, ids.length, 'no duplicates');
      // models.retrieve(): a listed name, a name only a prefix rule maps, or OpenAI's 404.
      const listed = await client.models.retrieve('gpt-4o');
      assert.deepEqual(
        { ...listed },
        { id: 'gpt-4o', object: 'model', created: listed.created, owned_by: 'ccproxy' },
      );
      assert.ok(listed.created > 0);
      assert.equal((await client.models.retrieve('claude-sonnet-5-5')).owned_by, 'anthropic');
      // A Claude alias, as chat completions take it: found under its own name, dated like its model.
      const alias = await client.models.retrieve('claude-sonnet-4-5');
      assert.equal(alias.id, 'claude-sonnet-4-5');
      assert.equal(alias.owned_by, 'anthropic');
      assert.equal(alias.created, Date.parse('2025-09-29T00:00:00Z') / 1000);
      assert.equal((await client.models.retrieve('gpt-4o-2024-08-06')).id, 'gpt-4o-2024-08-06');
      await assert.rejects(client.models.retrieve('no-such-model'), (err: unknown) => {
        assert.ok(err instanceof OpenAI.NotFoundError);
        assert.equal(err.code, 'model_not_found');
        assert.equal(err.param, 'model');
        assert.match(err.message, /The model 'no-such-model' does not exist/);
        return true;
      });
    });

    it('a client that disconnects mid-stream aborts the upstream request', async () => {
      fake.enqueue(reply.slow(100, reply.text('a b c d e f g h i j', { deltas: 10 })));
      const ac = new AbortController();
      const stream = await client.chat.completions.create(
        { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], stream: true },
        { signal: ac.signal },
      );
      let n = 0;
      // The SDK ends the iteration quietly when its signal aborts.
      for await (const _ of stream) if (++n === 2) ac.abort();
      assert.equal(n, 2);
      const upstream = await fake.waitForRequest((r) => r.path === '/v1/messages');
      assert.deepEqual(await upstream.ended, { aborted: true });
      await waitFor(() => records.length === 1);
      assert.equal(records[0].clientAborted, true);
    });

    it("x-request-id: the client's own is echoed and becomes the completion id", async () => {
      fake.enqueue(reply.text('x'));
      const { data, response } = await client.chat.completions
        .create(
          { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] },
          { headers: { 'x-request-id': 'my-trace-123' } },
        )
        .withResponse();
      assert.equal(response.headers.get('x-request-id'), 'my-trace-123');
      assert.equal(data.id, 'chatcmpl-my-trace-123');
      assert.ok(response.headers.get('request-id'), "the upstream's request-id is passed on");
      assert.equal(fake.messages()[0].headers['x-request-id'], undefined, 'kept away from the upstream');
    });
  });
});

describe('OpenAI SDK against a proxy with security.auth_token', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;

  before(async () => {
    fake = await startFakeUpstream();
    proxy = await startProxy({
      settings: { upstream: { base_url: fake.url }, security: { auth_token: 'proxy-secret-token' } },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
    });
  });
  after(async () => {
    await proxy.close();
    await fake.close();
  });

  it('a wrong key → AuthenticationError in OpenAI shape; the right one works', async () => {
    const wrong = new OpenAI({ baseURL: `${proxy.url}/api/v1`, apiKey: 'not-the-token', maxRetries: 0 });
    await assert.rejects(
      wrong.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.AuthenticationError, String(err));
        assert.equal(err.status, 401);
        assert.equal(err.type, 'authentication_error');
        assert.equal(err.code, 'invalid_api_key');
        assert.equal(err.param, null);
        assert.match(err.message, /security\.auth_token/);
        return true;
      },
    );
    await assert.rejects(wrong.models.list(), OpenAI.AuthenticationError);
    assert.equal(fake.messages().length, 0);
    assert.doesNotMatch(proxy.logs(), /proxy-secret-token/);

    fake.enqueue(reply.text('welcome'));
    const right = new OpenAI({ baseURL: `${proxy.url}/api/v1`, apiKey: 'proxy-secret-token', maxRetries: 0 });
    const res = await right.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'x' }],
    });
    assert.equal(res.choices[0].message.content, 'welcome');
    assert.equal(fake.messages()[0].headers.authorization, `Bearer ${TEST_ACCESS_TOKEN}`);
  });
});

describe('OpenAI SDK with openai.* settings', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;
  let client: OpenAI;

  before(async () => {
    fake = await startFakeUpstream();
    proxy = await startProxy({
      settings: {
        upstream: { base_url: fake.url },
        openai: {
          model_map: [
            { match: 'exact', pattern: 'team-default', model: 'claude-haiku-4-5' },
            { match: 'prefix', pattern: 'gpt-4o', model: 'claude-opus-4-6' },
          ],
          reasoning_output: 'tags',
        },
      },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
    });
    client = new OpenAI({ baseURL: `${proxy.url}/api/v1`, apiKey: 'x', maxRetries: 0 });
  });
  after(async () => {
    await proxy.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  it('model_map rules come before the built-in ones and are listed by models.list()', async () => {
    fake.enqueue(reply.text('a'), reply.text('b'), reply.text('c'));
    for (const model of ['team-default', 'gpt-4o-mini', 'gpt-4.1']) {
      const res = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] });
      assert.equal(res.model, model);
    }
    assert.deepEqual(
      fake.messages().map((r) => (r.body as Obj).model),
      ['claude-haiku-4-5', 'claude-opus-4-6', 'claude-sonnet-5-5'],
    );
    const ids = (await client.models.list()).data.map((m) => m.id);
    assert.ok(ids.includes('team-default'));
  });

  it("reasoning_output = 'tags': thinking arrives inside content, streamed or not", async () => {
    fake.enqueue(reply.thinking('Hmm.', 'Yes.'), reply.thinking('Hmm.', 'Yes.'));
    const params = {
      model: 'claude-opus-4-6',
      messages: [{ role: 'user' as const, content: 'x' }],
      reasoning_effort: 'low' as const,
    };
    const whole = await client.chat.completions.create(params);
    assert.equal(whole.choices[0].message.content, '<thinking>\nHmm.\n</thinking>\n\nYes.');
    const streamed = await client.chat.completions.stream(params).finalChatCompletion();
    assert.equal(streamed.choices[0].message.content, whole.choices[0].message.content);
  });
});

/** Wait for a condition; the bound is generous so that a loaded machine never trips it. */
async function waitFor(cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
