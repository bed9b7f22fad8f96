/**
 * The local server `ccproxy auth login` waits on for the browser to come back: it listens on
 * `localhost:<auth.callback_port>` (0 = any free port) and answers `GET /callback` — the redirect
 * Claude Code itself uses — once. The browser's request is held open until the login has been
 * completed, so the page it shows says whether it worked.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthError } from './errors.ts';
import { type CallbackParams, callbackParams } from './login.ts';
import { PAGE_HEADERS, type Page, renderPage } from './pages.ts';

export const CALLBACK_PATH = '/callback';

export interface CallbackServer {
  redirectUri: string;
  port: number;
  close(): Promise<void>;
}

export interface CallbackServerOptions {
  port: number;
  /** Called for the first callback; its page is what the browser shows. */
  handle: (params: CallbackParams) => Promise<Page>;
}

export async function startCallbackServer(opts: CallbackServerOptions): Promise<CallbackServer> {
  let handled = false;
  // The page for the one real callback must reach the browser before the server closes.
  let answered: Promise<void> = Promise.resolve();
  const server = http.createServer((req, res) => {
    const send = (page: Page) => {
      if (res.destroyed) return;
      res.writeHead(page.status, PAGE_HEADERS);
      res.end(renderPage(page));
    };
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== CALLBACK_PATH) {
      send({ status: 404, title: 'Not found', message: 'This is the ccproxy login callback.' });
      return;
    }
    if (req.method !== 'GET') {
      send({ status: 405, title: 'Method not allowed', message: 'The login callback is a GET.' });
      return;
    }
    const params = callbackParams(url.searchParams);
    if (!params.code && !params.error) {
      send({
        status: 400,
        title: 'Not a login callback',
        message: 'This address expects the redirect from the Claude login page.',
      });
      return;
    }
    if (handled) {
      send({
        status: 409,
        title: 'Login already finished',
        message: 'This login has already finished; you can close this tab.',
      });
      return;
    }
    handled = true;
    answered = new Promise((resolve) => res.once('close', resolve));
    opts
      .handle(params)
      .then(send, (err: unknown) =>
        send({ status: 500, title: 'Login failed', message: (err as Error).message }),
      );
  });
  server.keepAliveTimeout = 1000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new AuthError(
              'failed',
              `Port ${opts.port} for the login callback is in use. Pass --port 0 (any free port) or another port, or set auth.callback_port.`,
            )
          : new AuthError('failed', `Cannot start the login callback server: ${err.message}.`),
      );
    });
    server.listen(opts.port, 'localhost', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    redirectUri: `http://localhost:${port}${CALLBACK_PATH}`,
    async close() {
      await answered;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
