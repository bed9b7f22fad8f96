/**
 * API mode end to end: the real @anthropic-ai/sdk → ccproxy → the fake Anthropic upstream.
 * Assertions on what the client got and on what the upstream received.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type { RequestRecord } from '../../src/observability/lifecycle.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import {
  type FakeUpstream,
  loadFixture,
  reply,
  startFakeUpstream,
  TEST_ACCESS_TOKEN,
  withDelivery,
} from '../support/fake-upstream.ts';

/** A whole Message as the API answers one (the recorded fixture). */
const WHOLE = loadFixture('anthropic-text').json as Record<string, unknown>;

const IDENTITY = "You are Claude Code, Anthropic's official CLI for Claude.";

describe('API mode with the Anthropic SDK', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;
  let client: Anthropic;
  const records: RequestRecord[] = [];

  before(async () => {
    fake = await startFakeUpstream();
    proxy = await startProxy({
      settings: { upstream: { base_url: fake.url } },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
    });
    proxy.proxy.lifecycle.subscribe((ev, r) => ev === 'end' && records.push(r));
    client = new Anthropic({ baseURL: `${proxy.url}/api`, apiKey: 'client-dummy-key', maxRetries: 0 });
  });
  after(async () => {
    await proxy.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    records.length = 0;
  });

  it('create: the answer arrives and the upstream saw the subscription token, betas and identity', async () => {
    fake.enqueue(reply.text('Hi there.'));
    const msg = await client.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 64,
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'Hello' }],
    });
    assert.equal(msg.content[0].type, 'text');
    assert.equal((msg.content[0] as { text: string }).text, 'Hi there.');
    const got = fake.messages()[0];
    assert.equal(got.headers.authorization, `Bearer ${TEST_ACCESS_TOKEN}`);
    assert.equal(got.headers['x-api-key'], undefined);
    assert.doesNotMatch(JSON.stringify(got.headers), /client-dummy-key/);
    assert.match(String(got.headers['anthropic-beta']), /oauth-2025-04-20/);
    assert.equal(got.headers['x-app'], 'cli');
    assert.match(String(got.headers['user-agent']), /^claude-cli\//);
    const body = got.body as { system: Array<{ text: string }> };
    assert.equal(body.system[0].text, IDENTITY);
    assert.equal(body.system[1].text, 'Be brief.');
    await waitFor(() => records.length === 1);
    assert.equal(records[0].usage?.output, msg.usage.output_tokens);
    assert.equal(records[0].status, 200);
  });

  it("keeps the client's betas (in order) and query string", async () => {
    fake.enqueue(reply.text('ok'));
    await client.beta.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 16,
      betas: ['interleaved-thinking-2025-05-14', 'context-management-2025-06-27'],
      messages: [{ role: 'user', content: 'x' }],
    });
    const got = fake.messages()[0];
    assert.equal(
      got.headers['anthropic-beta'],
      'interleaved-thinking-2025-05-14,context-management-2025-06-27,oauth-2025-04-20,claude-code-20250219',
    );
    fake.enqueue(reply.text('ok'));
    await fetch(`${proxy.url}/api/v1/messages?beta=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-sonnet-5-5',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'x' }],
      }),
    });
    assert.equal(fake.messages()[1].query.beta, 'true');
  });

  it('stream: finalMessage assembles the streamed answer; usage is tapped', async () => {
    fake.enqueue(reply.text('one two three four', { deltas: 4 }));
    const stream = client.messages.stream({
      model: 'claude-sonnet-5-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'count' }],
    });
    const deltas: string[] = [];
    stream.on('text', (t) => deltas.push(t));
    const msg = await stream.finalMessage();
    assert.equal((msg.content[0] as { text: string }).text, 'one two three four');
    assert.ok(deltas.length >= 2, 'several text deltas');
    await waitFor(() => records.length === 1);
    assert.equal(records[0].stream, true);
    assert.equal(records[0].usage?.output, msg.usage.output_tokens);
    assert.ok(records[0].ttfbMs !== undefined);
  });

  it('unicode split inside characters arrives intact', async () => {
    fake.enqueue(reply.unicode({ delivery: { split: 'utf8' } }));
    const msg = await client.messages
      .stream({ model: 'claude-sonnet-5-5', max_tokens: 64, messages: [{ role: 'user', content: 'x' }] })
      .finalMessage();
    assert.match((msg.content[0] as { text: string }).text, /👋🏽.*你好/);
  });

  it('tool use round trip', async () => {
    fake.enqueue(reply.toolUse({ name: 'get_weather', input: { city: 'Paris' } }));
    const tools = [
      {
        name: 'get_weather',
        description: 'Weather',
        input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } },
      },
    ];
    const first = await client.messages
      .stream({
        model: 'claude-sonnet-5-5',
        max_tokens: 256,
        tools,
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
      })
      .finalMessage();
    assert.equal(first.stop_reason, 'tool_use');
    const call = first.content.find((b) => b.type === 'tool_use') as { id: string; input: unknown };
    assert.deepEqual(call.input, { city: 'Paris' });
    fake.enqueue(reply.text('It is sunny.'));
    const second = await client.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 256,
      tools,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'sunny' }] },
      ],
    });
    assert.equal((second.content[0] as { text: string }).text, 'It is sunny.');
  });

  it('thinking blocks come through with their signature', async () => {
    fake.enqueue(reply.thinking('Let me think.', 'Answer.'));
    const msg = await client.messages
      .stream({
        model: 'claude-sonnet-5-5',
        max_tokens: 2048,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        messages: [{ role: 'user', content: 'x' }],
      })
      .finalMessage();
    const thinking = msg.content.find((b) => b.type === 'thinking') as {
      thinking: string;
      signature: string;
    };
    assert.equal(thinking.thinking, 'Let me think.');
    assert.ok(thinking.signature.length > 0);
  });

  it('count_tokens and the model list', async () => {
    const count = await client.messages.countTokens({
      model: 'claude-sonnet-5-5',
      messages: [{ role: 'user', content: 'Hello there' }],
    });
    assert.ok(count.input_tokens > 0);
    const models = await client.models.list();
    const ids = models.data.map((m) => m.id);
    assert.ok(ids.length > 0);
    assert.equal(models.data[0].type, 'model');
    // models.retrieve(): by id, by alias (the newest dated id, as the API resolves it), or a 404.
    const byId = await client.models.retrieve('claude-sonnet-5-5');
    assert.deepEqual(
      byId,
      models.data.find((m) => m.id === 'claude-sonnet-5-5'),
    );
    assert.equal((await client.models.retrieve('claude-sonnet-4-5')).id, 'claude-sonnet-4-5-20250929');
    await assert.rejects(client.models.retrieve('claude-nope-1'), (err: unknown) => {
      assert.ok(err instanceof Anthropic.NotFoundError);
      assert.deepEqual(err.error, {
        type: 'error',
        error: { type: 'not_found_error', message: 'model: claude-nope-1' },
      });
      return true;
    });
    // An API ccproxy does not offer: a 404 that says what to do instead.
    const batch = { custom_id: 'a', params: { model: 'claude-sonnet-5-5', max_tokens: 8, messages: [] } };
    await assert.rejects(client.messages.batches.create({ requests: [batch] }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.NotFoundError);
      assert.match(err.message, /does not offer the Message Batches API: send the requests one by one/);
      return true;
    });
    await assert.rejects(client.beta.files.list(), (err: unknown) => {
      assert.ok(err instanceof Anthropic.NotFoundError);
      assert.match(err.message, /No route for GET \/api\/v1\/files\. ccproxy does not offer the Files API/);
      return true;
    });
  });

  it('every recorded fixture replays through the proxy unchanged', async () => {
    for (const name of [
      'anthropic-text',
      'anthropic-issue-15652-false',
      'anthropic-clear-thinking.1',
      'anthropic-refusal',
    ]) {
      fake.enqueue(reply.fixture(name));
      const msg = await client.messages
        .stream({ model: 'claude-sonnet-5-5', max_tokens: 2048, messages: [{ role: 'user', content: 'x' }] })
        .finalMessage();
      assert.ok(msg.id, name);
    }
  });

  it('upstream errors pass through with their status, type and retry-after', async () => {
    fake.enqueue(reply.rateLimited({ retryAfter: 7 }), reply.rateLimited({ retryAfter: 7 }));
    await assert.rejects(
      client.messages.create({
        model: 'claude-sonnet-5-5',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (err: InstanceType<typeof Anthropic.APIError>) => {
        assert.equal(err.status, 429);
        assert.equal((err.error as { error: { type: string } }).error.type, 'rate_limit_error');
        assert.equal(err.headers?.get('retry-after'), '7');
        return true;
      },
    );
  });

  it('a first 529 is retried by the proxy, invisibly to the client', async () => {
    fake.enqueue(reply.overloaded(), reply.text('recovered'));
    const msg = await client.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 8,
      messages: [{ role: 'user', content: 'x' }],
    });
    assert.equal((msg.content[0] as { text: string }).text, 'recovered');
    assert.equal(fake.messages().length, 2);
    await waitFor(() => records.length === 1);
    assert.equal(records[0].retries, 1);
  });

  it('an upstream 401 makes the proxy pick up fresh credentials and retry once', async () => {
    fake.enqueue(reply.unauthorized(), reply.text('after refresh'));
    // With an env token there is nothing to refresh: the client gets the 401 with the upstream's message.
    await assert.rejects(
      client.messages.create({
        model: 'claude-sonnet-5-5',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (err: InstanceType<typeof Anthropic.APIError>) => err.status === 401,
    );
  });

  it('an error event mid-stream reaches the client as an API error', async () => {
    fake.enqueue(reply.streamError({ afterEvents: 3, type: 'overloaded_error', message: 'Overloaded' }));
    const stream = client.messages.stream({
      model: 'claude-sonnet-5-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'x' }],
    });
    await assert.rejects(stream.finalMessage(), /Overloaded/);
    await waitFor(() => records.length === 1);
    assert.equal(records[0].errorKind, 'overloaded');
  });

  it('every response carries x-request-id (the client’s own when it sends one)', async () => {
    fake.enqueue(reply.text('x'));
    const res = await fetch(`${proxy.url}/api/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'my-id-123' },
      body: JSON.stringify({
        model: 'claude-sonnet-5-5',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'x' }],
      }),
    });
    assert.equal(res.headers.get('x-request-id'), 'my-id-123');
    assert.ok(res.headers.get('request-id'), "the upstream's request-id is passed on");
    const made = await Promise.all([1, 2, 3].map(() => fetch(`${proxy.url}/nope`)));
    const ids = made.map((r) => r.headers.get('x-request-id') ?? '');
    for (const id of ids) assert.match(id, /^req_[0-9a-f]{32}$/);
    assert.equal(new Set(ids).size, 3, 'each request its own id');
  });

  it("a JSON answer keeps the upstream's Content-Length; one cut short fails, never looks whole", async () => {
    const ask = () =>
      client.messages.create({
        model: 'claude-sonnet-5-5',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'x' }],
      });
    const message = { ...WHOLE, content: [{ type: 'text', text: 'Whole.' }] };
    const body = JSON.stringify(message);
    const sized = () => reply.json(200, message, { 'content-length': String(Buffer.byteLength(body)) });
    fake.enqueue(sized());
    const { data, response } = await ask().withResponse();
    assert.equal((data.content[0] as { text: string }).text, 'Whole.');
    assert.equal(response.headers.get('content-length'), String(Buffer.byteLength(body)));
    assert.equal(response.headers.get('transfer-encoding'), null);

    // Cut after 40 bytes, framed by length and by chunks: the client sees a failure either way.
    for (const cut of [sized(), reply.text('Cut short by the upstream.')]) {
      records.length = 0;
      fake.enqueue(withDelivery(cut, { dropAfterBytes: 40 }));
      // The SDK's fetch reports a body cut short as `TypeError: terminated`.
      await assert.rejects(
        ask(),
        (err) => err instanceof Anthropic.APIConnectionError || /terminated/.test(String(err)),
      );
      await waitFor(() => records.some((r) => r.errorKind === 'upstream'));
    }
    // And the proxy serves on.
    fake.enqueue(reply.text('Again.'));
    assert.equal(((await ask()).content[0] as { text: string }).text, 'Again.');
  });
});

/** Wait for a condition; the bound is generous so that a loaded machine never trips it. */
export async function waitFor(cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
