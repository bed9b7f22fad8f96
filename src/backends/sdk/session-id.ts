/**
 * Client session ids (path `/sdk/{id}/v1/…` or header `x-ccproxy-session-id`) → Claude Code
 * session ids. Claude Code wants a UUID; a client may send any short name. A UUID is used as is
 * (so a session started in Claude Code can be continued through ccproxy and the other way round);
 * any other name maps to a stable name-based UUID, so the same name finds the same session after
 * a restart of ccproxy.
 */
import { createHash } from 'node:crypto';
import { ProxyError } from '../../errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME = /^[A-Za-z0-9._:@-]{1,128}$/;

export function agentSessionId(clientId: string): string {
  if (UUID.test(clientId)) return clientId.toLowerCase();
  if (!NAME.test(clientId)) {
    throw ProxyError.invalid(
      'Session id: use 1 to 128 characters among letters, digits and . _ : @ - (or a UUID).',
      'session_id',
    );
  }
  // A version-5-style UUID (SHA-1 of a namespaced name), as RFC 9562 describes.
  const h = createHash('sha1').update(`ccproxy-session:${clientId}`).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
