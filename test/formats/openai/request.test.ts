import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isProxyError, type ProxyError } from '../../../src/errors.ts';
import { options, parse } from './helpers.ts';

const user = (content: unknown) => ({ role: 'user', content });
const base = (over: Record<string, unknown> = {}) => ({ model: 'gpt-4o', messages: [user('hi')], ...over });

/** Assert the body is refused with a 400 whose message and param name `param`. */
function rejects(body: Record<string, unknown>, param: string, words?: RegExp): ProxyError {
  let caught: unknown;
  try {
    parse(body);
  } catch (err) {
    caught = err;
  }
  assert.ok(isProxyError(caught), `expected a ProxyError, got ${String(caught)}`);
  assert.equal(caught.kind, 'invalid_request');
  assert.equal(caught.status, 400);
  assert.equal(caught.param, param);
  assert.ok(caught.message.includes(param), `message names ${param}: ${caught.message}`);
  if (words) assert.match(caught.message, words);
  return caught;
}

const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==';
const PDF = Buffer.from('%PDF-1.4\n%%EOF').toString('base64');

describe('openai request: basics', () => {
  it('maps the model, keeps the client name, defaults max_tokens per model', () => {
    const p = parse(base());
    assert.equal(p.clientModel, 'gpt-4o');
    assert.equal(p.request.model, 'claude-sonnet-5-5');
    assert.equal(p.request.max_tokens, 16384);
    assert.equal(p.stream, false);
    assert.equal(p.request.stream, undefined);
    assert.deepEqual(p.request.messages, [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
  });

  it('passes Claude ids through and honours a user rule', () => {
    assert.equal(parse(base({ model: 'claude-opus-4-6' })).request.model, 'claude-opus-4-6');
    const opts = options({ modelRules: [{ match: 'prefix', pattern: 'my-', model: 'claude-haiku-4-5' }] });
    assert.equal(parse(base({ model: 'my-model' }), opts).request.model, 'claude-haiku-4-5');
  });

  it('max_completion_tokens wins over max_tokens, then the configured default', () => {
    assert.equal(parse(base({ max_completion_tokens: 100, max_tokens: 200 })).request.max_tokens, 100);
    assert.equal(parse(base({ max_tokens: 200 })).request.max_tokens, 200);
    assert.equal(parse(base(), options({ defaultMaxTokens: 999 })).request.max_tokens, 999);
    assert.equal(parse(base({ model: 'claude-3-haiku-20240307' })).request.max_tokens, 4096);
    rejects(base({ max_tokens: 0 }), 'max_tokens');
    rejects(base({ max_completion_tokens: 1.5 }), 'max_completion_tokens');
  });

  it('stream and stream_options.include_usage', () => {
    const p = parse(base({ stream: true, stream_options: { include_usage: true } }));
    assert.equal(p.stream, true);
    assert.equal(p.request.stream, true);
    assert.equal(p.hints.includeUsage, true);
    assert.equal(parse(base({ stream: true })).hints.includeUsage, false);
    assert.equal(parse(base({ stream_options: { include_usage: true } })).hints.includeUsage, false);
    assert.equal(parse(base({ stream: true, stream_options: null })).hints.includeUsage, false);
    assert.equal(parse(base({ stream: true, stream_options: {} })).hints.includeUsage, false);
  });

  it('stream_options of the wrong type is refused, as OpenAI does', () => {
    rejects(
      base({ stream: true, stream_options: { include_usage: 'x' } }),
      'stream_options.include_usage',
      /boolean/,
    );
    rejects(base({ stream: true, stream_options: true }), 'stream_options', /object/);
    rejects(base({ stream_options: [] }), 'stream_options', /object/);
  });

  it('n > 1 is refused, n = 1 accepted', () => {
    rejects(base({ n: 2 }), 'n', /only 1/);
    assert.ok(parse(base({ n: 1 })));
  });

  it('refuses a body without model or messages', () => {
    rejects({ messages: [user('x')] }, 'model');
    rejects({ model: 'gpt-4o' }, 'messages');
    rejects({ model: 'gpt-4o', messages: [] }, 'messages');
    rejects({ model: 'gpt-4o', messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role');
  });

  it('stop → stop_sequences without whitespace-only ones', () => {
    assert.deepEqual(parse(base({ stop: 'END' })).request.stop_sequences, ['END']);
    assert.deepEqual(parse(base({ stop: ['\n', 'STOP'] })).request.stop_sequences, ['STOP']);
    assert.equal(parse(base({ stop: ['\n'] })).request.stop_sequences, undefined);
    rejects(base({ stop: 5 }), 'stop');
  });

  it('user (or safety_identifier) → metadata.user_id', () => {
    assert.deepEqual(parse(base({ user: 'u-1' })).request.metadata, { user_id: 'u-1' });
    assert.deepEqual(parse(base({ safety_identifier: 's-1' })).request.metadata, { user_id: 's-1' });
  });

  it('lists ignored fields in one debug line, never their values', () => {
    const lines: string[] = [];
    parse(
      base({
        seed: 42,
        logprobs: true,
        frequency_penalty: 0.5,
        presence_penalty: null,
        logit_bias: { '1': 2 },
      }),
      options({ debug: (m) => lines.push(m) }),
    );
    assert.equal(lines.length, 1);
    assert.match(lines[0], /ignored fields: seed, logprobs, frequency_penalty, logit_bias/);
    assert.doesNotMatch(lines[0], /presence_penalty|42/);
  });
});

describe('openai request: sampling', () => {
  const claude45 = (over: Record<string, unknown>) => base({ model: 'claude-sonnet-4-5', ...over });

  it('clamps temperature into 0..1 and passes top_p', () => {
    assert.equal(parse(claude45({ temperature: 1.7 })).request.temperature, 1);
    assert.equal(parse(claude45({ temperature: 0.2 })).request.temperature, 0.2);
    assert.equal(parse(claude45({ top_p: 0.9 })).request.top_p, 0.9);
  });

  it('keeps temperature and drops top_p when both are set', () => {
    const r = parse(claude45({ temperature: 0.5, top_p: 0.9 })).request;
    assert.equal(r.temperature, 0.5);
    assert.equal(r.top_p, undefined);
  });

  it('drops sampling parameters on models that refuse them', () => {
    const notes: string[] = [];
    const r = parse(base({ temperature: 0.7, top_p: 0.5 }), options({ debug: (m) => notes.push(m) })).request;
    assert.equal(r.temperature, undefined);
    assert.equal(r.top_p, undefined);
    assert.match(notes.join(), /does not accept/);
    assert.equal(parse(base({ model: 'claude-opus-4-7', temperature: 0.7 })).request.temperature, undefined);
  });

  it('refuses non-numbers', () => {
    rejects(claude45({ temperature: 'hot' }), 'temperature');
  });
});

describe('openai request: system and message order', () => {
  it('merges system and developer messages, wherever they are, in order', () => {
    const r = parse({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'A' },
        user('q1'),
        { role: 'developer', content: [{ type: 'text', text: 'B' }] },
        { role: 'assistant', content: 'a1' },
        { role: 'system', content: 'C' },
        user('q2'),
      ],
    }).request;
    assert.deepEqual(r.system, [
      { type: 'text', text: 'A' },
      { type: 'text', text: 'B' },
      { type: 'text', text: 'C' },
    ]);
    assert.deepEqual(
      r.messages.map((m) => m.role),
      ['user', 'assistant', 'user'],
    );
  });

  it('merges consecutive same-role messages and drops empty ones', () => {
    const r = parse({
      model: 'gpt-4o',
      messages: [
        user('a'),
        user(''),
        user([{ type: 'text', text: '   ' }]),
        user('b'),
        { role: 'assistant', content: '' },
        { role: 'assistant', content: null },
        user('c'),
      ],
    }).request;
    assert.deepEqual(r.messages, [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
          { type: 'text', text: 'c' },
        ],
      },
    ]);
  });

  it('opens with a user turn, trims a final assistant prefill', () => {
    const r = parse({
      model: 'gpt-4o',
      messages: [
        { role: 'assistant', content: 'Hello' },
        user('hi'),
        { role: 'assistant', content: 'Sure:  \n' },
      ],
    }).request;
    assert.equal(r.messages[0].role, 'user');
    assert.deepEqual(r.messages[3], { role: 'assistant', content: [{ type: 'text', text: 'Sure:' }] });
  });

  it('system-only requests become the user turn; no content at all gets a placeholder', () => {
    const r = parse({ model: 'gpt-4o', messages: [{ role: 'system', content: 'Say hi' }] }).request;
    assert.equal(r.system, undefined);
    assert.deepEqual(r.messages, [{ role: 'user', content: [{ type: 'text', text: 'Say hi' }] }]);
    assert.deepEqual(parse({ model: 'gpt-4o', messages: [user(' ')] }).request.messages, [
      { role: 'user', content: [{ type: 'text', text: '.' }] },
    ]);
  });

  it('system messages may only hold text', () => {
    rejects(
      {
        model: 'gpt-4o',
        messages: [
          { role: 'system', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] },
          user('x'),
        ],
      },
      'messages[0].content',
    );
  });
});

