/**
 * A request that ccproxy has no reason to change goes upstream as the bytes the client sent (its
 * spacing, key order, escapes and number spellings intact); one it changes — Claude Code's identity
 * added, a model mapped, ccproxy's own field taken out — goes as the changed request.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { bytesAsSent, rememberBytes } from '../../src/body-bytes.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, reply, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

const IDENTITY = "You are Claude Code, Anthropic's official CLI for Claude.";

describe('what goes upstream: the client’s bytes, unless ccproxy changed the request', () => {
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

  it('a request that needs Claude Code’s identity goes up re-written, with it first', async () => {
    fake.enqueue(reply.text('ok'));
    const body =
      '{"model": "claude-sonnet-5-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}';
    const res = await post(body);
    assert.equal(res.status, 200);
    await res.json();
    const got = fake.messages()[0]!;
    assert.notEqual(got.rawBody, body);
    const sent = got.body as { system: Array<{ text: string }>; messages: unknown[] };
    assert.equal(sent.system[0]!.text, IDENTITY);
    assert.deepEqual(sent.messages, [{ role: 'user', content: 'hi' }]);
  });

  it('a mapped model and ccproxy’s own field are changes too', async () => {
    fake.enqueue(reply.text('a'), reply.text('b'));
    const system = `"system": "${IDENTITY}"`;
    let res = await post(
      `{"model": "team-default", "max_tokens": 8, ${system}, "messages": [{"role": "user", "content": "x"}]}`,
    );
    assert.equal(res.status, 200);
    await res.json();
    assert.equal((fake.messages()[0]!.body as { model: string }).model, 'claude-haiku-4-5');
    res = await post(
      `{"model": "claude-sonnet-5-5", "max_tokens": 8, ${system}, "messages": [{"role": "user", "content": "x"}], "ccproxy": {}}`,
    );
    assert.equal(res.status, 200);
    await res.json();
    const second = fake.messages()[1]!;
    assert.equal('ccproxy' in (second.body as object), false);
    assert.equal(second.rawBody.includes('ccproxy'), false);
  });
});

describe('bytesAsSent', () => {
  const parsed = () => {
    const bytes = Buffer.from('{"a":1,"b":{"c":2},"d":[3]}');
    const value = JSON.parse(bytes.toString()) as Record<string, unknown>;
    rememberBytes(value, bytes);
    return { value, bytes };
  };

  it('gives the bytes while the top level is as parsed, and nothing once a field is replaced, added or removed', () => {
    const { value, bytes } = parsed();
    assert.equal(bytesAsSent(value), bytes);
    value.b = { c: 2 };
    assert.equal(bytesAsSent(value), undefined);
    const added = parsed().value;
    added.e = 4;
    assert.equal(bytesAsSent(added), undefined);
    const removed = parsed().value;
    delete removed.d;
    assert.equal(bytesAsSent(removed), undefined);
    const moved = parsed().value;
    const a = moved.a;
    delete moved.a;
    moved.a = a;
    assert.equal(bytesAsSent(moved), undefined, 'the same fields in another order');
  });

  it('knows nothing of objects it was not given, nor of arrays', () => {
    assert.equal(bytesAsSent({ a: 1 }), undefined);
    const list = [1];
    rememberBytes(list, Buffer.from('[1]'));
    assert.equal(bytesAsSent(list), undefined);
  });
});
