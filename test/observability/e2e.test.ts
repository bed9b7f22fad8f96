/**
 * Through the real proxy: the Anthropic and OpenAI SDKs → ccproxy (API mode) → the fake upstream.
 * Every request becomes one access-log row with the tokens the client was told, a cost, TTFT for
 * streams and the error kind for failures; metrics count the same requests.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { DuckDBInstance } from '@duckdb/node-api';
import fastify from 'fastify';
import OpenAI from 'openai';
import { createObservability, type Observability } from '../../src/observability/index.ts';
import { Lifecycle } from '../../src/observability/lifecycle.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, reply, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';
import { settingsWith, silent, waitFor } from './helpers.ts';

describe('observability through the real proxy', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;
  let obs: Observability;
  let file: string;
  const lifecycle = new Lifecycle();
  let ended = 0;
  lifecycle.subscribe((ev) => {
    if (ev === 'end') ended++;
  });

  before(async () => {
    fake = await startFakeUpstream();
    proxy = await startProxy({
      settings: { upstream: { base_url: fake.url, retry: { max_attempts: 1 } } },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
      app: { lifecycle },
    });
    file = path.join(proxy.dir, 'obs.duckdb');
    obs = await createObservability({
      settings: settingsWith({ access_log: true, metrics: true, duckdb_path: file, flush_interval_ms: 20 }),
      lifecycle,
      log: silent,
      version: 'test',
    });
  });

  after(async () => {
    await obs.close();
    await proxy.close();
    await fake.close();
  });

  test('each request is a row with its tokens, cost, TTFT and error kind; metrics agree', async () => {
    const anthropic = new Anthropic({ baseURL: `${proxy.url}/api`, apiKey: 'x', maxRetries: 0 });
    const openai = new OpenAI({ baseURL: `${proxy.url}/api/v1`, apiKey: 'x', maxRetries: 0 });

    fake.enqueue(
      reply.text('Plain answer.', {
        usage: { input_tokens: 120, output_tokens: 7, cache_read_input_tokens: 50 },
      }),
    );
    const plain = await anthropic.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
    });

    fake.enqueue(reply.text('A streamed answer in several parts.', { deltas: 4 }));
    const stream = anthropic.messages.stream({
      model: 'claude-opus-5-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'stream please' }],
    });
    const streamed = await stream.finalMessage();

    fake.enqueue(reply.text('From the OpenAI side.'));
    const chat = await openai.chat.completions.create({
      model: 'claude-haiku-5-5',
      messages: [{ role: 'user', content: 'hello' }],
    });

    fake.enqueue(reply.overloaded());
    await assert.rejects(
      anthropic.messages.create({
        model: 'claude-sonnet-5-5',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'x' }],
      }),
    );

    await waitFor(() => ended === 4, 'four finished requests');
    const app = fastify();
    await obs.register(app);
    const metrics = (await app.inject({ url: '/metrics' })).body;
    await app.close();
    await obs.close();

    const db = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
    const conn = await db.connect();
    const rows = (await conn.runAndReadAll('SELECT * FROM requests ORDER BY ts, id')).getRowObjectsJS();
    conn.closeSync();
    db.closeSync();
    assert.equal(rows.length, 4);
    const [a, b, c, d] = rows;

    assert.equal(a!.format, 'anthropic');
    assert.equal(a!.path, '/api/v1/messages');
    assert.equal(a!.stream, false);
    assert.equal(a!.status, 200);
    assert.equal(a!.input_tokens, plain.usage.input_tokens);
    assert.equal(a!.output_tokens, plain.usage.output_tokens);
    assert.equal(a!.cache_read_tokens, 50);
    assert.ok((a!.cost_usd as number) > 0);
    assert.equal(a!.ttft_ms, null);

    assert.equal(b!.stream, true);
    assert.equal(b!.upstream_model, 'claude-opus-5-5');
    assert.equal(b!.output_tokens, streamed.usage.output_tokens);
    assert.ok((b!.ttft_ms as number) > 0 && (b!.ttft_ms as number) <= (b!.duration_ms as number));
    const opusCost = (streamed.usage.input_tokens * 4 + streamed.usage.output_tokens * 20) / 1e6;
    assert.ok(Math.abs((b!.cost_usd as number) - opusCost) < 1e-12);

    assert.equal(c!.format, 'openai');
    assert.equal(c!.path, '/api/v1/chat/completions');
    assert.equal(c!.input_tokens, chat.usage?.prompt_tokens);
    assert.equal(c!.output_tokens, chat.usage?.completion_tokens);

    // No accounts configured: the one credential is the account `default`, a subscription.
    assert.deepEqual([c!.account, c!.billing], ['default', 'subscription']);
    assert.equal(d!.status, 529);
    assert.equal(d!.error_kind, 'overloaded');

    assert.match(
      metrics,
      /ccproxy_requests_total\{mode="api",format="openai",model="claude-haiku-5-5",status="200",account="default"\} 1/,
    );
    assert.match(metrics, /ccproxy_errors_total\{mode="api",format="anthropic",kind="overloaded"\} 1/);
  });
});
