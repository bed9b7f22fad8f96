/**
 * The fake upstream is only useful if real clients cannot tell it from the API. These tests drive
 * the official `@anthropic-ai/sdk` straight at it (no proxy) and read its raw bytes.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import zlib from 'node:zlib';
import Anthropic from '@anthropic-ai/sdk';
import { strictSse } from '../helpers/sse.ts';
import {
  accumulate,
  type FakeUpstream,
  fixtureNames,
  loadFixture,
  OAUTH_BETA,
  reply,
  scenario,
  startFakeUpstream,
  TEST_ACCESS_TOKEN,
  TEST_API_KEY,
  UNICODE_TEXT,
  withDelivery,
} from '../support/fake-upstream.ts';
import { Chunker, encodeSse, sseEvent } from '../support/sse.ts';

type Obj = Record<string, any>;

let fake: FakeUpstream;

before(async () => {
  fake = await startFakeUpstream({ apiKeys: [TEST_API_KEY] });
});
after(() => fake.close());
beforeEach(() => fake.reset());

function client(opts: { maxRetries?: number; token?: string } = {}): Anthropic {
  return new Anthropic({
    baseURL: fake.url,
    authToken: opts.token ?? TEST_ACCESS_TOKEN,
    defaultHeaders: { 'anthropic-beta': OAUTH_BETA },
    maxRetries: opts.maxRetries ?? 0,
  });
}

const hello = {
  model: 'claude-sonnet-5-5',
  max_tokens: 256,
  messages: [{ role: 'user' as const, content: 'Hello' }],
};

/** POST with node:http and collect status, headers and raw body bytes. */
function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${fake.url}${path}`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'anthropic-version': '2023-06-01',
          authorization: `Bearer ${TEST_ACCESS_TOKEN}`,
          'anthropic-beta': OAUTH_BETA,
          ...headers,
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(typeof body === 'string' ? body : JSON.stringify(body));
  });
}

/** The events of a raw SSE body, asserting the exact framing (`event: <type>\ndata: <one line>\n\n`) on the way. */
function sseFrames(raw: string): Array<{ event: string; data: Obj }> {
  return strictSse(raw, 'named').map((ev) => ({ event: ev.event!, data: JSON.parse(ev.data) }));
}

describe('Messages API through the official SDK', () => {
  it('answers messages.create with a full Message and records what it got', async () => {
    fake.enqueue(reply.text('Hi there, friend.'));
    const msg = await client().messages.create({ ...hello, system: 'Be brief.' });
    assert.equal(msg.type, 'message');
    assert.equal(msg.role, 'assistant');
    assert.match(msg.id, /^msg_01[1-9A-HJ-NP-Za-km-z]{22}$/);
    assert.equal(msg.model, 'claude-sonnet-5-5');
    assert.deepEqual(msg.content, [{ type: 'text', text: 'Hi there, friend.' }]);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.ok(msg.usage.input_tokens > 0 && msg.usage.output_tokens > 0);

    const [rec] = fake.messages();
    assert.equal(rec.headers.authorization, `Bearer ${TEST_ACCESS_TOKEN}`);
    assert.equal(rec.headers['x-api-key'], undefined);
    assert.equal((rec.body as Obj).system, 'Be brief.');
    assert.equal(rec.status, 200);
    assert.match(rec.requestId, /^req_011C/);
  });

  it('streams text that messages.stream().finalMessage() assembles', async () => {
    fake.enqueue(reply.text('One two three four five six seven.', { deltas: 5 }));
    const stream = client().messages.stream(hello);
    const deltas: string[] = [];
    stream.on('text', (t) => deltas.push(t));
    const msg = await stream.finalMessage();
    assert.equal(deltas.length, 5);
    assert.deepEqual(msg.content, [{ type: 'text', text: 'One two three four five six seven.' }]);
    assert.equal(msg.stop_reason, 'end_turn');
  });

  it('writes SSE frames, event order, usage and headers as the real API', async () => {
    fake.enqueue(reply.text('Hello there.', { deltas: 2 }));
    const res = await post('/v1/messages', { ...hello, stream: true });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.match(String(res.headers['request-id']), /^req_011C[1-9A-HJ-NP-Za-km-z]{20}$/);
    assert.ok(res.headers['anthropic-organization-id']);
    assert.equal(res.headers['anthropic-ratelimit-unified-status'], 'allowed');
    assert.match(String(res.headers['anthropic-ratelimit-unified-5h-utilization']), /^\d\.\d+$/);
    assert.match(String(res.headers['anthropic-ratelimit-unified-reset']), /^\d{10}$/);
    assert.equal(res.headers['anthropic-ratelimit-unified-representative-claim'], 'five_hour');

    const frames = sseFrames(res.body);
    assert.deepEqual(
      frames.map((f) => f.event),
      [
        'message_start',
        'content_block_start',
        'ping',
        'content_block_delta',
        'content_block_delta',
        'content_block_stop',
        'message_delta',
        'message_stop',
      ],
    );
    const start = frames[0].data.message;
    assert.deepEqual(start.content, []);
    assert.equal(start.stop_reason, null);
    assert.equal(start.usage.output_tokens, 1);
    const delta = frames.at(-2)!.data;
    assert.equal(delta.delta.stop_reason, 'end_turn');
    assert.equal(delta.usage.input_tokens, start.usage.input_tokens, 'message_delta repeats input tokens');
    assert.ok(delta.usage.output_tokens >= 1);
  });

  it('answers non-streamed requests with application/json', async () => {
    const res = await post('/v1/messages', hello);
    assert.equal(res.headers['content-type'], 'application/json');
    const msg = JSON.parse(res.body);
    assert.deepEqual(Object.keys(msg).slice(0, 5), ['model', 'id', 'type', 'role', 'content']);
    assert.equal(msg.content[0].type, 'text');
  });

  it('streams parallel tool calls as input_json_delta fragments and takes the results back', async () => {
    const api = client();
    const tools = [
      {
        name: 'get_weather',
        description: 'Weather',
        input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } },
      },
    ];
    fake.enqueue(
      reply.toolUse(
        [
          { name: 'get_weather', input: { city: 'Paris' } },
          { name: 'get_weather', input: { city: 'Tōkyō "東京"' }, fragments: 5 },
        ],
        { text: 'Checking both.' },
      ),
    );
    const first = await api.messages.stream({ ...hello, tools }).finalMessage();
    assert.equal(first.stop_reason, 'tool_use');
    const calls = first.content.filter((b) => b.type === 'tool_use');
    assert.deepEqual(
      calls.map((c) => c.input),
      [{ city: 'Paris' }, { city: 'Tōkyō "東京"' }],
    );
    assert.ok(calls.every((c) => /^toolu_01/.test(c.id)));

    const second = await api.messages.create({
      ...hello,
      tools,
      messages: [
        ...hello.messages,
        { role: 'assistant', content: first.content },
        {
          role: 'user',
          content: calls.map((c, i) => ({
            type: 'tool_result' as const,
            tool_use_id: c.id,
            content: `sunny ${i}`,
          })),
        },
      ],
    });
    assert.deepEqual(second.content, [{ type: 'text', text: 'The tool returned:\nsunny 0\nsunny 1' }]);
  });

  it('streams thinking (thinking_delta, signature_delta) before the text', async () => {
    fake.enqueue(reply.thinking('Let me think about this.', 'Forty-two.'));
    const msg = await client()
      .messages.stream({ ...hello, max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 } })
      .finalMessage();
    assert.equal(msg.content.length, 2);
    const [thinking, text] = msg.content;
    assert.equal(thinking.type, 'thinking');
    assert.equal(thinking.type === 'thinking' && thinking.thinking, 'Let me think about this.');
    assert.ok(thinking.type === 'thinking' && thinking.signature.length > 10);
    assert.deepEqual(text, { type: 'text', text: 'Forty-two.' });
  });

  it('answers refusals and max_tokens stops', async () => {
    fake.enqueue(reply.refusal(), reply.maxTokens('Cut sh'));
    const refused = await client().messages.stream(hello).finalMessage();
    assert.equal(refused.stop_reason, 'refusal');
    assert.deepEqual(refused.content, []);
    const cut = await client().messages.create(hello);
    assert.equal(cut.stop_reason, 'max_tokens');
  });

  it('counts tokens', async () => {
    const count = await client().messages.countTokens({ model: hello.model, messages: hello.messages });
    assert.ok(count.input_tokens > 0);
    const longer = await client().messages.countTokens({
      model: hello.model,
      messages: [{ role: 'user', content: 'Hello '.repeat(100) }],
    });
    assert.ok(longer.input_tokens > count.input_tokens);
  });

  it('lists models with the real page shape and cursors', async () => {
    const all: string[] = [];
    for await (const m of client().models.list({ limit: 3 })) {
      assert.equal(m.type, 'model');
      assert.ok(m.display_name && m.created_at);
      all.push(m.id);
    }
    assert.ok(all.length >= 8);
    assert.equal(new Set(all).size, all.length);
    const res = await fetch(`${fake.url}/v1/models?limit=2&after_id=${all[0]}`, {
      headers: { 'x-api-key': TEST_API_KEY, 'anthropic-version': '2023-06-01' },
    });
    const page = (await res.json()) as Obj;
    assert.deepEqual(
      page.data.map((m: Obj) => m.id),
      all.slice(1, 3),
    );
    assert.equal(page.has_more, true);
    assert.equal(page.first_id, all[1]);
    assert.equal(page.last_id, all[2]);
    const one = await client().models.retrieve(all[0]);
    assert.equal(one.id, all[0]);
  });
});

describe('errors, typed by the SDK', () => {
  it('429 carries retry-after and retry-after-ms, and the SDK retries after it', async () => {
    fake.enqueue(reply.rateLimited({ retryAfter: 1, retryAfterMs: 20 }), reply.text('after the wait'));
    const msg = await client({ maxRetries: 2 }).messages.create(hello);
    assert.deepEqual(msg.content, [{ type: 'text', text: 'after the wait' }]);
    const [first, second] = fake.messages();
    assert.equal(first.status, 429);
    assert.equal(second.headers['x-stainless-retry-count'], '1');
  });

  it('429 without retries surfaces as RateLimitError with the API error body', async () => {
    fake.enqueue(reply.rateLimited({ retryAfter: 7, exhausted: true }));
    const err = await client()
      .messages.create(hello)
      .catch((e: unknown) => e);
    assert.ok(err instanceof Anthropic.RateLimitError);
    assert.equal(err.status, 429);
    assert.equal(err.headers.get('retry-after'), '7');
    assert.equal(err.headers.get('anthropic-ratelimit-unified-status'), 'rejected');
    assert.equal(err.headers.get('anthropic-ratelimit-unified-5h-utilization'), '1.0');
    assert.deepEqual(Object.keys(err.error as Obj), ['type', 'error', 'request_id']);
    assert.equal((err.error as Obj).error.type, 'rate_limit_error');
    assert.equal(err.requestID, (err.error as Obj).request_id);
  });

  it('529 is OverloadedError and 500 is InternalServerError', async () => {
    fake.enqueue(reply.overloaded(), reply.apiError());
    const overloaded = await client()
      .messages.create(hello)
      .catch((e: unknown) => e);
    assert.ok(overloaded instanceof Anthropic.OverloadedError);
    assert.equal(overloaded.status, 529);
    assert.equal((overloaded.error as Obj).error.message, 'Overloaded');
    const internal = await client()
      .messages.create(hello)
      .catch((e: unknown) => e);
    assert.ok(internal instanceof Anthropic.InternalServerError);
    assert.equal((internal.error as Obj).error.type, 'api_error');
  });

  it('401 for a wrong token, a Bearer token without the OAuth beta, and a wrong x-api-key', async () => {
    const wrong = await client({ token: 'sk-ant-oat01-wrong' })
      .messages.create(hello)
      .catch((e: unknown) => e);
    assert.ok(wrong instanceof Anthropic.AuthenticationError);
    assert.equal((wrong.error as Obj).error.message, 'Invalid bearer token');

    const noBeta = await post('/v1/messages', hello, { 'anthropic-beta': 'claude-code-20250219' });
    assert.equal(noBeta.status, 401);
    assert.equal(JSON.parse(noBeta.body).error.message, 'OAuth authentication is currently not supported.');

    // SDK 1.x (API version 2026-10-21) sends API keys as a Bearer token.
    const badKey = await new Anthropic({
      baseURL: fake.url,
      apiKey: 'sk-ant-api03-nope',
      maxRetries: 0,
    }).messages
      .create(hello)
      .catch((e: unknown) => e);
    assert.ok(badKey instanceof Anthropic.AuthenticationError);
    assert.equal((badKey.error as Obj).error.type, 'authentication_error');
    const goodKey = await new Anthropic({
      baseURL: fake.url,
      apiKey: TEST_API_KEY,
      maxRetries: 0,
    }).messages.create(hello);
    assert.equal(goodKey.type, 'message');
    assert.equal(fake.messages().at(-1)!.headers['anthropic-version'], '2026-10-21');

    const badHeader = await post('/v1/messages', hello, { 'x-api-key': 'sk-ant-api03-nope' });
    assert.equal(JSON.parse(badHeader.body).error.message, 'invalid x-api-key', 'x-api-key wins over Bearer');

    fake.credentials.expire(TEST_ACCESS_TOKEN);
    try {
      const expired = await post('/v1/messages', hello);
      assert.equal(expired.status, 401);
      assert.match(JSON.parse(expired.body).error.message, /^OAuth token has expired/);
    } finally {
      fake.credentials.expiredTokens.delete(TEST_ACCESS_TOKEN);
      fake.credentials.accessTokens.add(TEST_ACCESS_TOKEN);
    }
  });

  it('400 invalid_request_error for bodies the API rejects', async () => {
    const missing = await post('/v1/messages', { model: 'claude-sonnet-5-5', messages: hello.messages });
    assert.equal(missing.status, 400);
    assert.deepEqual(JSON.parse(missing.body).error, {
      type: 'invalid_request_error',
      message: 'max_tokens: Field required',
    });
    const notJson = await post('/v1/messages', '{"model":');
    assert.equal(notJson.status, 400);
    const noVersion = await post('/v1/messages', hello, { 'anthropic-version': '' });
    assert.equal(JSON.parse(noVersion.body).error.message, 'anthropic-version: header is required');
    const unknown = await post('/v2/nothing', {});
    assert.equal(unknown.status, 404);
    assert.equal(JSON.parse(unknown.body).error.type, 'not_found_error');
    assert.equal(fake.messages().length, 3, 'rejected requests are recorded too');
  });

  it('an in-stream error event makes the SDK stream throw after some text', async () => {
    fake.enqueue(reply.streamError({ afterEvents: 4 }));
    const stream = client().messages.stream(hello);
    let text = '';
    stream.on('text', (t) => {
      text += t;
    });
    const err = await stream.finalMessage().catch((e: unknown) => e);
    assert.ok(err instanceof Anthropic.APIError);
    assert.match(String(err.message), /overloaded_error/);
    assert.ok(text.length > 0, 'some text arrived before the error');
  });

  it('the stream error event has the real shape', async () => {
    fake.enqueue(reply.streamError({ afterEvents: 2 }));
    const res = await post('/v1/messages', { ...hello, stream: true });
    const frames = sseFrames(res.body);
    assert.deepEqual(
      frames.map((f) => f.event),
      ['message_start', 'content_block_start', 'ping', 'error'],
    );
    assert.deepEqual(frames[3].data.error, {
      details: null,
      type: 'overloaded_error',
      message: 'Overloaded',
    });
    assert.equal(frames[3].data.request_id, res.headers['request-id']);
  });
});

describe('recorded fixtures replay', () => {
  for (const name of fixtureNames()) {
    it(`${name}: the SDK assembles what was recorded`, async () => {
      const f = loadFixture(name);
      fake.enqueue(reply.fixture(name), reply.fixture(name));
      if (f.json?.type === 'error') {
        const err = await client()
          .messages.create(hello)
          .catch((e: unknown) => e);
        assert.ok(err instanceof Anthropic.BadRequestError);
        assert.deepEqual(err.error, f.json);
        return;
      }
      const streamed = await client().messages.stream(hello).finalMessage();
      const expected = f.events ? accumulate(f.events.map((e) => JSON.parse(e.data))) : f.json!;
      assert.deepEqual(streamed.content, expected.content);
      assert.equal(streamed.stop_reason, expected.stop_reason);
      assert.equal(streamed.usage.output_tokens, (expected.usage as Obj).output_tokens);
      assert.equal(streamed.usage.input_tokens, (expected.usage as Obj).input_tokens);

      const whole = await client().messages.create(hello);
      const json = f.json ?? expected;
      assert.deepEqual(whole.content, json.content);
      assert.equal(whole.id, json.id);
    });
  }

  it('fixture events are written verbatim (trailing whitespace trimmed)', async () => {
    fake.enqueue(reply.fixture('anthropic-issue-15652-false'));
    const res = await post('/v1/messages', { ...hello, stream: true });
    const lines = loadFixture('anthropic-issue-15652-false').events!.map((e) => e.data);
    assert.ok(res.body.includes('data: {"type": "ping"}\n\n'), 'the recorded spacing survives');
    assert.equal(sseFrames(res.body).length, lines.length);
  });
});

describe('delivery and faults', () => {
  it('unicode split inside UTF-8 characters, random and fixed cuts all assemble the same text', async () => {
    const cuts = [
      reply.unicode(),
      withDelivery(reply.unicode(), { split: { random: 7, max: 5 } }),
      withDelivery(reply.unicode(), { split: { every: 1 } }),
      withDelivery(reply.unicode(), { split: 'whole' }),
    ];
    for (const r of cuts) {
      fake.enqueue(r);
      const msg = await client().messages.stream(hello).finalMessage();
      assert.deepEqual(msg.content, [{ type: 'text', text: UNICODE_TEXT }]);
    }
  });

  it('the utf8 cut leaves every multi-byte character split across two writes', () => {
    const unit = encodeSse(
      sseEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: UNICODE_TEXT } }),
    );
    const writes = new Chunker('utf8').push(unit);
    assert.deepEqual(Buffer.concat(writes), unit);
    const strict = new TextDecoder('utf-8', { fatal: true });
    const broken = writes.filter((w) => {
      try {
        strict.decode(w);
        return false;
      } catch {
        return true;
      }
    });
    assert.ok(broken.length >= Array.from(UNICODE_TEXT).filter((c) => Buffer.byteLength(c) > 1).length);
  });

  it('gzips for clients that accept it, flushing each event so the stream still streams', async () => {
    fake.enqueue(reply.stallMidStream(2));
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http
        .request(`${fake.url}/v1/messages`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'accept-encoding': 'gzip, deflate, br, zstd',
            'anthropic-version': '2023-06-01',
            authorization: `Bearer ${TEST_ACCESS_TOKEN}`,
            'anthropic-beta': OAUTH_BETA,
          },
        })
        .on('response', resolve)
        .on('error', reject)
        .end(JSON.stringify({ ...hello, stream: true }));
    });
    assert.equal(res.headers['content-encoding'], 'gzip');
    const gunzip = res.pipe(zlib.createGunzip());
    let text = '';
    // The fake holds the stream open after two events: they can only arrive here if each was flushed.
    for await (const chunk of gunzip) {
      text += chunk;
      if (text.includes('event: content_block_start\n')) break;
    }
    res.destroy();
    assert.match(text, /^event: message_start\ndata: \{/);

    const plain = await post('/v1/messages', hello);
    assert.equal(plain.headers['content-encoding'], undefined, 'no accept-encoding, no compression');
  });

  it('a slow stream still delivers every event', async () => {
    fake.enqueue(reply.slow(5, reply.text('a b c d e f', { deltas: 6 })));
    const msg = await client().messages.stream(hello).finalMessage();
    assert.equal(msg.content[0].type === 'text' && msg.content[0].text, 'a b c d e f');
  });

  it('a connection dropped mid-stream fails the SDK stream (FIN and RST)', async () => {
    for (const how of ['close', 'reset'] as const) {
      fake.enqueue(reply.drop(3, reply.text('never finished here', { deltas: 6 }), how));
      const err = await client()
        .messages.stream(hello)
        .finalMessage()
        .catch((e: unknown) => e);
      assert.ok(err instanceof Error, `${how}: stream fails`);
      const rec = fake.messages().at(-1)!;
      assert.equal((await rec.ended).aborted, false, 'a drop by the fake is not a client abort');
    }
  });

  it('a reset before headers is a connection error', async () => {
    fake.enqueue(reply.reset());
    const err = await client()
      .messages.create(hello)
      .catch((e: unknown) => e);
    assert.ok(err instanceof Anthropic.APIConnectionError);
  });

  it('records a client hang-up during a stall before the first byte', async () => {
    fake.enqueue(reply.stall());
    const ac = new AbortController();
    const pending = client()
      .messages.create(hello, { signal: ac.signal })
      .catch((e: unknown) => e);
    const rec = await fake.waitForRequest((q) => q.path === '/v1/messages');
    ac.abort();
    assert.ok((await pending) instanceof Anthropic.APIUserAbortError);
    assert.deepEqual(await rec.ended, { aborted: true });
    assert.equal(rec.aborted, true);
  });

  it('records a client hang-up during a stall mid-stream', async () => {
    // Four events are written: message_start, content_block_start, ping (the SDK skips pings), a delta.
    fake.enqueue(reply.stallMidStream(4));
    const ac = new AbortController();
    const seen: string[] = [];
    const stream = await client().messages.create({ ...hello, stream: true }, { signal: ac.signal });
    // The SDK ends the iteration quietly when its signal aborts.
    for await (const ev of stream) {
      seen.push(ev.type);
      if (seen.length === 3) ac.abort();
    }
    assert.deepEqual(seen, ['message_start', 'content_block_start', 'content_block_delta']);
    const [rec] = fake.messages();
    assert.deepEqual(await rec.ended, { aborted: true });
  });

  it('a slow first byte delays the headers', async () => {
    fake.enqueue(withDelivery(reply.text('late'), { firstByteDelayMs: 20 }));
    const msg = await client().messages.create(hello);
    assert.deepEqual(msg.content, [{ type: 'text', text: 'late' }]);
  });

  it('answers an HTML 502 page as a load balancer would', async () => {
    fake.enqueue(reply.html(502));
    const err = await client()
      .messages.create(hello)
      .catch((e: unknown) => e);
    assert.ok(err instanceof Anthropic.InternalServerError);
    assert.equal(err.status, 502);
    assert.match(String(err.message), /Bad Gateway/);
  });

  it('malformed SSE breaks the SDK stream; a truncated stream ends without message_stop', async () => {
    fake.enqueue(reply.malformed('json'));
    const bad = await client()
      .messages.stream(hello)
      .finalMessage()
      .catch((e: unknown) => e);
    assert.ok(bad instanceof Error);
    fake.enqueue(reply.malformed('truncated'));
    const res = await post('/v1/messages', { ...hello, stream: true });
    assert.deepEqual(
      sseFrames(res.body).map((f) => f.event),
      ['message_start', 'content_block_start', 'content_block_delta'],
    );
  });

  it('streams a huge answer lazily', async () => {
    fake.enqueue(reply.huge(4 * 1024 * 1024, 8192));
    let chars = 0;
    const stream = client().messages.stream(hello);
    stream.on('text', (t) => {
      chars += t.length;
    });
    const msg = await stream.finalMessage();
    assert.equal(msg.stop_reason, 'end_turn');
    assert.ok(chars >= 4 * 1024 * 1024);
  });

  it('handlers see the request; handlers returning nothing fall through', async () => {
    fake.enqueue(() => undefined);
    fake.handle((req) => reply.text(`model was ${(req.body as Obj).model}`));
    const msg = await client().messages.create(hello);
    assert.deepEqual(msg.content, [{ type: 'text', text: 'model was claude-sonnet-5-5' }]);
  });
});

describe('directives in the prompt', () => {
  const ask = (text: string) => ({ ...hello, messages: [{ role: 'user' as const, content: text }] });

  it('[[fake:overloaded]] answers 529, [[fake:fixture:NAME]] replays a fixture', async () => {
    const err = await client()
      .messages.create(ask('please [[fake:overloaded]]'))
      .catch((e: unknown) => e);
    assert.ok(err instanceof Anthropic.OverloadedError);
    const msg = await client().messages.stream(ask('[[fake:fixture:anthropic-text]]')).finalMessage();
    assert.equal(msg.id, 'msg_01QC4g3HwBThD4BaNtBckFDJ');
  });

  it('[[fake:tool_use:Name:{json}]] calls the named tool with that input', async () => {
    const msg = await client().messages.create({
      ...ask('[[fake:tool_use:lookup:{"q":"x"}]]'),
      tools: [{ name: 'lookup', input_schema: { type: 'object' } }],
    });
    const call = msg.content.find((b) => b.type === 'tool_use');
    assert.equal(call?.type === 'tool_use' && call.name, 'lookup');
    assert.deepEqual(call?.type === 'tool_use' && call.input, { q: 'x' });
  });

  it('scenario() gives the same answers to enqueue', async () => {
    fake.enqueue(scenario('rate_limit', '3'));
    const err = await client()
      .messages.create(hello)
      .catch((e: unknown) => e);
    assert.ok(err instanceof Anthropic.RateLimitError);
    assert.equal(err.headers.get('retry-after'), '3');
  });
});
