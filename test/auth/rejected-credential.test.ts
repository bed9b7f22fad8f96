/**
 * The upstream rejects the subscription's credential (a revoked token, a login that can no longer be
 * refreshed): the client's 401 says it is ccproxy's credential, not the client's key, and what to
 * run for the credential at hand; the health check fails; `auth validate` gives the same advice.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startProxy } from '../helpers/proxy.ts';
import { runCli } from '../security/cli.ts';
import { startFakeUpstream, TEST_ACCESS_TOKEN, TEST_REFRESH_TOKEN } from '../support/fake-upstream.ts';

const REVOKED = 'sk-ant-oat01-revoked-by-its-owner-000000000000';

/** The 401 each real client library raises for one request, as the user reads it. */
async function clientErrors(url: string): Promise<{ anthropic: string; openai: string }> {
  const anthropic = new Anthropic({ baseURL: `${url}/api`, apiKey: 'dummy', maxRetries: 0 });
  const openai = new OpenAI({ baseURL: `${url}/api/v1`, apiKey: 'dummy', maxRetries: 0 });
  const a = await anthropic.messages
    .create({ model: 'claude-sonnet-5-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })
    .then(
      () => assert.fail('answered'),
      (e: InstanceType<typeof Anthropic.APIError>) => e,
    );
  const o = await openai.chat.completions
    .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
    .then(
      () => assert.fail('answered'),
      (e: InstanceType<typeof OpenAI.APIError>) => e,
    );
  assert.equal(a.status, 401);
  assert.equal(o.status, 401);
  return { anthropic: a.message, openai: o.message };
}

describe('a credential the upstream rejects', () => {
  it('a revoked CLAUDE_CODE_OAUTH_TOKEN: the 401 names the variable and claude setup-token; health fails', async () => {
    const fake = await startFakeUpstream();
    const proxy = await startProxy({
      settings: { upstream: { base_url: fake.url } },
      env: { CLAUDE_CODE_OAUTH_TOKEN: REVOKED },
    });
    try {
      const { anthropic, openai } = await clientErrors(proxy.url);
      for (const message of [anthropic, openai]) {
        assert.match(
          message,
          /The upstream rejected the credential ccproxy sent \(Invalid bearer token\)\. It comes from environment variable CLAUDE_CODE_OAUTH_TOKEN: replace it with a new token from `claude setup-token`, or unset it to use your login\./,
        );
      }
      const health = await fetch(`${proxy.url}/health`);
      assert.equal(health.status, 503, 'nothing can be answered until the token changes');
      assert.match(await health.text(), /CLAUDE_CODE_OAUTH_TOKEN/);
      assert.equal((await fetch(`${proxy.url}/health/ready`)).status, 503);
    } finally {
      await proxy.close();
      await fake.close();
    }
  });

  it('a login whose refresh token is dead: the first request already says to log in again', async () => {
    const fake = await startFakeUpstream();
    fake.oauth.revoke(TEST_REFRESH_TOKEN);
    const proxy = await startProxy({
      settings: { upstream: { base_url: fake.url }, auth: { token_url: `${fake.url}/v1/oauth/token` } },
      // Valid for hours as far as the file says; the upstream has expired it.
      credentials: {
        claudeAiOauth: {
          accessToken: TEST_ACCESS_TOKEN,
          refreshToken: TEST_REFRESH_TOKEN,
          expiresAt: Date.now() + 8 * 3600_000,
        },
      },
    });
    fake.credentials.expire(TEST_ACCESS_TOKEN);
    try {
      for (let i = 0; i < 2; i++) {
        const { anthropic, openai } = await clientErrors(proxy.url);
        for (const message of [anthropic, openai]) {
          assert.match(
            message,
            /could not be refreshed\. Run `ccproxy auth login`|could not be refreshed: run `ccproxy auth login`/,
          );
        }
      }
      assert.equal(fake.oauth.refreshCalls, 1, 'one refresh, no storm');
    } finally {
      await proxy.close();
      await fake.close();
    }
  });

  it("a listed account's dead login names that account's login command", async () => {
    const fake = await startFakeUpstream();
    fake.oauth.revoke(TEST_REFRESH_TOKEN);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-rejected-'));
    const file = path.join(dir, 'work.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        claudeAiOauth: {
          accessToken: TEST_ACCESS_TOKEN,
          refreshToken: TEST_REFRESH_TOKEN,
          expiresAt: Date.now() + 8 * 3600_000,
        },
      }),
      { mode: 0o600 },
    );
    const proxy = await startProxy({
      settings: {
        upstream: { base_url: fake.url },
        auth: { token_url: `${fake.url}/v1/oauth/token` },
        accounts: { list: [{ name: 'work', credentials_file: file }] },
      } as never,
    });
    fake.credentials.expire(TEST_ACCESS_TOKEN);
    try {
      const { anthropic } = await clientErrors(proxy.url);
      assert.match(anthropic, /`ccproxy auth login --account work`/);
      const status = (await (await fetch(`${proxy.url}/api/status`)).json()) as {
        accounts: Array<{ name: string; reason?: string; credential: { last_refresh_error: string | null } }>;
      };
      const work = status.accounts.find((a) => a.name === 'work')!;
      assert.match(work.credential.last_refresh_error!, /run `ccproxy auth login --account work`/);
      assert.match(work.reason!, /ccproxy auth login --account work/);
      assert.doesNotMatch(JSON.stringify(status), /run `ccproxy auth login`[^ ]/);
    } finally {
      await proxy.close();
      await fake.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('auth validate with a revoked CLAUDE_CODE_OAUTH_TOKEN says to replace the variable, not to log in', async () => {
    const fake = await startFakeUpstream();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-rejected-'));
    try {
      const r = await runCli(['auth', 'validate'], {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          NO_COLOR: '1',
          CLAUDE_CODE_OAUTH_TOKEN: REVOKED,
          UPSTREAM__BASE_URL: fake.url,
        },
      });
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        /rejected the token from environment variable CLAUDE_CODE_OAUTH_TOKEN \(401: Invalid bearer token\)\. It comes from environment variable CLAUDE_CODE_OAUTH_TOKEN: replace it with a new token from `claude setup-token`/,
      );
      assert.doesNotMatch(r.stderr, /Run `ccproxy auth login`/);
    } finally {
      await fake.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
