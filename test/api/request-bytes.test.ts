/**
 * A request that ccproxy has no reason to change goes upstream as the bytes the client sent (its
 * spacing, key order, escapes and number spellings intact); one it changes — Claude Code's identity
 * added, a model mapped — goes as those bytes with the changed fields patched in, and one that lost
 * a field (ccproxy's own) re-serialized.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import OpenAI from 'openai';
import { jsonBody, rememberBytes, unreadFirstByte } from '../../src/body-bytes.ts';
import { ChunkedBytes } from '../../src/chunked-bytes.ts';
import { parseInPieces } from '../../src/server/json-pieces.ts';
import { JsonShapeScanner } from '../../src/server/json-shape.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, reply, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

const IDENTITY = "You are Claude Code, Anthropic's official CLI for Claude.";

describe('what goes upstream: the client’s bytes, with what ccproxy changed patched in', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;

  before(async () => {
    fake = await startFakeUpstream();
    proxy = await startProxy({
      settings: {
        upstream: { base_url: fake.url },
        openai: { model_map: [{ match: 'exact', pattern: 'team-default', model: 'claude-haiku-4-5' }] },
      },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
    });
  });
  after(async () => {
    await proxy.close();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  const post = (body: string) =>
    fetch(`${proxy.url}/api/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'dummy' },
      body,
    });

  it('a request from Claude Code reaches the upstream byte for byte', async () => {
    fake.enqueue(reply.text('ok'));
    // What JSON.parse + JSON.stringify would not give back: spacing, an escape, a number's spelling,
    // an integer past double precision.
    const body = `{ "messages": [ {"role": "user", "content": "caf\\u00e9"} ],
      "model": "claude-sonnet-5-5", "max_tokens": 64, "temperature": 0.50,
      "system": [{"type": "text", "text": "${IDENTITY}"}, {"type": "text", "text": "Be brief."}],
      "tools": [{"name": "pick", "input_schema": {"type": "object", "properties": {"n": {"type": "integer", "maximum": 12345678901234567890}}}}] }`;
    const res = await post(body);
    assert.equal(res.status, 200, await res.clone().text());
    await res.json();
    assert.equal(fake.messages()[0]!.rawBody, body);
  });

  it('a request that needs Claude Code’s identity gets it patched in first, the rest as sent', async () => {
    fake.enqueue(reply.text('ok'));
    const body =
      '{"model": "claude-sonnet-5-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}';
    const res = await post(body);
    assert.equal(res.status, 200);
    await res.json();
    const got = fake.messages()[0]!;
    // Patched into the client's bytes, not re-serialized: the rest is as it came.
    assert.ok(got.rawBody.startsWith('{"system":[{'), got.rawBody);
    assert.ok(got.rawBody.endsWith(`,${body.slice(1)}`), got.rawBody);
    const sent = got.body as { system: Array<{ text: string }>; messages: unknown[] };
    assert.equal(sent.system[0]!.text, IDENTITY);
    assert.deepEqual(sent.messages, [{ role: 'user', content: 'hi' }]);
  });

  it('a mapped model is patched in; ccproxy’s own field is taken out', async () => {
    fake.enqueue(reply.text('a'), reply.text('b'));
    const system = `"system": "${IDENTITY}"`;
    const mapped = `{"model": "team-default", "max_tokens": 8, ${system}, "messages": [{"role": "user", "content": "x"}]}`;
    let res = await post(mapped);
    assert.equal(res.status, 200);
    await res.json();
    assert.equal(fake.messages()[0]!.rawBody, mapped.replace('"team-default"', '"claude-haiku-4-5"'));
    res = await post(
      `{"model": "claude-sonnet-5-5", "max_tokens": 8, ${system}, "messages": [{"role": "user", "content": "x"}], "ccproxy": {}}`,
    );
    assert.equal(res.status, 200);
    await res.json();
    const second = fake.messages()[1]!;
    assert.equal('ccproxy' in (second.body as object), false);
    assert.equal(second.rawBody.includes('ccproxy'), false);
  });

  it('an agent-sized request (read in pieces) goes as sent, or with its model patched; a broken one gets JSON’s own error', async () => {
    fake.enqueue(reply.text('a'), reply.text('b'));
    const turn = (i: number) =>
      `{"role": "${i % 2 ? 'assistant' : 'user'}", "content": [{"type": "text", "text": "line ${i}: \\"quoted\\", [brackets] and caf\\u00e9\\n${'x'.repeat(900)}"}]}`;
    const messages = `[ ${Array.from({ length: 400 }, (_, i) => turn(i)).join(',\n ')} ]`;
    const body = `{"model": "team-default", "max_tokens": 8, "system": "${IDENTITY}", "messages": ${messages}}`;
    assert.ok(body.length > 300_000);
    let res = await post(body.replace('team-default', 'claude-sonnet-5-5'));
    assert.equal(res.status, 200, await res.clone().text());
    await res.json();
    assert.equal(fake.messages()[0]!.rawBody, body.replace('team-default', 'claude-sonnet-5-5'));
    res = await post(body);
    assert.equal(res.status, 200);
    await res.json();
    const mapped = fake.messages()[1]!;
    assert.equal(mapped.rawBody, body.replace('"team-default"', '"claude-haiku-4-5"'));
    assert.deepEqual((mapped.body as { messages: unknown[] }).messages, JSON.parse(messages));

    res = await post(body.replace(/ \]\}$/, ', ]}')); // a comma after the last message
    assert.equal(res.status, 400);
    const err = (await res.json()) as { error: { type: string; message: string } };
    assert.equal(err.error.type, 'invalid_request_error');
    assert.match(err.error.message, /^The request body is not valid JSON: /);
    assert.equal(fake.messages().length, 2);
  });

  it('a conversation ccproxy has no reason to read goes unread: the upstream judges what is inside it', async () => {
    // Claude Code's request with a message that is not JSON inside: ccproxy passes it on as sent (it
    // reads only the top level), and the upstream answers its 400 in Anthropic's shape.
    const turn = (i: number) => `{"role": "user", "content": "${'y'.repeat(1000)} ${i}"}`;
    const turns = Array.from({ length: 60 }, (_, i) => turn(i));
    turns[30] = '{"role": "user", "content": tru}';
    const body = `{"model": "claude-sonnet-5-5", "max_tokens": 8, "system": "${IDENTITY}", "messages": [${turns.join(',')}]}`;
    let res = await post(body);
    assert.equal(res.status, 400);
    const err = (await res.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(err.type, 'error');
    assert.equal(err.error.type, 'invalid_request_error');
    assert.match(err.error.message, /valid JSON/);
    assert.equal(fake.messages()[0]!.rawBody, body);
    // An OpenAI client's conversation is read (to translate it): the same flaw is ccproxy's 400, in
    // OpenAI's shape, naming the member.
    const openai = new OpenAI({ baseURL: `${proxy.url}/api/v1`, apiKey: 'dummy', maxRetries: 0 });
    const content = 'z'.repeat(1000);
    const broken = `{"model": "claude-sonnet-5-5", "messages": [${Array.from({ length: 40 }, () => `{"role": "user", "content": "${content}"}`).join(',')}, {"role": "user", "content": nul}]}`;
    res = await fetch(`${proxy.url}/api/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer dummy' },
      body: broken,
    });
    assert.equal(res.status, 400);
    const oe = (await res.json()) as { error: { type: string; message: string } };
    assert.equal(oe.error.type, 'invalid_request_error');
    assert.match(oe.error.message, /^The request body is not valid JSON: in "messages", /);
    assert.equal(fake.messages().length, 1);
    // Still serving, and a sound conversation of that size goes through both ways.
    fake.enqueue(reply.text('fine'), reply.text('fine'));
    res = await post(body.replace('{"role": "user", "content": tru}', turn(30)));
    assert.equal(res.status, 200);
    await res.json();
    const done = await openai.chat.completions.create(
      JSON.parse(broken.replace(', {"role": "user", "content": nul}', '')),
    );
    assert.equal(done.choices[0]!.message.content, 'fine');
  });
});

describe('jsonBody: the client’s bytes with ccproxy’s changes patched in', () => {
  /** As the body reader does: the bytes scanned as they arrive (in `cuts`-sized chunks), then parsed. */
  const parsed = (text: string, cuts: number[] = []) => {
    const bytes = Buffer.from(text);
    const scanner = new JsonShapeScanner();
    const chunks: Buffer[] = [];
    let at = 0;
    for (const size of [...cuts, bytes.length]) {
      chunks.push(bytes.subarray(at, Math.min(bytes.length, at + size)));
      scanner.feed(chunks.at(-1)!);
      at = Math.min(bytes.length, at + size);
    }
    const value = JSON.parse(text) as Record<string, unknown>;
    rememberBytes(value, new ChunkedBytes(chunks), scanner.topLevel);
    return value;
  };
  const sent = (v: object) => {
    const b = jsonBody(v);
    return typeof b === 'string' ? b : Buffer.concat(Buffer.isBuffer(b) ? [b] : b).toString();
  };

  it('gives the bytes themselves while nothing changed', () => {
    const text = '{ "a": 1, "b": {"c": 2}, "d": [3] }';
    assert.equal(sent(parsed(text)), text);
  });

  it('patches a replaced field in place and adds a new one first, leaving the rest byte for byte', () => {
    const v = parsed('{ "model" : "x",\n "messages": [ {"role": "user"} ], "n": 1e2 }');
    v.model = 'claude-haiku-4-5';
    v.system = [{ type: 'text', text: 'hi "there"' }];
    assert.equal(
      sent(v),
      '{"system":[{"type":"text","text":"hi \\"there\\""}], "model" : "claude-haiku-4-5",\n "messages": [ {"role": "user"} ], "n": 1e2 }',
    );
  });

  it('serializes the whole when a field was taken out, is undefined, or the bytes are ambiguous', () => {
    const removed = parsed('{"a": 1, "ccproxy": {}}');
    delete removed.ccproxy;
    assert.equal(sent(removed), '{"a":1}');
    const undef = parsed('{"a": 1, "b": 2}');
    undef.b = undefined;
    assert.equal(sent(undef), '{"a":1}');
    const twice = parsed('{"a": 1, "a": 2, "b": 3}');
    twice.a = 9;
    assert.equal(sent(twice), '{"a":9,"b":3}');
    const escaped = parsed('{"\\u0061": 1, "b": 2}');
    escaped.b = 3;
    assert.equal(sent(escaped), '{"a":1,"b":3}');
    assert.equal(sent({ a: 1 }), '{"a":1}', 'a value it was never given');
  });

  it('adds to an empty object, and patches a body whose structure arrived split across chunks', () => {
    const empty = parsed(' { } ');
    empty.model = 'm';
    assert.equal(sent(empty), ' {"model":"m" } ');
    const text = '{"model": "x", "messages": [{"content": "a,b:c}"}], "stream" : true }';
    for (let cut = 1; cut < text.length; cut++) {
      const v = parsed(text, [cut, 1, 2]);
      v.model = 'y';
      v.stream = false;
      assert.equal(
        sent(v),
        '{"model": "y", "messages": [{"content": "a,b:c}"}], "stream" : false }',
        `cut at ${cut}`,
      );
    }
  });

  it('members left unread stay unread: sent as they came, patched only when replaced', () => {
    const text = '{"model": "x", "messages": [ {"role": "user", "content": "hi"} ], "tools": [ "a", "b" ] }';
    /** As the body reader does for a large body, with every member over 8 bytes unread. */
    const lazy = () => {
      const bytes = Buffer.from(text);
      const scanner = new JsonShapeScanner();
      scanner.feed(bytes);
      const chunked = new ChunkedBytes([bytes.subarray(0, 20), bytes.subarray(20)]);
      const value = parseInPieces(chunked, scanner.topLevel, scanner.nested, 0, 8)!;
      rememberBytes(value, chunked, scanner.topLevel);
      return value;
    };
    let v = lazy();
    v.model = 'y';
    assert.equal(sent(v), text.replace('"x"', '"y"'));
    assert.equal(unreadFirstByte(v, 'messages'), '['.charCodeAt(0), 'the patch did not read it');
    v = lazy();
    assert.equal((v.messages as unknown[]).length, 1); // read, not changed
    assert.equal(sent(v), text);
    v.messages = [];
    assert.equal(sent(v), text.replace('[ {"role": "user", "content": "hi"} ]', '[]'));
    v = lazy();
    assert.equal(unreadFirstByte(v, 'tools'), '['.charCodeAt(0));
    v.tools = [{ name: 't' }]; // replaced without being read
    assert.equal(sent(v), text.replace('[ "a", "b" ] }', '[{"name":"t"}] }'));
    assert.equal(unreadFirstByte(v, 'messages'), '['.charCodeAt(0));
  });

  it('any object, formatted any way, with any fields replaced or added: what is sent parses to the changed value', () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    const space = fc.constantFrom('', ' ', '\n', '\t ', '  \r\n');
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 6 }), json, { maxKeys: 6 }),
        fc.array(fc.tuple(fc.string({ maxLength: 6 }), json), { maxLength: 3 }),
        space,
        fc.nat(),
        fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 8 }),
        (object, edits, ws, indent, cuts) => {
          const text = JSON.stringify(object, null, indent % 3 === 0 ? undefined : ws.length || 1).replace(
            /^\{/,
            `${ws}{${ws}`,
          );
          const value = parsed(text, cuts);
          for (const [key, v] of edits) value[key] = v;
          const out = sent(value);
          assert.deepEqual(JSON.parse(out), JSON.parse(JSON.stringify(value)));
        },
      ),
      { numRuns: 500 },
    );
  });
});
