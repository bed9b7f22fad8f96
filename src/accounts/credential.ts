/**
 * What an account answers with: a subscription's OAuth access token (refreshed by a TokenManager
 * when it comes from a credentials file, or found the usual way when no accounts are configured; a
 * long-lived `oauth_token` as it is), or a pay-as-you-go API key. The upstream client asks it for a
 * token before each attempt and, after a 401, to recover once.
 */
import type { TokenManager } from '../auth/token-manager.ts';

/** How the upstream is told who is calling: `Authorization: Bearer` + the OAuth beta, or `x-api-key`. */
export type Scheme = 'oauth' | 'api_key';

export interface UpstreamCredential {
  readonly scheme: Scheme;
  /** A usable token or key; a ProxyError (authentication) when there is none. */
  token(): Promise<string>;
  /** After the upstream rejected `rejected` with 401: a new one to try once, or undefined. */
  recover(rejected: string): Promise<string | undefined>;
  /** What to do when the upstream keeps rejecting it (a sentence for the client's 401). */
  rejectedHint(): string;
}

/** Where an account's credential comes from. `discovered`: no accounts configured, the usual lookup. */
export type CredentialKind = 'discovered' | 'oauth_token' | 'credentials_file' | 'api_key';

export interface CredentialInfo {
  /** Where it comes from, for people (a file's path, `oauth_token`, an environment variable); never the token. */
  source: string | null;
  subscription_type: string | null;
  expires_at: string | null;
  relogin_required: boolean;
  last_refresh_error: string | null;
}

export interface AccountCredential extends UpstreamCredential {
  readonly kind: CredentialKind;
  /** The refreshable credentials behind it, if any (SDK mode lends their token). */
  readonly tokens?: TokenManager;
  /** Changes whenever the credential does (a new login on disk); compared, never shown. */
  fingerprint(): string | undefined;
  /** What must never be written anywhere (a capture, a log): the token or key, a refresh token. */
  secrets(): (string | undefined)[];
  /** Look again where the credential comes from (a file rewritten by a new login). */
  recheck(): void;
  info(): CredentialInfo;
}

/** A TokenManager's credentials: refreshed before expiry, refreshed once after a 401. */
export function refreshableCredential(
  tokens: TokenManager,
  kind: 'discovered' | 'credentials_file' = 'discovered',
): AccountCredential {
  return {
    kind,
    scheme: 'oauth',
    tokens,
    token: () => tokens.getAccessToken(),
    recover: (rejected) => tokens.recover(rejected),
    rejectedHint: () => tokens.rejectedHint(),
    fingerprint: () => tokens.credentials?.credentials.accessToken,
    secrets: () => {
      const c = tokens.credentials?.credentials;
      return [c?.accessToken, c?.refreshToken];
    },
    recheck: () => void tokens.reload(),
    info() {
      const s = tokens.state();
      return {
        source: s.source ?? null,
        subscription_type: s.subscriptionType ?? null,
        expires_at: s.expiresAt ? new Date(s.expiresAt).toISOString() : null,
        relogin_required: s.reloginRequired,
        last_refresh_error: s.lastRefreshError ?? null,
      };
    },
  };
}

/** A token or key written in the settings: used as it is, never refreshed. */
export function staticCredential(
  kind: 'oauth_token' | 'api_key',
  value: string,
  source: string,
): AccountCredential {
  return {
    kind,
    scheme: kind === 'api_key' ? 'api_key' : 'oauth',
    token: async () => value,
    recover: async () => undefined,
    rejectedHint: () =>
      kind === 'api_key'
        ? `Check the API key (${source}).`
        : `Replace it (${source}) with a new token from \`claude setup-token\`.`,
    fingerprint: () => value,
    secrets: () => [value],
    recheck: () => {},
    info: () => ({
      source,
      subscription_type: null,
      expires_at: null,
      relogin_required: false,
      last_refresh_error: null,
    }),
  };
}
