/**
 * SDK mode never hangs silently: with the Anthropic API unreachable (the real Claude Code binary
 * pointed at a closed port), the agent's own retries are watched and the client gets a 502 that
 * says what is wrong once they have gone on for claude.api_retry_max_s — in its own format, streamed
 * or not — the request is logged as an upstream failure, and /health and /sdk/status show it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { Lifecycle, type RequestRecord } from '../../../src/observability/lifecycle.ts';
import { freePort } from '../../helpers/net.ts';
import { startProxy, type TestProxy } from '../../helpers/proxy.ts';
import { TEST_ACCESS_TOKEN } from '../../support/fake-upstream.ts';
import { type Harness, startHarness } from './harness.ts';

describe('SDK mode with the Anthropic API unreachable (real Claude Code, a closed port)', () => {
  let h: Harness;
  let proxy: TestProxy;
  let api: string;
  const records: RequestRecord[] = [];
  const lifecycle = new Lifecycle();
  lifecycle.subscribe((event, r) => {
    if (event === 'end') records.push(r);
  });
  const lastRecord = async () => {
    // The record is complete when the response has closed, just after the client has its answer.
    for (let i = 0; i < 1500 && records.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    return records.shift()!;
  };

  before(async () => {
    api = `http://127.0.0.1:${await freePort()}`;
    h = await startHarness({ claude: { api_retry_max_s: 2 }, env: { ANTHROPIC_BASE_URL: api } });
    proxy = await startProxy({
      settings: { claude: { cwd: h.cwd } },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
      app: { backends: { sdk: h.backend }, lifecycle },
    });
  });
  after(async () => {
    await proxy.close();
    await h.close();
  });

  const sdkHealth = async () => {
    const body = (await (await fetch(`${proxy.url}/health`)).json()) as {
      checks: Record<string, Array<{ status: string; output?: string }>>;
    };
    return body.checks['sdk:backend']![0]!;
  };

  it('before any request, the SDK backend passes', async () => {
    assert.equal((await sdkHealth()).status, 'pass');
  });

  it("a whole message: 502 with the agent's reason, logged as an upstream failure with its retries", async () => {
    const anthropic = new Anthropic({ baseURL: `${proxy.url}/sdk`, apiKey: 'unused', maxRetries: 0 });
    const err = await anthropic.messages
      .create({ model: 'claude-sonnet-5-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
      .then(
        () => assert.fail('answered'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof Anthropic.APIError);
    assert.equal(err.status, 502);
    assert.equal((err.error as { error: { type: string } }).error.type, 'api_error');
    assert.match(
      err.message,
      new RegExp(
        `Claude Code cannot reach the Anthropic API at ${api} \\(\\d+ attempts? in \\d+ s, each a connection error\\)`,
      ),
    );
    assert.match(err.message, /claude\.api_retry_max_s = 2/);
    const r = await lastRecord();
    assert.equal(r.status, 502);
    assert.equal(r.errorKind, 'upstream');
    assert.ok(r.retries >= 1);
    assert.ok(r.retryReasons!.every((x) => x === 'connection'));
  });

  it('/health warns (still 200) and /sdk/status names the last failure', async () => {
    const res = await fetch(`${proxy.url}/health`);
    assert.equal(res.status, 200);
    const check = await sdkHealth();
    assert.equal(check.status, 'warn');
    assert.match(check.output ?? '', /The last SDK request failed .*cannot reach the Anthropic API/);
    const status = (await (await fetch(`${proxy.url}/sdk/status`)).json()) as {
      last_failure: { kind: string; status: number; message: string; at: string };
      settings: { api_url: string };
    };
    assert.equal(status.settings.api_url, api, 'where the agents call');
    assert.equal(status.last_failure.kind, 'upstream');
    assert.equal(status.last_failure.status, 502);
    assert.ok(Date.parse(status.last_failure.at) > 0);
  });

  it('a stream: the error in the Anthropic format, before any byte (a 502, not a 200 that hangs)', async () => {
    const anthropic = new Anthropic({ baseURL: `${proxy.url}/sdk`, apiKey: 'unused', maxRetries: 0 });
    const stream = anthropic.messages.stream({
      model: 'claude-sonnet-5-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const err = await stream.finalMessage().then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof Anthropic.APIError);
    assert.equal(err.status, 502);
    assert.match(err.message, /cannot reach the Anthropic API/);
    const r = await lastRecord();
    assert.equal(r.status, 502);
    assert.equal(r.errorKind, 'upstream');
  });

  it('an OpenAI stream: the error in the OpenAI format', async () => {
    const openai = new OpenAI({ baseURL: `${proxy.url}/sdk/v1`, apiKey: 'unused', maxRetries: 0 });
    const err = await openai.chat.completions
      .create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] })
      .then(
        () => assert.fail('answered'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof OpenAI.APIError);
    assert.equal(err.status, 502);
    assert.match(err.message, /cannot reach the Anthropic API/);
    assert.equal((await lastRecord()).errorKind, 'upstream');
  });
});

describe('with the watch off (claude.api_retry_max_s = 0), claude.timeout_s still ends the wait', () => {
  it('504 naming claude.timeout_s', async () => {
    const api = `http://127.0.0.1:${await freePort()}`;
    const h = await startHarness({
      claude: { api_retry_max_s: 0, timeout_s: 3 },
      env: { ANTHROPIC_BASE_URL: api },
    });
    try {
      const err = await h.backend
        .send(
          { model: 'claude-sonnet-5-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] },
          h.ctx(),
        )
        .then(
          () => assert.fail('answered'),
          (e: unknown) => e,
        );
      assert.equal((err as { status: number }).status, 504);
      assert.match((err as Error).message, /claude\.timeout_s/);
      assert.equal((await h.backend.health()).ok, false);
    } finally {
      await h.close();
    }
  });
});
