/**
 * fast-check generators for the OpenAI frontend's property tests: valid Anthropic event sequences
 * and valid OpenAI Chat Completions requests.
 */
import fc from 'fast-check';
import type { Message, StopReason, StreamEvent } from '../../../src/formats/anthropic/types.ts';
import type { FormatOptions } from '../../../src/formats/frontend.ts';
import type { OpenAIHints } from '../../../src/formats/openai/types.ts';

// ---------------------------------------------------------------------------------------------
// Anthropic streams

/** Text with the awkward cases: empty, whitespace, quotes, newlines, astral characters. */
export const text = fc.oneof(
  fc.constantFrom('', ' ', '\n', '"', '\\', 'é', '😀', '</thinking>', 'data: [DONE]\n\n'),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
);

type BlockSpec =
  | { kind: 'text'; parts: string[] }
  | { kind: 'thinking'; parts: string[]; signature: string }
  | { kind: 'tool'; name: string; input: Record<string, unknown>; cuts: number[]; leadingEmpty: boolean }
  | { kind: 'redacted'; data: string };

const block: fc.Arbitrary<BlockSpec> = fc.oneof(
  fc.record({ kind: fc.constant('text' as const), parts: fc.array(text, { maxLength: 5 }) }),
  fc.record({
    kind: fc.constant('thinking' as const),
    parts: fc.array(text, { maxLength: 4 }),
    signature: fc.base64String({ maxLength: 24 }),
  }),
  fc.record({
    kind: fc.constant('tool' as const),
    name: fc.constantFrom('search', 'clock', 'answer', 'get_weather'),
    input: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
    cuts: fc.array(fc.nat({ max: 200 }), { maxLength: 6 }),
    leadingEmpty: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('redacted' as const), data: fc.base64String({ maxLength: 16 }) }),
);

const STOP_REASONS: Array<StopReason | string> = [
  'end_turn',
  'max_tokens',
  'stop_sequence',
  'tool_use',
  'pause_turn',
  'refusal',
  'model_context_window_exceeded',
  'a_reason_from_the_future',
];

/** Split `s` at the given offsets (deduplicated, in range). */
function cut(s: string, offsets: number[]): string[] {
  const points = [...new Set(offsets.map((o) => o % (s.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(s.slice(prev, p));
    prev = p;
  }
  out.push(s.slice(prev));
  return out;
}

function buildEvents(
  blocks: BlockSpec[],
  stop: string,
  usage: { input: number; read: number; write: number; output: number; thinking: number | undefined },
  refusal: string | undefined,
  pings: boolean[],
): StreamEvent[] {
  const start: Message = {
    id: 'msg_prop',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-5-5',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: {
      input_tokens: usage.input,
      cache_read_input_tokens: usage.read,
      cache_creation_input_tokens: usage.write,
      output_tokens: 1,
    },
  };
  const events: StreamEvent[] = [{ type: 'message_start', message: start }];
  let p = 0;
  const maybePing = () => {
    if (pings[p++ % Math.max(1, pings.length)]) events.push({ type: 'ping' });
  };
  blocks.forEach((b, index) => {
    maybePing();
    switch (b.kind) {
      case 'text':
        events.push({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
        for (const t of b.parts) {
          events.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: t } });
          maybePing();
        }
        break;
      case 'thinking':
        events.push({
          type: 'content_block_start',
          index,
          content_block: { type: 'thinking', thinking: '', signature: '' },
        });
        for (const t of b.parts) {
          events.push({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: t } });
        }
        events.push({
          type: 'content_block_delta',
          index,
          delta: { type: 'signature_delta', signature: b.signature },
        });
        break;
      case 'tool': {
        events.push({
          type: 'content_block_start',
          index,
          content_block: { type: 'tool_use', id: `toolu_${index}`, name: b.name, input: {} },
        });
        const json = JSON.stringify(b.input);
        // An empty input is often streamed as no fragment at all.
        const fragments = json === '{}' && b.leadingEmpty ? [] : cut(json, b.cuts);
        if (b.leadingEmpty) fragments.unshift('');
        for (const f of fragments) {
          events.push({
            type: 'content_block_delta',
            index,
            delta: { type: 'input_json_delta', partial_json: f },
          });
          maybePing();
        }
        break;
      }
      case 'redacted':
        events.push({
          type: 'content_block_start',
          index,
          content_block: { type: 'redacted_thinking', data: b.data },
        });
        break;
    }
    events.push({ type: 'content_block_stop', index });
  });
  const finalUsage: Record<string, unknown> = { output_tokens: usage.output, input_tokens: usage.input };
  if (usage.thinking !== undefined) finalUsage.output_tokens_details = { thinking_tokens: usage.thinking };
  events.push({
    type: 'message_delta',
    delta: {
      stop_reason: stop,
      stop_sequence: null,
      ...(refusal === undefined ? {} : { stop_details: { type: 'refusal', explanation: refusal } }),
    },
    usage: finalUsage,
  });
  maybePing();
  events.push({ type: 'message_stop' });
  return events;
}

