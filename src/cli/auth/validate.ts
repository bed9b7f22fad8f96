/**
 * `ccproxy auth validate`: refresh if needed, then ask the upstream for one page of the model list
 * (the cheapest call that proves a token works for inference) through the same client requests use,
 * so `upstream.proxy_url` and the proxy variables apply, and so does its one refresh after a 401.
 */
import { AuthError } from '../../auth/errors.ts';
import type { TokenManager } from '../../auth/token-manager.ts';
import { readLimited, Upstream } from '../../backends/api/upstream.ts';
import { ProxyError } from '../../errors.ts';
import { maskToken } from '../../redact.ts';
import { type AuthContext, expiry, fail, loginCommand, refreshFailure, tokenManager } from './context.ts';

export async function validate(ctx: AuthContext, opts: { account?: string } = {}): Promise<number> {
  const { settings, io } = ctx;
  const login = loginCommand(opts.account);
  const relogin = `Re-login required: the refresh token was rejected. Run ${login}.`;
  try {
    const tokens = tokenManager(ctx, opts.account);
    const first = tokens.credentials!.source.label;
    const label = () => tokens.credentials?.source.label ?? first;
    await accessToken(tokens, relogin);
    const res = await probe(ctx, tokens, relogin);
    // The token the upstream saw last: a 401 may have been answered with a refreshed one.
    const token = tokens.credentials?.credentials.accessToken;
    if (res.status === 200 || res.status === 429) {
      io.out(
        `Valid: ${settings.upstream.base_url} accepted the token from ${label()}${res.status === 429 ? ' (though it is rate-limited right now)' : ''}.\nAccess token ${maskToken(token)}, expires ${expiry(tokens.state().expiresAt)}.\n`,
      );
      return 0;
    }
    if (res.status === 401 || res.status === 403) {
      throw new AuthError(
        tokens.state().reloginRequired ? 'invalid_grant' : 'failed',
        `Invalid: ${settings.upstream.base_url} rejected the token from ${label()} (${res.status}${res.message ? `: ${res.message}` : ''}). ${tokens.rejectedHint()}`,
      );
    }
    throw new AuthError(
      'unreachable',
      `Could not confirm the token: ${settings.upstream.base_url} answered ${res.status}${res.message ? ` (${res.message})` : ''}. Try again later.`,
    );
  } catch (err) {
    return fail(ctx, err);
  }
}

/** A usable token, refreshed first if needed; refresh failures become AuthErrors. */
async function accessToken(tokens: TokenManager, relogin: string): Promise<string> {
  try {
    return await tokens.getAccessToken();
  } catch (err) {
    throw refreshFailure(tokens, err, relogin);
  }
}

/** A person waits for this command: it gives up sooner than a request would. */
const PROBE_TIMEOUT_S = 30;

/** One attempt at `GET /v1/models?limit=1`: the status the upstream answered and its error message. */
async function probe(
  ctx: AuthContext,
  tokens: TokenManager,
  relogin: string,
): Promise<{ status: number; message?: string }> {
  const upstream = new Upstream(ctx.settings, tokens, ctx.env);
  const signal = AbortSignal.timeout(PROBE_TIMEOUT_S * 1000);
  try {
    const res = await upstream.call({
      method: 'GET',
      path: '/v1/models?limit=1',
      clientHeaders: {},
      signal,
      log: ctx.log,
      retry: false,
    });
    await readLimited(res.body, 64 * 1024);
    return { status: res.status };
  } catch (err) {
    if (err instanceof ProxyError && err.upstream)
      return { status: err.upstream.status, message: err.upstream.message };
    if (err instanceof ProxyError && err.kind === 'authentication')
      throw refreshFailure(tokens, err, relogin);
    if (signal.aborted)
      throw new AuthError('unreachable', `${upstream.baseUrl} did not answer within ${PROBE_TIMEOUT_S}s.`);
    throw new AuthError('unreachable', (err as Error).message);
  } finally {
    await upstream.close();
  }
}
