/**
 * The Responses frontend against recordings: every recorded Anthropic stream and message
 * (test/fixtures/anthropic) rendered as Responses events and objects, shaped like the real Responses
 * recordings in test/fixtures/openai-responses and read by the real `openai` SDK; and the real
 * recordings' output items sent back as input, as Codex does on its next turn.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProxyError } from '../../../src/errors.ts';
import type { Message, StreamEvent } from '../../../src/formats/anthropic/types.ts';
import { responsesFrontend } from '../../../src/formats/responses/index.ts';
import { fixtureNames, readChunks, readJsonFixture } from '../../support/fixtures.ts';
import {
  accumulate,
  META,
  type Obj,
  offlineClient,
  options,
  parse,
  parsedFor,
  reassemble,
  renderStream,
  shapeDiff,
} from './helpers.ts';

const RECORDED = 'openai-responses';
const real = [
  ...readChunks<Obj>(RECORDED, 'openai-reasoning-encrypted-content.1'),
  ...readChunks<Obj>(RECORDED, 'openai-error.1'),
  ...readChunks<Obj>(RECORDED, 'openai-custom-tool.1'),
];

/** The first real event of each type, and the first real output item of each type. */
const realEvent = new Map<string, Obj>();
const realItem = new Map<string, Obj>();
for (const ev of real) {
  if (!realEvent.has(ev.type)) realEvent.set(ev.type, ev);
  for (const item of ev.response?.output ?? []) if (!realItem.has(item.type)) realItem.set(item.type, item);
}
// Never recorded: `response.incomplete` is `response.completed` with another status.
realEvent.set('response.incomplete', realEvent.get('response.completed')!);

/**
 * Beyond the recordings: `name` on arguments.done (in the SDK's types), and the flat
 * `code`/`message`/`param` of the documented `error` event (the API nests them under `error`).
 */
const EXTENSIONS = new Set(['name', 'code', 'message', 'param']);

/** Our event against the real one of its type: every key we write is one the API writes. */
function eventProblems(ev: Obj): string[] {
  const isRefusal =
    ev.type.startsWith('response.refusal') || ev.part?.type === 'refusal' || ev.type.endsWith('_input.done');
  if (isRefusal) return []; // not in any recording
  const sample = realEvent.get(ev.type);
  if (!sample) return [`${ev.type}: no real event of this type`];
  const { response, item, ...rest } = ev;
  const { response: realResponse, item: realOne, ...realRest } = sample;
  const problems = shapeDiff(rest, realRest, ev.type, EXTENSIONS);
  if (response) problems.push(...responseProblems(response, realResponse));
  if (item) problems.push(...itemProblems(item));
  return problems;
}

function responseProblems(ours: Obj, theirs: Obj): string[] {
  const { output, ...rest } = ours;
  const { output: _o, ...realRest } = theirs;
  return [...shapeDiff(rest, realRest, 'response'), ...output.flatMap(itemProblems)];
}

function itemProblems(item: Obj): string[] {
  const sample = realItem.get(item.type);
  if (!sample) return [`${item.type}: no real item of this type`];
  // Refusal parts are in no recording.
  const recorded = item.content
    ? { ...item, content: item.content.filter((p: Obj) => p.type !== 'refusal') }
    : item;
  return shapeDiff(recorded, sample, item.type);
}

/** Compare with call arguments parsed: Anthropic streams them with its own spacing. */
function normalized(response: Obj): Obj {
  const copy = structuredClone(response);
  for (const item of copy.output)
    if (item.type === 'function_call') item.arguments = JSON.parse(item.arguments);
  return copy;
}

describe('responses frontend on recorded Anthropic streams', () => {
  const hints = { encryptedReasoning: true };
  for (const name of fixtureNames('anthropic', '.chunks.txt')) {
    it(name, async () => {
      const events = readChunks<StreamEvent>('anthropic', name);
      const parsed = parsedFor(hints);
      const body = renderStream(events, parsed);
      const streamed = reassemble(body);
      for (const ev of streamed.events)
        assert.deepEqual(eventProblems(ev), [], JSON.stringify(ev).slice(0, 300));

      const whole = responsesFrontend.renderMessage(accumulate(events), parsed, META, options()) as Obj;
      assert.deepEqual(normalized(streamed.terminal.response), normalized(whole));

      // The real SDK reads the same stream into the same answer.
      const sdk = await offlineClient(body).responses.stream({ model: 'gpt-5', input: 'x' }).finalResponse();
      assert.equal(sdk.status, whole.status);
      assert.deepEqual(
        sdk.output.map((i) => i.id),
        whole.output.map((i: Obj) => i.id),
      );
    });
  }
});

