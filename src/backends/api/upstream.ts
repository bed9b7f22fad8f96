/**
 * The HTTP client for the Anthropic API: one keep-alive agent (node's client, src/http-client.ts),
 * the subscription's token on every call, a 401 answered by one token refresh, retries before
 * anything reached the client, and every failure turned into a ProxyError that names the upstream.
 */
import type { Agent, IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Abortable } from '../../abort.ts';
import { refreshableCredential, type UpstreamCredential } from '../../accounts/credential.ts';
import type { TokenManager } from '../../auth/token-manager.ts';
import type { Settings } from '../../config/schema.ts';
import { kindForAnthropicType, ProxyError } from '../../errors.ts';
import { snippet } from '../../formats/anthropic/sse.ts';
import type { ApiErrorBody } from '../../formats/anthropic/types.ts';
import {
  bodyText,
  createAgent,
  HttpTimeout,
  noProxyMatches,
  type RequestBody,
  send,
  type Timeouts,
} from '../../http-client.ts';
import { isLoopback } from '../../loopback.ts';
import type { UpstreamTap } from '../../observability/capture/recorder.ts';
import { type IdentityHeaders, upstreamHeaders } from './headers.ts';
import {
  isRetryableStatus,
  nextDelayMs,
  type RetryPolicy,
  type RetryReason,
  retryAfterMs,
  retryReasonForStatus,
  sleep,
} from './retry.ts';

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable & AsyncIterable<Uint8Array>;
}

export interface CallOptions {
  method: 'GET' | 'POST';
  /** Path and query, e.g. `/v1/messages?beta=true`. */
  path: string;
  /** JSON: text, or the bytes the client sent (in pieces when large). */
  body?: RequestBody;
  clientHeaders: IncomingHttpHeaders;
  signal: Abortable;
  log: Logger;
  /** Called before each retry, with why (for the log) and a bounded reason (for metrics). */
  onRetry?: (why: string, reason: RetryReason) => void;
  /** Every response's headers, for rate-limit readings. */
  onHeaders?: (headers: IncomingHttpHeaders) => void;
  /** Whose credential the call carries (default: the one the client was built with). */
  credential?: UpstreamCredential;
  /**
   * An error status not worth retrying on this credential because another account will take the
   * request (a used-up window): the error is thrown at once.
   */
  giveUp?: (status: number, headers: IncomingHttpHeaders) => boolean;
  /** `false`: one attempt, the first answer is the one wanted (`auth validate`'s probe); a 401 still gets one refresh. */
  retry?: false;
  /** Request capture: each attempt as sent, its answer's head, and an error answer's body. */
  capture?: UpstreamTap;
}

/**
 * The proxy for upstream calls, if any (NO_PROXY honoured); a malformed one stops start-up naming
 * where it came from.
 */
export function upstreamProxy(
  settings: Settings,
  env: Record<string, string | undefined>,
): string | undefined {
  const proxy =
    settings.upstream.proxy_url || env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy;
  const target = new URL(settings.upstream.base_url);
  // A loopback upstream (a local gateway, a test double) is never reached through a proxy.
  if (!proxy || isLoopback(target.hostname) || noProxyMatches(target, env.NO_PROXY ?? env.no_proxy))
    return undefined;
  try {
    new URL(proxy);
  } catch {
    const from = settings.upstream.proxy_url ? 'upstream.proxy_url' : 'HTTPS_PROXY/HTTP_PROXY';
    throw new Error(
      // The value is not echoed: a proxy URL may carry a password.
      `${from} is not a URL; expected e.g. http://proxy.example:3128`,
    );
  }
  return proxy;
}

/** Upstream error bodies are small; we never hold more than this of one. */
const MAX_ERROR_BODY = 64 * 1024;

export class Upstream {
  readonly baseUrl: string;
  private readonly agent: Promise<Agent>;
  private readonly target: URL;
  private readonly timeouts: Timeouts;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly identity: IdentityHeaders;
  private readonly retry: RetryPolicy;
  private readonly credential: UpstreamCredential | undefined;
  /** Calls go through an HTTP(S) proxy (upstream.proxy_url or the environment's). */
  private readonly proxied: boolean;
  /** That proxy as errors name it: its host and where it was set, never its credentials. */
  private readonly proxyName: string | undefined;

