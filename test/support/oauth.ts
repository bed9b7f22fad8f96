/**
 * A fake of the subscription's OAuth server, as Claude Code uses it:
 * - `GET /oauth/authorize` plays the consent page and redirects to `redirect_uri?code=…&state=…`;
 * - `POST /v1/oauth/token` exchanges a code (PKCE S256) or a refresh token (rotated) for tokens;
 * - `GET /api/oauth/profile` describes the account, organisation and subscription.
 * Token answers follow the shape Claude Code parses: `{token_type, access_token, expires_in,
 * refresh_token, scope, organization, account}`; errors are `{"error": …, "error_description": …}`.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { bearerToken, type Credentials, TEST_REFRESH_TOKEN } from './auth.ts';
import { tokenTail } from './ids.ts';

/** Claude Code's public OAuth client id. */
export const CLAUDE_CODE_CLIENT_ID = '9d1c250a-e61b-44d9-88ed-5944d1962f5e';

export type Subscription = 'max' | 'pro' | 'team' | 'enterprise';

export interface OAuthOptions {
  clientId?: string;
  /** Refresh tokens alive at start (default: `TEST_REFRESH_TOKEN`). */
  refreshTokens?: string[];
  /** `expires_in` of issued access tokens, seconds (default 8 hours). */
  accessTokenTtl?: number;
  /** Issue a new refresh token on each refresh and kill the old one (default true, as the real server). */
  rotateRefreshTokens?: boolean;
  /** Latency of the token endpoint, so concurrent refreshes overlap. */
  tokenDelayMs?: number;
  /** What the consent page answers (default `allow`). */
  consent?: 'allow' | 'deny';
  subscription?: Subscription;
  email?: string;
}

export interface OAuthAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const FAKE_ACCOUNT_UUID = '4a2e8f4c-7b1d-4c3e-9f6a-0d5b8e2c1a77';
export const FAKE_ORGANIZATION_UUID = 'b3c9d1e2-5f6a-4b7c-8d9e-0f1a2b3c4d5e';

const ORG_TYPE: Record<Subscription, string> = {
  max: 'claude_max',
  pro: 'claude_pro',
  team: 'claude_team',
  enterprise: 'claude_enterprise',
};

/** The OAuth server writes errors with Python's spacing: `{"error": "invalid_grant", …}`. */
function oauthError(status: number, error: string, description: string): OAuthAnswer {
  const body = `{${JSON.stringify('error')}: ${JSON.stringify(error)}, ${JSON.stringify('error_description')}: ${JSON.stringify(description)}}`;
  return { status, headers: { 'content-type': 'application/json' }, body };
}

function json(status: number, value: unknown): OAuthAnswer {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
  used: boolean;
}

export class FakeOAuth {
  /** Refresh grants received (whatever their outcome). */
  refreshCalls = 0;
  /** Authorization-code grants received. */
  codeExchanges = 0;
  authorizeCalls = 0;
  profileCalls = 0;
  /** Every pair issued, oldest first. */
  readonly issued: Array<{ accessToken: string; refreshToken: string; grant: string }> = [];
  /** Refresh tokens and whether they still work. */
  readonly refreshTokens = new Map<string, 'live' | 'used' | 'revoked'>();
  /** Answer the next token request with this error instead (then clear it). */
  nextTokenError: { status: number; error: string; description: string } | undefined;
  consent: 'allow' | 'deny';
  private readonly codes = new Map<string, PendingCode>();
  readonly clientId: string;
  readonly accessTokenTtl: number;
  readonly rotate: boolean;
  tokenDelayMs: number;
  subscription: Subscription;
  email: string;

  constructor(
    private readonly credentials: Credentials,
    opts: OAuthOptions = {},
  ) {
    this.clientId = opts.clientId ?? CLAUDE_CODE_CLIENT_ID;
    this.accessTokenTtl = opts.accessTokenTtl ?? 8 * 3600;
    this.rotate = opts.rotateRefreshTokens ?? true;
    this.tokenDelayMs = opts.tokenDelayMs ?? 0;
    this.consent = opts.consent ?? 'allow';
    this.subscription = opts.subscription ?? 'max';
    this.email = opts.email ?? 'test.user@example.com';
    for (const t of opts.refreshTokens ?? [TEST_REFRESH_TOKEN]) this.refreshTokens.set(t, 'live');
  }

  /** Kill a refresh token, as a logout elsewhere would. */
  revoke(refreshToken: string): void {
    this.refreshTokens.set(refreshToken, 'revoked');
  }

  /** The latest access token issued (or undefined). */
  get lastAccessToken(): string | undefined {
    return this.issued.at(-1)?.accessToken;
  }

