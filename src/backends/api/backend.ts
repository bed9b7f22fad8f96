/**
 * API mode: a reverse proxy to the Anthropic API on the subscription's OAuth token. Anthropic
 * clients get the upstream's bytes untouched (a `raw` reply); other formats get parsed events.
 */
import type { Logger } from 'pino';
import type { TokenManager } from '../../auth/token-manager.ts';
import type { Settings } from '../../config/schema.ts';
import { ProxyError } from '../../errors.ts';
import { decodeEvents, snippet } from '../../formats/anthropic/sse.ts';
import type { Message, MessagesRequest } from '../../formats/anthropic/types.ts';
import { BUILTIN_MODELS, type ModelInfo } from '../../formats/models.ts';
import { tapBody } from '../../observability/capture/recorder.ts';
import type { Backend, Reply, RequestContext } from '../backend.ts';
import { clientHeaders } from './headers.ts';
import { Limiter, QueueTimeout, type Release } from './limiter.ts';
import { describeReset, type RateLimits } from './rate-limits.ts';
import { injectSystemPrompt } from './system-prompt.ts';
import { header, readJson, readLimited, Upstream, type UpstreamResponse } from './upstream.ts';

export interface ApiBackendDeps {
  settings: Settings;
  tokens: TokenManager;
  log: Logger;
  /** Latest rate-limit readings, updated from every upstream response. */
  rateLimits?: RateLimits;
  /** For the proxy variables (HTTPS_PROXY, NO_PROXY…); default: ccproxy's own environment. */
  env?: Record<string, string | undefined>;
}

export interface ApiBackend extends Backend {
  upstream: Upstream;
}

