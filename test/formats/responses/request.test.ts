import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProxyError } from '../../../src/errors.ts';
import { type Obj, options, parse } from './helpers.ts';

const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const PDF = Buffer.from('%PDF-1.4\n%%EOF').toString('base64');

/** The 400 a body gets, as `param` and message. */
function refusal(body: Obj): { param: string | undefined; message: string } {
  try {
    parse(body);
  } catch (err) {
    assert.ok(err instanceof ProxyError, String(err));
    assert.equal(err.status, 400);
    return { param: err.param, message: err.message };
  }
  assert.fail('expected a 400');
}

/** Debug notes of one parse. */
function notesOf(body: Obj): string {
  const notes: string[] = [];
  parse(body, options({ debug: (m) => notes.push(m) }));
  return notes.join('\n');
}

const call = (call_id: string, name: string, args: unknown = '{}', extra: Obj = {}) => ({
  type: 'function_call',
  call_id,
  name,
  arguments: typeof args === 'string' ? args : JSON.stringify(args),
  ...extra,
});
const output = (call_id: string, out: unknown) => ({ type: 'function_call_output', call_id, output: out });
const user = (text: string) => ({ type: 'message', role: 'user', content: [{ type: 'input_text', text }] });
const said = (text: string) => ({
  type: 'message',
  role: 'assistant',
  id: 'msg_earlier',
  content: [{ type: 'output_text', text, annotations: [] }],
});

describe('responses request: basics', () => {
  it('a string input is one user turn; model by the rules; instructions are the system prompt', () => {
    const { request, clientModel, stream } = parse({
      model: 'gpt-5',
      input: 'Hello',
      instructions: 'Be brief.',
    });
    assert.equal(clientModel, 'gpt-5');
    assert.equal(stream, false);
    assert.equal(request.model, 'claude-opus-5-5');
    assert.equal(request.max_tokens, 16384);
    assert.deepEqual(request.system, [
      { type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } },
    ]);
    assert.deepEqual(request.messages, [
      { role: 'user', content: [{ type: 'text', text: 'Hello', cache_control: { type: 'ephemeral' } }] },
    ]);
    assert.equal(request.stream, undefined);
  });

  it('stream, max_output_tokens, user, store, metadata; unknown fields only noted', () => {
    const body = {
      model: 'gpt-4.1',
      input: 'x',
      stream: true,
      max_output_tokens: 300,
      user: 'u-1',
      store: true,
      metadata: { a: '1' },
      prompt_cache_key: 'k',
      truncation: 'auto',
      service_tier: 'auto',
    };
    const { request, stream, hints } = parse(body);
    assert.equal(stream, true);
    assert.equal(request.stream, true);
    assert.equal(request.max_tokens, 300);
    assert.deepEqual(request.metadata, { user_id: 'u-1' });
    assert.equal(hints.echo.store, false, 'nothing is stored, whatever the client asked');
    assert.deepEqual(hints.echo.metadata, { a: '1' });
    assert.match(notesOf(body), /ignored fields: truncation, service_tier/);
  });

  it('previous_response_id, conversation, background and stored prompts are 400s that say why', () => {
    const prev = refusal({ model: 'gpt-5', input: 'x', previous_response_id: 'resp_123' });
    assert.equal(prev.param, 'previous_response_id');
    assert.match(prev.message, /resp_123.*stateless.*whole conversation in `input`/);
    assert.equal(refusal({ model: 'gpt-5', input: 'x', conversation: 'conv_1' }).param, 'conversation');
    assert.equal(refusal({ model: 'gpt-5', input: 'x', background: true }).param, 'background');
    assert.equal(refusal({ model: 'gpt-5', input: 'x', prompt: { id: 'pmpt_1' } }).param, 'prompt');
  });

  it('bad bodies name the field', () => {
    assert.equal(refusal({ input: 'x' }).param, 'model');
    assert.equal(refusal({ model: 'gpt-5' }).param, 'input');
    assert.equal(refusal({ model: 'gpt-5', input: 42 }).param, 'input');
    assert.equal(refusal({ model: 'gpt-5', input: 'x', max_output_tokens: 0 }).param, 'max_output_tokens');
    assert.equal(
      refusal({ model: 'gpt-5', input: 'x', reasoning: { effort: 'extreme' } }).param,
      'reasoning.effort',
    );
    assert.equal(
      refusal({ model: 'gpt-5', input: 'x', text: { format: { type: 'yaml' } } }).param,
      'text.format.type',
    );
    assert.equal(refusal({ model: 'gpt-5', input: 'x', include: 'all' }).param, 'include');
  });
});

