/**
 * A fake Anthropic API on 127.0.0.1 for tests: the Messages API (streamed and not), count_tokens,
 * the models list, and the subscription's OAuth endpoints, with the real protocol's framing,
 * headers, error shapes, authentication and validation. Everything received is recorded.
 *
 *   const fake = await startFakeUpstream();
 *   fake.enqueue(reply.toolUse({ name: 'get_weather', input: { city: 'Paris' } }));
 *   … point a client at fake.url …; await fake.close();
 *
 * Answers for POST /v1/messages, first found: the queue (`enqueue`, FIFO), the handler (`handle`),
 * a `[[fake:<scenario>]]` directive in the last user message, the default text answer.
 */
import { EventEmitter } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { API_VERSIONS, validateAnthropicRequest } from './anthropic-validator.ts';
import { type AuthFailure, Credentials, TEST_ACCESS_TOKEN } from './auth.ts';
import { acceptsGzip, gzipUnits } from './compression.ts';
import { deliver, killSocket, waitForAbort } from './deliver.ts';
import { defaultResponse } from './directives.ts';
import { DEFAULT_RATE_LIMIT, rateLimitHeaders } from './headers.ts';
import { requestId as newRequestId } from './ids.ts';
import { DEFAULT_MODELS, listModels, type ModelInfo } from './models.ts';
import { FakeOAuth, type OAuthOptions } from './oauth.ts';
import { errorBody, estimateInputTokens, render } from './render.ts';
import type { FakeResponse, Handler, RateLimitState, ReceivedRequest } from './types.ts';

export { OAUTH_BETA, TEST_ACCESS_TOKEN, TEST_API_KEY, TEST_REFRESH_TOKEN } from './auth.ts';
export { SCENARIOS, scenario } from './directives.ts';
export { fixtureNames, loadFixture } from './fixtures.ts';
export { CLAUDE_CODE_CLIENT_ID } from './oauth.ts';
export { accumulate } from './render.ts';
export { DEFAULT_TEXT, reply, UNICODE_TEXT, withDelivery } from './replies.ts';
export type * from './types.ts';

export interface FakeUpstreamOptions {
  /** Access tokens accepted as `authorization: Bearer` (default: `[TEST_ACCESS_TOKEN]`). */
  accessTokens?: string[];
  /** API keys accepted as `x-api-key` (default: none, as a subscription-only account). */
  apiKeys?: string[];
  /** Accept any token or key (the OAuth beta rule still applies). */
  acceptAnyToken?: boolean;
  /** Validate /v1/messages bodies like the real API (default true). */
  validate?: boolean;
  models?: ModelInfo[];
  /** The subscription's rate-limit window, reported in `anthropic-ratelimit-unified-*` headers. */
  rateLimit?: Partial<RateLimitState>;
  organizationId?: string;
  oauth?: OAuthOptions;
  /** Largest accepted body (default 32 MB, as the API): larger gets 413 `request_too_large`. */
  maxBodyBytes?: number;
  /** Fallback handler for /v1/messages when the queue is empty. */
  handler?: Handler;
  /**
   * Gzip answers for clients that accept it, as the real API does (default true). Replies that set a
   * byte-level `delivery.split` and raw replies are always sent as given.
   */
  compression?: boolean;
}

export interface FakeUpstream {
  /** `http://127.0.0.1:<port>`: the base URL for a client or for ccproxy's `upstream.base_url`. */
  readonly url: string;
  readonly port: number;
  /** Every request, in order of arrival (all paths, OAuth included). */
  readonly received: ReceivedRequest[];
  /** The POST /v1/messages requests only. */
  messages(): ReceivedRequest[];
  /** Script the next /v1/messages answers (FIFO; a handler returning undefined passes to the next source). */
  enqueue(...responses: Array<FakeResponse | Handler>): void;
  /** Set (or clear) the fallback handler used when the queue is empty. */
  handle(fn: Handler | undefined): void;
  /** Resolves with the first request (already received or future) that matches. */
  waitForRequest(match?: (r: ReceivedRequest) => boolean): Promise<ReceivedRequest>;
  readonly credentials: Credentials;
  readonly oauth: FakeOAuth;
  /** Current rate-limit window; change it with `setRateLimit`. */
  readonly rateLimit: RateLimitState;
  setRateLimit(patch: Partial<RateLimitState>): void;
  /** Forget received requests, the queue and the handler; reset OAuth counters and the rate-limit window. */
  reset(): void;
  /** Stop listening and end every open exchange (stalled ones included). */
  close(): Promise<void>;
}