export function createApiBackend(deps: ApiBackendDeps): ApiBackend {
  const { settings, tokens } = deps;
  const upstream = new Upstream(settings, tokens, deps.env);
  const limiter = new Limiter(settings.upstream.max_concurrency, settings.upstream.queue_timeout_s * 1000);
  let lastError: { at: string; status: number; message: string } | undefined;
  let models: { at: number; list: ModelInfo[] } | undefined;

  const remember = (err: unknown) => {
    if (err instanceof ProxyError && err.kind !== 'invalid_request') {
      lastError = { at: new Date().toISOString(), status: err.status, message: err.message };
    }
  };

  /**
   * One upstream call holding a concurrency slot from before the first attempt until its response
   * body is closed (read to the end, failed or destroyed), retries included.
   */
  async function call(ctx: RequestContext, path: string, body: string): Promise<UpstreamResponse> {
    const release = await slot(ctx);
    try {
      const res = await upstream.call({
        method: 'POST',
        path: ctx.query ? `${path}?${ctx.query}` : path,
        body,
        clientHeaders: ctx.headers,
        signal: ctx.signal,
        log: ctx.log,
        onRetry: (why, reason) => {
          ctx.record.retries++;
          ctx.record.retryReasons = [...(ctx.record.retryReasons ?? []), reason];
          ctx.log.warn({ why, reason, attempt: ctx.record.retries + 1 }, 'retrying upstream request');
        },
        onHeaders: deps.rateLimits ? (h) => deps.rateLimits!.update(h) : undefined,
        capture: ctx.capture,
      });
      if (res.body.destroyed) release();
      else res.body.once('close', release);
      ctx.record.upstreamRequestId = header(res.headers, 'request-id');
      return res;
    } catch (err) {
      release();
      remember(err);
      throw err;
    }
  }

  /** A slot under `upstream.max_concurrency`, or a 429 once `upstream.queue_timeout_s` has passed. */
  async function slot(ctx: RequestContext): Promise<Release> {
    try {
      return await limiter.acquire(ctx.signal);
    } catch (err) {
      if (!(err instanceof QueueTimeout)) throw err;
      const waited = settings.upstream.queue_timeout_s;
      ctx.log.warn({ inFlight: limiter.inFlight, queued: limiter.queued }, 'upstream queue timeout');
      throw new ProxyError(
        'rate_limited',
        `ccproxy already has ${limiter.max} upstream requests in flight (upstream.max_concurrency)${waited > 0 ? ` and no slot came free within ${waited}s (upstream.queue_timeout_s)` : ''}. Retry shortly, or raise the limit.`,
        { retryAfter: Math.min(60, Math.max(1, Math.ceil(waited))) },
      );
    }
  }

  const blockedUntil = (): string | null => {
    const b = settings.limits.block_overage ? deps.rateLimits?.overageUntil() : undefined;
    return b ? new Date(b.resetAt * 1000).toISOString() : null;
  };

  /**
   * limits.block_overage: the readings say the plan's window is used up and the next request would be
   * billed as extra usage, so refuse it until the window resets (which lifts this at once).
   */
  function refuseOverage(): void {
    if (!settings.limits.block_overage || !deps.rateLimits) return;
    const now = deps.rateLimits.now();
    const blocked = deps.rateLimits.overageUntil(now);
    if (!blocked) return;
    const seconds = Math.max(1, Math.ceil(blocked.resetAt - now / 1000));
    throw new ProxyError(
      'rate_limited',
      `Your plan's ${claimName(blocked.claim)} is used up until it resets ${describeReset(blocked.resetAt, now)}; further requests would be billed as extra usage, which ccproxy is set to refuse (limits.block_overage). Retry after the reset, or set limits.block_overage = false to allow extra usage.`,
      { retryAfter: seconds, headers: { 'x-ccproxy-refused': 'overage' } },
    );
  }

  const midResponse = (err: unknown) => {
    const pe = upstream.connectionError(err, true);
    remember(pe);
    return pe;
  };

  /** The upstream said 2xx but sent something else than asked for (an HTML page from a middlebox…). */
  async function expect(res: UpstreamResponse, sse: boolean, ctx: RequestContext): Promise<void> {
    const type = header(res.headers, 'content-type') ?? '';
    const ok = sse ? type.startsWith('text/event-stream') : type.includes('json');
    if (ok) return;
    const text = await readLimited(res.body, 4096);
    ctx.capture?.upstreamData(text);
    const err = new ProxyError(
      'upstream',
      `The upstream ${upstream.baseUrl} answered HTTP ${res.status} with ${type || 'no content-type'} instead of ${sse ? 'an event stream' : 'JSON'}: ${snippet(text) || '(empty)'}`,
    );
    remember(err);
    throw err;
  }

  /** The upstream's answer as it is, for a client that speaks Anthropic. */
  const rawReply = (res: UpstreamResponse): Reply => ({
    type: 'raw',
    status: res.status,
    headers: clientHeaders(res.headers),
    body: res.body,
    mapError: midResponse,
  });

  /** A Messages request (or a token count) on its way up: the system prompt added, the model noted. */
  const prepare = (request: MessagesRequest, ctx: RequestContext) => {
    injectSystemPrompt(request, settings.claude.system_prompt_injection);
    ctx.record.upstreamModel = request.model;
  };

  return {
    mode: 'api',
    upstream,

    async send(request: MessagesRequest, ctx: RequestContext): Promise<Reply> {
      refuseOverage();
      prepare(request, ctx);
      const stream = request.stream === true;
      const res = await call(ctx, '/v1/messages', JSON.stringify(request));
      await expect(res, stream, ctx);
      if (ctx.passthrough) return rawReply(res); // captured as it is written (server/respond.ts)
      // Request capture reads the upstream's bytes beside the translation.
      const body = ctx.capture ? tapBody(res.body, ctx.capture) : res.body;
      if (stream)
        return {
          type: 'stream',
          events: decodeEvents(body, midResponse),
          headers: keepHeaders(res),
        };
      const message = (await readJson({ status: res.status, body }, upstream.baseUrl)) as Message;
      return { type: 'message', message, headers: keepHeaders(res) };
    },

    async countTokens(body: unknown, ctx: RequestContext): Promise<Reply> {
      const request = body as MessagesRequest;
      prepare(request, ctx);
      const res = await call(ctx, '/v1/messages/count_tokens', JSON.stringify(request));
      await expect(res, false, ctx);
      return rawReply(res);
    },

    async listModels(ctx): Promise<ModelInfo[]> {
      const ttl = settings.upstream.models_cache_s * 1000;
      if (models && Date.now() - models.at < ttl) return models.list;
      try {
        const res = await upstream.call({
          method: 'GET',
          path: '/v1/models?limit=1000',
          clientHeaders: {},
          signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]),
          log: ctx.log,
        });
        const doc = (await readJson(res, upstream.baseUrl)) as { data?: ModelInfo[] };
        if (!Array.isArray(doc.data) || doc.data.length === 0) throw new Error('empty model list');
        const list = doc.data.map((m) => ({
          id: m.id,
          display_name: m.display_name ?? m.id,
          created_at: m.created_at,
        }));
        models = { at: Date.now(), list };
        return list;
      } catch (err) {
        ctx.log.debug(
          { err: (err as Error).message },
          'upstream model list unavailable; using the built-in list',
        );
        return [...BUILTIN_MODELS];
      }
    },

    async status() {
      const s = tokens.state();
      return {
        mode: 'api',
        upstream: upstream.baseUrl,
        credentials: {
          found: s.source !== undefined,
          source: s.source ?? null,
          subscription_type: s.subscriptionType ?? null,
          expires_at: s.expiresAt ? new Date(s.expiresAt).toISOString() : null,
          relogin_required: s.reloginRequired,
          last_refresh_error: s.lastRefreshError ?? null,
        },
        last_upstream_error: lastError ?? null,
        rate_limits: deps.rateLimits?.snapshot() ?? null,
        limits: {
          block_overage: settings.limits.block_overage,
          // When block_overage is on and the plan's window is used up: until when requests are refused.
          overage_blocked_until: blockedUntil(),
        },
        concurrency: {
          max: limiter.max,
          in_flight: limiter.inFlight,
          queued: limiter.queued,
        },
      };
    },

    async health() {
      const s = tokens.state();
      if (!s.source) return { ok: false, detail: 'no subscription credentials found' };
      if (s.reloginRequired) return { ok: false, detail: 're-login required: run `ccproxy auth login`' };
      return { ok: true };
    },

    async close() {
      await upstream.close();
    },
  };
}

/** `five_hour` → `5-hour window`, as a person says it. */
function claimName(claim: string | undefined): string {
  switch (claim) {
    case 'five_hour':
      return '5-hour window';
    case 'seven_day':
      return '7-day window';
    case 'seven_day_opus':
      return '7-day Opus window';
    case 'seven_day_sonnet':
      return '7-day Sonnet window';
    case undefined:
      return 'usage window';
    default:
      return `${claim.replaceAll('_', ' ')} window`;
  }
}

/** Upstream response headers worth passing on when the body is re-rendered in another format. */
function keepHeaders(res: UpstreamResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) {
    if (v !== undefined && (k === 'request-id' || k.startsWith('anthropic-ratelimit-')))
      out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}
