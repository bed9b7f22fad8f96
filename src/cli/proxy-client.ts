/**
 * The one way commands talk to a running proxy (`status`, `usage`, `trace`, `auth login --server`,
 * the launchers' probe): the same options on each (`--host`, `--port`, `--url`), the base
 * URL from them or from the settings, and the proxy token from the settings (`security.auth_token`)
 * on every call; `probeProxy` says what answers at an address (ccproxy, nothing, something else).
 */
import type { Command } from 'commander';
import { blockedPortReason } from '../blocked-ports.ts';
import type { Settings } from '../config/schema.ts';
import { type CommonFlags, loadOrExit } from './settings.ts';

/** The options of a command that talks to a running proxy. */
export interface ProxyOptions {
  host?: string;
  port?: string;
  url?: string;
}

export function addProxyOptions(cmd: Command): Command {
  return cmd
    .option('--host <host>', 'address the proxy listens on (server.host)')
    .option('-p, --port <port>', 'port the proxy listens on (server.port)')
    .option('--url <url>', 'base URL of the proxy (instead of --host and --port)');
}

/** The server's base URL as a client reaches it: a wildcard bind is asked on loopback. */
export function serverUrl(settings: Settings): string {
  let host = settings.server.host;
  if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${settings.server.port}`;
}

export class ProxyClient {
  /** Without a trailing slash. */
  readonly base: string;
  private readonly headers: Record<string, string> = {};

  /** `url` (from --url) wins over the settings' server.host and server.port. */
  constructor(settings: Settings, url?: string) {
    this.base = url === undefined ? serverUrl(settings) : proxyBase(url);
    if (settings.security.auth_token) this.headers.authorization = `Bearer ${settings.security.auth_token}`;
  }

  /** GET a path of the proxy's own API (`/health`, `/api/status`, `/logs/analytics?…`). */
  get(path: string, timeoutMs: number): Promise<Response> {
    return this.call('GET', path, AbortSignal.timeout(timeoutMs));
  }

  /** Any request (`trace replay` sends a captured one again), with the token; the caller's headers first. */
  send(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: string | Uint8Array<ArrayBuffer>; signal?: AbortSignal },
  ): Promise<Response> {
    return fetch(`${this.base}${path}`, {
      method,
      headers: { ...init.headers, ...this.headers },
      body: init.body,
      signal: init.signal,
    });
  }

  /** GET, or POST with an empty JSON object (`/oauth/login`), ended by `signal` (a timeout, or the command's own cancellation). */
  call(method: 'GET' | 'POST', path: string, signal: AbortSignal): Promise<Response> {
    const post = method === 'POST';
    return fetch(`${this.base}${path}`, {
      method,
      headers: post ? { ...this.headers, 'content-type': 'application/json' } : this.headers,
      body: post ? '{}' : undefined,
      signal,
    });
  }
}

/**
 * Settings for a command's run (its --host/--port over the root's and the settings files) and a
 * client for the proxy they point at. A malformed --url is one clear line and exit code 2.
 */
export function connect(program: Command, opts: ProxyOptions): { settings: Settings; client: ProxyClient } {
  const root = program.opts() as CommonFlags;
  const { settings } = loadOrExit({ ...root, host: opts.host ?? root.host, port: opts.port ?? root.port });
  checkUrlOrExit(opts.url);
  return { settings, client: new ProxyClient(settings, opts.url) };
}

/** A `--url` that cannot be a proxy's address: one clear line and exit code 2. */
export function checkUrlOrExit(url: string | undefined): void {
  if (url === undefined) return;
  let problem: string | undefined;
  if (!(URL.canParse(url) && /^https?:$/.test(new URL(url).protocol)))
    problem = `--url ${url} is not an http(s) URL (e.g. http://127.0.0.1:8000)`;
  else {
    const blocked = blockedPortReason(Number(new URL(url).port));
    if (blocked) problem = `--url ${url}: ${blocked}`;
  }
  if (!problem) return;
  process.stderr.write(`ccproxy: ${problem}.\n`);
  process.exit(2);
}

/**
 * The proxy's own base from a `--url`: the address clients are given (`…/api`, `…/sdk/v1`) names
 * the same proxy, so its mode path is dropped rather than asked for `/api/health`.
 */
export function proxyBase(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/(api|sdk)(\/v1)?$/, '');
}

/** What answers at a base URL. */
export type Probe =
  /** `credentials`: what its credentials check says when it fails. */
  | { state: 'ccproxy'; version?: string; status?: string; credentials?: string }
  | { state: 'free' }
  | { state: 'other'; detail: string };

/** Ask `GET /health`. A ccproxy says `serviceId: "ccproxy"`, whatever its status code (503 on fail). */
export async function probeProxy(client: ProxyClient, timeoutMs = 3000): Promise<Probe> {
  let res: Response;
  try {
    res = await client.get('/health', timeoutMs);
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    if (code === 'ECONNREFUSED') return { state: 'free' };
    if ((err as Error).name === 'TimeoutError')
      return {
        state: 'other',
        detail: `it accepted a connection but did not answer within ${timeoutMs / 1000}s`,
      };
    return { state: 'other', detail: `it does not speak HTTP (${code ?? (err as Error).message})` };
  }
  const text = await res.text().catch(() => '');
  let body:
    | { serviceId?: unknown; version?: unknown; status?: unknown; checks?: Record<string, unknown> }
    | undefined;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: not ccproxy
  }
  if (body?.serviceId === 'ccproxy') {
    return {
      state: 'ccproxy',
      version: typeof body.version === 'string' ? body.version : undefined,
      status: typeof body.status === 'string' ? body.status : undefined,
      credentials: failingCredentials(body.checks),
    };
  }
  const server = res.headers.get('server');
  return {
    state: 'other',
    detail: `GET /health answered HTTP ${res.status}${server ? ` from "${server}"` : ''}, not ccproxy's health document`,
  };
}

/** What the credentials check of a health document says when it fails (no login, a dead one). */
function failingCredentials(checks: Record<string, unknown> | undefined): string | undefined {
  const list = checks?.['credentials:login'];
  for (const c of Array.isArray(list) ? list : []) {
    const check = c as { status?: unknown; output?: unknown };
    if (check.status === 'fail' && typeof check.output === 'string') return check.output;
  }
  return undefined;
}
