/**
 * Outbound HTTP on node's own client: keep-alive agents, a timeout per phase (connect, first byte,
 * idle), and HTTP(S) proxies through a CONNECT tunnel. Node's client is already loaded for the
 * server and parses in C++; undici, which this replaced, cost ~17 MB of RSS and more CPU per
 * request (docs/performance.md).
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Abortable } from './abort.ts';
import { isLoopback } from './loopback.ts';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Unread; a stream that also iterates. Destroy it to stop reading (the connection closes). */
  body: IncomingMessage;
}

export type TimeoutPhase = 'connect' | 'first_byte' | 'idle';

/** A phase took longer than allowed; `code` is `ETIMEDOUT` for callers that sort by code. */
export class HttpTimeout extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(
    readonly phase: TimeoutPhase,
    readonly ms: number,
  ) {
    super(`${phase.replace('_', ' ')} timeout after ${ms} ms`);
    this.name = 'HttpTimeout';
  }
}

export interface Timeouts {
  /** Opening the connection (TCP and TLS, or through a proxy the whole tunnel; 0 = none). */
  connectMs: number;
  /** From sending until the response headers arrive (0 = none). */
  firstByteMs: number;
  /** Longest silence between two chunks of the response body (0 = none). */
  idleMs: number;
}

/** A request's body: text, bytes, or bytes in pieces (a large body as it came: chunked-bytes.ts). */
export type RequestBody = string | Buffer | readonly Buffer[];

/** A body's length in bytes. */
export function bodyLength(body: RequestBody): number {
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (Buffer.isBuffer(body)) return body.length;
  let n = 0;
  for (const b of body) n += b.length;
  return n;
}

/** A body as text (for request capture). */
export function bodyText(body: RequestBody): string {
  if (typeof body === 'string') return body;
  return (Buffer.isBuffer(body) ? body : Buffer.concat(body)).toString('utf8');
}

export interface SendOptions {
  method: string;
  headers: OutgoingHttpHeaders;
  body?: RequestBody;
  signal?: Abortable;
  agent?: http.Agent;
  timeouts: Timeouts;
}

/**
 * Send a request for `path` (and query) to `origin`; resolves once the response headers arrive,
 * with the body unread. Errors before then reject (a timeout as HttpTimeout, an abort as an
 * AbortError); after, they reach the body.
 */
