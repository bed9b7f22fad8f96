import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { deadTokensFile } from '../../src/auth/dead-tokens.ts';
import type { RefreshResult } from '../../src/auth/token-manager.ts';
import { TokenManager } from '../../src/auth/token-manager.ts';
import { type FakeUpstream, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';
import { authSettings, oauthDoc, silentLog, tempDir, writeJson } from './helpers.ts';

describe('token manager and a file shared with another process', () => {
  let fake: FakeUpstream;
  const d = tempDir();
  before(async () => {
    fake = await startFakeUpstream({ oauth: { refreshTokens: ['sk-ant-ort01-shared-first-0000000000'] } });
  });
  after(async () => {
    await fake.close();
    d.cleanup();
  });

  it('when Claude Code rotated the pair first, picks the new pair up instead of asking for a re-login', async () => {
    const first = 'sk-ant-ort01-shared-first-0000000000';
    writeJson(
      d.claudeFile,
      oauthDoc({ accessToken: TEST_ACCESS_TOKEN, refreshToken: first, expiresAt: Date.now() + 60_000 }),
    );
    const results: RefreshResult[] = [];
    const settings = authSettings(fake, d);
    const tm = new TokenManager({ settings, env: {}, log: silentLog(), onRefresh: (r) => results.push(r) });

    // "Claude Code" refreshes with the same refresh token and writes the new pair to the file.
    const res = await request(settings.auth.token_url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'refresh_token',
        refresh_token: first,
        client_id: settings.auth.client_id,
      }),
    });
    const pair = (await res.body.json()) as {
      access_token: string;
      refresh_token: string;
      expires_in: number;
    };
    writeJson(
      d.claudeFile,
      oauthDoc({
        accessToken: pair.access_token,
        refreshToken: pair.refresh_token,
        expiresAt: Date.now() + pair.expires_in * 1000,
      }),
    );

    // Our in-memory pair is within the refresh margin; its refresh token is now dead.
    assert.equal(await tm.getAccessToken(), pair.access_token);
    assert.equal(tm.state().reloginRequired, false);
    assert.deepEqual(results, [], 'no invalid_grant reported: nothing is wrong');
    // The dead one is remembered (as a digest), the live one is not.
    const dead = fs.readFileSync(deadTokensFile(settings.auth.credentials_file), 'utf8');
    assert.ok(!dead.includes(first) && !dead.includes(pair.refresh_token));
    assert.equal(JSON.parse(dead).sha256.length, 1);
  });
});
