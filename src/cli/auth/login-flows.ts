/**
 * The three ways `ccproxy auth login` gets a login: a local callback server the browser comes back
 * to (the default), a code pasted from the login page (`--manual`), or a running proxy that finishes
 * the login and keeps it (`--server`). Each resolves with the login or rejects with an AuthError;
 * all end when `signal` aborts (timeout, Ctrl-C). Saving is the caller's.
 */
import { startCallbackServer } from '../../auth/callback-server.ts';
import { AuthError, EXIT_CODES } from '../../auth/errors.ts';
import { beginLogin, completeLogin, type LoginResult, parsePasted } from '../../auth/login.ts';
import { manualRedirectUri } from '../../auth/oauth.ts';
import { ProxyClient } from '../proxy-client.ts';
import type { AuthContext } from './context.ts';

/** Reject when the signal aborts, with its reason. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function portOption(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new AuthError('usage', `--port: expected 0–65535 (0 = any free port), got "${raw}".`);
  return n;
}

/** Open the login page and wait for the browser to come back to a local callback server; `save` keeps the login before the page says so. */
export async function loginWithCallback(
  ctx: AuthContext,
  opts: { port?: string; browser?: boolean },
  save: (result: LoginResult) => void,
  signal: AbortSignal,
  seconds: number,
): Promise<LoginResult> {
  const { settings, io } = ctx;
  let settle!: { resolve: (r: LoginResult) => void; reject: (e: unknown) => void };
  const outcome = new Promise<LoginResult>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // Assigned once the server knows its port; the server only calls back after that.
  let pending!: ReturnType<typeof beginLogin>;
  const server = await startCallbackServer({
    port: portOption(opts.port, settings.auth.callback_port),
    handle: async (params) => {
      try {
        const result = await completeLogin(settings, pending, params, signal);
        save(result);
        settle.resolve(result);
        return {
          status: 200,
          title: 'Logged in',
          message: `${result.email ? `Logged in as ${result.email}. ` : ''}You can close this tab and return to the terminal.`,
        };
      } catch (err) {
        settle.reject(err);
        const e = err instanceof AuthError ? err : new AuthError('failed', (err as Error).message);
        return { status: e.kind === 'denied' ? 403 : 400, title: 'Login failed', message: e.message };
      }
    },
  });
  try {
    pending = beginLogin(settings, server.redirectUri);
    const opened = opts.browser !== false && (await io.openBrowser(pending.url));
    io.out(
      opened
        ? 'Opened the Claude login page in your browser. If it did not open, open this URL:\n'
        : 'Open this URL in a browser on this machine to log in:\n',
    );
    io.out(`\n  ${pending.url}\n\n`);
    io.out(
      `Waiting for the browser to come back to ${server.redirectUri} (gives up in ${seconds}s; Ctrl-C to cancel).\n` +
        `No browser on this machine? Forward port ${server.port} (ssh -L ${server.port}:localhost:${server.port} …), or run \`ccproxy auth login --manual\`.\n`,
    );
    return await Promise.race([outcome, aborted(signal)]);
  } finally {
    outcome.catch(() => {});
    await server.close();
  }
}

/** Print the login URL and read back the `code#state` the login page shows. */
export async function loginManually(ctx: AuthContext, signal: AbortSignal): Promise<LoginResult> {
  const { settings, io } = ctx;
  const pending = beginLogin(settings, manualRedirectUri(settings));
  io.out('Open this URL in any browser, log in and authorize ccproxy:\n');
  io.out(`\n  ${pending.url}\n\n`);
  io.out('The page then shows a code (it looks like `code#state`). Paste all of it here.\n');
  const line = await Promise.race([io.readLine('Code: ', signal), aborted(signal)]);
  if (line === undefined || line.trim() === '')
    throw new AuthError('cancelled', 'No code was pasted; existing credentials were left as they were.');
  return completeLogin(settings, pending, parsePasted(line), signal);
}

/** Start the login in a running proxy (`/oauth/login`), open its URL, and wait for the proxy to say how it ended. */
export async function loginThroughServer(
  ctx: AuthContext,
  opts: { server: string; browser?: boolean },
  signal: AbortSignal,
): Promise<LoginResult> {
  const { settings, io } = ctx;
  const client = new ProxyClient(settings, opts.server);
  const base = client.base;
  const call = async (method: 'GET' | 'POST', p: string) => {
    try {
      const res = await client.call(method, p, signal);
      const text = await res.text();
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text);
      } catch {
        // reported below
      }
      if (res.status !== 200) {
        const msg = (body.error as { message?: string } | undefined)?.message ?? text.slice(0, 200);
        throw new AuthError(
          res.status === 401 ? 'usage' : 'failed',
          `${base}${p} answered ${res.status}: ${msg}${res.status === 401 ? ' (set security.auth_token to the proxy’s token)' : ''}`,
        );
      }
      return body;
    } catch (err) {
      if (err instanceof AuthError || signal.aborted) throw signal.aborted ? signal.reason : err;
      // fetch says only "fetch failed"; its cause says why (connect ECONNREFUSED …).
      const why = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new AuthError('unreachable', `Cannot reach the proxy at ${base}: ${why}.`);
    }
  };
  const started = await call('POST', '/oauth/login');
  const url = String(started.authorize_url);
  const opened = opts.browser !== false && (await io.openBrowser(url));
  io.out(
    opened
      ? 'Opened the Claude login page in your browser. If it did not open, open this URL:\n'
      : 'Open this URL in a browser to log in:\n',
  );
  io.out(`\n  ${url}\n\n`);
  io.out(
    `The proxy at ${base} finishes the login at ${String(started.redirect_uri)} and saves it in its store.\n`,
  );
  for (;;) {
    await Promise.race([new Promise((r) => setTimeout(r, 1000).unref()), aborted(signal)]);
    const s = await call('GET', `/oauth/login/${encodeURIComponent(String(started.id))}`);
    if (s.status === 'pending') continue;
    if (s.status === 'failed') {
      const kind = (typeof s.error_kind === 'string' ? s.error_kind : 'failed') as AuthError['kind'];
      throw new AuthError(kind in EXIT_CODES ? kind : 'failed', String(s.message ?? 'The login failed.'));
    }
    const account = (s.account ?? {}) as Record<string, string | undefined>;
    if (s.message) io.out(`${String(s.message)}\n`);
    return {
      credentials: { accessToken: '', subscriptionType: account.subscription_type },
      email: account.email,
      organization: account.organization,
    };
  }
}