describe('responses frontend on recorded Anthropic messages', () => {
  for (const name of fixtureNames('anthropic', '.json')) {
    const msg = readJsonFixture<Message>('anthropic', name);
    if (msg.type !== 'message') continue;
    it(name, async () => {
      const whole = responsesFrontend.renderMessage(
        msg,
        parsedFor({ encryptedReasoning: true }),
        META,
        options(),
      ) as Obj;
      assert.deepEqual(responseProblems(whole, realEvent.get('response.completed')!.response), []);
      const sdk = await offlineClient(JSON.stringify(whole), 'application/json').responses.create({
        model: 'gpt-5',
        input: 'x',
      });
      assert.equal(sdk.id, whole.id);
      assert.equal(
        sdk.output_text,
        whole.output
          .flatMap((i: Obj) => i.content ?? [])
          .map((p: Obj) => p.text ?? '')
          .join(''),
      );
    });
  }
});

describe('responses frontend errors against the recorded error stream', () => {
  it('error then response.failed, shaped as the API sends them', () => {
    const r = responsesFrontend.streamRenderer(parsedFor(), META, options());
    const body = r.fail(new ProxyError('rate_limited', 'Rate limited; try again in 20s.'));
    const { events } = reassemble(body);
    for (const ev of events) assert.deepEqual(eventProblems(ev), [], ev.type);
    assert.deepEqual(
      events.map((e) => e.type),
      readChunks<Obj>(RECORDED, 'openai-error.1').map((e) => e.type),
    );
  });
});

describe('recorded Responses output sent back as input (the next turn of an agent)', () => {
  /** The recording's completed responses: reasoning, then three calculator calls, then the answer. */
  const outputs = readChunks<Obj>(RECORDED, 'openai-reasoning-encrypted-content.1')
    .filter((e) => e.type === 'response.completed')
    .map((e) => e.response.output as Obj[]);

  it('function calls pair with their outputs; OpenAI-encrypted reasoning is dropped, with a note', () => {
    const input: Obj[] = [{ role: 'user', content: 'Compute ((12 + 7) * 3) * 10 with the calculator.' }];
    for (const output of outputs) {
      input.push(...output);
      for (const item of output)
        if (item.type === 'function_call')
          input.push({ type: 'function_call_output', call_id: item.call_id, output: '57' });
    }
    const notes: string[] = [];
    const { request } = parse(
      {
        model: 'gpt-5.1-codex-max',
        input,
        reasoning: { effort: 'high' },
        include: ['reasoning.encrypted_content'],
        tools: [
          {
            type: 'function',
            name: 'calculator',
            parameters: { type: 'object', properties: {} },
            strict: false,
          },
        ],
      },
      options({ debug: (m) => notes.push(m) }),
    );
    const roles = request.messages.map((m) => m.role);
    assert.deepEqual(roles, [
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
      'assistant',
    ]);
    const uses = request.messages.flatMap((m) => (m.content as Obj[]).filter((b) => b.type === 'tool_use'));
    const results = request.messages.flatMap((m) =>
      (m.content as Obj[]).filter((b) => b.type === 'tool_result'),
    );
    assert.equal(uses.length, 3);
    assert.deepEqual(
      results.map((b) => b.tool_use_id),
      uses.map((b) => b.id),
    );
    assert.deepEqual(uses[0].input, { a: 12, b: 7, op: 'add' });
    assert.ok(!JSON.stringify(request.messages).includes('gAAAA'), 'no OpenAI reasoning reaches Claude');
    assert.match(notes.join('\n'), /1 reasoning item\(s\) without a Claude signature dropped/);
    const last = request.messages.at(-1)!.content as Obj[];
    assert.equal(last[0].text, 'The final result is **570**.');
  });
});
