/**
 * A refreshable account (`credentials_file`) whose token expires while a hundred requests are in
 * flight: exactly one refresh, every request answered with the new token, the rotated pair written
 * back to the account's own file (mode 0600).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, startFakeUpstream, TEST_REFRESH_TOKEN } from '../support/fake-upstream.ts';
import { accountOf, TOKEN_B } from './helpers.ts';

let fake: FakeUpstream;
let proxy: TestProxy;
let file: string;

before(async () => {
  fake = await startFakeUpstream({ accessTokens: [TOKEN_B], oauth: { tokenDelayMs: 200 } });
  const dir = fs.mkdtempSync(path.join((await import('node:os')).tmpdir(), 'ccproxy-refresh-'));
  file = path.join(dir, 'work.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      claudeAiOauth: {
        accessToken: 'sk-ant-oat01-about-to-expire-000000000000000000000000000000',
        refreshToken: TEST_REFRESH_TOKEN,
        // Inside the refresh margin (auth.refresh_margin_s, 5 minutes): due now.
        expiresAt: Date.now() + 60_000,
        subscriptionType: 'max',
      },
    }),
    { mode: 0o600 },
  );
  proxy = await startProxy({
    settings: {
      upstream: { base_url: fake.url },
      auth: { token_url: `${fake.url}/v1/oauth/token` },
      accounts: {
        list: [
          { name: 'work', credentials_file: file },
          { name: 'b', oauth_token: TOKEN_B },
        ] as never,
      },
    },
  });
});

after(async () => {
  await proxy?.close();
  await fake?.close();
});

it('100 concurrent requests while the token expires: one refresh, all answered with the new token', async () => {
  const client = new Anthropic({ baseURL: `${proxy.url}/api`, apiKey: 'x', maxRetries: 0 });
  const answers = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      client.messages.create({
        model: 'claude-sonnet-5-5',
        max_tokens: 16,
        system: 'Same conversation.',
        messages: [{ role: 'user', content: `request ${i % 3}` }],
      }),
    ),
  );
  assert.equal(answers.length, 100);
  assert.equal(fake.oauth.refreshCalls, 1);
  const fresh = fake.oauth.lastAccessToken!;
  const sent = fake.messages().map((r) => String(r.headers.authorization));
  assert.equal(sent.length, 100);
  assert.ok(
    sent.every((h) => h === `Bearer ${fresh}`),
    `every request carried the refreshed token (others: ${sent.filter((h) => h !== `Bearer ${fresh}`).length}, ${fake.messages().map(accountOf).join(',')})`,
  );
  const saved = JSON.parse(fs.readFileSync(file, 'utf8')).claudeAiOauth;
  assert.equal(saved.accessToken, fresh);
  assert.notEqual(saved.refreshToken, TEST_REFRESH_TOKEN);
  assert.equal(saved.subscriptionType, 'max');
  if (process.platform !== 'win32') assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.doesNotMatch(proxy.logs(), new RegExp(fresh.slice(-20)));
});
