/**
 * The Vercel AI SDK (`ai` + `@ai-sdk/openai-compatible`) against ccproxy's OpenAI endpoint:
 * generateText and streamText with a tool whose `execute` runs, then the second step's answer.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, Output, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, reply, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

type Obj = Record<string, any>;

describe('Vercel AI SDK → /api/v1 (API mode)', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;
  let provider: ReturnType<typeof createOpenAICompatible>;
  const ran: string[] = [];

  const weather = tool({
    description: 'Current weather in a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      ran.push(city);
      return { city, sky: city === 'Paris' ? 'sunny' : 'rainy' };
    },
  });

  before(async () => {
    fake = await startFakeUpstream();
    proxy = await startProxy({
      settings: { upstream: { base_url: fake.url } },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
    });
    provider = createOpenAICompatible({
      name: 'ccproxy',
      baseURL: `${proxy.url}/api/v1`,
      apiKey: 'dummy',
      includeUsage: true,
    });
  });
  after(async () => {
    await proxy.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    ran.length = 0;
  });

  /** What the second upstream request carried back: the assistant's calls and the tool results. */
  function assertSecondStep(calls: Array<{ city: string }>) {
    const sent = fake.messages();
    assert.equal(sent.length, 2);
    const first = sent[0].body as Obj;
    assert.equal(first.tools[0].name, 'get_weather');
    assert.equal(first.tools[0].input_schema.properties.city.type, 'string');
    const second = sent[1].body as Obj;
    const [user, assistant, results] = second.messages;
    assert.equal(user.role, 'user');
    const uses = (assistant.content as Obj[]).filter((b) => b.type === 'tool_use');
    assert.deepEqual(
      uses.map((u) => u.input),
      calls,
    );
    assert.equal(results.role, 'user');
    assert.deepEqual(
      (results.content as Obj[]).map((b) => [b.type, b.tool_use_id]),
      uses.map((u) => ['tool_result', u.id]),
    );
    const firstResult = (results.content as Obj[])[0];
    const text = typeof firstResult.content === 'string' ? firstResult.content : firstResult.content[0].text;
    assert.deepEqual(JSON.parse(text), {
      city: calls[0].city,
      sky: calls[0].city === 'Paris' ? 'sunny' : 'rainy',
    });
  }

  it('generateText: the tool runs, the second step answers', async () => {
    fake.enqueue(reply.toolUse({ name: 'get_weather', input: { city: 'Paris' } }, { text: 'Let me check.' }));
    fake.enqueue(reply.text('It is sunny in Paris.', { usage: { input_tokens: 30, output_tokens: 7 } }));
    const result = await generateText({
      model: provider('gpt-4o'),
      prompt: 'Weather in Paris?',
      tools: { get_weather: weather },
      stopWhen: stepCountIs(3),
    });
    assert.equal(result.text, 'It is sunny in Paris.');
    assert.deepEqual(ran, ['Paris']);
    assert.equal(result.steps.length, 2);
    assert.equal(result.steps[0].finishReason, 'tool-calls');
    assert.deepEqual(
      result.steps[0].toolCalls.map((c) => [c.toolName, c.input]),
      [['get_weather', { city: 'Paris' }]],
    );
    assert.match(result.steps[0].toolCalls[0].toolCallId, /^toolu_/);
    assert.equal(result.finishReason, 'stop');
    assert.equal(result.usage.inputTokens, 30);
    assert.equal(result.usage.outputTokens, 7);
    assertSecondStep([{ city: 'Paris' }]);
  });

  it('streamText: two parallel calls stream in, both run, the second step streams the answer', async () => {
    fake.enqueue(
      reply.toolUse([
        { name: 'get_weather', input: { city: 'Paris' }, fragments: 4 },
        { name: 'get_weather', input: { city: 'Tokyo' }, fragments: 4 },
      ]),
    );
    fake.enqueue(reply.text('Paris is sunny and Tokyo is rainy.', { deltas: 5 }));
    const result = streamText({
      model: provider('gpt-4o'),
      prompt: 'Weather in Paris and Tokyo?',
      tools: { get_weather: weather },
      stopWhen: stepCountIs(3),
    });
    const deltas: string[] = [];
    const errors: unknown[] = [];
    for await (const part of result.fullStream) {
      if (part.type === 'text-delta') deltas.push(part.text);
      if (part.type === 'error') errors.push(part.error);
    }
    assert.deepEqual(errors, []);
    assert.equal(await result.text, 'Paris is sunny and Tokyo is rainy.');
    assert.ok(deltas.length >= 3, 'the answer streamed in pieces');
    assert.deepEqual(ran.sort(), ['Paris', 'Tokyo']);
    const steps = await result.steps;
    assert.equal(steps.length, 2);
    assert.deepEqual(
      steps[0].toolCalls.map((c) => c.input),
      [{ city: 'Paris' }, { city: 'Tokyo' }],
    );
    assert.equal(await result.finishReason, 'stop');
    const usage = await result.totalUsage;
    assert.ok((usage.inputTokens ?? 0) > 0, 'usage arrived (include_usage)');
    assertSecondStep([{ city: 'Paris' }, { city: 'Tokyo' }]);
    assert.equal((fake.messages()[0].body as Obj).stream, true);
  });

  it('streamText with reasoning_effort: reasoning arrives as reasoning parts', async () => {
    fake.enqueue(reply.thinking('Think first.', 'Answer after thinking.'));
    const result = streamText({
      model: provider('gpt-5'),
      prompt: 'x',
      providerOptions: { ccproxy: { reasoningEffort: 'low' } },
    });
    assert.equal(await result.text, 'Answer after thinking.');
    assert.equal(await result.reasoningText, 'Think first.');
    const body = fake.messages()[0].body as Obj;
    assert.deepEqual(body.thinking, { type: 'adaptive' });
    assert.equal(body.output_config.effort, 'low');
  });

  it('structured output (Output.object): json_object by default, native json_schema with supportsStructuredOutputs', async () => {
    const schema = z.object({ name: z.string(), age: z.number() });
    // Without structured-output support the provider asks for json_object: a forced answer tool.
    fake.enqueue(reply.toolUse({ name: 'json_response', input: { name: 'Ada', age: 36 } }));
    const loose = await generateText({
      model: provider('gpt-4o'),
      prompt: 'Who wrote the first program?',
      output: Output.object({ schema }),
    });
    assert.deepEqual(loose.output, { name: 'Ada', age: 36 });
    const looseBody = fake.messages()[0].body as Obj;
    assert.deepEqual(looseBody.tool_choice, { type: 'tool', name: 'json_response' });

    fake.reset();
    fake.enqueue(reply.text('{"name":"Ada","age":36}'));
    const strictProvider = createOpenAICompatible({
      name: 'ccproxy',
      baseURL: `${proxy.url}/api/v1`,
      supportsStructuredOutputs: true,
    });
    const strict = await generateText({
      model: strictProvider('gpt-4o'),
      prompt: 'Who wrote the first program?',
      output: Output.object({ schema }),
    });
    assert.deepEqual(strict.output, { name: 'Ada', age: 36 });
    const strictBody = fake.messages()[0].body as Obj;
    assert.equal(strictBody.output_config.format.type, 'json_schema');
    assert.equal(strictBody.tools, undefined);
  });

  it('an upstream error surfaces as an APICallError with the status', async () => {
    fake.enqueue(reply.invalidRequest('messages: bad'));
    await assert.rejects(
      generateText({ model: provider('gpt-4o'), prompt: 'x', maxRetries: 0 }),
      (err: unknown) => {
        const e = err as { statusCode?: number; message: string };
        assert.equal(e.statusCode, 400);
        assert.match(e.message, /messages: bad/);
        return true;
      },
    );
  });
});
