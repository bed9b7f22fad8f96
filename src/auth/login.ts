/**
 * One OAuth login, start to finish, whoever receives the redirect (the CLI's local callback server,
 * a pasted `code#state`, or a running proxy's `/oauth/callback`):
 * `beginLogin` makes the PKCE pair, the state and the URL to open; `completeLogin` checks what came
 * back, exchanges the code and asks the profile endpoint who logged in; `saveLogin` writes the pair.
 * Nothing is written unless the whole exchange succeeded, so a failed login leaves credentials as they were.
 */
import type { Settings } from '../config/schema.ts';
import { type OAuthCredentials, writeCredentialsFile } from './credentials.ts';
import { AuthError } from './errors.ts';
import { authorizeUrl, createPkce, exchangeCode, fetchProfile, newState } from './oauth.ts';

export interface PendingLogin {
  state: string;
  verifier: string;
  redirectUri: string;
  /** The authorize URL to open in a browser. */
  url: string;
}

/** What comes back to the redirect URI (query parameters), or what was pasted. */
export interface CallbackParams {
  code?: string;
  state?: string;
  error?: string;
  error_description?: string;
}

export interface LoginResult {
  credentials: OAuthCredentials;
  email?: string;
  organization?: string;
  /** Why the profile could not be read, when it could not (the login itself still worked). */
  profileProblem?: string;
}

export function beginLogin(settings: Settings, redirectUri: string): PendingLogin {
  const { verifier, challenge } = createPkce();
  const state = newState();
  return { state, verifier, redirectUri, url: authorizeUrl(settings, { redirectUri, state, challenge }) };
}

/** The parameters a callback request carries. */
export function callbackParams(query: URLSearchParams | Record<string, unknown>): CallbackParams {
  const get = (k: string) => {
    const v = query instanceof URLSearchParams ? query.get(k) : query[k];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  return {
    code: get('code'),
    state: get('state'),
    error: get('error'),
    error_description: get('error_description'),
  };
}

/**
 * What a person pasted in `--manual` mode: `code#state` (what the OAuth server's page shows), the
 * whole callback URL, or the code alone (then the state is not checked here; the server checks it).
 */
export function parsePasted(input: string): CallbackParams {
  const text = input.trim().replace(/^["']|["']$/g, '');
  if (/^https?:\/\//i.test(text)) {
    try {
      const url = new URL(text);
      const params = callbackParams(url.searchParams);
      if (!params.code && !params.error && url.hash) return parsePasted(url.hash.slice(1));
      return params;
    } catch {
      // not a URL after all: treat it as a code
    }
  }
  const hash = text.indexOf('#');
  if (hash < 0) return { code: text || undefined };
  return { code: text.slice(0, hash) || undefined, state: text.slice(hash + 1) || undefined };
}

/** Check the callback, exchange the code, and read the profile. Throws an AuthError saying what went wrong. */
export async function completeLogin(
  settings: Settings,
  pending: PendingLogin,
  params: CallbackParams,
  signal?: AbortSignal,
): Promise<LoginResult> {
  if (params.error) {
    if (params.error === 'access_denied') {
      throw new AuthError(
        'denied',
        'The login was declined on the consent page; nothing was changed. Run `ccproxy auth login` again and choose Authorize to log in.',
      );
    }
    const why = params.error_description ? `${params.error}: ${params.error_description}` : params.error;
    throw new AuthError('failed', `The OAuth server ended the login with an error (${why}).`);
  }
  if (params.state !== undefined && params.state !== pending.state) {
    throw new AuthError(
      'state_mismatch',
      'The login came back with a different state than it was started with, so it was refused (it may be stale, from another login, or forged). Nothing was changed; run `ccproxy auth login` again.',
    );
  }
  if (!params.code) throw new AuthError('failed', 'The login came back without an authorization code.');
  const token = await exchangeCode(
    settings,
    { code: params.code, state: pending.state, verifier: pending.verifier, redirectUri: pending.redirectUri },
    signal,
  );
  const result: LoginResult = {
    credentials: token.credentials,
    email: token.email,
    organization: token.organization,
  };
  try {
    const profile = await fetchProfile(settings, token.credentials.accessToken, signal);
    result.credentials.subscriptionType = profile.subscriptionType;
    result.email = profile.email ?? result.email;
    result.organization = profile.organization ?? result.organization;
  } catch (err) {
    if (signal?.aborted) throw err;
    result.profileProblem = (err as Error).message;
  }
  return result;
}

/** Write a fresh login over whatever `claudeAiOauth` the file held (other keys in it are kept). */
export function saveLogin(file: string, result: LoginResult): void {
  writeCredentialsFile(file, result.credentials, { replace: true });
}