  /** `tokens`: the credentials calls carry unless they name their own (`CallOptions.credential`). */
  constructor(
    private readonly settings: Settings,
    tokens: TokenManager | undefined,
    env: Record<string, string | undefined> = process.env,
  ) {
    this.credential = tokens && refreshableCredential(tokens);
    const url = new URL(settings.upstream.base_url);
    this.origin = url.origin;
    this.baseUrl = settings.upstream.base_url.replace(/\/+$/, '');
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.target = url;
    const t = settings.upstream.timeouts;
    this.timeouts = {
      connectMs: t.connect_s * 1000,
      firstByteMs: t.first_byte_s * 1000,
      idleMs: t.idle_s * 1000,
    };
    // Behind a corporate proxy: upstream.proxy_url, else the usual environment variables (NO_PROXY
    // honoured). Without one, a plain keep-alive agent.
    const proxy = upstreamProxy(settings, env);
    this.proxied = proxy !== undefined;
    if (proxy) {
      const u = new URL(proxy);
      const from = settings.upstream.proxy_url ? 'upstream.proxy_url' : 'HTTPS_PROXY/HTTP_PROXY';
      this.proxyName = `${u.host} (${from}${u.username || u.password ? ', credentials given' : ', no credentials'})`;
    }
    this.agent = createAgent(url, {
      connections: settings.upstream.pool.connections,
      keepAliveMs: settings.upstream.pool.keep_alive_s * 1000,
      proxy,
    });
    this.agent.catch(() => {}); // reported by the first call
    this.identity = {
      userAgent: settings.claude.user_agent,
      xApp: settings.claude.x_app,
      anthropicVersion: settings.upstream.anthropic_version,
    };
    this.retry = {
      maxAttempts: settings.upstream.retry.max_attempts,
      maxWaitMs: settings.upstream.retry.max_wait_s * 1000,
      baseDelayMs: settings.upstream.retry.base_delay_ms,
    };
  }

  /** Make a call; resolves with a 2xx response whose body is unread, or throws a ProxyError. */
  async call(opts: CallOptions): Promise<UpstreamResponse> {
    let attempt = 0;
    let waited = 0;
    let rateLimited = 0;
    let refreshed = false;
    const credential = opts.credential ?? this.credential;
    if (!credential) throw new ProxyError('internal', 'An upstream call was made without a credential.');
    for (;;) {
      attempt++;
      const token = await credential.token();
      const path = this.basePath + opts.path;
      const headers = upstreamHeaders(opts.clientHeaders, token, this.identity, credential.scheme);
      opts.capture?.upstreamSent({
        method: opts.method,
        url: this.origin + path,
        headers,
        body: opts.body === undefined ? undefined : bodyText(opts.body),
      });
      let res: UpstreamResponse;
      try {
        res = await send(this.target, path, {
          method: opts.method,
          headers,
          body: opts.body,
          signal: opts.signal,
          agent: await this.agent,
          timeouts: this.timeouts,
        });
      } catch (err) {
        if (opts.signal.aborted) throw err;
        const pe = this.connectionError(err);
        // A connection that failed or could not be opened in time; a missing first byte is not retried
        // (upstream.timeouts.first_byte_s is already the longest anyone wants to wait).
        const reason = opts.retry === false ? undefined : retryableConnectionError(err, pe);
        const delay = reason ? nextDelayMs(this.retry, attempt, waited, undefined) : undefined;
        if (reason === undefined || delay === undefined) throw pe;
        waited += delay;
        opts.onRetry?.(pe.message, reason);
        await sleep(delay, opts.signal);
        continue;
      }
      opts.onHeaders?.(res.headers);
      opts.capture?.upstreamAnswered(res.status, res.headers);
      if (res.status >= 200 && res.status < 300) return res;

      const error = await this.errorFrom(res, opts.capture);
      if (res.status === 401 && !refreshed) {
        refreshed = true;
        const fresh = await credential.recover(token);
        if (fresh) {
          attempt--; // a refreshed token is a new start, not a retry
          opts.log.info('upstream rejected the token; retrying once with a refreshed one');
          continue;
        }
      }
      // Still rejected: the subscription's credential, not the client's key (ccproxy replaced it).
      if (res.status === 401) throw rejectedCredential(error, credential.rejectedHint());
      if (opts.giveUp?.(res.status, res.headers)) throw error;
      if (opts.retry !== false && isRetryableStatus(res.status, rateLimited)) {
        const delay = nextDelayMs(this.retry, attempt, waited, retryAfterMs(res.headers));
        if (delay !== undefined) {
          if (res.status === 429) rateLimited++;
          waited += delay;
          opts.onRetry?.(`upstream answered ${res.status}`, retryReasonForStatus(res.status));
          await sleep(delay, opts.signal);
          continue;
        }
      }
      throw error;
    }
  }

