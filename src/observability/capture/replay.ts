/**
 * A captured client request made ready to send again: to the same route (or the same format under
 * the other mode), streamed or not as asked, with the client's own headers less those that belong
 * to the first exchange (its credentials, id and framing). `curlCommand` writes the same request as
 * a command line, with the proxy's token as `$CCPROXY_TOKEN`. Pure: the dashboard uses it too.
 */
import type { Capture, CapturedPart } from './types.ts';

/** Not sent again: framing, the first exchange's id, credentials (the proxy's token is added instead). */
const DROP = new Set([
  'host',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'accept-encoding',
  'expect',
  'x-request-id',
  'authorization',
  'x-api-key',
  'api-key',
  'cookie',
  'proxy-authorization',
]);

export class ReplayRefused extends Error {}

/** The client's headers worth sending again. */
export function replayHeaders(part: CapturedPart): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(part.headers)) {
    if (DROP.has(k) || k.startsWith('sec-') || v.includes('[REDACTED]')) continue;
    out[k] = v;
  }
  return out;
}

/** The route under another mode: `/api/v1/messages` ↔ `/sdk/v1/messages` (an SDK session path loses its session). */
export function routeFor(url: string, mode?: 'api' | 'sdk'): string {
  if (!mode) return url;
  const m = /^\/(api|sdk)(\/[^/?]+)?(\/v1\/.*)$/.exec(url);
  if (!m) throw new ReplayRefused(`The captured request went to ${url}, which is not a route of a mode.`);
  const session = m[1] === 'sdk' && mode === 'sdk' ? (m[2] ?? '') : '';
  return `/${mode}${session}${m[3]}`;
}

export interface ReplayOptions {
  mode?: 'api' | 'sdk';
  /** Ask for a stream (true), a whole answer (false), or as the client did (undefined). */
  stream?: boolean;
}

export interface ReplayRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** The body to send (text; a base64 body is left to the caller to decode). */
  body: string;
  encoding: 'utf8' | 'base64';
}

/** The request to send again; throws ReplayRefused when the capture cannot give it whole. */
export function replayRequest(c: Capture, opts: ReplayOptions = {}): ReplayRequest {
  const req = c.client_request;
  const body = req.body;
  if (!body) throw new ReplayRefused(`Request ${c.id} has no captured body to send again.`);
  if (body.truncated) {
    throw new ReplayRefused(
      `The body of request ${c.id} was cut at the capture cap (${body.size} bytes sent, observability.capture_max_bytes kept fewer): sending the rest of it is impossible, so it is not replayed. Raise observability.capture_max_bytes to capture such requests whole.`,
    );
  }
  let text = body.text;
  if (opts.stream !== undefined) {
    if (body.encoding !== 'utf8')
      throw new ReplayRefused(`The body of request ${c.id} is not text: cannot set "stream".`);
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new ReplayRefused(`The body of request ${c.id} is not JSON: cannot set "stream".`);
    }
    doc.stream = opts.stream;
    if (!opts.stream) delete doc.stream_options;
    text = JSON.stringify(doc);
  }
  return {
    method: req.method ?? 'POST',
    path: routeFor(req.url ?? '/', opts.mode),
    headers: replayHeaders(req),
    body: text,
    encoding: body.encoding,
  };
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** `curl …` for the captured client request, against `base` (the proxy), its token as `$CCPROXY_TOKEN`. */
export function curlCommand(c: Capture, base: string): string {
  const req = c.client_request;
  const body = req.body;
  const lines = [
    `curl -sS -N -X ${req.method ?? 'POST'} ${quote(base.replace(/\/+$/, '') + (req.url ?? '/'))}`,
  ];
  for (const [k, v] of Object.entries(replayHeaders(req))) lines.push(`-H ${quote(`${k}: ${v}`)}`);
  lines.push(`-H "authorization: Bearer $CCPROXY_TOKEN"`);
  let pre = '';
  if (body?.encoding === 'base64') {
    pre = `printf '%s' ${quote(body.text)} | base64 -d | `;
    lines.push('--data-binary @-');
  } else if (body) lines.push(`--data-raw ${quote(body.text)}`);
  const note = body?.truncated
    ? `# The body was cut at the capture cap (${body.size} bytes sent): this is not the whole request.\n`
    : '';
  return `${note}${pre}${lines.join(' \\\n  ')}`;
}
