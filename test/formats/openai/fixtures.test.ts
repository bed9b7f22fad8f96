/**
 * Every recorded Anthropic stream and message (test/fixtures/anthropic) through the OpenAI
 * renderers: the result must be a valid OpenAI stream / completion, shaped like the real OpenAI
 * recordings in test/fixtures/openai, and readable by the real `openai` SDK.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import OpenAI from 'openai';
import { ProxyError } from '../../../src/errors.ts';
import type { Message, StreamEvent } from '../../../src/formats/anthropic/types.ts';
import { openaiFrontend } from '../../../src/formats/openai/index.ts';
import { fixtureNames, readChunks, readJsonFixture } from '../../support/fixtures.ts';
import { accumulate, META, options, parsedFor, reassemble, renderStream, shapeDiff } from './helpers.ts';

const streams = fixtureNames('anthropic', '.chunks.txt');
const messages = fixtureNames('anthropic', '.json').filter(
  (name) => readJsonFixture<{ type: string }>('anthropic', name).type === 'message',
);
const events = (name: string) => readChunks<StreamEvent>('anthropic', name);
const message = (name: string) => readJsonFixture<Message>('anthropic', name);

/** Real OpenAI chunks, by what they carry. */
const realText = readChunks<Record<string, any>>('openai', 'openai-text');
const realTool = readChunks<Record<string, any>>('openai', 'issue-15789-step-1');
const realReasoning = readChunks<Record<string, any>>('openai', 'xai-tool-call');
const realCompletion = readJsonFixture<Record<string, any>>('openai', 'openai-text');
const realToolCompletion = readJsonFixture<Record<string, any>>(
  'openai',
  'qwen-plus-normalized-replayed-tool-arguments-success',
);
const realCached = readJsonFixture<{ attempts: Array<{ rawResponseBody: Record<string, any> }> }>(
  'openai',
  'openai-chat-cached-input-tokens-11178',
).attempts[1].rawResponseBody;

/** OpenAI's own completion, with tool calls as an OpenAI-compatible server recorded them. */
const realReference = structuredClone(realCompletion);
realReference.choices[0].message.tool_calls = realToolCompletion.choices[0].message.tool_calls;

/** `reasoning_content` is the de-facto extension (DeepSeek, xAI); OpenAI itself has no reasoning text. */
const EXTENSIONS = new Set(['reasoning_content']);

/** The real chunk to compare with: the envelope from OpenAI's own text stream, the delta by what it carries. */
function realChunkFor(c: Record<string, any>): Record<string, any> {
  if (c.choices.length === 0) return realText[realText.length - 1];
  const choice = c.choices[0];
  if (choice.finish_reason) return realText[realText.length - 2];
  const d = choice.delta;
  const realDelta =
    d.role || d.refusal
      ? realText[0].choices[0].delta
      : d.tool_calls?.[0]?.id
        ? realTool[3].choices[0].delta
        : d.tool_calls
          ? realTool[4].choices[0].delta
          : d.reasoning_content !== undefined
            ? realReasoning[1].choices[0].delta
            : realText[1].choices[0].delta;
  return { ...realText[1], choices: [{ ...realText[1].choices[0], delta: realDelta }] };
}

/** Compare with tool arguments parsed: Anthropic streams them with its own spacing. */
function normalized(completion: Record<string, any>): Record<string, any> {
  const copy = structuredClone(completion);
  const m = copy.choices[0].message;
  for (const c of m.tool_calls ?? []) c.function.arguments = JSON.parse(c.function.arguments);
  if (m.function_call) m.function_call.arguments = JSON.parse(m.function_call.arguments);
  return copy;
}

/** An openai client whose fetch answers with the given body, no network. */
function clientAnswering(body: string, contentType: string): OpenAI {
  return new OpenAI({
    apiKey: 'test',
    baseURL: 'http://ccproxy.invalid/v1',
    maxRetries: 0,
    fetch: async () => new Response(body, { status: 200, headers: { 'content-type': contentType } }),
  });
}