const ORGANIZATION_ID = '7c3e9a51-2f4b-4d8e-a6c1-5b9f0e3d2a84';
const MB = 1024 * 1024;

type Obj = Record<string, unknown>;

class Fake implements FakeUpstream {
  url = '';
  port = 0;
  readonly received: ReceivedRequest[] = [];
  readonly credentials: Credentials;
  readonly oauth: FakeOAuth;
  rateLimit: RateLimitState;
  private readonly server = http.createServer();
  private readonly queue: Array<FakeResponse | Handler> = [];
  private handler: Handler | undefined;
  private readonly events = new EventEmitter();
  private readonly exchanges = new Set<AbortController>();
  private readonly models: ModelInfo[];

  constructor(private readonly opts: FakeUpstreamOptions) {
    this.credentials = new Credentials(
      { accessTokens: opts.accessTokens ?? [TEST_ACCESS_TOKEN], apiKeys: opts.apiKeys },
      opts.acceptAnyToken ?? false,
    );
    this.oauth = new FakeOAuth(this.credentials, opts.oauth);
    this.rateLimit = { ...DEFAULT_RATE_LIMIT, ...opts.rateLimit };
    this.handler = opts.handler;
    this.models = opts.models ?? DEFAULT_MODELS;
    this.events.setMaxListeners(0);
    this.server.on('request', (req, res) => {
      this.onRequest(req, res).catch((err: unknown) => {
        // A bug in the fake must be loud, not look like an upstream fault.
        console.error('fake-upstream: internal error', err);
        if (res.headersSent) return res.destroy();
        const id = newRequestId();
        this.send(
          res,
          500,
          { 'content-type': 'application/json' },
          JSON.stringify(errorBody('api_error', `fake upstream bug: ${String(err)}`, id)),
        );
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  messages(): ReceivedRequest[] {
    return this.received.filter((r) => r.method === 'POST' && r.path === '/v1/messages');
  }

  enqueue(...responses: Array<FakeResponse | Handler>): void {
    this.queue.push(...responses);
  }

  handle(fn: Handler | undefined): void {
    this.handler = fn;
  }

  waitForRequest(match: (r: ReceivedRequest) => boolean = () => true): Promise<ReceivedRequest> {
    const hit = this.received.find(match);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve) => {
      const on = (r: ReceivedRequest) => {
        if (!match(r)) return;
        this.events.off('request', on);
        resolve(r);
      };
      this.events.on('request', on);
    });
  }

  setRateLimit(patch: Partial<RateLimitState>): void {
    this.rateLimit = { ...this.rateLimit, ...patch };
  }

  reset(): void {
    this.rateLimit = { ...DEFAULT_RATE_LIMIT, ...this.opts.rateLimit };
    this.received.length = 0;
    this.queue.length = 0;
    this.handler = this.opts.handler;
    this.oauth.refreshCalls = 0;
    this.oauth.codeExchanges = 0;
    this.oauth.authorizeCalls = 0;
    this.oauth.profileCalls = 0;
  }

  async close(): Promise<void> {
    for (const ac of this.exchanges) ac.abort();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
    this.events.removeAllListeners();
  }

  // ─── one exchange ─────────────────────────────────────────────────────────

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ac = new AbortController();
    this.exchanges.add(ac);
    let killedByFake = false;
    const url = new URL(req.url ?? '/', 'http://fake');
    const record: ReceivedRequest = {
      seq: 0,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...req.headers },
      rawBody: '',
      body: undefined,
      aborted: false,
      ended: Promise.resolve({ aborted: false }),
      requestId: newRequestId(),
    };
    record.ended = new Promise((resolve) => {
      res.on('close', () => {
        this.exchanges.delete(ac);
        // Only a client that left before the end counts as aborted (not a fault the fake caused).
        record.aborted = !res.writableFinished && !killedByFake && !ac.signal.aborted;
        // Wake whatever still waits on this exchange (a stall, a paced write); a finished one has nothing.
        if (!res.writableFinished) ac.abort();
        resolve({ aborted: record.aborted });
      });
    });

    const max = this.opts.maxBodyBytes ?? 32 * MB;
    const body = await readBody(req, max);
    if (body === 'too_large') {
      this.record(record);
      return this.sendError(
        res,
        413,
        'request_too_large',
        'Request exceeds the maximum allowed number of bytes.',
        record,
      );
    }
    if (body === 'aborted') return;
    record.rawBody = body.toString('utf8');
    try {
      record.body = record.rawBody ? JSON.parse(record.rawBody) : undefined;
    } catch {
      record.body = undefined;
    }
    this.record(record);

    const route = `${record.method} ${record.path}`;
    switch (route) {
      case 'POST /v1/messages':
        return this.onMessages(record, res, ac.signal, () => {
          killedByFake = true;
        });
      case 'POST /v1/messages/count_tokens':
        return this.onCountTokens(record, res);
      case 'GET /v1/models':
        return this.onModels(record, res);
      case 'POST /v1/oauth/token':
        return this.onOAuthToken(record, req, res, ac.signal);
      case 'GET /oauth/authorize': {
        const a = this.oauth.authorize(record.query);
        return this.send(res, a.status, a.headers, a.body);
      }
      case 'GET /api/oauth/profile': {
        const a = this.oauth.profile(record.headers);
        return this.send(res, a.status, { ...a.headers, 'request-id': record.requestId }, a.body);
      }
    }
    if (record.method === 'GET' && record.path.startsWith('/v1/models/')) return this.onModel(record, res);
    const known = [
      '/v1/messages',
      '/v1/messages/count_tokens',
      '/v1/models',
      '/v1/oauth/token',
      '/oauth/authorize',
      '/api/oauth/profile',
    ];
    if (known.includes(record.path)) {
      return this.sendError(
        res,
        405,
        'invalid_request_error',
        `Method Not Allowed: ${record.method}`,
        record,
      );
    }
    return this.sendError(res, 404, 'not_found_error', 'Not Found', record);
  }

  private record(r: ReceivedRequest): void {
    r.seq = this.received.length + 1;
    this.received.push(r);
    this.events.emit('request', r);
  }

  /** The checks every /v1 call passes before its own work: credentials, version header, JSON body. */
  private preflight(r: ReceivedRequest, res: ServerResponse, needsBody: boolean): boolean {
    const failure: AuthFailure | undefined = this.credentials.check(r.headers);
    if (failure) {
      this.sendError(res, failure.status, failure.errorType, failure.message, r);
      return false;
    }
    const version = String(r.headers['anthropic-version'] ?? '');
    if (!version) {
      this.sendError(res, 400, 'invalid_request_error', 'anthropic-version: header is required', r);
      return false;
    }
    if (!(API_VERSIONS as readonly string[]).includes(version)) {
      this.sendError(res, 400, 'invalid_request_error', `anthropic-version: unknown version "${version}"`, r);
      return false;
    }
    if (needsBody && (typeof r.body !== 'object' || r.body === null)) {
      const message = r.rawBody
        ? 'There was an error parsing the body of your request. Please check that it is valid JSON.'
        : 'Request body is required';
      this.sendError(res, 400, 'invalid_request_error', message, r);
      return false;
    }
    return true;
  }

  private async onMessages(
    r: ReceivedRequest,
    res: ServerResponse,
    signal: AbortSignal,
    killed: () => void,
  ): Promise<void> {
    if (!this.preflight(r, res, true)) return;
    if (this.opts.validate !== false) {
      const v = validateAnthropicRequest(r.body, { version: String(r.headers['anthropic-version']) });
      if (!v.ok) return this.sendError(res, 400, 'invalid_request_error', v.message, r);
    }
    const response = await this.pick(r);
    r.answeredWith = response.kind === 'fixture' ? `fixture:${response.name}` : response.kind;
    if (response.kind === 'reset') {
      killed();
      killSocket(res.socket, 'reset');
      return;
    }
    if (response.kind === 'stall') return waitForAbort(signal);

    const body = r.body as Obj;
    const rendered = render(response, {
      stream: body.stream === true,
      model: String(body.model),
      inputTokens: estimateInputTokens(body),
      requestId: r.requestId,
      contextManagement: body.context_management !== undefined,
    });
    rendered.headers = {
      'request-id': r.requestId,
      'anthropic-organization-id': this.opts.organizationId ?? ORGANIZATION_ID,
      ...rateLimitHeaders({ ...this.rateLimit, ...rendered.rateLimit }),
      ...rendered.headers,
    };
    if (this.gzipFor(r) && response.kind !== 'raw' && !rendered.delivery.split) {
      rendered.headers['content-encoding'] = 'gzip';
      rendered.units = gzipUnits(rendered.units);
    }
    r.status = rendered.status;
    await deliver(res, rendered, signal, killed);
  }

  /** Queue first (FIFO), then the handler, then the default (directives, tool-result echo, text). */
  private async pick(r: ReceivedRequest): Promise<FakeResponse> {
    while (this.queue.length) {
      const next = this.queue.shift()!;
      const response = typeof next === 'function' ? await next(r) : next;
      if (response) return response;
    }
    return (await this.handler?.(r)) ?? defaultResponse(r);
  }

  private onCountTokens(r: ReceivedRequest, res: ServerResponse): void {
    if (!this.preflight(r, res, true)) return;
    const v = validateAnthropicRequest(r.body, {
      endpoint: 'count_tokens',
      version: String(r.headers['anthropic-version']),
    });
    if (v.ok) this.sendJson(res, 200, { input_tokens: estimateInputTokens(r.body) }, r);
    else this.sendError(res, 400, 'invalid_request_error', v.message, r);
  }

  private onModels(r: ReceivedRequest, res: ServerResponse): void {
    if (!this.preflight(r, res, false)) return;
    const list = listModels(this.models, r.query);
    if (list.ok) this.sendJson(res, 200, list.body, r);
    else this.sendError(res, 400, 'invalid_request_error', list.message, r);
  }

  private onModel(r: ReceivedRequest, res: ServerResponse): void {
    if (!this.preflight(r, res, false)) return;
    const id = decodeURIComponent(r.path.slice('/v1/models/'.length));
    const model = this.models.find((m) => m.id === id);
    if (model) this.sendJson(res, 200, model, r);
    else this.sendError(res, 404, 'not_found_error', `model: ${id}`, r);
  }

  private async onOAuthToken(
    r: ReceivedRequest,
    req: IncomingMessage,
    res: ServerResponse,
    signal: AbortSignal,
  ): Promise<void> {
    // Claude Code posts JSON; other OAuth clients post a form.
    const form = String(req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded');
    const params = form ? Object.fromEntries(new URLSearchParams(r.rawBody)) : ((r.body ?? {}) as Obj);
    try {
      const a = await this.oauth.token(params, signal);
      this.send(res, a.status, a.headers, a.body);
    } catch {
      // Aborted while the token endpoint was "thinking": the client is gone.
    }
  }

  // ─── writing ──────────────────────────────────────────────────────────────

  private gzipFor(r: ReceivedRequest): boolean {
    return this.opts.compression !== false && acceptsGzip(r.headers['accept-encoding']);
  }

  private send(
    res: ServerResponse,
    status: number,
    headers: Record<string, string>,
    text: string,
    gzip = false,
  ): void {
    if (res.destroyed) return;
    const compress = gzip && text.length > 0;
    const body = compress ? zlib.gzipSync(text) : Buffer.from(text);
    const encoding: Record<string, string> = compress ? { 'content-encoding': 'gzip' } : {};
    res.writeHead(status, { ...headers, ...encoding, 'content-length': String(body.length) });
    res.end(body);
  }

  private sendJson(res: ServerResponse, status: number, value: unknown, r: ReceivedRequest): void {
    const headers = { 'content-type': 'application/json', 'request-id': r.requestId };
    this.send(res, status, headers, JSON.stringify(value), this.gzipFor(r));
  }

  private sendError(
    res: ServerResponse,
    status: number,
    type: string,
    message: string,
    r: ReceivedRequest,
  ): void {
    this.sendJson(res, status, errorBody(type, message, r.requestId), r);
  }
}

/** Read the body up to `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | 'too_large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? 'too_large' : Buffer.concat(chunks)));
    req.on('error', () => resolve('aborted'));
    req.on('close', () => {
      if (!req.complete) resolve('aborted');
    });
  });
}

export async function startFakeUpstream(opts: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const fake = new Fake(opts);
  await fake.listen();
  return fake;
}
