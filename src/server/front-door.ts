/**
 * The server's request listener. A POST to a proxied endpoint goes straight to its handler, with the
 * same guard, body reader and error rendering Fastify's hooks use, but none of Fastify's per-request
 * objects, hooks and promises: ~10 µs of CPU a request, ~5% of a small request's (docs/performance.md,
 * tenth session). Everything else (health, metrics, the dashboard, logs, OAuth, accounts, model
 * lists, 404s and 405s) is Fastify's.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ProxyError } from '../errors.ts';
import type { ProxiedRoute, ProxiedRoutes } from './routes.ts';

export interface FrontDoor {
  routes: ProxiedRoutes;
  /** Fastify's own listener, for every other request. */
  fastify: RequestListener;
  log: Logger;
  requestIdOf(header: unknown): string;
  /** The guard and what every request gets first (x-request-id, CORS); throws a ProxyError to refuse. */
  admit(req: IncomingMessage, res: ServerResponse, id: string): void;
  readBody(req: IncomingMessage): Promise<unknown>;
  /** Answer a request refused before its handler ran, in its route's format. */
  refuse(
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    log: Logger,
    route: ProxiedRoute,
    err: unknown,
  ): void;
  /** The proxy is shutting down: new requests get 503. */
  closing(): boolean;
}

export function frontDoor(d: FrontDoor): RequestListener {
  const serve = (req: IncomingMessage, res: ServerResponse, route: ProxiedRoute, sessionId?: string) => {
    const id = d.requestIdOf(req.headers['x-request-id']);
    const log = d.log.child({ reqId: id });
    // Only a bug lands here (handlers and refusals answer their own failures): the answer's state is
    // unknown, so the connection goes.
    const broken = (err: unknown) => {
      log.error({ err }, 'unexpected error');
      res.destroy();
    };
    const refuse = (err: unknown) => d.refuse(req, res, id, log, route, err);
    try {
      if (d.closing()) {
        res.setHeader('x-request-id', id);
        res.setHeader('connection', 'close');
        throw new ProxyError('unavailable', 'ccproxy is shutting down; send the request again shortly.');
      }
      d.admit(req, res, id);
    } catch (err) {
      refuse(err);
      return;
    }
    d.readBody(req)
      .then((body) => route.handle({ req, res, id, log, body, sessionId }), refuse)
      .catch(broken);
  };
  return (req, res) => {
    const found = req.method === 'POST' ? d.routes.find(req.url ?? '/') : undefined;
    if (!found) return d.fastify(req, res);
    try {
      serve(req, res, found.route, found.sessionId);
    } catch (err) {
      d.log.error({ err }, 'unexpected error');
      res.destroy();
    }
  };
}
