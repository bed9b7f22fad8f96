/**
 * fast-check generators for the Responses frontend's property tests: render settings for the
 * Anthropic streams of ../openai/arbitraries.ts, and valid Responses requests shaped like an agent's
 * (Codex's) history: instructions, user and developer messages, replayed assistant messages,
 * reasoning items (signed by Claude, unsigned, or OpenAI's), function and custom tool calls with
 * their outputs, and every kind of tool.
 */
import fc from 'fast-check';
import type { ClientTool, ResponsesHints } from '../../../src/formats/responses/types.ts';
import { text } from '../openai/arbitraries.ts';
import { ECHO } from './helpers.ts';

// ---------------------------------------------------------------------------------------------
// Rendering

/** Names the Anthropic stream generator uses for tools: some stand for namespaced or custom tools. */
const CLIENT_TOOLS: Array<[string, ClientTool]> = [
  ['search', { name: 'search', custom: true }],
  ['clock', { name: 'now', namespace: 'time' }],
];

export const renderHints: fc.Arbitrary<ResponsesHints> = fc.record({
  encryptedReasoning: fc.boolean(),
  jsonTool: fc.constantFrom(undefined, 'answer'),
  clientTools: fc.subarray(CLIENT_TOOLS).map((entries) => new Map(entries)),
  echo: fc.constant(ECHO),
});

// ---------------------------------------------------------------------------------------------
// Requests

type Item = Record<string, unknown>;

const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==';

const userPart = fc.oneof(
  text.map((t) => ({ type: 'input_text', text: t })),
  fc.constant({ type: 'input_image', image_url: `data:image/png;base64,${PNG}`, detail: 'auto' }),
);
const userMessage = fc.oneof(
  text.map((t): Item => ({ role: 'user', content: t })),
  fc.array(userPart, { maxLength: 3 }).map((content): Item => ({ type: 'message', role: 'user', content })),
);
const developerMessage = text.map(
  (t): Item => ({ type: 'message', role: 'developer', content: [{ type: 'input_text', text: t }] }),
);

const reasoning = fc.oneof(
  fc.record({ thinking: text, signature: fc.base64String({ minLength: 4, maxLength: 16 }) }).map(
    ({ thinking, signature }): Item => ({
      type: 'reasoning',
      id: 'rs_x',
      summary: [{ type: 'summary_text', text: thinking }],
      encrypted_content: `E${signature}`,
    }),
  ),
  fc.constant<Item>({ type: 'reasoning', id: 'rs_y', summary: [] }),
  fc.constant<Item>({ type: 'reasoning', id: 'rs_z', summary: [], encrypted_content: 'gAAAAABopenai' }),
  fc.constant<Item>({
    type: 'reasoning',
    id: 'rs_r',
    summary: [],
    encrypted_content: 'ccproxy-redacted:DATA',
  }),
);

const callName = fc.constantFrom(
  { name: 'exec_command' },
  { name: 'spawn_agent', namespace: 'agents' },
  { name: 'apply_patch', custom: true },
);

/** One assistant step: maybe reasoning, maybe text, maybe calls — each answered right after. */
const assistantStep = fc
  .record({
    reasoning: fc.option(reasoning, { nil: undefined }),
    text: fc.option(text, { nil: undefined }),
    calls: fc.array(
      fc.record({ tool: callName, arg: text, output: fc.oneof(text, fc.array(userPart, { maxLength: 2 })) }),
      {
        maxLength: 3,
      },
    ),
  })
  .map(({ reasoning, text, calls }) => {
    const items: Item[] = [];
    if (reasoning) items.push(reasoning);
    if (text !== undefined)
      items.push({
        type: 'message',
        role: 'assistant',
        id: 'msg_x',
        content: [{ type: 'output_text', text, annotations: [] }],
      });
    const outputs: Item[] = [];
    calls.forEach((c, k) => {
      const call_id = `call_${k}.${c.tool.name}`;
      if (c.tool.custom) {
        items.push({ type: 'custom_tool_call', call_id, name: c.tool.name, input: c.arg });
        outputs.push({
          type: 'custom_tool_call_output',
          call_id,
          output: typeof c.output === 'string' ? c.output : '',
        });
      } else {
        items.push({
          type: 'function_call',
          call_id,
          name: c.tool.name,
          arguments: JSON.stringify({ cmd: c.arg }),
          ...(c.tool.namespace ? { namespace: c.tool.namespace } : {}),
        });
        outputs.push({ type: 'function_call_output', call_id, output: c.output });
      }
    });
    return [...items, ...outputs];
  });

const input = fc
  .array(
    fc.oneof(
      userMessage.map((m) => [m]),
      developerMessage.map((m) => [m]),
      assistantStep,
    ),
    { maxLength: 6 },
  )
  .map((steps) => steps.flat());

const TOOLS: Item[] = [
  {
    type: 'function',
    name: 'exec_command',
    parameters: { type: 'object', properties: { cmd: { type: 'string' } } },
    strict: false,
  },
  {
    type: 'namespace',
    name: 'agents',
    description: 'Sub-agents.',
    tools: [{ type: 'function', name: 'spawn_agent', parameters: { type: 'object', properties: {} } }],
  },
  {
    type: 'custom',
    name: 'apply_patch',
    description: 'Edit files.',
    format: { type: 'grammar', syntax: 'lark', definition: 'start: /.+/' },
  },
  { type: 'web_search', external_web_access: false },
];

export const responsesRequest: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      model: fc.constantFrom('gpt-5', 'gpt-4.1', 'o3-mini', 'claude-opus-4-5', 'claude-3-7-sonnet-latest'),
      instructions: fc.option(text, { nil: undefined }),
      input: fc.oneof(text, input),
      tools: fc.option(fc.subarray(TOOLS), { nil: undefined }),
      tool_choice: fc.constantFrom(undefined, 'auto', 'required', 'none', { type: 'web_search' }),
      parallel_tool_calls: fc.option(fc.boolean(), { nil: undefined }),
      max_output_tokens: fc.option(fc.integer({ min: 16, max: 40_000 }), { nil: undefined }),
      reasoning: fc.option(
        fc.record({ effort: fc.constantFrom('minimal', 'low', 'medium', 'high', 'xhigh') }),
        {
          nil: undefined,
        },
      ),
      include: fc.constantFrom(undefined, ['reasoning.encrypted_content']),
      text: fc.constantFrom(
        undefined,
        { format: { type: 'text' } },
        { format: { type: 'json_object' } },
        {
          format: {
            type: 'json_schema',
            name: 'out',
            schema: { type: 'object', properties: { a: { type: 'string' } } },
          },
        },
      ),
      temperature: fc.option(fc.double({ min: 0, max: 2, noNaN: true }), { nil: undefined }),
      store: fc.boolean(),
    },
    { requiredKeys: ['model', 'input', 'store'] },
  )
  .map((body) => {
    // Replayed calls need their tools offered, as the real API requires.
    const used = JSON.stringify(body.input);
    if (/exec_command|spawn_agent|apply_patch/.test(used)) body.tools = TOOLS;
    return body;
  });
