/**
 * 100 requests arrive while the access token is about to expire: exactly one refresh reaches the
 * OAuth server, every request goes upstream with the new token, and the rotated pair is on disk,
 * mode 0600, written atomically (no temp files left behind).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { fakeUrls } from '../auth/helpers.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import {
  type FakeUpstream,
  startFakeUpstream,
  TEST_ACCESS_TOKEN,
  TEST_REFRESH_TOKEN,
} from '../support/fake-upstream.ts';

describe('refresh under load', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;

  before(async () => {
    // The token endpoint takes a while, so the requests pile up behind the one refresh.
    fake = await startFakeUpstream({ oauth: { tokenDelayMs: 200 } });
    proxy = await startProxy({
      settings: fakeUrls(fake),
      credentials: {
        claudeAiOauth: {
          accessToken: TEST_ACCESS_TOKEN,
          refreshToken: TEST_REFRESH_TOKEN,
          expiresAt: Date.now() + 60_000, // inside the 5-minute refresh margin
          scopes: ['user:inference', 'user:profile'],
          subscriptionType: 'max',
        },
      },
    });
  });
  after(async () => {
    await proxy?.close();
    await fake?.close();
  });

  it('100 concurrent requests → one refresh, the rotated pair persisted with mode 0600', async () => {
    const body = JSON.stringify({
      model: 'claude-sonnet-4-5',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const results = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const res = await request(`${proxy.url}/api/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': `load-${i}` },
          body,
        });
        await res.body.text();
        return res.statusCode;
      }),
    );
    assert.deepEqual(
      results.filter((s) => s !== 200),
      [],
    );
    assert.equal(fake.oauth.refreshCalls, 1);
    assert.equal(fake.received.filter((r) => r.path === '/v1/oauth/token').length, 1);

    const issued = fake.oauth.issued.at(-1)!;
    const upstreamTokens = new Set(fake.messages().map((r) => r.headers.authorization));
    assert.deepEqual([...upstreamTokens], [`Bearer ${issued.accessToken}`]);

    const file = proxy.settings.auth.credentials_file;
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')).claudeAiOauth;
    assert.equal(saved.accessToken, issued.accessToken);
    assert.equal(saved.refreshToken, issued.refreshToken);
    assert.notEqual(saved.refreshToken, TEST_REFRESH_TOKEN);
    assert.ok(saved.expiresAt > Date.now() + 3_600_000);
    assert.equal(saved.subscriptionType, 'max', 'fields the refresh does not return are kept');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(
      fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });

  it('reports the refresh through onRefresh exactly once per outcome', async () => {
    const seen: string[] = [];
    const { TokenManager } = await import('../../src/auth/token-manager.ts');
    const { default: pino } = await import('pino');
    const file = proxy.settings.auth.credentials_file;
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    doc.claudeAiOauth.expiresAt = Date.now() + 1000;
    fs.writeFileSync(file, JSON.stringify(doc), { mode: 0o600 });
    const tm = new TokenManager({
      settings: proxy.settings,
      env: {},
      log: pino({ level: 'silent' }),
      onRefresh: (r) => seen.push(r),
    });
    const tokens = await Promise.all(Array.from({ length: 20 }, () => tm.getAccessToken()));
    assert.equal(new Set(tokens).size, 1);
    assert.deepEqual(seen, ['success']);
    fake.oauth.revoke(fake.oauth.issued.at(-1)!.refreshToken);
    await assert.rejects(tm.refresh());
    assert.deepEqual(seen, ['success', 'invalid_grant']);
  });
});
