/**
 * A captured request as an HTTP Archive (HAR 1.2, http://www.softwareishard.com/blog/har-12-spec/):
 * two entries, the client's exchange with ccproxy and ccproxy's with the upstream (API mode), so a
 * HAR viewer shows both sides. Secrets are already redacted in the capture; the proxy's own token is
 * left out. SDK mode's agent messages ride along in the client entry's `_ccproxy`. Pure: the
 * dashboard's "Download HAR" and `ccproxy trace export --har` both use it.
 */
import type { Capture, CapturedPart, RequestDetail } from './types.ts';

interface HarHeader {
  name: string;
  value: string;
}

export interface HarEntry {
  startedDateTime: string;
  time: number;
  request: {
    method: string;
    url: string;
    httpVersion: string;
    cookies: [];
    headers: HarHeader[];
    queryString: HarHeader[];
    postData?: { mimeType: string; text: string; comment?: string };
    headersSize: -1;
    bodySize: number;
  };
  response: {
    status: number;
    statusText: string;
    httpVersion: string;
    cookies: [];
    headers: HarHeader[];
    content: { size: number; mimeType: string; text?: string; encoding?: 'base64'; comment?: string };
    redirectURL: '';
    headersSize: -1;
    bodySize: number;
  };
  cache: Record<string, never>;
  timings: { send: number; wait: number; receive: number };
  comment?: string;
  _ccproxy: Record<string, unknown>;
}

export interface Har {
  log: {
    version: '1.2';
    creator: { name: string; version: string };
    entries: HarEntry[];
    comment?: string;
  };
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  529: 'Overloaded',
};

const headerList = (h: Record<string, string>): HarHeader[] =>
  Object.entries(h).map(([name, value]) => ({ name, value }));
const ms = (n: number) => Math.max(0, Math.round(n * 1000) / 1000);
const cutNote = (b: { truncated: boolean; size: number }) =>
  b.truncated ? `cut at the capture cap: ${b.size} bytes in all` : undefined;

function queryOf(url: string): HarHeader[] {
  const q = url.indexOf('?');
  if (q < 0) return [];
  return [...new URLSearchParams(url.slice(q + 1))].map(([name, value]) => ({ name, value }));
}

function entry(
  started: number,
  req: CapturedPart,
  url: string,
  res: CapturedPart | null,
  wait: number,
  total: number,
  extra: Record<string, unknown>,
): HarEntry {
  const rb = req.body;
  const body = res?.body ?? null;
  const type = (h: Record<string, string> | undefined) => h?.['content-type'] ?? 'application/octet-stream';
  const status = res?.status ?? 0;
  return {
    startedDateTime: new Date(started).toISOString(),
    time: ms(total),
    request: {
      method: req.method ?? 'POST',
      url,
      httpVersion: 'HTTP/1.1',
      cookies: [],
      headers: headerList(req.headers),
      queryString: queryOf(url),
      ...(rb
        ? {
            postData: {
              mimeType: type(req.headers),
              // HAR's postData has no encoding: a body that is not text is given as its base64.
              text: rb.text,
              ...(cutNote(rb) || rb.encoding === 'base64'
                ? {
                    comment: [
                      cutNote(rb),
                      rb.encoding === 'base64' ? 'base64 of a body that is not UTF-8' : undefined,
                    ]
                      .filter(Boolean)
                      .join('; '),
                  }
                : {}),
            },
          }
        : {}),
      headersSize: -1,
      bodySize: rb?.size ?? 0,
    },
    response: {
      status,
      statusText: STATUS_TEXT[status] ?? '',
      httpVersion: 'HTTP/1.1',
      cookies: [],
      headers: headerList(res?.headers ?? {}),
      content: {
        size: body?.size ?? 0,
        mimeType: type(res?.headers),
        ...(body ? { text: body.text } : {}),
        ...(body?.encoding === 'base64' ? { encoding: 'base64' as const } : {}),
        ...(body && cutNote(body) ? { comment: cutNote(body) } : {}),
      },
      redirectURL: '',
      headersSize: -1,
      bodySize: body?.size ?? -1,
    },
    cache: {},
    timings: { send: 0, wait: ms(wait), receive: ms(total - wait) },
    _ccproxy: extra,
  };
}

/** The HAR of a captured request; `base` is the proxy's base URL (the client's side of the exchange). */
export function toHar(detail: RequestDetail & { capture: Capture }, base: string, version: string): Har {
  const c = detail.capture;
  const row = detail.row;
  const total = row?.duration_ms ?? Math.max(0, ...(c.response?.events ?? []).map((e) => e.t));
  const firstOut = c.response?.events?.[0]?.t ?? row?.ttft_ms ?? total;
  const entries: HarEntry[] = [
    entry(
      c.ts,
      c.client_request,
      base.replace(/\/+$/, '') + (c.client_request.url ?? '/'),
      c.response,
      Math.min(firstOut, total),
      total,
      {
        side: 'client',
        id: c.id,
        mode: c.mode,
        format: c.format,
        ...(c.agent ? { agent_messages: c.agent.messages } : {}),
        ...(row ? { access_log: row } : {}),
      },
    ),
  ];
  const up = c.upstream_request;
  if (up) {
    const ans = c.upstream_response;
    const sent = up.t ?? 0;
    const headersAt = ans?.t ?? sent;
    const last = Math.max(headersAt, ...(ans?.events ?? []).map((e) => e.t));
    entries.push(
      entry(c.ts + sent, up, up.url ?? '', ans, headersAt - sent, last - sent, {
        side: 'upstream',
        id: c.id,
        attempts: c.upstream_attempts,
      }),
    );
  }
  return {
    log: {
      version: '1.2',
      creator: { name: 'ccproxy', version },
      entries,
      comment: `ccproxy request ${c.id}: the client's exchange with ccproxy${up ? ", then ccproxy's with the upstream" : ''}. Credentials are redacted.`,
    },
  };
}
