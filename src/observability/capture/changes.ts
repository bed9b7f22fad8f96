/**
 * What ccproxy changed in a request on its way up: the request body the client sent (Anthropic
 * clients) or the Anthropic request its translation made (OpenAI and Responses clients), against the
 * body sent upstream — the injected system prompt, a dropped `ccproxy` field — and the client's
 * headers against those sent upstream. Pure: the dashboard and `ccproxy trace show` both use it.
 */
import { type Change, headerDiff, jsonDiff } from './diff.ts';
import type { Capture, CapturedBody } from './types.ts';

export interface RequestChanges {
  /** What the upstream body is compared with. */
  basis: 'client request' | 'translated request';
  body: Change[];
  headers: Change[];
  /** Why no body comparison was made (not JSON, cut at the cap, no upstream request). */
  note?: string;
}

/** A body's JSON, or undefined when it is not JSON (or not whole). */
export function bodyJson(body: CapturedBody | null | undefined): unknown {
  if (body?.encoding !== 'utf8' || body.truncated) return undefined;
  try {
    return JSON.parse(body.text);
  } catch {
    return undefined;
  }
}

export function requestChanges(c: Capture): RequestChanges | undefined {
  const up = c.upstream_request;
  if (!up) return undefined;
  const translated = c.format !== 'anthropic' && c.translated_request !== null;
  const basis = translated ? 'translated request' : 'client request';
  const headers = headerDiff(c.client_request.headers, up.headers);
  // Both sides' credentials read "Bearer [REDACTED]": say that one replaced the other.
  const clientAuth = c.client_request.headers.authorization;
  if (
    clientAuth !== undefined &&
    up.headers.authorization !== undefined &&
    !headers.some((h) => h.path === 'authorization')
  )
    headers.unshift({
      path: 'authorization',
      kind: 'changed',
      from: `${clientAuth} (the client's key)`,
      to: `${up.headers.authorization} (the subscription's token)`,
    });
  const before = translated ? c.translated_request : bodyJson(c.client_request.body);
  const after = bodyJson(up.body);
  if (before === undefined || after === undefined) {
    const cut = c.client_request.body?.truncated || up.body?.truncated;
    return {
      basis,
      body: [],
      headers,
      note: cut ? 'a body was cut at the capture cap' : 'a body is not JSON',
    };
  }
  return { basis, body: jsonDiff(before, after), headers };
}