describe('responses request: input items', () => {
  it('developer and system items join the system prompt; user items merge into one turn', () => {
    const { request } = parse({
      model: 'gpt-5',
      instructions: 'First.',
      input: [
        { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'Codex prompt.' }] },
        { role: 'system', content: 'Also this.' },
        user('<environment_context/>'),
        { role: 'user', content: 'do it' },
      ],
    });
    assert.deepEqual(
      (request.system as Obj[]).map((b) => b.text),
      ['First.', 'Codex prompt.', 'Also this.'],
    );
    assert.equal(request.messages.length, 1);
    assert.deepEqual(
      (request.messages[0].content as Obj[]).map((b) => b.text),
      ['<environment_context/>', 'do it'],
    );
  });

  it('images and files: data URLs, http URLs, PDFs inline and by URL', () => {
    const { request } = parse({
      model: 'gpt-5',
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'look' },
            { type: 'input_image', image_url: `data:image/png;base64,${PNG}`, detail: 'high' },
            { type: 'input_image', image_url: 'https://example.com/a.jpg' },
            { type: 'input_file', filename: 'a.pdf', file_data: `data:application/pdf;base64,${PDF}` },
            { type: 'input_file', file_url: 'https://example.com/b.pdf' },
          ],
        },
      ],
    });
    const blocks = request.messages[0].content as Obj[];
    assert.deepEqual(blocks[1], {
      type: 'image',
      source: { type: 'base64', media_type: 'image/png', data: PNG },
    });
    assert.deepEqual(blocks[2], { type: 'image', source: { type: 'url', url: 'https://example.com/a.jpg' } });
    assert.equal(blocks[3].source.media_type, 'application/pdf');
    assert.equal(blocks[3].title, 'a.pdf');
    assert.deepEqual(blocks[4].source, { type: 'url', url: 'https://example.com/b.pdf' });
  });

  it('function_call and function_call_output pair by call_id into tool_use and tool_result', () => {
    const { request } = parse({
      model: 'gpt-5',
      input: [
        user('weather in Paris and Rome?'),
        said('Checking both.'),
        call('toolu_01A', 'get_weather', { city: 'Paris' }),
        call('call_b.2', 'get_weather', { city: 'Rome' }),
        output('toolu_01A', 'Sunny'),
        output('call_b.2', [{ type: 'input_text', text: 'Rainy' }]),
        said('Paris is sunny, Rome rainy.'),
        user('thanks'),
      ],
    });
    assert.deepEqual(request.messages[1], {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Checking both.' },
        { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'call_b_2', name: 'get_weather', input: { city: 'Rome' } },
      ],
    });
    assert.deepEqual(request.messages[2], {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_01A', content: 'Sunny' },
        { type: 'tool_result', tool_use_id: 'call_b_2', content: [{ type: 'text', text: 'Rainy' }] },
      ],
    });
    assert.equal(request.messages[3].role, 'assistant');
    assert.equal(request.messages.length, 5);
  });

  it('custom tool calls carry their text as {input}', () => {
    const { request } = parse({
      model: 'gpt-5',
      tools: [{ type: 'custom', name: 'apply_patch', description: 'Edit files.' }],
      input: [
        user('fix it'),
        { type: 'custom_tool_call', call_id: 'call_1', name: 'apply_patch', input: '*** Begin Patch\n' },
        { type: 'custom_tool_call_output', call_id: 'call_1', output: 'Done' },
      ],
    });
    assert.deepEqual((request.messages[1].content as Obj[])[0], {
      type: 'tool_use',
      id: 'call_1',
      name: 'apply_patch',
      input: { input: '*** Begin Patch\n' },
    });
    assert.deepEqual((request.messages[2].content as Obj[])[0], {
      type: 'tool_result',
      tool_use_id: 'call_1',
      content: 'Done',
      cache_control: { type: 'ephemeral' },
    });
  });

  it('reasoning items with a Claude signature come back as thinking, first in their turn', () => {
    const { request } = parse({
      model: 'gpt-5',
      reasoning: { effort: 'low' },
      include: ['reasoning.encrypted_content'],
      input: [
        user('go'),
        {
          type: 'reasoning',
          id: 'rs_1',
          summary: [{ type: 'summary_text', text: 'I should call the tool.' }],
          encrypted_content: 'EqQBsignature',
        },
        call('toolu_1', 'run', { cmd: 'ls' }),
        output('toolu_1', 'a.txt'),
      ],
    });
    assert.deepEqual((request.messages[1].content as Obj[])[0], {
      type: 'thinking',
      thinking: 'I should call the tool.',
      signature: 'EqQBsignature',
    });
    assert.deepEqual(request.thinking, { type: 'adaptive' }, 'the kept thinking lets the tool loop think');
  });

  it('reasoning without a Claude signature is dropped, and a tool loop then thinks no more', () => {
    const body = {
      model: 'gpt-5',
      reasoning: { effort: 'high' },
      input: [
        user('go'),
        { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'no signature' }] },
        { type: 'reasoning', id: 'rs_2', summary: [], encrypted_content: 'gAAAAABpPDIU-from-openai' },
        call('toolu_1', 'run'),
        output('toolu_1', 'ok'),
      ],
    };
    const { request } = parse(body);
    assert.deepEqual(
      (request.messages[1].content as Obj[]).map((b) => b.type),
      ['tool_use'],
    );
    assert.equal(request.thinking, undefined);
    assert.equal(request.output_config?.effort, 'high', 'the effort still shapes the answer');
    const notes = notesOf(body);
    assert.match(notes, /2 reasoning item\(s\) without a Claude signature dropped/);
    assert.match(notes, /reasoning.effort: thinking left off because of a tool loop/);
  });

  it('redacted thinking comes back from its marker; thinking before no assistant output is dropped', () => {
    const { request } = parse({
      model: 'gpt-5',
      input: [
        user('a'),
        { type: 'reasoning', summary: [], encrypted_content: 'ccproxy-redacted:REDACTEDDATA' },
        said('b'),
        {
          type: 'reasoning',
          summary: [{ type: 'summary_text', text: 'dangling' }],
          encrypted_content: 'Esig',
        },
        user('c'),
      ],
    });
    assert.deepEqual(request.messages[1].content, [
      { type: 'redacted_thinking', data: 'REDACTEDDATA' },
      { type: 'text', text: 'b' },
    ]);
    assert.equal(request.messages.length, 3);
  });

  it('hosted-tool items are passed over with a note; item_reference is a 400', () => {
    const body = {
      model: 'gpt-5',
      input: [user('a'), { type: 'web_search_call', id: 'ws_1', status: 'completed', action: {} }, said('b')],
    };
    assert.equal(parse(body).request.messages.length, 2);
    assert.match(notesOf(body), /passed over web_search_call items/);
    const ref = refusal({ model: 'gpt-5', input: [{ type: 'item_reference', id: 'msg_1' }] });
    assert.equal(ref.param, 'input[0].type');
    assert.match(ref.message, /stateless/);
  });

  it('bad items are 400s naming the item and the field', () => {
    const cases: Array<[unknown[], string, RegExp]> = [
      [[{ type: 'mystery' }], 'input[0].type', /'mystery' are not supported/],
      [[{ role: 'robot', content: 'x' }], 'input[0].role', /'robot' is not one of/],
      [[user('a'), output('nope', 'x')], 'input[1].call_id', /no call item before it has call_id 'nope'/],
      [[user('a'), call('c1', 'f')], 'input[1]', /function_call 'c1' \(f\) has no output item/],
      [[user('a'), call('c1', 'f', '{bad'), output('c1', 'x')], 'input[1].arguments', /not valid JSON/],
      [
        [user('a'), call('c1', 'f'), output('c1', 'x'), output('c1', 'y')],
        'input[3].call_id',
        /answered twice/,
      ],
      [
        [user('a'), call('c1', 'f'), output('c1', 'x'), user('b'), call('c2', 'f'), output('c1', 'z')],
        'input[5].call_id',
        /earlier turn/,
      ],
      [
        [{ role: 'user', content: [{ type: 'input_text', text: 'a' }, { type: 'input_audio' }] }],
        'input[0].content[1]',
        /audio/,
      ],
      [
        [{ role: 'user', content: [{ type: 'video' }] }],
        'input[0].content[0].type',
        /'video' is not supported/,
      ],
      [
        [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1' }] }],
        'input[0].content[0].file_id',
        /file storage/,
      ],
      [
        [{ role: 'developer', content: [{ type: 'input_image', image_url: 'https://x' }] }],
        'input[0].content[0].type',
        /only contain input_text/,
      ],
      [
        [{ role: 'assistant', content: [{ type: 'input_image' }] }],
        'input[0].content[0].type',
        /not supported in assistant/,
      ],
      [[{ type: 'reasoning', summary: 'x', encrypted_content: 'Es' }], 'input[0].summary', /array/],
    ];
    for (const [input, param, message] of cases) {
      const r = refusal({ model: 'gpt-5', input });
      assert.equal(r.param, param, JSON.stringify(input));
      assert.match(r.message, message);
      assert.ok(r.message.startsWith(param), 'the message starts with the field');
    }
  });

  it('a conversation that opens with a call gets a placeholder user turn', () => {
    const { request } = parse({ model: 'gpt-5', input: [call('c1', 'f'), output('c1', 'x')] });
    assert.deepEqual(request.messages[0], { role: 'user', content: [{ type: 'text', text: '.' }] });
  });
});