export const anthropicStream: fc.Arbitrary<StreamEvent[]> = fc
  .tuple(
    fc.array(block, { maxLength: 6 }),
    fc.constantFrom(...STOP_REASONS),
    fc.record({
      input: fc.nat({ max: 100_000 }),
      read: fc.nat({ max: 100_000 }),
      write: fc.nat({ max: 100_000 }),
      output: fc.nat({ max: 10_000 }),
      thinking: fc.option(fc.nat({ max: 5_000 }), { nil: undefined }),
    }),
    fc.option(fc.string({ maxLength: 30 }), { nil: undefined }),
    fc.array(fc.boolean(), { maxLength: 8 }),
  )
  .map(([blocks, stop, usage, refusal, pings]) =>
    buildEvents(blocks, stop, usage, stop === 'refusal' ? refusal : undefined, pings),
  );

export const renderSetup: fc.Arbitrary<{ hints: OpenAIHints; reasoning: FormatOptions['reasoningOutput'] }> =
  fc.record({
    hints: fc.record({
      includeUsage: fc.constant(true),
      jsonTool: fc.constantFrom(undefined, 'answer'),
      legacyFunctions: fc.boolean(),
    }),
    reasoning: fc.constantFrom('reasoning_content', 'tags', 'drop'),
  });

// ---------------------------------------------------------------------------------------------
// OpenAI requests

const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==';
const PDF = Buffer.from('%PDF-1.4\n%%EOF').toString('base64');

const TOOL_NAMES = ['get_weather', 'search', 'clock', 'lookup'];

const cacheMark = fc.option(fc.constant({ type: 'ephemeral' }), { nil: undefined, freq: 4 });