  authorize(query: Record<string, string>): OAuthAnswer {
    this.authorizeCalls++;
    const { client_id, response_type, redirect_uri, code_challenge, code_challenge_method, state, scope } =
      query;
    if (!redirect_uri) return oauthError(400, 'invalid_request', 'Missing redirect_uri');
    if (client_id !== this.clientId)
      return oauthError(400, 'invalid_client', `Unknown client_id: ${client_id}`);
    if (response_type !== 'code')
      return oauthError(400, 'unsupported_response_type', 'response_type must be code');
    if (!code_challenge || code_challenge_method !== 'S256') {
      return oauthError(400, 'invalid_request', 'PKCE with code_challenge_method=S256 is required');
    }
    const target = new URL(redirect_uri);
    if (this.consent === 'deny') {
      target.searchParams.set('error', 'access_denied');
      target.searchParams.set('error_description', 'The user denied the request');
    } else {
      const code = tokenTail();
      this.codes.set(code, {
        clientId: client_id,
        redirectUri: redirect_uri,
        challenge: code_challenge,
        scope: scope ?? 'user:inference user:profile',
        used: false,
      });
      target.searchParams.set('code', code);
    }
    if (state !== undefined) target.searchParams.set('state', state);
    return { status: 302, headers: { location: target.toString() }, body: '' };
  }

  async token(params: Record<string, unknown>, signal?: AbortSignal): Promise<OAuthAnswer> {
    if (params.grant_type === 'refresh_token') this.refreshCalls++;
    if (params.grant_type === 'authorization_code') this.codeExchanges++;
    if (this.tokenDelayMs) await sleep(this.tokenDelayMs, undefined, { signal });
    if (this.nextTokenError) {
      const { status, error, description } = this.nextTokenError;
      this.nextTokenError = undefined;
      return oauthError(status, error, description);
    }
    if (params.client_id !== this.clientId) {
      return oauthError(
        401,
        'invalid_client',
        `Client authentication failed for client_id ${String(params.client_id)}`,
      );
    }
    switch (params.grant_type) {
      case 'refresh_token': {
        const token = String(params.refresh_token ?? '');
        if (!token) return oauthError(400, 'invalid_request', 'Missing refresh_token');
        if (this.refreshTokens.get(token) !== 'live')
          return oauthError(400, 'invalid_grant', 'Refresh token not found or invalid');
        if (this.rotate) this.refreshTokens.set(token, 'used');
        return this.issue(
          'refresh_token',
          typeof params.scope === 'string' ? params.scope : undefined,
          this.rotate ? undefined : token,
        );
      }
      case 'authorization_code': {
        const pending = this.codes.get(String(params.code ?? '').split('#')[0]);
        if (!pending || pending.used) return oauthError(400, 'invalid_grant', 'Invalid authorization code');
        if (pending.redirectUri !== params.redirect_uri)
          return oauthError(400, 'invalid_grant', 'Redirect URI mismatch');
        if (typeof params.code_verifier !== 'string' || s256(params.code_verifier) !== pending.challenge) {
          return oauthError(400, 'invalid_grant', 'Invalid code verifier');
        }
        pending.used = true;
        return this.issue('authorization_code', pending.scope);
      }
      default:
        return oauthError(
          400,
          'unsupported_grant_type',
          `Unsupported grant_type: ${String(params.grant_type)}`,
        );
    }
  }

  profile(headers: Record<string, string | string[] | undefined>): OAuthAnswer {
    this.profileCalls++;
    const failure = this.credentials.checkToken(bearerToken(headers));
    if (failure)
      return json(failure.status, {
        type: 'error',
        error: { type: failure.errorType, message: failure.message },
      });
    return json(200, {
      account: {
        uuid: FAKE_ACCOUNT_UUID,
        full_name: 'Test User',
        display_name: 'Test',
        email: this.email,
        has_claude_max: this.subscription === 'max',
        has_claude_pro: this.subscription === 'pro',
        created_at: '2025-01-15T10:00:00.000000Z',
      },
      organization: {
        uuid: FAKE_ORGANIZATION_UUID,
        name: `${this.email}'s Organization`,
        organization_type: ORG_TYPE[this.subscription],
        billing_type: 'stripe_subscription',
        rate_limit_tier: this.subscription === 'max' ? 'default_claude_max_20x' : 'default_claude_ai',
        has_extra_usage_enabled: false,
      },
    });
  }

  private issue(grant: string, scope: string | undefined, keepRefresh?: string): OAuthAnswer {
    const accessToken = `sk-ant-oat01-${tokenTail()}`;
    const refreshToken = keepRefresh ?? `sk-ant-ort01-${tokenTail()}`;
    this.refreshTokens.set(refreshToken, 'live');
    this.credentials.accessTokens.add(accessToken);
    this.issued.push({ accessToken, refreshToken, grant });
    return json(200, {
      token_type: 'Bearer',
      access_token: accessToken,
      expires_in: this.accessTokenTtl,
      refresh_token: refreshToken,
      scope: scope ?? 'user:inference user:profile',
      organization: { uuid: FAKE_ORGANIZATION_UUID, name: `${this.email}'s Organization` },
      account: { uuid: FAKE_ACCOUNT_UUID, email_address: this.email },
    });
  }
}
