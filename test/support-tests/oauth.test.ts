/**
 * The fake OAuth server behaves like the subscription's: PKCE login, refresh with rotation,
 * the real error JSON, and a profile. The issued tokens work on /v1/messages.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  CLAUDE_CODE_CLIENT_ID,
  type FakeUpstream,
  OAUTH_BETA,
  startFakeUpstream,
  TEST_REFRESH_TOKEN,
} from '../support/fake-upstream.ts';

type Obj = Record<string, any>;

let fake: FakeUpstream;

before(async () => {
  fake = await startFakeUpstream({ oauth: { accessTokenTtl: 3600 } });
});
after(() => fake.close());
beforeEach(() => fake.reset());

async function token(body: Obj, form = false): Promise<{ status: number; text: string; json: Obj }> {
  const res = await fetch(`${fake.url}/v1/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: form ? new URLSearchParams(body).toString() : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) };
}

/** A new live refresh token, so each test stands alone. */
function liveRefreshToken(): string {
  const t = `sk-ant-ort01-test-${randomBytes(8).toString('hex')}`;
  fake.oauth.refreshTokens.set(t, 'live');
  return t;
}

const refresh = (refresh_token: string) =>
  token({ grant_type: 'refresh_token', refresh_token, client_id: CLAUDE_CODE_CLIENT_ID });

async function messagesWith(accessToken: string): Promise<number> {
  const res = await fetch(`${fake.url}/v1/messages`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${accessToken}`,
      'anthropic-beta': OAUTH_BETA,
      'anthropic-version': '2023-06-01',
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      model: 'claude-sonnet-5-5',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'hi' }],
    }),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('fake OAuth server', () => {
  it('refreshes with rotation; the old refresh token then gets invalid_grant', async () => {
    const first = await refresh(TEST_REFRESH_TOKEN);
    assert.equal(first.status, 200);
    assert.equal(first.json.token_type, 'Bearer');
    assert.equal(first.json.expires_in, 3600);
    assert.match(first.json.access_token, /^sk-ant-oat01-/);
    assert.match(first.json.refresh_token, /^sk-ant-ort01-/);
    assert.notEqual(first.json.refresh_token, TEST_REFRESH_TOKEN);
    assert.ok(first.json.account.email_address && first.json.organization.uuid);
    assert.equal(await messagesWith(first.json.access_token), 200, 'an issued token works upstream');

    const reused = await refresh(TEST_REFRESH_TOKEN);
    assert.equal(reused.status, 400);
    assert.equal(
      reused.text,
      '{"error": "invalid_grant", "error_description": "Refresh token not found or invalid"}',
    );

    const second = await refresh(first.json.refresh_token);
    assert.equal(second.status, 200);
    assert.equal(fake.oauth.refreshCalls, 3);
    assert.equal(fake.oauth.lastAccessToken, second.json.access_token);
  });

  it('counts concurrent refreshes (a proxy must make one, not many)', async () => {
    fake.oauth.tokenDelayMs = 20;
    try {
      const start = fake.oauth.issued.length;
      const shared = liveRefreshToken();
      const answers = await Promise.all(Array.from({ length: 5 }, () => refresh(shared)));
      assert.equal(fake.oauth.refreshCalls, 5);
      assert.equal(
        answers.filter((a) => a.status === 200).length,
        1,
        'rotation lets only the first one through',
      );
      assert.equal(fake.oauth.issued.length, start + 1);
    } finally {
      fake.oauth.tokenDelayMs = 0;
    }
  });

  it('logs in with PKCE: authorize redirects with code and state, the code exchanges once', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const redirect = 'http://localhost:54545/callback';
    const authorize = new URL(`${fake.url}/oauth/authorize`);
    for (const [k, v] of Object.entries({
      code: 'true',
      client_id: CLAUDE_CODE_CLIENT_ID,
      response_type: 'code',
      redirect_uri: redirect,
      scope: 'user:inference user:profile',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'st4te',
    })) {
      authorize.searchParams.set(k, v);
    }
    const res = await fetch(authorize, { redirect: 'manual' });
    assert.equal(res.status, 302);
    const location = new URL(res.headers.get('location')!);
    assert.equal(`${location.origin}${location.pathname}`, redirect);
    assert.equal(location.searchParams.get('state'), 'st4te');
    const code = location.searchParams.get('code')!;

    const exchange = (code_verifier: string) =>
      token({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirect,
        client_id: CLAUDE_CODE_CLIENT_ID,
        code_verifier,
        state: 'st4te',
      });
    const wrong = await exchange(randomBytes(32).toString('base64url'));
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json.error, 'invalid_grant');
    const ok = await exchange(verifier);
    assert.equal(ok.status, 200);
    assert.equal(ok.json.scope, 'user:inference user:profile');
    const again = await exchange(verifier);
    assert.equal(again.json.error, 'invalid_grant', 'a code is single use');
    assert.equal(fake.oauth.codeExchanges, 3);
  });

  it('plays a denied consent page', async () => {
    fake.oauth.consent = 'deny';
    try {
      const url = `${fake.url}/oauth/authorize?client_id=${CLAUDE_CODE_CLIENT_ID}&response_type=code&redirect_uri=${encodeURIComponent('http://localhost:1/cb')}&code_challenge=x&code_challenge_method=S256&state=s`;
      const res = await fetch(url, { redirect: 'manual' });
      const location = new URL(res.headers.get('location')!);
      assert.equal(location.searchParams.get('error'), 'access_denied');
      assert.equal(location.searchParams.get('state'), 's');
      assert.equal(location.searchParams.get('code'), null);
    } finally {
      fake.oauth.consent = 'allow';
    }
  });

  it('accepts form bodies too, and rejects unknown clients and grants', async () => {
    const form = await token(
      { grant_type: 'refresh_token', refresh_token: 'dead', client_id: CLAUDE_CODE_CLIENT_ID },
      true,
    );
    assert.equal(form.json.error, 'invalid_grant');
    const client = await token({
      grant_type: 'refresh_token',
      refresh_token: 'x',
      client_id: 'someone-else',
    });
    assert.equal(client.json.error, 'invalid_client');
    const grant = await token({ grant_type: 'password', client_id: CLAUDE_CODE_CLIENT_ID });
    assert.equal(grant.json.error, 'unsupported_grant_type');
    fake.oauth.nextTokenError = { status: 500, error: 'server_error', description: 'try later' };
    const scripted = await refresh('whatever');
    assert.equal(scripted.status, 500);
  });

  it('describes the account on /api/oauth/profile', async () => {
    const issued = await refresh(liveRefreshToken());
    const res = await fetch(`${fake.url}/api/oauth/profile`, {
      headers: { authorization: `Bearer ${issued.json.access_token}` },
    });
    assert.equal(res.status, 200);
    const profile = (await res.json()) as Obj;
    assert.equal(profile.account.email, 'test.user@example.com');
    assert.equal(profile.organization.organization_type, 'claude_max');
    assert.equal(profile.account.uuid, issued.json.account.uuid);
    const denied = await fetch(`${fake.url}/api/oauth/profile`, {
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(denied.status, 401);
    assert.equal(fake.oauth.profileCalls, 2);
  });
});
