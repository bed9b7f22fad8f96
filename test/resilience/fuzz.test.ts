/**
 * Generated hostile input against every POST route of both modes: valid requests in each format,
 * mutated at random paths (wrong types, deep nesting, huge strings, `__proto__` keys, edge numbers),
 * random JSON and non-JSON bodies, odd headers and credentials, and raw malformed HTTP. The proxy
 * must never answer 5xx from its own code (the fake upstream is never asked to fail here), never
 * crash, never pollute prototypes, and keep serving. SDK-mode routes only ever get bodies that fail
 * validation (checked here with the same frontends before sending), so no agent is ever launched.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { request } from 'undici';
import type { Format, FormatOptions } from '../../src/formats/frontend.ts';
import { modelRules } from '../../src/formats/models.ts';
import { FRONTENDS } from '../../src/server/app.ts';
import { openaiRequest } from '../formats/openai/arbitraries.ts';
import { responsesRequest } from '../formats/responses/arbitraries.ts';
import { bodyFor } from '../helpers/formats.ts';
import { reply } from '../support/fake-upstream.ts';
import { activeResources, assertNoLeaks, assertServing, type Bench, startBench, within } from './harness.ts';

const TOKEN = 'fuzz-token-0123456789abcdef';
const RUNS = Number(process.env.FUZZ_RUNS ?? 2500);
const RAW_RUNS = Number(process.env.FUZZ_RAW_RUNS ?? 300);
const PROTO = '"__PROTO__"';

interface Route {
  mode: 'api' | 'sdk';
  format: Format;
  path: string;
}

const ROUTES: Route[] = ['api', 'sdk'].flatMap((mode) =>
  ['', ...(mode === 'sdk' ? ['/sess-fuzz_1'] : [])].flatMap((session) => [
    { mode, format: 'anthropic', path: `/${mode}${session}/v1/messages` } as Route,
    { mode, format: 'anthropic', path: `/${mode}${session}/v1/messages/count_tokens` } as Route,
    { mode, format: 'openai', path: `/${mode}${session}/v1/chat/completions` } as Route,
    { mode, format: 'responses', path: `/${mode}${session}/v1/responses` } as Route,
  ]),
);

// ─── bodies ─────────────────────────────────────────────────────────────────

const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom('', '😀', '\u0000', '</s>', 'data: [DONE]\n\n'),
);
const block = fc.oneof(
  text.map((t) => ({ type: 'text', text: t })),
  fc.constant({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }),
  fc.record({
    type: fc.constant('tool_use'),
    id: fc.constant('toolu_01'),
    name: fc.constant('f'),
    input: fc.jsonValue({ maxDepth: 2 }),
  }),
  fc.record({ type: fc.constant('tool_result'), tool_use_id: fc.constant('toolu_01'), content: text }),
  fc.record({ type: fc.constant('thinking'), thinking: text, signature: fc.string({ maxLength: 8 }) }),
);
const anthropicRequest = fc.record(
  {
    model: fc.constantFrom('claude-sonnet-4-5', 'claude-opus-4-6', 'claude-haiku-4-5', 'gpt-4o', 'sonnet'),
    max_tokens: fc.integer({ min: 1, max: 8192 }),
    messages: fc.array(
      fc.record({
        role: fc.constantFrom('user', 'assistant'),
        content: fc.oneof(text, fc.array(block, { maxLength: 3 })),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    system: fc.oneof(text, fc.array(block, { maxLength: 2 })),
    stream: fc.boolean(),
    temperature: fc.double({ min: 0, max: 1, noNaN: true }),
    tools: fc.constant([{ name: 'f', description: 'd', input_schema: { type: 'object', properties: {} } }]),
    tool_choice: fc.constantFrom(
      { type: 'auto' },
      { type: 'any' },
      { type: 'tool', name: 'f' },
      { type: 'none' },
    ),
    thinking: fc.constantFrom({ type: 'enabled', budget_tokens: 1024 }, { type: 'disabled' }),
    metadata: fc.record({ user_id: fc.string({ maxLength: 10 }) }),
  },
  { requiredKeys: ['model', 'max_tokens', 'messages'] },
);

/** The JSON text of a body, with its markers expanded: `__PROTO__` keys and deep nesting. */
function expand(v: unknown): string {
  return (JSON.stringify(v) ?? 'undefined')
    .replaceAll(PROTO, '{"__proto__":{"polluted":true}}')
    .replace(/"__DEEP_(\d+)_([ao])__"/g, (_, d: string, k: string) =>
      k === 'a'
        ? `${'['.repeat(Number(d))}"deep"${']'.repeat(Number(d))}`
        : `${'{"a":'.repeat(Number(d))}"deep"${'}'.repeat(Number(d))}`,
    );
}

