/**
 * The headers an API-mode request carries upstream: the client's, minus its credentials and
 * hop-by-hop headers, plus the subscription's Bearer token and what OAuth use requires.
 */
import type { IncomingHttpHeaders } from 'node:http';

export const OAUTH_BETA = 'oauth-2025-04-20';
export const CLAUDE_CODE_BETA = 'claude-code-20250219';

/** Never forwarded: credentials, hop-by-hop (RFC 9110 §7.6.1), and what node's HTTP client sets itself. */
const DROP = new Set([
  'x-api-key',
  'authorization',
  'host',
  'content-length',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  // We read usage off the bytes and pass them through unchanged, so ask for them uncompressed.
  'accept-encoding',
  // The body sent upstream is our own serialisation, never the client's (possibly encoded) bytes.
  'content-encoding',
  // The proxy's own request id and session headers stay here.
  'x-request-id',
  'x-ccproxy-session-id',
  'cookie',
]);

export interface IdentityHeaders {
  userAgent: string;
  xApp: string;
  anthropicVersion: string;
}

/** `anthropic-beta`: the client's betas in order, then ours, without duplicates. */
export function mergeBetas(client: string | string[] | undefined, ours: readonly string[]): string {
  const seen = new Set<string>();
  const raw = Array.isArray(client) ? client.join(',') : (client ?? '');
  for (const b of raw.split(',')) {
    const t = b.trim();
    if (t) seen.add(t);
  }
  for (const b of ours) seen.add(b);
  return [...seen].join(',');
}

/** The last client `anthropic-beta` seen, merged with the OAuth betas: a client sends the same each time. */
let lastClientBetas: string | undefined;
let lastOAuthBetas = '';

function oauthBetas(client: string | string[] | undefined): string {
  const raw = Array.isArray(client) ? client.join(',') : (client ?? '');
  if (raw !== lastClientBetas) {
    lastOAuthBetas = mergeBetas(raw, [OAUTH_BETA, CLAUDE_CODE_BETA]);
    lastClientBetas = raw;
  }
  return lastOAuthBetas;
}

/**
 * `scheme` says what `token` is: a subscription's OAuth token (Bearer, the OAuth beta, Claude Code's
 * identity) or a pay-as-you-go API key (`x-api-key`, the client's own betas and user-agent: an API
 * key needs no OAuth beta and no identity).
 */
export function upstreamHeaders(
  client: IncomingHttpHeaders,
  token: string,
  id: IdentityHeaders,
  scheme: 'oauth' | 'api_key' = 'oauth',
): Record<string, string> {
  const out: Record<string, string> = {};
  // for…in, not Object.entries: no array a header, on every request (here and in clientHeaders).
  for (const name in client) {
    const value = client[name];
    if (value === undefined || DROP.has(name) || name.startsWith('x-ccproxy-') || name.startsWith('sec-'))
      continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  out['anthropic-version'] = (client['anthropic-version'] as string | undefined) || id.anthropicVersion;
  if (scheme === 'api_key') {
    out['x-api-key'] = token;
    const betas = mergeBetas(client['anthropic-beta'], [])
      .split(',')
      .filter((b) => b && b !== OAUTH_BETA);
    if (betas.length) out['anthropic-beta'] = betas.join(',');
    else delete out['anthropic-beta'];
    out['content-type'] = 'application/json';
    return out;
  }
  out.authorization = `Bearer ${token}`;
  out['anthropic-beta'] = oauthBetas(client['anthropic-beta']);
  // Claude Code's identity, unless the client is Claude Code already.
  const ua = client['user-agent'];
  if (!ua?.startsWith('claude-cli/')) out['user-agent'] = id.userAgent;
  if (!client['x-app']) out['x-app'] = id.xApp;
  out['content-type'] = 'application/json';
  return out;
}

/** Response headers never passed back to the client: hop-by-hop and those that describe bytes we re-frame. */
const DROP_RESPONSE = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'content-encoding',
  'proxy-authenticate',
  'proxy-connection',
  'trailer',
  'upgrade',
  'set-cookie',
]);

export function clientHeaders(
  upstream: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || DROP_RESPONSE.has(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