describe('openai frontend on recorded Anthropic streams', () => {
  for (const name of streams) {
    it(`${name}.chunks.txt`, async () => {
      const recorded = events(name);
      const parsed = parsedFor({ includeUsage: true });
      const body = renderStream(recorded, parsed);
      const { completion, chunks, done } = reassemble(body);
      assert.ok(done, 'ends with data: [DONE]');
      assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '', refusal: null });

      for (const c of chunks) {
        const problems = shapeDiff(c, realChunkFor(c), '$', EXTENSIONS);
        assert.deepEqual(problems, [], `chunk ${JSON.stringify(c)}`);
      }
      const last = chunks[chunks.length - 1];
      assert.deepEqual(last.choices, []);
      assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason).length, 1, 'one finish chunk');

      const expected = openaiFrontend.renderMessage(accumulate(recorded), parsed, META, options());
      assert.deepEqual(normalized(completion), normalized(expected as Record<string, any>));

      // The real SDK reads the same stream into the same answer.
      const sdk = await clientAnswering(body, 'text/event-stream')
        .chat.completions.stream({
          model: 'gpt-4o',
          messages: [{ role: 'user', content: 'x' }],
          stream_options: { include_usage: true },
        })
        .finalChatCompletion();
      const want = expected as Record<string, any>;
      assert.equal(sdk.id, want.id);
      assert.equal(sdk.choices[0].finish_reason, want.choices[0].finish_reason);
      assert.equal(sdk.choices[0].message.content, want.choices[0].message.content);
      assert.equal(sdk.choices[0].message.refusal, want.choices[0].message.refusal);
      assert.deepEqual(
        (sdk.choices[0].message.tool_calls ?? []).map((c) =>
          c.type === 'function' ? [c.id, c.function.name, JSON.parse(c.function.arguments)] : [],
        ),
        (want.choices[0].message.tool_calls ?? []).map((c: any) => [
          c.id,
          c.function.name,
          JSON.parse(c.function.arguments),
        ]),
      );
      assert.deepEqual(sdk.usage, want.usage);
    });
  }

  it('specifics: usage from message_delta, cache tokens, arguments, parallel indexes, thinking, refusal', () => {
    const run = (name: string) =>
      reassemble(renderStream(events(name), parsedFor({ includeUsage: true }))).completion;
    assert.equal(run('anthropic-message-delta-input-tokens').usage.prompt_tokens, 61);
    const read = run('anthropic-issue-5942-cache-read');
    assert.deepEqual(read.usage.prompt_tokens_details, { cached_tokens: 17603 });
    assert.equal(read.usage.prompt_tokens, 17606);
    assert.equal(read.choices[0].finish_reason, 'length');
    const write = run('anthropic-issue-5942-cache-write');
    assert.deepEqual(
      [write.usage.prompt_tokens, write.usage.prompt_tokens_details.cached_tokens],
      [17606, 0],
    );
    const noArgs = run('anthropic-tool-no-args');
    assert.equal(noArgs.choices[0].message.tool_calls[0].function.arguments, '{}');
    assert.equal(noArgs.choices[0].message.content, "I'll update the issue list for you.");
    const parallel = run('anthropic-issue-15652-false');
    assert.deepEqual(
      parallel.choices[0].message.tool_calls.map((c: any) => JSON.parse(c.function.arguments).query),
      ['alpha', 'beta', 'gamma'],
    );
    const quoted = run('anthropic-issue-11719-quoted-tool-input');
    assert.match(
      JSON.parse(quoted.choices[0].message.tool_calls[0].function.arguments).tasks[0].description,
      /"What should I do next after this run\?"/,
    );
    const thinking = run('anthropic-clear-thinking.1');
    assert.match(thinking.choices[0].message.reasoning_content, /^The previous result was 925\./);
    assert.equal(thinking.choices[0].message.content, '925 ÷ 5 = 185');
    const refusal = run('anthropic-refusal');
    assert.equal(refusal.choices[0].finish_reason, 'content_filter');
    assert.match(refusal.choices[0].message.refusal, /Usage Policy/);
    assert.equal(refusal.choices[0].message.content, null);
  });
});

describe('openai frontend errors through the real SDK', () => {
  it('a mid-stream error frame surfaces as an APIError with the message', async () => {
    const r = openaiFrontend.streamRenderer(parsedFor(), META, options());
    let body = '';
    for (const ev of events('anthropic-text').slice(0, 4)) body += r.push(ev);
    body += r.fail(new ProxyError('overloaded', 'Overloaded'));
    await assert.rejects(
      clientAnswering(body, 'text/event-stream')
        .chat.completions.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
        .finalChatCompletion(),
      (err: unknown) => err instanceof OpenAI.APIError && /Overloaded/.test(err.message),
    );
  });
});

describe('openai frontend on recorded Anthropic messages', () => {
  for (const name of messages) {
    it(`${name}.json`, async () => {
      const msg = message(name);
      const out = openaiFrontend.renderMessage(msg, parsedFor(), META, options()) as Record<string, any>;
      assert.deepEqual(shapeDiff(out, realReference, '$', EXTENSIONS), []);
      assert.deepEqual(shapeDiff(out.usage, realCached.usage, '$.usage'), []);
      assert.equal(out.usage.total_tokens, out.usage.prompt_tokens + out.usage.completion_tokens);

      const sdk = await clientAnswering(JSON.stringify(out), 'application/json').chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'x' }],
      });
      assert.deepEqual(sdk, out);
    });
  }

  it('specifics: no-argument tool, quoted input, max_tokens, thinking, refusal', () => {
    const render = (name: string) =>
      openaiFrontend.renderMessage(message(name), parsedFor(), META, options()) as Record<string, any>;
    const noArgs = render('anthropic-tool-no-args').choices[0];
    assert.equal(noArgs.message.tool_calls[0].function.arguments, '{}');
    assert.equal(noArgs.message.tool_calls[0].id, 'toolu_01LRmxn9vGM1d2DZSDBowdZ1');
    assert.equal(noArgs.finish_reason, 'tool_calls');
    const quoted = render('anthropic-issue-11719-quoted-tool-input').choices[0].message.tool_calls[0];
    assert.deepEqual(
      JSON.parse(quoted.function.arguments),
      readJsonFixture('anthropic', 'anthropic-issue-11719-quoted-tool-input').content[0].input,
    );
    assert.equal(render('anthropic-issue-11855-follow-up').choices[0].finish_reason, 'length');
    assert.equal(
      render('anthropic-clear-thinking.1').choices[0].message.reasoning_content,
      '925 divided by 5 = 185',
    );
    const refusal = render('anthropic-refusal').choices[0];
    assert.equal(refusal.finish_reason, 'content_filter');
    assert.match(refusal.message.refusal, /Usage Policy/);
  });
});