  /** Read an error response and describe it; HTML or garbage becomes a 502 with a snippet. */
  private async errorFrom(res: UpstreamResponse, capture?: UpstreamTap): Promise<ProxyError> {
    const { bytes, cut } = await readBytes(res.body, MAX_ERROR_BODY);
    capture?.upstreamData(bytes);
    const text = bytes.toString('utf8');
    const requestId = header(res.headers, 'request-id');
    const retryAfter = header(res.headers, 'retry-after');
    const keep = passHeaders(res.headers);
    let body: ApiErrorBody | undefined;
    try {
      const parsed = JSON.parse(text);
      if (parsed?.type === 'error' && typeof parsed.error?.message === 'string') body = parsed;
    } catch {
      // not JSON, or more of it than we hold
    }
    // An error that quotes a large request back (an invalid 300 kB tag…) is still the upstream's
    // error: keep its status and type, and as much of its message as we read.
    const head = cut && !body ? errorHead(text) : undefined;
    if (head) {
      return new ProxyError(kindForAnthropicType(head.type, res.status), `${head.message}… (cut short)`, {
        status: res.status,
        upstream: { status: res.status, type: head.type, message: head.message, requestId, retryAfter },
        headers: keep,
      });
    }
    // The proxy refused the tunnel: the upstream never saw the request.
    if (res.status === 407 && this.proxyName) {
      return new ProxyError(
        'upstream',
        `The proxy ${this.proxyName} refused the tunnel to the upstream: HTTP 407 Proxy Authentication Required. Give its user and password in the proxy's URL, as http://user:password@host:port (percent-encode special characters).`,
        { status: 502, upstream: { status: res.status, requestId, retryAfter } },
      );
    }
    if (!body) {
      return new ProxyError(
        'upstream',
        `The upstream ${this.baseUrl} answered HTTP ${res.status} with a body that is not an Anthropic error: ${snippet(text) || '(empty)'}`,
        { status: 502, upstream: { status: res.status, requestId, retryAfter }, headers: keep },
      );
    }
    const kind = kindForAnthropicType(body.error.type, res.status);
    return new ProxyError(kind, body.error.message, {
      status: res.status,
      upstream: {
        status: res.status,
        type: body.error.type,
        message: body.error.message,
        requestId,
        retryAfter,
        body,
      },
      headers: keep,
    });
  }

  /** A network failure as a ProxyError; `midResponse` when the response had already begun. */
  connectionError(err: unknown, midResponse = false): ProxyError {
    if (err instanceof ProxyError) return err;
    const e = err as { code?: string; message?: string; cause?: { code?: string } };
    const code = e.code ?? e.cause?.code;
    const t = this.settings.upstream.timeouts;
    const phase = err instanceof HttpTimeout ? err.phase : undefined;
    switch (phase) {
      case 'connect':
        return new ProxyError(
          'timeout',
          `Timed out connecting to the upstream ${this.baseUrl}${this.proxied ? ' through the proxy' : ''} after ${t.connect_s}s (upstream.timeouts.connect_s).`,
        );
      case 'first_byte':
        return new ProxyError(
          'timeout',
          `The upstream ${this.baseUrl} sent no response within ${t.first_byte_s}s (upstream.timeouts.first_byte_s).`,
        );
      case 'idle':
        return new ProxyError(
          'timeout',
          `The upstream ${this.baseUrl} stalled: nothing received for ${t.idle_s}s (upstream.timeouts.idle_s).`,
        );
      default: {
        const why = describeNetworkError(code, e.message);
        if (midResponse)
          return new ProxyError('upstream', `The upstream ${this.baseUrl} failed mid-response: ${why}.`, {
            cause: err,
          });
        return new ProxyError('upstream', `Cannot reach the upstream ${this.baseUrl}: ${why}.`, {
          cause: err,
        });
      }
    }
  }

