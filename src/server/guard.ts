/**
 * Who may use the proxy. Runs before every route:
 * - DNS-rebinding defence: the Host header must name the bound address, localhost, or an allowed host;
 * - cross-origin browser requests are refused unless their origin is listed (CORS is closed by default);
 * - with `security.auth_token` set, the token must come as `x-api-key` or `Authorization: Bearer`,
 *   compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import type { Settings } from '../config/schema.ts';
import { ProxyError } from '../errors.ts';
import { parseHost, servedOrigin } from '../host-header.ts';
import { isLoopback } from '../loopback.ts';

export { isLoopback };

/** Paths anyone may call, even with a token set: health probes, the login callback, static dashboard assets. */
export const PUBLIC_PATHS = ['/health', '/health/live', '/health/ready', '/oauth/callback'];

export interface GuardOptions {
  settings: Settings;
  /** Extra path prefixes open without a token (the dashboard's static page). */
  publicPrefixes?: readonly string[];
}

export interface Guard {
  /** Throws a ProxyError when the request may not proceed. */
  check(method: string, path: string, headers: IncomingHttpHeaders): void;
  /** CORS response headers for an allowed cross-origin request, if any. */
  corsHeaders(headers: IncomingHttpHeaders): Record<string, string> | undefined;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export function createGuard({ settings, publicPrefixes = [] }: GuardOptions): Guard {
  const bound = settings.server.host.toLowerCase();
  const wildcard = bound === '0.0.0.0' || bound === '::' || bound === '';
  const allowedHosts = new Set([
    'localhost',
    '127.0.0.1',
    '::1',
    bound,
    // An IPv6 address may be listed with or without brackets.
    ...settings.server.allowed_hosts.flatMap((h) => parseHost(h)?.host ?? (isIP(h) ? h.toLowerCase() : [])),
  ]);
  const origins = new Set(settings.cors.origins.map((o) => o.replace(/\/+$/, '').toLowerCase()));
  const token = settings.security.auth_token;
  const tokenDigest = token ? digest(token) : undefined;

  const hostAllowed = (host: string | undefined): boolean => {
    const h = host === undefined ? undefined : parseHost(host)?.host;
    if (h === undefined) return false;
    if (allowedHosts.has(h) || isLoopback(h)) return true;
    // Bound to every interface with a token set: any IP literal is fine (names still need listing).
    return wildcard && tokenDigest !== undefined && isIP(h) !== 0;
  };

  // A page of this very server (the dashboard): scheme, host and port all match, and the Origin
  // carries nothing else (no userinfo or path, which no browser sends).
  const sameOrigin = (origin: string, host: string | undefined) => {
    const served = servedOrigin(host);
    if (!served) return false;
    try {
      return new URL(origin).href === `${served}/`;
    } catch {
      return false;
    }
  };

  const presented = (headers: IncomingHttpHeaders): string | undefined => {
    const key = headers['x-api-key'];
    if (typeof key === 'string' && key) return key;
    const auth = headers.authorization;
    if (typeof auth === 'string' && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
    return undefined;
  };

  return {
    check(method, path, headers) {
      if (!hostAllowed(headers.host)) {
        throw new ProxyError(
          'permission',
          `Host "${headers.host ?? ''}" is not allowed. Use the address ccproxy is bound to, or add the name to server.allowed_hosts.`,
        );
      }
      const origin = headers.origin;
      // `Origin: null` (sandboxed iframes, file: pages) is a cross-origin caller like any other:
      // refused unless "null" itself is listed.
      if (
        typeof origin === 'string' &&
        !origins.has(origin.toLowerCase()) &&
        !sameOrigin(origin, headers.host)
      ) {
        throw new ProxyError(
          'permission',
          `Cross-origin request from ${origin} refused. Add the origin to cors.origins to allow it.`,
        );
      }
      if (!tokenDigest || method === 'OPTIONS') return;
      if (PUBLIC_PATHS.includes(path) || publicPrefixes.some((p) => path === p || path.startsWith(`${p}/`)))
        return;
      const given = presented(headers);
      if (given === undefined) {
        throw new ProxyError(
          'authentication',
          'This ccproxy requires a token: send it as x-api-key or Authorization: Bearer.',
          {
            headers: { 'www-authenticate': 'Bearer realm="ccproxy"' },
          },
        );
      }
      if (!timingSafeEqual(digest(given), tokenDigest)) {
        throw new ProxyError('authentication', 'Invalid ccproxy token (security.auth_token).', {
          headers: { 'www-authenticate': 'Bearer realm="ccproxy", error="invalid_token"' },
        });
      }
    },

    corsHeaders(headers) {
      const origin = headers.origin;
      if (typeof origin !== 'string' || !origins.has(origin.toLowerCase())) return undefined;
      return {
        'access-control-allow-origin': origin,
        vary: 'Origin',
        'access-control-allow-headers':
          'authorization, x-api-key, content-type, anthropic-version, anthropic-beta, anthropic-dangerous-direct-browser-access, x-request-id, x-ccproxy-session-id, openai-organization, openai-project, x-stainless-os, x-stainless-lang, x-stainless-package-version, x-stainless-runtime, x-stainless-runtime-version, x-stainless-arch, x-stainless-retry-count, x-stainless-timeout',
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-expose-headers': 'x-request-id, request-id, retry-after',
        'access-control-max-age': '600',
      };
    },
  };
}