describe('openai request: content parts', () => {
  it('text, data-URL image, http image', () => {
    const r = parse(
      base({
        messages: [
          user([
            { type: 'text', text: 'look' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}`, detail: 'high' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
            { type: 'image_url', image_url: { url: `data:image/jpg;base64,${PNG}` } },
          ]),
        ],
      }),
    ).request;
    assert.deepEqual(r.messages[0].content, [
      { type: 'text', text: 'look' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
      { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: PNG } },
    ]);
  });

  it('PDF file parts → document blocks (data URL or raw base64), text files → text documents', () => {
    const r = parse(
      base({
        messages: [
          user([
            { type: 'file', file: { filename: 'a.pdf', file_data: `data:application/pdf;base64,${PDF}` } },
            { type: 'file', file: { file_data: PDF } },
            {
              type: 'file',
              file: {
                filename: 'n.txt',
                file_data: `data:text/plain;base64,${Buffer.from('note').toString('base64')}`,
              },
            },
          ]),
        ],
      }),
    ).request;
    assert.deepEqual(r.messages[0].content, [
      {
        type: 'document',
        source: { type: 'base64', media_type: 'application/pdf', data: PDF },
        title: 'a.pdf',
      },
      { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF } },
      { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'note' }, title: 'n.txt' },
    ]);
  });

  it('refuses unsupported parts, naming the part', () => {
    const msgs = (part: unknown) => base({ messages: [user([{ type: 'text', text: 'x' }, part])] });
    rejects(
      msgs({ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }),
      'messages[0].content[1]',
      /audio/,
    );
    rejects(msgs({ type: 'video', video: {} }), 'messages[0].content[1].type', /video/);
    rejects(
      msgs({ type: 'file', file: { file_id: 'file-abc' } }),
      'messages[0].content[1].file.file_id',
      /file_data/,
    );
    rejects(
      msgs({ type: 'image_url', image_url: { url: `data:image/tiff;base64,${PNG}` } }),
      'messages[0].content[1].image_url.url',
      /tiff/,
    );
    rejects(
      msgs({ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }),
      'messages[0].content[1].image_url.url',
    );
    rejects(
      msgs({ type: 'file', file: { file_data: 'data:application/zip;base64,UEsDBA==' } }),
      'messages[0].content[1].file.file_data',
      /zip/,
    );
  });
});

describe('openai request: tool calls and results', () => {
  const call = (id: string, name: string, args: string) => ({
    id,
    type: 'function',
    function: { name, arguments: args },
  });
  const tools = [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Weather',
        parameters: { type: 'object', properties: { city: { type: 'string' } } },
      },
    },
    { type: 'function', function: { name: 'get_time' } },
  ];

  it('tool_calls → tool_use; tool messages → one user turn of tool_results, in order', () => {
    const r = parse({
      model: 'gpt-4o',
      tools,
      messages: [
        user('weather and time?'),
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [call('toolu_01A', 'get_weather', '{"city":"Paris"}'), call('call_b', 'get_time', '')],
        },
        { role: 'tool', tool_call_id: 'call_b', content: '12:00' },
        { role: 'tool', tool_call_id: 'toolu_01A', content: [{ type: 'text', text: 'sunny' }] },
        user('thanks'),
      ],
    }).request;
    assert.deepEqual(r.messages[1], {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'call_b', name: 'get_time', input: {} },
      ],
    });
    assert.deepEqual(r.messages[2], {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'call_b', content: '12:00' },
        { type: 'tool_result', tool_use_id: 'toolu_01A', content: [{ type: 'text', text: 'sunny' }] },
        { type: 'text', text: 'thanks' },
      ],
    });
    assert.equal(r.messages.length, 3);
  });

  it('keeps tool_results first when a user message comes between them', () => {
    const r = parse({
      model: 'gpt-4o',
      messages: [
        user('go'),
        { role: 'assistant', tool_calls: [call('a', 'get_time', '{}'), call('b', 'get_time', '{}')] },
        { role: 'tool', tool_call_id: 'a', content: '1' },
        user('note'),
        { role: 'tool', tool_call_id: 'b', content: '' },
      ],
    }).request;
    assert.deepEqual(
      (r.messages[2].content as Array<{ type: string }>).map((b) => b.type),
      ['tool_result', 'tool_result', 'text'],
    );
    assert.deepEqual((r.messages[2].content as unknown[])[1], { type: 'tool_result', tool_use_id: 'b' });
  });

  it('makes client ids the API cannot take valid, consistently', () => {
    const r = parse({
      model: 'gpt-4o',
      messages: [
        user('go'),
        { role: 'assistant', tool_calls: [call('functions.get_time:0', 'get_time', '{}')] },
        { role: 'tool', tool_call_id: 'functions.get_time:0', content: 'ok' },
      ],
    }).request;
    const use = (r.messages[1].content as Array<{ id: string }>)[0];
    assert.equal(use.id, 'functions_get_time_0');
    assert.equal(
      (r.messages[2].content as Array<{ tool_use_id: string }>)[0].tool_use_id,
      'functions_get_time_0',
    );
  });

  it('arguments that are not JSON → 400 naming the call', () => {
    const e = rejects(
      base({
        messages: [
          user('x'),
          { role: 'assistant', tool_calls: [call('call_1', 'get_time', '{oops')] },
          { role: 'tool', tool_call_id: 'call_1', content: 'x' },
        ],
      }),
      'messages[1].tool_calls[0].function.arguments',
      /call_1/,
    );
    assert.match(e.message, /not valid JSON/);
    rejects(
      base({ messages: [user('x'), { role: 'assistant', tool_calls: [call('call_1', 'get_time', '[1]')] }] }),
      'messages[1].tool_calls[0].function.arguments',
      /JSON object/,
    );
  });

  it('unknown, repeated, stale and missing tool results → 400', () => {
    const start = [user('x'), { role: 'assistant', tool_calls: [call('call_1', 'get_time', '{}')] }];
    rejects(
      base({ messages: [...start, { role: 'tool', tool_call_id: 'nope', content: 'x' }] }),
      'messages[2].tool_call_id',
      /nope/,
    );
    rejects(
      base({
        messages: [
          ...start,
          { role: 'tool', tool_call_id: 'call_1', content: 'x' },
          { role: 'tool', tool_call_id: 'call_1', content: 'y' },
        ],
      }),
      'messages[3].tool_call_id',
      /twice/,
    );
    rejects(
      base({
        messages: [
          ...start,
          { role: 'tool', tool_call_id: 'call_1', content: 'x' },
          { role: 'assistant', content: 'done' },
          user('again'),
          { role: 'tool', tool_call_id: 'call_1', content: 'x' },
        ],
      }),
      'messages[5].tool_call_id',
      /earlier turn/,
    );
    rejects(base({ messages: [...start, user('never mind')] }), 'messages[1].tool_calls[0]', /call_1/);
    rejects(
      base({ messages: [user('x'), { role: 'tool', tool_call_id: 'c', content: 'x' }] }),
      'messages[1].tool_call_id',
    );
  });

  it('legacy function_call and function messages', () => {
    const p = parse({
      model: 'gpt-4o',
      functions: [{ name: 'get_time', parameters: { type: 'object', properties: {} } }],
      function_call: 'auto',
      messages: [
        user('time?'),
        { role: 'assistant', content: null, function_call: { name: 'get_time', arguments: '{"tz":"UTC"}' } },
        { role: 'function', name: 'get_time', content: '12:00' },
      ],
    });
    const r = p.request;
    assert.equal(p.hints.legacyFunctions, true);
    const use = (r.messages[1].content as Array<Record<string, unknown>>)[0];
    assert.equal(use.type, 'tool_use');
    assert.deepEqual(use.input, { tz: 'UTC' });
    assert.deepEqual(r.messages[2].content, [{ type: 'tool_result', tool_use_id: use.id, content: '12:00' }]);
    assert.deepEqual(r.tools, [{ name: 'get_time', input_schema: { type: 'object', properties: {} } }]);
    assert.deepEqual(r.tool_choice, { type: 'auto', disable_parallel_tool_use: true });
    rejects(
      base({ messages: [user('x'), { role: 'assistant', function_call: { name: 'f', arguments: 'nope' } }] }),
      'messages[1].function_call.arguments',
      /function call \(f\)/,
    );
    rejects(
      base({ messages: [user('x'), { role: 'function', name: 'f', content: 'x' }] }),
      'messages[1].name',
    );
  });

  it('tools, tool_choice and parallel_tool_calls', () => {
    const r = parse(base({ tools, tool_choice: 'required', parallel_tool_calls: false })).request;
    assert.deepEqual(r.tools, [
      {
        name: 'get_weather',
        description: 'Weather',
        input_schema: { type: 'object', properties: { city: { type: 'string' } } },
      },
      { name: 'get_time', input_schema: { type: 'object', properties: {} } },
    ]);
    assert.deepEqual(r.tool_choice, { type: 'any', disable_parallel_tool_use: true });
    assert.deepEqual(parse(base({ tools, tool_choice: 'none' })).request.tool_choice, { type: 'none' });
    assert.deepEqual(parse(base({ tools, tool_choice: 'auto' })).request.tool_choice, { type: 'auto' });
    assert.equal(parse(base({ tools })).request.tool_choice, undefined);
    assert.deepEqual(parse(base({ tools, parallel_tool_calls: false })).request.tool_choice, {
      type: 'auto',
      disable_parallel_tool_use: true,
    });
    assert.deepEqual(
      parse(base({ tools, tool_choice: { type: 'function', function: { name: 'get_time' } } })).request
        .tool_choice,
      { type: 'tool', name: 'get_time' },
    );
    const allowed = parse(
      base({
        tools,
        tool_choice: {
          type: 'allowed_tools',
          allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'get_time' } }] },
        },
      }),
    ).request;
    assert.deepEqual(
      allowed.tools?.map((t) => t.name),
      ['get_time'],
    );
    assert.deepEqual(allowed.tool_choice, { type: 'any' });
    assert.equal(parse(base({ tool_choice: 'auto' })).request.tool_choice, undefined);
  });

  it('strict tools become Anthropic strict tools where the model has them', () => {
    const strictTool = {
      type: 'function',
      function: {
        name: 'f',
        strict: true,
        parameters: { type: 'object', properties: { n: { type: 'integer', maximum: 9 } }, required: ['n'] },
      },
    };
    const [tool] = parse(base({ tools: [strictTool] })).request.tools ?? [];
    assert.deepEqual(tool, {
      name: 'f',
      strict: true,
      input_schema: {
        type: 'object',
        properties: { n: { type: 'integer', description: '{maximum: 9}' } },
        additionalProperties: false,
        required: ['n'],
      },
    });
    const [old] =
      parse(base({ model: 'claude-3-7-sonnet-20250219', tools: [strictTool] })).request.tools ?? [];
    assert.equal(old.strict, undefined);
    assert.deepEqual(old.input_schema, strictTool.function.parameters);
  });

  it('refuses bad tool definitions and choices', () => {
    rejects(
      base({ tools, tool_choice: { type: 'function', function: { name: 'nope' } } }),
      'tool_choice.function.name',
      /nope/,
    );
    rejects(base({ tools: [{ type: 'custom', custom: { name: 'x' } }] }), 'tools[0].type', /custom/);
    rejects(
      base({ tools: [{ type: 'function', function: { description: 'no name' } }] }),
      'tools[0].function.name',
    );
    rejects(base({ tools: [tools[1], tools[1]] }), 'tools[1].function.name', /twice/);
    rejects(base({ tools, tool_choice: 'sometimes' }), 'tool_choice');
  });
});

describe('openai request: response_format', () => {
  const schema = {
    type: 'object',
    properties: { answer: { type: 'integer', minimum: 0 } },
    required: ['answer'],
  };
  const jsonSchema = { type: 'json_schema', json_schema: { name: 'math_answer', schema, strict: true } };

  it('json_schema → output_config.format on models with structured outputs', () => {
    const p = parse(base({ response_format: jsonSchema }));
    assert.equal(p.hints.jsonTool, undefined);
    assert.deepEqual(p.request.output_config, {
      format: {
        type: 'json_schema',
        schema: {
          type: 'object',
          properties: { answer: { type: 'integer', description: '{minimum: 0}' } },
          additionalProperties: false,
          required: ['answer'],
        },
      },
    });
    assert.equal(p.request.tools, undefined);
  });

  it('json_schema → a forced tool on older models', () => {
    const p = parse(base({ model: 'claude-sonnet-4-20250514', response_format: jsonSchema }));
    assert.equal(p.hints.jsonTool, 'math_answer');
    assert.equal(p.request.output_config, undefined);
    assert.deepEqual(p.request.tools?.[0].input_schema, schema);
    assert.deepEqual(p.request.tool_choice, { type: 'tool', name: 'math_answer' });
  });

  it('json_object → a forced tool with an open object schema; client tools stay callable', () => {
    const p = parse(base({ response_format: { type: 'json_object' } }));
    assert.equal(p.hints.jsonTool, 'json_response');
    assert.deepEqual(p.request.tools, [
      {
        name: 'json_response',
        description: p.request.tools?.[0].description,
        input_schema: { type: 'object' },
      },
    ]);
    const withTools = parse(
      base({
        response_format: { type: 'json_object' },
        tools: [{ type: 'function', function: { name: 'json_response' } }],
      }),
    );
    assert.equal(withTools.hints.jsonTool, 'json_response_');
    assert.deepEqual(withTools.request.tool_choice, { type: 'any' });
  });

  it('json_schema without a schema is an open object: a forced tool', () => {
    const p = parse(base({ response_format: { type: 'json_schema', json_schema: { name: 'free' } } }));
    assert.equal(p.hints.jsonTool, 'free');
    assert.equal(p.request.output_config, undefined);
  });

  it('text is a no-op, unknown types are refused', () => {
    assert.equal(parse(base({ response_format: { type: 'text' } })).request.output_config, undefined);
    rejects(base({ response_format: { type: 'yaml' } }), 'response_format.type');
  });
});

describe('openai request: reasoning_effort', () => {
  it('adaptive thinking with effort on models that use it', () => {
    const r = parse(base({ model: 'claude-opus-4-6', reasoning_effort: 'medium' })).request;
    assert.deepEqual(r.thinking, { type: 'adaptive' });
    assert.deepEqual(r.output_config, { effort: 'medium' });
    assert.equal(r.max_tokens, 16384);
    assert.equal(
      parse(base({ model: 'claude-sonnet-4-6', reasoning_effort: 'xhigh' })).request.output_config?.effort,
      'high',
    );
    assert.equal(
      parse(base({ model: 'claude-opus-5', reasoning_effort: 'xhigh' })).request.output_config?.effort,
      'xhigh',
    );
    assert.equal(parse(base({ reasoning_effort: 'minimal' })).request.output_config?.effort, 'low');
  });

  it('a token budget on older models, within max tokens', () => {
    const r = parse(base({ model: 'claude-sonnet-4-5', reasoning_effort: 'medium' })).request;
    assert.deepEqual(r.thinking, { type: 'enabled', budget_tokens: 8192 });
    assert.equal(r.max_tokens, 16384 + 8192);
    const capped = parse(
      base({ model: 'claude-sonnet-4-5', reasoning_effort: 'high', max_completion_tokens: 5000 }),
    ).request;
    assert.deepEqual(capped.thinking, { type: 'enabled', budget_tokens: 4999 });
    assert.equal(capped.max_tokens, 5000);
    const tiny = parse(
      base({ model: 'claude-sonnet-4-5', reasoning_effort: 'high', max_tokens: 500 }),
    ).request;
    assert.equal(tiny.thinking, undefined);
  });

  it('none means no thinking; unknown levels are refused', () => {
    const r = parse(base({ model: 'claude-sonnet-4-5', reasoning_effort: 'none' })).request;
    assert.equal(r.thinking, undefined);
    rejects(base({ reasoning_effort: 'extreme' }), 'reasoning_effort');
  });

  it('thinking stays off with a forced tool or inside a tool loop; temperature follows thinking', () => {
    const tools = [{ type: 'function', function: { name: 'f' } }];
    const forced = parse(
      base({ model: 'claude-sonnet-4-5', reasoning_effort: 'low', tools, tool_choice: 'required' }),
    ).request;
    assert.equal(forced.thinking, undefined);
    const loop = parse({
      model: 'claude-opus-4-6',
      reasoning_effort: 'high',
      tools,
      messages: [
        user('x'),
        {
          role: 'assistant',
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'r' },
      ],
    }).request;
    assert.equal(loop.thinking, undefined);
    assert.deepEqual(loop.output_config, { effort: 'high' });
    const warm = parse(
      base({ model: 'claude-sonnet-4-5', reasoning_effort: 'low', temperature: 0.3, top_p: 0.5 }),
    ).request;
    assert.equal(warm.temperature, undefined);
    assert.equal(warm.top_p, undefined);
  });
});