describe('responses request: tools', () => {
  const CODEX_TOOLS = [
    {
      type: 'function',
      name: 'exec_command',
      description: 'Run',
      strict: false,
      parameters: { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'] },
    },
    {
      type: 'namespace',
      name: 'multi_agent_v1',
      description: 'Sub-agents.',
      tools: [
        {
          type: 'function',
          name: 'spawn_agent',
          description: 'Spawn.',
          parameters: { type: 'object', properties: {} },
        },
        {
          type: 'function',
          name: 'exec_command',
          description: 'Clash.',
          parameters: { type: 'object', properties: {} },
        },
      ],
    },
    {
      type: 'custom',
      name: 'apply_patch',
      description: 'Edit files.',
      format: { type: 'grammar', syntax: 'lark', definition: 'start: "x"' },
    },
    { type: 'web_search', external_web_access: false },
    { type: 'tool_search', execution: 'client', parameters: { type: 'object' } },
  ];

  it('function tools as they are; namespaces flattened; custom tools take a string; hosted tools dropped', () => {
    const body = { model: 'gpt-5', input: 'x', tools: CODEX_TOOLS };
    const { request, hints } = parse(body);
    const tools = request.tools as Obj[];
    assert.deepEqual(
      tools.map((t) => t.name),
      ['exec_command', 'spawn_agent', 'multi_agent_v1__exec_command', 'apply_patch'],
    );
    assert.deepEqual(tools[0].input_schema, CODEX_TOOLS[0].parameters);
    assert.match(tools[1].description, /^Spawn\.\n\n\(multi_agent_v1: Sub-agents\.\)$/);
    assert.deepEqual(tools[3].input_schema.required, ['input']);
    assert.match(tools[3].description, /Edit files\.[\s\S]*lark grammar:\nstart: "x"/);
    assert.deepEqual(hints.clientTools.get('spawn_agent'), {
      name: 'spawn_agent',
      namespace: 'multi_agent_v1',
    });
    assert.deepEqual(hints.clientTools.get('multi_agent_v1__exec_command'), {
      name: 'exec_command',
      namespace: 'multi_agent_v1',
    });
    assert.deepEqual(hints.clientTools.get('apply_patch'), {
      name: 'apply_patch',
      namespace: undefined,
      custom: true,
    });
    assert.equal(hints.clientTools.get('exec_command'), undefined, 'a plain function needs no mapping');
    assert.match(notesOf(body), /dropped hosted tools without a Claude equivalent: web_search, tool_search/);
  });

  it('a replayed namespaced call finds its flattened tool', () => {
    const { request } = parse({
      model: 'gpt-5',
      tools: CODEX_TOOLS,
      input: [
        user('x'),
        call('c1', 'exec_command', {}, { namespace: 'multi_agent_v1' }),
        call('c2', 'exec_command', { cmd: 'ls' }),
        output('c1', 'a'),
        output('c2', 'b'),
      ],
    });
    assert.deepEqual(
      (request.messages[1].content as Obj[]).map((b) => b.name),
      ['multi_agent_v1__exec_command', 'exec_command'],
    );
  });

  it('tool_choice and parallel_tool_calls', () => {
    const base = { model: 'gpt-5', input: 'x', tools: CODEX_TOOLS };
    assert.deepEqual(parse({ ...base, tool_choice: 'required' }).request.tool_choice, { type: 'any' });
    assert.deepEqual(parse({ ...base, tool_choice: 'none' }).request.tool_choice, { type: 'none' });
    assert.deepEqual(
      parse({ ...base, tool_choice: { type: 'function', name: 'exec_command' } }).request.tool_choice,
      {
        type: 'tool',
        name: 'exec_command',
      },
    );
    assert.deepEqual(
      parse({ ...base, tool_choice: { type: 'function', name: 'exec_command', namespace: 'multi_agent_v1' } })
        .request.tool_choice,
      { type: 'tool', name: 'multi_agent_v1__exec_command' },
    );
    assert.deepEqual(
      parse({ ...base, tool_choice: { type: 'custom', name: 'apply_patch' } }).request.tool_choice,
      {
        type: 'tool',
        name: 'apply_patch',
      },
    );
    assert.deepEqual(parse({ ...base, tool_choice: { type: 'web_search_preview' } }).request.tool_choice, {
      type: 'auto',
    });
    const allowed = parse({
      ...base,
      tool_choice: {
        type: 'allowed_tools',
        mode: 'required',
        tools: [
          { type: 'function', name: 'spawn_agent', namespace: 'multi_agent_v1' },
          { type: 'web_search' },
        ],
      },
    }).request;
    assert.deepEqual(
      (allowed.tools as Obj[]).map((t) => t.name),
      ['spawn_agent'],
    );
    assert.deepEqual(allowed.tool_choice, { type: 'any' });
    assert.deepEqual(parse({ ...base, parallel_tool_calls: false }).request.tool_choice, {
      type: 'auto',
      disable_parallel_tool_use: true,
    });
    assert.equal(
      refusal({ ...base, tool_choice: { type: 'function', name: 'nope' } }).param,
      'tool_choice.name',
    );
    assert.equal(refusal({ ...base, tool_choice: 'sometimes' }).param, 'tool_choice');
    assert.equal(
      refusal({
        ...base,
        tools: [
          { type: 'function', name: 'a' },
          { type: 'function', name: 'a' },
        ],
      }).param,
      'tools[1].name',
    );
  });
});

describe('responses request: text.format, reasoning, caching', () => {
  const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };

  it('json_schema on a model with structured outputs → output_config.format', () => {
    const { request, hints } = parse({
      model: 'gpt-5',
      input: 'x',
      text: { format: { type: 'json_schema', name: 'answer', schema, strict: true }, verbosity: 'low' },
    });
    const format = request.output_config?.format as Obj;
    assert.equal(format.type, 'json_schema');
    assert.equal(format.schema.additionalProperties, false);
    assert.equal(hints.jsonTool, undefined);
  });

  it('json_object, or an older model, → a forced tool whose input is the answer', () => {
    const obj = parse({ model: 'gpt-5', input: 'x', text: { format: { type: 'json_object' } } });
    assert.equal(obj.hints.jsonTool, 'json_response');
    assert.deepEqual(obj.request.tool_choice, { type: 'tool', name: 'json_response' });
    const old = parse({
      model: 'claude-3-7-sonnet-latest',
      input: 'x',
      text: { format: { type: 'json_schema', name: 'answer', schema } },
    });
    assert.equal(old.hints.jsonTool, 'answer');
  });

  it('reasoning.effort → thinking; include asks for signatures', () => {
    const { request, hints } = parse({
      model: 'o3',
      input: 'x',
      reasoning: { effort: 'medium', summary: 'auto' },
      include: ['reasoning.encrypted_content'],
    });
    assert.deepEqual(request.thinking, { type: 'adaptive' });
    assert.equal(request.output_config?.effort, 'medium');
    assert.equal(hints.encryptedReasoning, true);
    assert.equal(parse({ model: 'o3', input: 'x' }).hints.encryptedReasoning, false);
  });

  it('two cache breakpoints: the end of the system prompt and the end of the conversation', () => {
    const { request } = parse({
      model: 'gpt-5',
      input: [
        { role: 'developer', content: 'a' },
        { role: 'developer', content: 'b' },
        user('q'),
        call('c1', 'f'),
        output('c1', 'r'),
      ],
    });
    const system = request.system as Obj[];
    assert.equal(system[0].cache_control, undefined);
    assert.deepEqual(system[1].cache_control, { type: 'ephemeral' });
    const last = request.messages[request.messages.length - 1].content as Obj[];
    assert.deepEqual(last[last.length - 1].cache_control, { type: 'ephemeral' });
    const marks = JSON.stringify(request).match(/cache_control/g) ?? [];
    assert.equal(marks.length, 2);
  });
});