export function send(origin: URL, path: string, o: SendOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const secure = origin.protocol === 'https:';
    let req: http.ClientRequest;
    try {
      req = (secure ? https : http).request({
        protocol: origin.protocol,
        hostname: bare(origin.hostname),
        port: origin.port,
        path,
        method: o.method,
        headers: headerLines(o.method, o.headers, origin.host, o.body),
        agent: o.agent,
      });
    } catch (err) {
      reject(err); // an invalid header value, an unknown protocol
      return;
    }
    const { connectMs, firstByteMs, idleMs } = o.timeouts;
    // Ends the request with `err`, and the call with it at once: node defers a destroy until the
    // request has a socket, and one waiting on a proxy's tunnel may never get one.
    const stop = (err: Error) => {
      clearTimeout(firstByte);
      clearTimeout(tunnel);
      // A CONNECT the proxy never answers would otherwise hold that socket for as long as the proxy does.
      openingTunnels.get(req)?.abort();
      req.destroy(err);
      reject(err); // a no-op once resolved: the body reports what follows
    };
    // 0 is no limit, as for every timeout in the settings.
    const firstByte =
      firstByteMs > 0
        ? setTimeout(() => stop(new HttpTimeout('first_byte', firstByteMs)), firstByteMs)
        : undefined;
    // Through a proxy the agent hands the request its socket once the tunnel (and TLS) is up: until
    // then is the connect phase. A direct socket's own connect is timed on 'socket' below.
    const tunnel =
      o.agent && connectMs > 0 && tunnelAgents.has(o.agent)
        ? setTimeout(() => stop(new HttpTimeout('connect', connectMs)), connectMs)
        : undefined;
    // Our own abort listener: node's `signal` option tracks the request with end-of-stream
    // helpers, a measurable share of a small request's CPU.
    const signal = o.signal;
    if (signal) {
      if (signal.aborted) stop(abortError(signal));
      const onAbort = () => stop(abortError(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      req.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    req.on('error', (err) => {
      clearTimeout(firstByte);
      clearTimeout(tunnel);
      reject(err); // a no-op once resolved: the body reports what follows
    });
    req.once('socket', (socket) => {
      clearTimeout(tunnel);
      // A socket kept alive is already open; a new one gets connectMs to open (TLS included).
      if (!socket.connecting || connectMs <= 0) return;
      const timer = setTimeout(() => req.destroy(new HttpTimeout('connect', connectMs)), connectMs);
      socket.once(secure ? 'secureConnect' : 'connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    req.once('response', (res) => {
      clearTimeout(firstByte);
      if (idleMs > 0) req.setTimeout(idleMs, () => res.destroy(new HttpTimeout('idle', idleMs)));
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    // Pieces are written as they are: node sends what waits for the socket in one writev.
    if (typeof o.body === 'object' && !Buffer.isBuffer(o.body)) {
      for (const b of o.body) req.write(b);
      req.end();
    } else req.end(o.body);
  });
}

/**
 * The request's header lines as node's raw `[name, value, …]` list, `Host` and `content-length`
 * included: given a list, node writes the head at once, where an object costs a `setHeader` a
 * header (~6 µs a request of 16 headers). The bytes are the same (docs/performance.md).
 */
function headerLines(
  method: string,
  headers: OutgoingHttpHeaders,
  host: string,
  body: RequestBody | undefined,
): string[] {
  const lines: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || isOurs(name)) continue;
    if (Array.isArray(value)) for (const v of value) lines.push(name, v);
    else lines.push(name, typeof value === 'string' ? value : String(value));
  }
  lines.push('Host', host);
  if (body !== undefined) lines.push('content-length', String(bodyLength(body)));
  // As node does for a POST ended without a body: a list would otherwise make it chunked.
  else if (!BODILESS.has(method)) lines.push('content-length', '0');
  return lines;
}

/** Methods node sends without a length or chunked body when none is given. */
const BODILESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/** A header headerLines writes itself (a caller's own would be sent twice). */
const isOurs = (name: string) =>
  (name.length === 4 || name.length === 14) &&
  (name.toLowerCase() === 'host' || name.toLowerCase() === 'content-length');

/** Agents that reach their origin through a proxy's tunnel (createAgent). */
const tunnelAgents = new WeakSet<http.Agent>();

/** Requests whose tunnel is being opened, and how to close its socket to the proxy. */
const openingTunnels = new WeakMap<http.ClientRequest, AbortController>();

/** A URL's hostname without the brackets of an IPv6 address, as node's client wants it. */
const bare = (hostname: string) => (hostname.startsWith('[') ? hostname.slice(1, -1) : hostname);

function abortError(signal: Abortable): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

/** The whole body as text, at most `limit` bytes (more is an error: these are small answers). */
export async function readText(body: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new Error(`the answer is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export interface AgentOptions {
  /** Most connections open at once to the origin. */
  connections: number;
  /** How long an idle connection is kept open. */
  keepAliveMs: number;
  /** An HTTP(S) proxy URL to tunnel through. */
  proxy?: string;
}

/**
 * A keep-alive agent for one origin, direct or through a proxy. At most 256 idle connections are
 * kept (node's default): after a burst of 1,000 streams, the rest close at once.
 */
export async function createAgent(target: URL, o: AgentOptions): Promise<http.Agent> {
  const options: http.AgentOptions = {
    keepAlive: true,
    maxSockets: o.connections,
    timeout: o.keepAliveMs,
    scheduling: 'lifo',
  };
  if (o.proxy) {
    // Loaded only behind a proxy.
    const { HttpsProxyAgent } = await import('https-proxy-agent');
    type ConnectOpts = Parameters<InstanceType<typeof HttpsProxyAgent>['connect']>[1];
    /**
     * The library opens the socket to the proxy first thing in `connect`, before it awaits anything,
     * from `connectOpts`: given there a signal that `send` fires when it stops a request whose tunnel
     * is not up yet, that socket goes with the request. (Its second socket, a retry after a 407, is
     * opened only with `onProxyAuth`, which ccproxy does not set: a 407 is answered as the upstream's.)
     */
    class TunnelAgent extends HttpsProxyAgent<string> {
      override connect(req: http.ClientRequest, opts: ConnectOpts) {
        const ac = new AbortController();
        openingTunnels.set(req, ac);
        const shared = this.connectOpts;
        this.connectOpts = { ...shared, signal: ac.signal };
        try {
          return super.connect(req, opts).finally(() => openingTunnels.delete(req));
        } finally {
          this.connectOpts = shared;
        }
      }
    }
    const agent = new TunnelAgent(o.proxy, options);
    tunnelAgents.add(agent);
    return agent;
  }
  return target.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
}

/**
 * Does NO_PROXY exempt this host? Comma- or space-separated entries: `*` (everything), a host name
 * (itself and its subdomains; a leading `.` or `*.` is the same), an IP address, any with `:port`.
 */
export function noProxyMatches(url: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = bare(url.hostname).toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(/[,\s]+/)) {
    let entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry);
    if (!m) continue;
    if (m[2] && m[2] !== port) continue;
    entry = m[1]!.replace(/^\[(.*)\]$/, '$1').replace(/^\*?\./, '');
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

/** The proxy the environment names for this URL (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), if any. */
export function envProxyFor(url: URL, env: Record<string, string | undefined>): string | undefined {
  const proxy =
    url.protocol === 'https:'
      ? env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy
      : env.HTTP_PROXY || env.http_proxy || env.HTTPS_PROXY || env.https_proxy;
  if (!proxy || isLoopback(url.hostname) || noProxyMatches(url, env.NO_PROXY ?? env.no_proxy))
    return undefined;
  return proxy;
}

/** One agent per proxy for occasional calls (OAuth, the profile): made on first use, kept. */
const occasionalAgents = new Map<string, Promise<http.Agent>>();

/**
 * A small call to another host (the OAuth endpoints), read whole, through `proxy` when given, else
 * the environment's (NO_PROXY honoured by both, as for upstream calls); `timeoutMs` for each phase,
 * as the upstream calls have.
 */
export async function call(
  url: string,
  init: { method: string; headers: OutgoingHttpHeaders; body?: string; signal?: AbortSignal; proxy?: string },
  timeoutMs = 30_000,
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  const target = new URL(url);
  const env = process.env;
  const proxy =
    init.proxy && !isLoopback(target.hostname) && !noProxyMatches(target, env.NO_PROXY ?? env.no_proxy)
      ? init.proxy
      : envProxyFor(target, env);
  let agent: Promise<http.Agent> | undefined;
  if (proxy) {
    agent = occasionalAgents.get(proxy);
    if (!agent) {
      agent = createAgent(target, { connections: 16, keepAliveMs: 5_000, proxy });
      occasionalAgents.set(proxy, agent);
    }
  }
  const res = await send(target, target.pathname + target.search, {
    method: init.method,
    headers: init.headers,
    body: init.body,
    signal: init.signal,
    agent: agent && (await agent),
    timeouts: { connectMs: timeoutMs, firstByteMs: timeoutMs, idleMs: timeoutMs },
  });
  return { status: res.status, headers: res.headers, text: await readText(res.body) };
}
