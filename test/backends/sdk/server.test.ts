/**
 * SDK mode through the server, with the real client libraries: `@anthropic-ai/sdk` against
 * `/sdk/v1/messages` and `openai` against `/sdk/v1/chat/completions`, Claude Code answering from
 * the fake upstream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startProxy, type TestProxy } from '../../helpers/proxy.ts';
import { reply } from '../../support/fake-upstream.ts';
import { dialogue, type Harness, pool, startHarness } from './harness.ts';

describe('SDK mode through the server with real clients', () => {
  let h: Harness;
  let proxy: TestProxy;
  let anthropic: Anthropic;
  let openai: OpenAI;

  before(async () => {
    h = await startHarness();
    proxy = await startProxy({ settings: { claude: { cwd: h.cwd } }, app: { backends: { sdk: h.backend } } });
    anthropic = new Anthropic({ baseURL: `${proxy.url}/sdk`, apiKey: 'unused', maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${proxy.url}/sdk/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await proxy.close();
    await h.close();
  });

  it('Anthropic SDK: a whole message', async () => {
    h.fake.reset();
    h.fake.enqueue(reply.text('Hi from the agent.'));
    const msg = await anthropic.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'hello' }],
    });
    assert.equal(msg.content[0].type, 'text');
    assert.equal((msg.content[0] as Anthropic.TextBlock).text, 'Hi from the agent.');
    assert.equal(msg.stop_reason, 'end_turn');
    assert.ok(msg.usage.input_tokens > 0);
  });

  it('Anthropic SDK: a stream, token by token', async () => {
    h.fake.reset();
    h.fake.enqueue(reply.text('One two three four.', { deltas: 4 }));
    const deltas: string[] = [];
    const stream = anthropic.messages
      .stream({ model: 'claude-sonnet-5-5', max_tokens: 256, messages: [{ role: 'user', content: 'count' }] })
      .on('text', (t) => deltas.push(t));
    const final = await stream.finalMessage();
    assert.equal(deltas.length, 4);
    assert.equal(deltas.join(''), 'One two three four.');
    assert.equal(final.stop_reason, 'end_turn');
  });

  it('Anthropic SDK: a session by path, then by header, resumes the same agent', async () => {
    h.fake.reset();
    const byPath = new Anthropic({
      baseURL: `${proxy.url}/sdk/trip-planning`,
      apiKey: 'unused',
      maxRetries: 0,
    });
    h.fake.enqueue(reply.text('Rome it is.'));
    const first = await byPath.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Plan a trip to Rome.' }],
    });
    const reuses = (await pool(h.backend)).session_reuses;
    const byHeader = new Anthropic({
      baseURL: `${proxy.url}/sdk`,
      apiKey: 'unused',
      maxRetries: 0,
      defaultHeaders: { 'x-ccproxy-session-id': 'trip-planning' },
    });
    h.fake.enqueue(reply.text('Three days.'));
    const second = await byHeader.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 256,
      messages: [
        { role: 'user', content: 'Plan a trip to Rome.' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: 'How long?' },
      ],
    });
    assert.equal((second.content[0] as Anthropic.TextBlock).text, 'Three days.');
    assert.equal((await pool(h.backend)).session_reuses, reuses + 1);
    assert.deepEqual(dialogue(h.fake.messages().at(-1)!.body), [
      ['user', 'Plan a trip to Rome.'],
      ['assistant', 'Rome it is.'],
      ['user', 'How long?'],
    ]);
  });

  it('unknown `ccproxy` overrides are a 400 in the client’s format', async () => {
    await assert.rejects(
      anthropic.messages.create({
        model: 'claude-sonnet-5-5',
        max_tokens: 16,
        messages: [{ role: 'user', content: 'x' }],
        ccproxy: { max_turnz: 2 },
      } as Anthropic.MessageCreateParamsNonStreaming),
      (err: unknown) => {
        assert.ok(err instanceof Anthropic.BadRequestError);
        assert.match(err.message, /ccproxy\.max_turnz: unknown override\. Allowed keys: max_turns/);
        return true;
      },
    );
    await assert.rejects(
      openai.chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'x' }],
        ccproxy: { nope: true },
      } as OpenAI.ChatCompletionCreateParamsNonStreaming),
      (err: unknown) => err instanceof OpenAI.BadRequestError && /Allowed keys/.test(err.message),
    );
  });

  it('a large conversation that is not JSON inside is a 400 when the agent would read it', async () => {
    // Left unread by the body reader (it is large), read by SDK mode to build the prompt: ccproxy's 400.
    const turns = Array.from(
      { length: 40 },
      (_, i) => `{"role": "user", "content": "${'w'.repeat(1000)} ${i}"}`,
    );
    turns[20] = '{"role": "user", "content": [1 2]}';
    const res = await fetch(`${proxy.url}/sdk/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'unused' },
      body: `{"model": "claude-sonnet-5-5", "max_tokens": 16, "messages": [${turns.join(',')}]}`,
    });
    assert.equal(res.status, 400);
    const err = (await res.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(err.error.type, 'invalid_request_error');
    assert.match(err.error.message, /^The request body is not valid JSON: in "messages", /);
  });

  it('OpenAI SDK: a completion and a stream with usage', async () => {
    h.fake.reset();
    h.fake.enqueue(reply.text('Plain answer.'));
    const done = await openai.chat.completions.create({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hello' },
      ],
    });
    assert.equal(done.choices[0].message.content, 'Plain answer.');
    assert.equal(done.choices[0].finish_reason, 'stop');
    assert.match(
      JSON.stringify((h.fake.messages().at(-1)!.body as { system: unknown }).system),
      /Be brief\./,
    );

    h.fake.enqueue(reply.text('Streamed answer here.', { deltas: 3 }));
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'stream it' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, 'Streamed answer here.');
    assert.ok((usage?.prompt_tokens ?? 0) > 0);
  });

  it('OpenAI SDK: a client tool round trip through tool_calls resumes the same run', async () => {
    h.fake.reset();
    h.fake.enqueue(reply.toolUse({ name: 'mcp__ccproxy_client__get_weather', input: { city: 'Paris' } }));
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather in a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
    ];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await openai.chat.completions.create({ model: 'gpt-4o', messages, tools });
    assert.equal(first.choices[0].finish_reason, 'tool_calls');
    const call = first.choices[0].message.tool_calls?.[0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
    const coldStarts = (await pool(h.backend)).cold_starts;

    messages.push(first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: 'Rainy, 12°C' });
    const second = await openai.chat.completions.create({ model: 'gpt-4o', messages, tools });
    assert.match(second.choices[0].message.content ?? '', /Rainy, 12°C/);
    assert.equal((await pool(h.backend)).cold_starts, coldStarts, 'the suspended run went on');
  });

  it('OpenAI SDK: a chat without a session keeps its agent from turn to turn', async () => {
    h.fake.reset();
    h.fake.enqueue(reply.text('Nice to meet you, Lin.'));
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'system', content: 'You are friendly.' },
      { role: 'user', content: 'I am Lin.' },
    ];
    const first = await openai.chat.completions.create({ model: 'gpt-4o', messages });
    const reuses = (await pool(h.backend)).conversation_reuses;
    messages.push(first.choices[0].message, { role: 'user', content: 'Who am I?' });
    h.fake.enqueue(reply.text('You are Lin.'));
    const second = await openai.chat.completions.create({ model: 'gpt-4o', messages });
    assert.equal(second.choices[0].message.content, 'You are Lin.');
    assert.equal((await pool(h.backend)).conversation_reuses, reuses + 1);
    assert.deepEqual(dialogue(h.fake.messages().at(-1)!.body), [
      ['user', 'I am Lin.'],
      ['assistant', 'Nice to meet you, Lin.'],
      ['user', 'Who am I?'],
    ]);
  });

  it('serves the model list and the status', async () => {
    const models = (await (await fetch(`${proxy.url}/sdk/v1/models`)).json()) as {
      data: Array<{ id: string }>;
    };
    assert.ok(models.data.some((m) => m.id.startsWith('claude-')));
    const status = (await (await fetch(`${proxy.url}/sdk/status`)).json()) as {
      mode: string;
      claude_code: { ok: boolean; version: string };
      pool: Record<string, unknown>;
    };
    assert.equal(status.mode, 'sdk');
    assert.equal(status.claude_code.ok, true);
    assert.match(status.claude_code.version, /^\d+\.\d+\.\d+/);
    assert.ok('spares_ready' in status.pool);
  });
});