const textPart = fc.record({ type: fc.constant('text'), text });
const userPart = fc.oneof(
  fc.tuple(textPart, cacheMark).map(([p, cc]) => (cc ? { ...p, cache_control: cc } : p)),
  fc.constantFrom(
    { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}`, detail: 'low' } },
    { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
    { type: 'file', file: { filename: 'doc.pdf', file_data: `data:application/pdf;base64,${PDF}` } },
    { type: 'file', file: { file_data: PDF } },
  ),
);
const content = fc.oneof(text, fc.array(userPart, { maxLength: 4 }));
const textContent = fc.oneof(text, fc.constant(null), fc.array(textPart, { maxLength: 3 }));

type Msg = Record<string, unknown>;
/** A message, or a run of them that must stay together (a tool round). */
type Unit = Msg[];

const args = fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });

const systemUnit = fc
  .tuple(fc.constantFrom('system', 'developer'), fc.oneof(text, fc.array(textPart, { maxLength: 2 })))
  .map(([role, c]): Unit => [{ role, content: c }]);
const userUnit = content.map((c): Unit => [{ role: 'user', content: c }]);
const assistantUnit = textContent.map((c): Unit => [{ role: 'assistant', content: c }]);

/** An assistant turn with 1–3 calls, then a tool message for each, in any order, maybe with user text among them. */
const toolRound = fc
  .tuple(
    textContent,
    fc.array(fc.tuple(fc.constantFrom(...TOOL_NAMES), args, fc.boolean(), fc.nat()), {
      minLength: 1,
      maxLength: 3,
    }),
    fc.oneof(text, fc.array(textPart, { maxLength: 2 })),
    fc.option(text, { nil: undefined }),
  )
  .map(([c, calls, result, interjection]): Unit => {
    const assistant: Msg = {
      role: 'assistant',
      content: c,
      tool_calls: calls.map(([name, a, emptyArgs]) => ({
        type: 'function',
        function: { name, arguments: emptyArgs && Object.keys(a).length === 0 ? '' : JSON.stringify(a) },
      })),
    };
    // Results answer the calls in an order of their own (by each call's sort key).
    const results: Msg[] = calls
      .map(([, , , key], k) => ({ key, k }))
      .sort((a, b) => a.key - b.key)
      .map(({ k }) => ({ role: 'tool', tool_call_id: k, content: result }));
    if (interjection !== undefined) results.splice(1, 0, { role: 'user', content: interjection });
    return [assistant, ...results];
  });

const legacyRound = fc.tuple(fc.constantFrom(...TOOL_NAMES), args, text).map(
  ([name, a, result]): Unit => [
    { role: 'assistant', content: null, function_call: { name, arguments: JSON.stringify(a) } },
    { role: 'function', name, content: result },
  ],
);

/** Tool call ids in the styles clients use, unique per conversation (some need sanitizing). */
function assignIds(units: Unit[], style: number): Msg[] {
  let n = 0;
  const out: Msg[] = [];
  for (const unit of units) {
    const local = new Map<number, string>();
    for (const m of unit) {
      if (Array.isArray(m.tool_calls)) {
        m.tool_calls = (m.tool_calls as Msg[]).map((tc, k) => {
          const id = [`call_${n}`, `toolu_01${n}`, `functions.${(tc.function as Msg).name}:${n}`][style % 3];
          n++;
          local.set(k, id);
          return { ...tc, id };
        });
      }
      if (m.role === 'tool') out.push({ ...m, tool_call_id: local.get(m.tool_call_id as number) });
      else out.push(m);
    }
  }
  return out;
}

const toolDef = fc.tuple(fc.constantFrom(...TOOL_NAMES), fc.boolean()).map(([name, strict]) => ({
  type: 'function',
  function: {
    name,
    description: `The ${name} tool`,
    parameters: { type: 'object', properties: { q: { type: 'string', maxLength: 9 } }, required: ['q'] },
    ...(strict ? { strict: true } : {}),
  },
}));

export const openaiRequest: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      model: fc.constantFrom(
        'gpt-4o',
        'gpt-4o-mini',
        'o3',
        'o4-mini',
        'sonnet',
        'claude-sonnet-4-5',
        'claude-opus-4-6',
        'claude-opus-4-7',
        'claude-3-7-sonnet-20250219',
        'claude-haiku-4-5',
      ),
      units: fc.array(fc.oneof(systemUnit, userUnit, assistantUnit, toolRound, legacyRound), {
        minLength: 1,
        maxLength: 8,
      }),
      idStyle: fc.nat(),
      tools: fc.uniqueArray(toolDef, { maxLength: 3, selector: (t) => t.function.name }),
      toolChoice: fc.constantFrom(undefined, 'none', 'auto', 'required', 'named'),
      parallel: fc.constantFrom(undefined, true, false),
      responseFormat: fc.constantFrom(
        undefined,
        { type: 'text' },
        { type: 'json_object' },
        {
          type: 'json_schema',
          json_schema: {
            name: 'answer',
            strict: true,
            schema: { type: 'object', properties: { n: { type: 'integer', minimum: 1 } }, required: ['n'] },
          },
        },
      ),
      effort: fc.constantFrom(undefined, 'none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'),
      maxKey: fc.constantFrom(undefined, 'max_tokens', 'max_completion_tokens'),
      max: fc.integer({ min: 1, max: 64_000 }),
      temperature: fc.option(fc.double({ min: 0, max: 2, noNaN: true }), { nil: undefined }),
      topP: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
      stop: fc.option(fc.oneof(text, fc.array(text, { maxLength: 4 })), { nil: undefined }),
      user: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: undefined }),
      stream: fc.boolean(),
      seed: fc.option(fc.integer(), { nil: undefined }),
    },
    { requiredKeys: [] },
  )
  .map((r) => {
    const body: Record<string, unknown> = {
      model: r.model ?? 'gpt-4o',
      messages: assignIds(r.units ?? [[{ role: 'user', content: 'hi' }]], r.idStyle ?? 0),
    };
    if (r.tools?.length) {
      body.tools = r.tools;
      if (r.toolChoice === 'named')
        body.tool_choice = { type: 'function', function: { name: r.tools[0].function.name } };
      else if (r.toolChoice) body.tool_choice = r.toolChoice;
      if (r.parallel !== undefined) body.parallel_tool_calls = r.parallel;
    }
    if (r.responseFormat) body.response_format = r.responseFormat;
    if (r.effort) body.reasoning_effort = r.effort;
    if (r.maxKey) body[r.maxKey] = r.max;
    if (r.temperature !== undefined) body.temperature = r.temperature;
    if (r.topP !== undefined) body.top_p = r.topP;
    if (r.stop !== undefined) body.stop = r.stop;
    if (r.user !== undefined) body.user = r.user;
    if (r.stream) body.stream = true;
    if (r.seed !== undefined) body.seed = r.seed;
    return body;
  });