  /** Close the idle connections; those in use close when their response ends. */
  async close(): Promise<void> {
    const agent = await this.agent.catch(() => undefined);
    agent?.destroy();
  }
}

/** The retry reason for a failure before any response, or undefined when it is not worth retrying. */
function retryableConnectionError(err: unknown, pe: ProxyError): RetryReason | undefined {
  if (err instanceof ProxyError) return undefined;
  if (err instanceof HttpTimeout && err.phase === 'connect') return 'timeout';
  return pe.kind === 'upstream' ? 'connection' : undefined;
}

/** The type and the start of the message of an Anthropic error body too large to read whole. */
function errorHead(text: string): { type: string; message: string } | undefined {
  const m =
    /^\s*\{\s*"type"\s*:\s*"error"\s*,\s*"error"\s*:\s*\{\s*"type"\s*:\s*"([a-z_]+)"\s*,\s*"message"\s*:\s*"((?:[^"\\]|\\.){0,300})/.exec(
      text,
    );
  if (!m) return undefined;
  let message = m[2]!;
  try {
    message = JSON.parse(`"${message}"`);
  } catch {
    // cut inside an escape: keep it as written
  }
  return { type: m[1]!, message };
}

function describeNetworkError(code: string | undefined, message: string | undefined): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'the connection was closed unexpectedly';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'CERT_HAS_EXPIRED':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return `TLS certificate problem (${code})`;
    default:
      return message ? `${message}${code ? ` (${code})` : ''}` : (code ?? 'unknown network error');
  }
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Upstream headers a client should see even on an error: its request id, retry hints, rate limits. */
export function passHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    if (
      k === 'request-id' ||
      k === 'retry-after' ||
      k === 'retry-after-ms' ||
      k.startsWith('anthropic-ratelimit-') ||
      k === 'x-should-retry'
    ) {
      out[k] = Array.isArray(v) ? v.join(', ') : v;
    }
  }
  return out;
}

export async function readLimited(
  body: AsyncIterable<Uint8Array> & { destroy?: () => void },
  limit: number,
): Promise<string> {
  return (await readBytes(body, limit)).bytes.toString('utf8');
}

/** Up to `limit` bytes of a body; `cut` when there was more (the rest is not read). */
async function readBytes(
  body: AsyncIterable<Uint8Array> & { destroy?: () => void },
  limit: number,
): Promise<{ bytes: Buffer; cut: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit) {
      body.destroy?.();
      return { bytes: Buffer.concat(chunks).subarray(0, limit), cut: true };
    }
  }
  return { bytes: Buffer.concat(chunks), cut: false };
}

/** Read a whole 2xx JSON body (bounded), or throw an upstream ProxyError quoting what came instead. */
export async function readJson(
  res: Pick<UpstreamResponse, 'status'> & { body: AsyncIterable<Uint8Array> & { destroy?: () => void } },
  baseUrl: string,
  limit = 64 * 1024 * 1024,
): Promise<unknown> {
  const { bytes, cut } = await readBytes(res.body, limit);
  if (cut) {
    throw new ProxyError(
      'upstream',
      `The upstream ${baseUrl} answered with more than ${Math.round(limit / 1024 / 1024)} MB of JSON, more than ccproxy holds in memory to translate one answer; ask for a stream ("stream": true) instead.`,
    );
  }
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new ProxyError(
      'upstream',
      `The upstream ${baseUrl} answered HTTP ${res.status} with a body that is not JSON: ${snippet(text) || '(empty)'}`,
    );
  }
}

/** The upstream's 401 as the client should read it: ccproxy's credential was refused, and what to do. */
function rejectedCredential(error: ProxyError, hint: string): ProxyError {
  const message = `The upstream rejected the credential ccproxy sent (${error.upstream?.message ?? error.message}). ${hint}`;
  const upstream = error.upstream && { ...error.upstream };
  // The upstream's error object still passes through (formats/anthropic), with these words in it.
  const body = upstream?.body as ApiErrorBody | undefined;
  if (upstream && body?.error) upstream.body = { ...body, error: { ...body.error, message } };
  return new ProxyError('authentication', message, { status: 401, upstream, headers: error.headers });
}
