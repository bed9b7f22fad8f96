/**
 * The subscription's OAuth endpoints, called the way Claude Code calls them:
 * - the authorize URL (`code=true`, PKCE S256, `state`), opened in a browser;
 * - the token endpoint, exchanging an authorization code for a token pair (JSON body, not a form);
 * - the profile endpoint, naming the account, its organisation and plan.
 * The redirect URI is `http://localhost:<port>/callback` for a local callback server, or the OAuth
 * server's own page `<token_url origin>/oauth/code/callback`, which shows `code#state` to paste.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Settings } from '../config/schema.ts';
import { call as httpCall } from '../http-client.ts';
import type { OAuthCredentials } from './credentials.ts';
import { AuthError } from './errors.ts';

const HTTP_TIMEOUT_MS = 30_000;

export interface Pkce {
  verifier: string;
  challenge: string;
}

/** RFC 7636: a 256-bit random verifier, its SHA-256 as the S256 challenge, both base64url. */
export function createPkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function newState(): string {
  return randomBytes(32).toString('base64url');
}

/** The page the OAuth server shows `code#state` on, for logins without a local callback (`--manual`). */
export function manualRedirectUri(settings: Settings): string {
  return new URL('/oauth/code/callback', settings.auth.token_url).toString();
}

export function authorizeUrl(
  settings: Settings,
  p: { redirectUri: string; state: string; challenge: string },
): string {
  const url = new URL(settings.auth.authorize_url);
  const q = url.searchParams;
  q.set('code', 'true');
  q.set('client_id', settings.auth.client_id);
  q.set('response_type', 'code');
  q.set('redirect_uri', p.redirectUri);
  q.set('scope', settings.auth.scopes.join(' '));
  q.set('code_challenge', p.challenge);
  q.set('code_challenge_method', 'S256');
  q.set('state', p.state);
  return url.toString();
}

export interface TokenAnswer {
  credentials: OAuthCredentials;
  email?: string;
  organization?: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' ? (v as Obj) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

async function call(
  url: string,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; signal?: AbortSignal },
  settings: Settings,
): Promise<{ status: number; body: Obj | undefined; text: string }> {
  let res: Awaited<ReturnType<typeof httpCall>>;
  try {
    // Through upstream.proxy_url when one is set, like the API calls (else HTTPS_PROXY…).
    res = await httpCall(url, { ...init, proxy: settings.upstream.proxy_url || undefined }, HTTP_TIMEOUT_MS);
  } catch (err) {
    if (init.signal?.aborted) throw init.signal.reason;
    throw new AuthError('unreachable', `Cannot reach ${url}: ${(err as Error).message}.`, { cause: err });
  }
  const text = res.text;
  let body: Obj | undefined;
  try {
    body = obj(JSON.parse(text));
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text };
}

/** What an OAuth error answer says, for a message: `invalid_grant: Invalid authorization code`. */
function oauthReason(status: number, body: Obj | undefined, text: string): string {
  const error = str(body?.error) ?? str(obj(body?.error)?.type);
  const description = str(body?.error_description) ?? str(obj(body?.error)?.message);
  if (error) return description ? `${error}: ${description}` : error;
  return `HTTP ${status}${text ? ` ${JSON.stringify(text.slice(0, 120))}` : ''}`;
}

/** Exchange an authorization code for a token pair. */
export async function exchangeCode(
  settings: Settings,
  p: { code: string; state: string; verifier: string; redirectUri: string },
  signal?: AbortSignal,
): Promise<TokenAnswer> {
  const started = Date.now();
  const { status, body, text } = await call(
    settings.auth.token_url,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        grant_type: 'authorization_code',
        code: p.code,
        redirect_uri: p.redirectUri,
        client_id: settings.auth.client_id,
        code_verifier: p.verifier,
        state: p.state,
      }),
      signal,
    },
    settings,
  );
  if (status === 400 && body?.error === 'invalid_grant') {
    throw new AuthError(
      'invalid_grant',
      `The authorization code was not accepted (${oauthReason(status, body, text)}). Codes expire within minutes and work once: run \`ccproxy auth login\` again.`,
    );
  }
  if (status !== 200 || !str(body?.access_token)) {
    throw new AuthError(
      'failed',
      `The token endpoint ${settings.auth.token_url} refused the code: ${oauthReason(status, body, text)}.`,
    );
  }
  const expiresIn = typeof body!.expires_in === 'number' ? body!.expires_in : undefined;
  return {
    credentials: {
      accessToken: body!.access_token as string,
      refreshToken: str(body!.refresh_token),
      expiresAt: expiresIn !== undefined ? started + expiresIn * 1000 : undefined,
      scopes: (str(body!.scope) ?? settings.auth.scopes.join(' ')).split(' ').filter(Boolean),
    },
    email: str(obj(body!.account)?.email_address),
    organization: str(obj(body!.organization)?.name),
  };
}

export interface Profile {
  email?: string;
  name?: string;
  organization?: string;
  organizationType?: string;
  /** `max`, `pro`, `team`, `enterprise`: what the Claude CLI stores as `subscriptionType`. */
  subscriptionType?: string;
}

/** `claude_max` → `max`; falls back to the account's `has_claude_max`/`has_claude_pro` flags. */
export function subscriptionOf(
  organizationType: string | undefined,
  account: Obj | undefined,
): string | undefined {
  const m = organizationType ? /^claude_(\w+)$/.exec(organizationType) : null;
  if (m) return m[1];
  if (account?.has_claude_max === true) return 'max';
  if (account?.has_claude_pro === true) return 'pro';
  return undefined;
}

/** The account behind an access token. Tokens without the `user:profile` scope (setup-token) get a 403. */
export async function fetchProfile(
  settings: Settings,
  accessToken: string,
  signal?: AbortSignal,
): Promise<Profile> {
  const { status, body, text } = await call(
    settings.auth.profile_url,
    {
      method: 'GET',
      headers: {
        authorization: `Bearer ${accessToken}`,
        accept: 'application/json',
        'anthropic-beta': 'oauth-2025-04-20',
      },
      signal,
    },
    settings,
  );
  if (status !== 200 || !body) {
    const kind = status === 401 ? 'invalid_grant' : 'failed';
    throw new AuthError(kind, `profile endpoint answered ${oauthReason(status, body, text)}`);
  }
  const account = obj(body.account);
  const organization = obj(body.organization);
  const organizationType = str(organization?.organization_type);
  return {
    email: str(account?.email) ?? str(account?.email_address),
    name: str(account?.full_name) ?? str(account?.display_name),
    organization: str(organization?.name),
    organizationType,
    subscriptionType: subscriptionOf(organizationType, account),
  };
}