/** Values that break careless code: wrong types, edges, depth, size, prototype keys. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    1.5,
    -0,
    1e308,
    -1e308,
    2 ** 53 + 1,
    '',
    ' ',
    '\u0000',
    '\uFFFF',
    '\uD800',
  ),
  fc.constantFrom([], {}, [[]], [{}], [null], { type: null }, { type: 'text' }, { type: 42 }, { text: {} }),
  fc.constant('__PROTO__'),
  fc.constant({ constructor: { prototype: { polluted: true } } }),
  // Deep nesting is spliced into the JSON text at the end (see `expand`): cheap to generate and mutate.
  fc
    .tuple(fc.integer({ min: 50, max: 5000 }), fc.boolean())
    .map(([d, a]) => `__DEEP_${d}_${a ? 'a' : 'o'}__`),
  fc.integer({ min: 10_000, max: 300_000 }).map((n) => 'x'.repeat(n)),
  fc.array(fc.constant({ role: 'user', content: 'hi' }), { minLength: 200, maxLength: 2000 }),
);

type Json = Record<string, unknown> | unknown[];

/** Every path in a JSON value (objects and arrays), the root included. */
function paths(v: unknown, at: Array<string | number> = [], out: Array<Array<string | number>> = []) {
  out.push(at);
  if (out.length > 400) return out;
  if (Array.isArray(v)) for (const [i, x] of v.entries()) paths(x, [...at, i], out);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

/** Apply mutations: replace the value at a path, delete it, or wrap it in an array. */
function mutate(body: Json, muts: Array<[number, number, unknown]>): unknown {
  let root: unknown = structuredClone(body);
  for (const [p, op, shared] of muts) {
    const value = structuredClone(shared); // generated constants are shared between runs
    const all = paths(root);
    const path = all[p % all.length]!;
    if (path.length === 0) {
      root = op % 3 === 2 ? [root] : value;
      continue;
    }
    const parent = path.slice(0, -1).reduce<any>((o, k) => o[k], root);
    const key = path.at(-1)!;
    if (op % 3 === 0) parent[key] = value;
    else if (op % 3 === 1) {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
    } else parent[key] = [parent[key]];
  }
  return root;
}

const REQUESTS = { anthropic: anthropicRequest, openai: openaiRequest, responses: responsesRequest };

/** A request in the route's format most of the time (so it gets deep), in another one sometimes. */
function valid(format: Format): fc.Arbitrary<Json> {
  return fc.oneof(
    { weight: 6, arbitrary: REQUESTS[format] as fc.Arbitrary<Json> },
    {
      weight: 1,
      arbitrary: fc.oneof(anthropicRequest, openaiRequest, responsesRequest) as fc.Arbitrary<Json>,
    },
  );
}

const rawText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.constantFrom(
    '',
    ' ',
    '{',
    '{"model":',
    'null',
    '[]',
    '"x"',
    '{"model":"x"}}',
    '\uFEFF{}',
    '{"a":1,"a":2}',
  ),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
);

/** A body for a route: valid and mutated, valid as it is, any JSON, or not JSON at all. */
function bodyOf(format: Format): fc.Arbitrary<string> {
  const json = fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(valid(format), fc.array(fc.tuple(fc.nat(), fc.nat(), hostile), { minLength: 1, maxLength: 3 }))
        .map(([b, m]) => mutate(b, m)),
    },
    { weight: 3, arbitrary: valid(format) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  );
  return fc.oneof({ weight: 8, arbitrary: json.map(expand) }, { weight: 2, arbitrary: rawText });
}

