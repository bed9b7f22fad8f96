/**
 * Turning any failure into a ProxyError, and a ProxyError into the body a client expects: the
 * format is the route's, or guessed from the path when no route matched.
 */
import type { ServerResponse } from 'node:http';
import { ProxyError } from '../errors.ts';
import type { Format, Frontend, RenderedError } from '../formats/frontend.ts';

/** The format a path speaks, for errors raised before (or without) a route. */
const OPENAI_ONLY =
  /\/v1\/(embeddings|completions|moderations|audio|images|files|uploads|batches|assistants|threads|vector_stores|fine_tuning|realtime)(\/|$)/;

export function formatForPath(url: string, frontends: readonly Frontend[]): Format {
  const path = url.split('?', 1)[0];
  for (const f of frontends) if (f.format !== 'anthropic' && path.endsWith(f.path)) return f.format;
  if (/\/models(\/[^/]+)?$/.test(path) && !path.includes('/messages')) return 'openai';
  // OpenAI endpoints ccproxy does not serve still get their "not found" in OpenAI's shape.
  if (OPENAI_ONLY.test(path)) return 'openai';
  return 'anthropic';
}

/** Fastify's own errors (an unparseable Content-Type, routing) and anything unexpected, as ProxyErrors. */
export function toProxyError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  const e = err as { code?: string; statusCode?: number; message?: string };
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ProxyError(
        'invalid_request',
        'The Content-Type header is not a valid media type; send Content-Type: application/json.',
        { status: 415 },
      );
    default:
      if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
        return new ProxyError(
          e.statusCode === 404 ? 'not_found' : 'invalid_request',
          e.message ?? 'Bad request.',
          { status: e.statusCode },
        );
      }
      return new ProxyError('internal', 'The proxy hit an unexpected error; see its log for details.', {
        cause: err,
      });
  }
}

/** Write an error the way the client's format expects; keeps headers set earlier (x-request-id, CORS). */
/** Returns the body written (undefined when the answer had already begun). */
export function writeError(res: ServerResponse, rendered: RenderedError): string | undefined {
  if (res.headersSent) {
    res.end();
    return undefined;
  }
  const text = JSON.stringify(rendered.body);
  res.writeHead(rendered.status, {
    ...rendered.headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
  return text;
}
