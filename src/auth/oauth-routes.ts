/**
 * Logging in through a running proxy (`ccproxy auth login --server URL`):
 * - `POST /oauth/login` (needs the proxy's token, like every route) starts a login whose redirect is
 *   this proxy's own `/oauth/callback`, and answers the URL to open and an id to poll;
 * - `GET /oauth/callback` (public: the browser carries no token) finishes it — only for a state this
 *   proxy issued — saves the pair in ccproxy's store and switches the proxy to it at once;
 * - `GET /oauth/login/:id` (needs the token) says whether it finished, and how.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { Settings } from '../config/schema.ts';
import { ProxyError } from '../errors.ts';
import { servedOrigin } from '../host-header.ts';
import { AuthError, type AuthErrorKind } from './errors.ts';
import { beginLogin, callbackParams, completeLogin, type PendingLogin, saveLogin } from './login.ts';
import { PAGE_HEADERS, type Page, renderPage } from './pages.ts';
import type { TokenManager } from './token-manager.ts';

export const CALLBACK_ROUTE = '/oauth/callback';
/** A login not finished within this is forgotten (the authorization code lives minutes anyway). */
const LOGIN_TTL_MS = 10 * 60_000;
/** Most logins kept at once; the oldest goes first. */
const MAX_LOGINS = 16;

export interface OAuthRouteDeps {
  settings: Settings;
  tokens: TokenManager;
  log: Logger;
  now?: () => number;
}

interface ProxyLogin {
  id: string;
  pending: PendingLogin;
  createdAt: number;
  status: 'pending' | 'done' | 'failed';
  message?: string;
  errorKind?: AuthErrorKind;
  account?: { email?: string; organization?: string; subscription_type?: string };
}

export function registerOAuthRoutes(app: FastifyInstance, deps: OAuthRouteDeps): void {
  const { settings, tokens, log } = deps;
  const now = deps.now ?? Date.now;
  const logins = new Map<string, ProxyLogin>();

  const prune = () => {
    for (const [id, l] of logins) if (now() - l.createdAt > LOGIN_TTL_MS) logins.delete(id);
    while (logins.size >= MAX_LOGINS) logins.delete(logins.keys().next().value as string);
  };
  const byState = (state: string | undefined) => {
    if (!state) return undefined;
    for (const l of logins.values()) if (l.status === 'pending' && l.pending.state === state) return l;
    return undefined;
  };

  app.post('/oauth/login', async (req) => {
    prune();
    // The Host header already passed the guard (bound address, localhost or server.allowed_hosts);
    // the URI is rebuilt from its parsed parts, never pasted from the header.
    const origin = servedOrigin(req.headers.host);
    if (!origin) throw new ProxyError('permission', 'The Host header does not name this server.');
    const redirectUri = `${origin}${CALLBACK_ROUTE}`;
    const login: ProxyLogin = {
      id: randomBytes(16).toString('base64url'),
      pending: beginLogin(settings, redirectUri),
      createdAt: now(),
      status: 'pending',
    };
    logins.set(login.id, login);
    log.info({ login: login.id }, 'login started through the proxy');
    return {
      id: login.id,
      authorize_url: login.pending.url,
      redirect_uri: redirectUri,
      expires_at: new Date(login.createdAt + LOGIN_TTL_MS).toISOString(),
    };
  });

  app.get<{ Params: { id: string } }>('/oauth/login/:id', async (req) => {
    const login = logins.get(req.params.id);
    if (!login) throw new ProxyError('not_found', 'No such login (it may have expired).');
    return {
      id: login.id,
      status: login.status,
      message: login.message ?? null,
      error_kind: login.errorKind ?? null,
      account: login.account ?? null,
    };
  });

  app.get(CALLBACK_ROUTE, async (req, reply) => {
    const params = callbackParams(req.query as Record<string, unknown>);
    const login = byState(params.state);
    if (!login || now() - login.createdAt > LOGIN_TTL_MS) {
      return sendPage(reply, {
        status: 400,
        title: 'Unknown or expired login',
        message:
          'This proxy did not start a login with this state, or it expired. Start again with `ccproxy auth login`.',
      });
    }
    try {
      const result = await completeLogin(settings, login.pending, params);
      saveLogin(settings.auth.credentials_file, result);
      const active = tokens.reload();
      login.status = 'done';
      login.account = {
        email: result.email,
        organization: result.organization,
        subscription_type: result.credentials.subscriptionType,
      };
      const shadowed = active?.source.kind === 'env';
      login.message = shadowed
        ? `Saved, but ${active?.source.label} takes precedence: unset it for the proxy to use this login.`
        : 'Logged in; the proxy uses the new credentials now.';
      log.info({ login: login.id, subscription: result.credentials.subscriptionType }, 'login finished');
      return sendPage(reply, {
        status: 200,
        title: 'Logged in',
        message: `${result.email ? `Logged in as ${result.email}. ` : ''}${login.message} You can close this tab.`,
      });
    } catch (err) {
      const e =
        err instanceof AuthError
          ? err
          : new AuthError('failed', `Could not save the login: ${(err as Error).message}`);
      login.status = 'failed';
      login.errorKind = e.kind;
      login.message = e.message;
      log.warn({ login: login.id, kind: e.kind }, 'login through the proxy failed');
      return sendPage(reply, {
        status: e.kind === 'denied' ? 403 : 400,
        title: 'Login failed',
        message: e.message,
      });
    }
  });
}

function sendPage(reply: FastifyReply, page: Page): FastifyReply {
  return reply.code(page.status).headers(PAGE_HEADERS).send(renderPage(page));
}