const exchange = fc
  .nat({ max: ROUTES.length - 1 })
  .chain((r) => fc.tuple(fc.constant(r), bodyOf(ROUTES[r]!.format), headers));

// ─── headers ────────────────────────────────────────────────────────────────

const headerText = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 60,
});
const hostileHeaders = fc.record(
  {
    'content-type': fc.oneof(
      fc.constantFrom(
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/json; charset=utf-16',
      ),
      headerText,
    ),
    'anthropic-version': fc.oneof(fc.constantFrom('2023-06-01', '2026-10-21', '1999-01-01'), headerText),
    'anthropic-beta': fc.oneof(
      fc.constantFrom('oauth-2025-04-20', 'prompt-caching-2024-07-31,,,', 'x'.repeat(2000)),
      headerText,
    ),
    'x-request-id': headerText,
    'x-ccproxy-session-id': headerText,
    'accept-encoding': fc.constantFrom('gzip', 'br', 'identity', '*', 'gzip;q=0'),
    'content-encoding': fc.constantFrom('gzip', 'deflate', 'identity'),
    'user-agent': headerText,
    auth: fc.constantFrom('x-api-key', 'bearer', 'wrong', 'none', 'both'),
  },
  { requiredKeys: ['auth'] },
);
/** Mostly what a real client sends (so bodies reach the translators and the upstream), often hostile. */
const headers = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      'content-type': fc.constant('application/json'),
      auth: fc.constantFrom('x-api-key', 'bearer'),
    }),
  },
  { weight: 2, arbitrary: hostileHeaders },
);

function withAuth(h: Record<string, string>): Record<string, string> {
  const { auth, ...rest } = h;
  switch (auth) {
    case 'x-api-key':
      return { ...rest, 'x-api-key': TOKEN };
    case 'bearer':
      return { ...rest, authorization: `Bearer ${TOKEN}` };
    case 'wrong':
      return { ...rest, 'x-api-key': 'not-the-token' };
    case 'both':
      return { ...rest, 'x-api-key': TOKEN, authorization: 'Bearer nope' };
    default:
      return rest;
  }
}

// ─── the SDK-mode guard ─────────────────────────────────────────────────────

const formatOptions: FormatOptions = {
  modelRules: modelRules([]),
  defaultMaxTokens: 0,
  reasoningOutput: 'reasoning_content',
};

/** Whether the proxy would refuse this body before any agent work (so it is safe for an SDK route). */
function failsValidation(route: Route, raw: string, h: Record<string, string>): boolean {
  if (route.path.endsWith('/count_tokens')) return true; // SDK mode has no count_tokens: 404 first
  if (h.auth === 'wrong' || h.auth === 'none') return true; // the guard refuses it
  let parsed: unknown;
  try {
    if (raw.trim() === '') return true;
    parsed = JSON.parse(raw);
  } catch {
    return true;
  }
  if (parsed && typeof parsed === 'object' && 'ccproxy' in parsed) {
    const extras = (parsed as { ccproxy: unknown }).ccproxy;
    if (extras === null || typeof extras !== 'object' || Array.isArray(extras)) return true;
    delete (parsed as { ccproxy?: unknown }).ccproxy;
  }
  try {
    FRONTENDS.find((f) => f.format === route.format)!.parseRequest(parsed, formatOptions);
    return false;
  } catch {
    return true;
  }
}

