/**
 * Credentials as the real API checks them. Subscription (OAuth) access tokens come as
 * `authorization: Bearer …` and are only accepted with the `oauth-2025-04-20` beta; API keys come
 * as `x-api-key` or (SDKs for API version 2026-10-21) as a Bearer token. Messages are the API's own
 * wording where known.
 */

/** The access token the fake accepts by default (also what `CLAUDE_CODE_OAUTH_TOKEN` should be in tests). */
export const TEST_ACCESS_TOKEN = 'sk-ant-oat01-ccproxy-fake-access-token-0000000000000000000000000000';
/** The refresh token the fake's OAuth server accepts by default (once: it rotates). */
export const TEST_REFRESH_TOKEN = 'sk-ant-ort01-ccproxy-fake-refresh-token-000000000000000000000000000';
/** An API key the fake accepts when it is listed in `apiKeys`. */
export const TEST_API_KEY = 'sk-ant-api03-ccproxy-fake-api-key-000000000000000000000000000000000';
export const OAUTH_BETA = 'oauth-2025-04-20';

export interface AuthFailure {
  status: number;
  errorType: string;
  message: string;
}

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

export function betas(headers: Headers): string[] {
  return (header(headers, 'anthropic-beta') ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
}

export function bearerToken(headers: Headers): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(header(headers, 'authorization') ?? '');
  return m?.[1].trim();
}

export class Credentials {
  /** Access tokens that work (the OAuth server adds the ones it issues). */
  readonly accessTokens = new Set<string>();
  /** Access tokens that were valid and have expired: 401 "OAuth token has expired…". */
  readonly expiredTokens = new Set<string>();
  readonly apiKeys = new Set<string>();

  constructor(
    opts: { accessTokens?: string[]; apiKeys?: string[] } = {},
    /** Accept any token or key (the shape checks, like the OAuth beta, still apply). */
    public acceptAny = false,
  ) {
    for (const t of opts.accessTokens ?? [TEST_ACCESS_TOKEN]) this.accessTokens.add(t);
    for (const k of opts.apiKeys ?? []) this.apiKeys.add(k);
  }

  /** Mark a token as expired, as if its lifetime had passed. */
  expire(token: string): void {
    this.accessTokens.delete(token);
    this.expiredTokens.add(token);
  }

  /** Check an access token alone (OAuth profile endpoint: no beta needed). */
  checkToken(token: string | undefined): AuthFailure | undefined {
    if (!token) return { status: 401, errorType: 'authentication_error', message: 'Invalid bearer token' };
    if (this.expiredTokens.has(token)) {
      return {
        status: 401,
        errorType: 'authentication_error',
        message: 'OAuth token has expired. Please obtain a new token or refresh your existing token.',
      };
    }
    if (this.acceptAny || this.accessTokens.has(token)) return undefined;
    return { status: 401, errorType: 'authentication_error', message: 'Invalid bearer token' };
  }

  /**
   * Check a /v1 request's credentials; undefined when it may proceed. With API version 2026-10-21 the
   * SDKs send API keys as `authorization: Bearer`, so a Bearer value is an API key when it looks like
   * one (`sk-ant-api…`) or is listed; anything else is an OAuth token and needs the OAuth beta.
   */
  check(headers: Headers): AuthFailure | undefined {
    const apiKey = header(headers, 'x-api-key');
    if (apiKey !== undefined) {
      // With both headers the API uses x-api-key, so a client key leaked next to the Bearer token fails loudly.
      return this.checkApiKey(apiKey, 'invalid x-api-key');
    }
    if (header(headers, 'authorization') !== undefined) {
      const token = bearerToken(headers);
      if (token && (this.apiKeys.has(token) || token.startsWith('sk-ant-api'))) {
        return this.checkApiKey(token, 'Invalid bearer token');
      }
      if (!betas(headers).includes(OAUTH_BETA)) {
        return {
          status: 401,
          errorType: 'authentication_error',
          message: 'OAuth authentication is currently not supported.',
        };
      }
      return this.checkToken(token);
    }
    return { status: 401, errorType: 'authentication_error', message: 'x-api-key header is required' };
  }

  private checkApiKey(key: string, message: string): AuthFailure | undefined {
    if (this.acceptAny || this.apiKeys.has(key)) return undefined;
    return { status: 401, errorType: 'authentication_error', message };
  }
}