describe('resilience: generated hostile input', () => {
  let resources: Map<string, number>;
  let bench: Bench;
  let sdkCalls = 0;
  const statuses = new Map<number, number>();

  before(async () => {
    resources = activeResources();
    bench = await startBench({
      security: { auth_token: TOKEN },
      server: { max_body_bytes: 4 * 1024 * 1024 },
    });
    const sdk = bench.proxy.proxy.backends.sdk!;
    // Belt and braces: an SDK request that got through validation is counted, never run.
    sdk.send = async () => {
      sdkCalls++;
      throw new Error('the fuzz run must never reach the SDK backend');
    };
  });
  after(async () => {
    await bench?.close();
  });

  it(`${RUNS} generated requests: never a 5xx, never a crash`, async () => {
    await fc.assert(
      fc.asyncProperty(exchange, async ([r, raw, h]) => {
        let route = ROUTES[r]!;
        // Valid SDK requests would launch agents: send those to the same format in API mode instead.
        if (route.mode === 'sdk' && !failsValidation(route, raw, h))
          route = ROUTES.find((x) => x.mode === 'api' && x.path.endsWith(route.path.split('/v1')[1]!))!;
        const res = await within(
          20_000,
          `POST ${route.path}`,
          request(`${bench.proxy.url}${route.path}`, {
            method: 'POST',
            dispatcher: bench.agent,
            headers: withAuth(h as Record<string, string>),
            body: raw,
          }).then(async (x) => ({
            status: x.statusCode,
            type: String(x.headers['content-type'] ?? ''),
            text: await x.body.text(),
          })),
        );
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        assert.ok(res.status < 500, `${route.path} answered ${res.status}: ${res.text.slice(0, 500)}`);
        if (res.status >= 400) {
          assert.match(res.type, /json/, `${res.status} is JSON`);
          const doc = JSON.parse(res.text);
          assert.ok(doc.error?.message, `${res.status} says why: ${res.text.slice(0, 200)}`);
        }
        assert.equal(({} as { polluted?: unknown }).polluted, undefined, 'no prototype pollution');
      }),
      {
        numRuns: RUNS,
        seed: Number(process.env.FUZZ_SEED ?? 7_2026),
        endOnFailure: true,
        includeErrorInReport: true,
      },
    );
    assert.equal(sdkCalls, 0, 'no SDK run was started');
    if (process.env.RESILIENCE_VERBOSE) console.log('statuses', [...statuses].sort());
    assert.ok((statuses.get(200) ?? 0) > RUNS / 20, 'a fair share of requests were valid and answered');
  });

  it(`${RAW_RUNS} malformed HTTP requests: answered 4xx or closed, never a crash`, async () => {
    const port = Number(new URL(bench.proxy.url).port);
    const line = fc.oneof(
      fc.constantFrom(
        'Content-Length: 5',
        'Content-Length: 99999',
        'Content-Length: -1',
        'Content-Length: 1, 2',
        'Transfer-Encoding: chunked',
        'Transfer-Encoding: gzip, chunked',
        'Expect: 100-continue',
        `x-api-key: ${TOKEN}`,
        'Host: evil.example',
        'Host:',
        'Connection: upgrade',
        'Upgrade: websocket',
      ),
      headerText.map((t) => `X-${t.replace(/[^A-Za-z0-9-]/g, '') || 'a'}: ${t}`),
      headerText,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES.map((r) => r.path), '/api/v1/models', '/%00', '/../etc/passwd', '*'),
        fc.constantFrom('POST', 'GET', 'PUT', 'TRACE', 'CONNECT', 'P\u00d8ST'),
        fc.array(line, { maxLength: 6 }),
        fc.oneof(
          rawText,
          fc.constantFrom('5\r\nhello\r\n0\r\n\r\n', 'zz\r\nxx\r\n', '0\r\n\r\n', '{"model":"x"'),
        ),
        async (path, method, lines, payload) => {
          const text = await within(
            10_000,
            'a raw exchange',
            rawExchange(
              port,
              `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n${payload}`,
            ),
          );
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
          assert.ok(status < 500, `answered ${status}: ${text.slice(0, 300)}`);
        },
      ),
      { numRuns: RAW_RUNS, seed: 9_2026, endOnFailure: true, includeErrorInReport: true },
    );
  });

  it('still serves, and leaves nothing open', async () => {
    await assertServing(
      {
        ...bench,
        post: (f, b, o) => bench.post(f, b, { ...o, headers: { 'x-api-key': TOKEN, ...o?.headers } }),
      },
      () => reply.text('still here'),
    );
    assert.equal(
      (await bench.post('openai', bodyFor('openai', false), { headers: { 'x-api-key': TOKEN } })).status,
      200,
    );
    await bench.close();
    await assertNoLeaks(resources);
  });
});

/** Write raw bytes, half-close, and read whatever comes back until the server closes (or 2 s pass). */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got);
    };
    const timer = setTimeout(done, 2000);
    socket.on('data', (c) => {
      got += c.toString('latin1');
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.end(Buffer.from(bytes, 'latin1'));
  });
}
