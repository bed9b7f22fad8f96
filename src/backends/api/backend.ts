/**
 * API mode: a reverse proxy to the Anthropic API on the subscription's OAuth token. Anthropic
 * clients get the upstream's bytes untouched (a `raw` reply); other formats get parsed events.
 */
import type { Logger } from 'pino';
import { toAbortSignal } from '../../abort.ts';
import type { Account } from '../../accounts/account.ts';
import {
  type Accounts,
  conversationKey,
  hasSignedThinking,
  isSignatureRejection,
  type Lease,
  stripSignedThinking,
} from '../../accounts/index.ts';
import { jsonBody } from '../../body-bytes.ts';
import type { Settings } from '../../config/schema.ts';
import { ProxyError } from '../../errors.ts';
import { decodeEvents, snippet } from '../../formats/anthropic/sse.ts';
import type { Message, MessagesRequest } from '../../formats/anthropic/types.ts';
import { BUILTIN_MODELS, type ModelInfo } from '../../formats/models.ts';
import type { RequestBody } from '../../http-client.ts';
import { tapBody } from '../../observability/capture/recorder.ts';
import type { Backend, Reply, RequestContext } from '../backend.ts';
import { clientHeaders } from './headers.ts';
import { Limiter, QueueTimeout, type Release } from './limiter.ts';
import { describeReset } from './rate-limits.ts';
import { injectSystemPrompt } from './system-prompt.ts';
import { header, readJson, readLimited, Upstream, type UpstreamResponse } from './upstream.ts';

export interface ApiBackendDeps {
  settings: Settings;
  /** Whose credentials answer, and what each answer teaches about them (rate-limit readings…). */
  accounts: Accounts;
  log: Logger;
  /** For the proxy variables (HTTPS_PROXY, NO_PROXY…); default: ccproxy's own environment. */
  env?: Record<string, string | undefined>;
}

/** A 429 that says the plan's window is used up: with several accounts, not retried but moved on. */
const windowUsedUp = (status: number, headers: Record<string, string | string[] | undefined>) =>
  status === 429 && headers['anthropic-ratelimit-unified-status'] === 'rejected';

export interface ApiBackend extends Backend {
  upstream: Upstream;
}

export function createApiBackend(deps: ApiBackendDeps): ApiBackend {
  const { settings, accounts } = deps;
  const upstream = new Upstream(settings, undefined, deps.env);
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
  async function call(
    ctx: RequestContext,
    path: string,
    body: RequestBody,
    lease: Lease,
  ): Promise<UpstreamResponse> {
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
        onHeaders: (h) => lease.onHeaders(h),
        credential: lease.account.credential,
        giveUp: accounts.several ? windowUsedUp : undefined,
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

  const blockedUntil = (account: Account | undefined): string | null => {
    const b = settings.limits.block_overage ? account?.limits.overageUntil() : undefined;
    return b ? new Date(b.resetAt * 1000).toISOString() : null;
  };

  /**
   * limits.block_overage: the account's readings say the plan's window is used up and the next
   * request would be billed as extra usage, so refuse it until the window resets (which lifts this
   * at once). With several accounts the refusal moves the request to the next account.
   */
  function refuseOverage(account: Account): void {
    if (!settings.limits.block_overage || account.billing === 'api_key') return;
    const now = account.limits.now();
    const blocked = account.limits.overageUntil(now);
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

  /** What goes upstream: the client's own bytes, with what ccproxy changed patched in (body-bytes.ts). */
  const bodyOf = (request: MessagesRequest): RequestBody => jsonBody(request);

  /** The upstream's answer as it is, for a client that speaks Anthropic. */
  const rawReply = (res: UpstreamResponse): Reply => {
    const headers = clientHeaders(res.headers);
    // The bytes pass unchanged, so a length the upstream gave holds for the client too (a JSON
    // answer keeps its Content-Length instead of being re-framed as chunks).
    const length = header(res.headers, 'content-length');
    if (length !== undefined && !res.headers['content-encoding']) headers['content-length'] = length;
    return { type: 'raw', status: res.status, headers, body: res.body, mapError: midResponse };
  };

  /**
   * One request's way up, trying accounts until one answers: the account's credential on the call,
   * Claude Code's identity in the system prompt for a subscription (an API key needs none), history
   * made acceptable when the conversation moves to another account. Resolves with the 2xx response;
   * a failure that is the account's (a used-up window, a rejected credential, a permission error)
   * tries the next account, anything else is thrown as it is.
   */
  async function answer(
    request: MessagesRequest,
    ctx: RequestContext,
    path: string,
  ): Promise<UpstreamResponse> {
    ctx.record.upstreamModel = request.model;
    const key = accounts.several ? conversationKey(request, ctx.headers, ctx.sessionId) : undefined;
    const tried = new Set<Account>();
    const system = request.system;
    let stripped = false;
    const strip = (lease: Lease, why: string) => {
      const s = stripSignedThinking(request);
      stripped = true;
      ctx.log.info({ account: lease.account.name, ...s }, `dropped the history's thinking blocks: ${why}`);
    };
    let last: unknown;
    for (;;) {
      const lease = accounts.lease(key, tried);
      if (!lease) throw last;
      tried.add(lease.account);
      ctx.record.account = lease.account.name;
      ctx.record.billing = lease.billing;
      try {
        refuseOverage(lease.account);
        if (lease.choice.moved && !stripped && hasSignedThinking(request))
          strip(lease, 'the conversation moved to another account');
        request.system = system;
        if (lease.account.credential.scheme === 'oauth')
          injectSystemPrompt(request, settings.claude.system_prompt_injection);
        let res: UpstreamResponse;
        try {
          res = await call(ctx, path, bodyOf(request), lease);
        } catch (err) {
          // Thinking signed for another account (a conversation this instance did not see begin):
          // once without it, on the same account.
          if (!accounts.several || stripped || !signatureRejected(err) || !hasSignedThinking(request))
            throw err;
          strip(lease, 'the upstream refused their signatures');
          res = await call(ctx, path, bodyOf(request), lease);
        }
        lease.succeeded();
        return res;
      } catch (err) {
        if (ctx.signal.aborted || !lease.failed(err)) throw err;
        last = err;
        ctx.record.retries++;
        ctx.record.retryReasons = [...(ctx.record.retryReasons ?? []), 'failover'];
        ctx.log.warn(
          { account: lease.account.name, status: (err as ProxyError).status, why: (err as Error).message },
          'account cannot answer; looking for another',
        );
      } finally {
        lease.end();
      }
    }
  }

  return {
    mode: 'api',
    upstream,

    async send(request: MessagesRequest, ctx: RequestContext): Promise<Reply> {
      const stream = request.stream === true;
      const res = await answer(request, ctx, '/v1/messages');
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
      const message = await readJson({ status: res.status, body }, upstream.baseUrl);
      if (!isMessage(message)) {
        const err = new ProxyError(
          'upstream',
          `The upstream ${upstream.baseUrl} answered HTTP ${res.status} with JSON that is not a Message: ${snippet(JSON.stringify(message))}`,
        );
        remember(err);
        throw err;
      }
      return { type: 'message', message, headers: keepHeaders(res) };
    },

    async countTokens(body: unknown, ctx: RequestContext): Promise<Reply> {
      const res = await answer(body as MessagesRequest, ctx, '/v1/messages/count_tokens');
      await expect(res, false, ctx);
      return rawReply(res);
    },

    async listModels(ctx): Promise<ModelInfo[]> {
      const ttl = settings.upstream.models_cache_s * 1000;
      if (models && Date.now() - models.at < ttl) return models.list;
      let lease: Lease | undefined;
      try {
        lease = accounts.lease(undefined, new Set());
        const res = await upstream.call({
          method: 'GET',
          path: '/v1/models?limit=1000',
          clientHeaders: {},
          signal: AbortSignal.any([toAbortSignal(ctx.signal), AbortSignal.timeout(10_000)]),
          log: ctx.log,
          credential: lease?.account.credential,
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
      } finally {
        lease?.end();
      }
    },

    async status() {
      // The first account (the only one without [[accounts]]) is what the older fields describe.
      const first = accounts.list[0];
      const c = first?.credential.info();
      return {
        mode: 'api',
        upstream: upstream.baseUrl,
        credentials: {
          found: c?.source != null,
          source: c?.source ?? null,
          subscription_type: c?.subscription_type ?? null,
          expires_at: c?.expires_at ?? null,
          relogin_required: c?.relogin_required ?? false,
          last_refresh_error: c?.last_refresh_error ?? null,
        },
        accounts: accounts.views(),
        last_upstream_error: lastError ?? null,
        rate_limits: first?.limits.snapshot() ?? null,
        limits: {
          block_overage: settings.limits.block_overage,
          // When block_overage is on and the plan's window is used up: until when requests are refused.
          overage_blocked_until: blockedUntil(first),
          spill_over: settings.accounts.spill_over,
          spill_over_daily_usd: settings.limits.spill_over_daily_usd,
          spill_over_spent_usd: accounts.spentToday(),
        },
        concurrency: {
          max: limiter.max,
          in_flight: limiter.inFlight,
          queued: limiter.queued,
        },
      };
    },

    async health() {
      return accounts.health();
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

/** What the translators need of a Messages answer: its type and a content list (the rest is optional). */
function isMessage(v: unknown): v is Message {
  const m = v as Partial<Message> | null;
  return typeof m === 'object' && m !== null && m.type === 'message' && Array.isArray(m.content);
}

function signatureRejected(err: unknown): boolean {
  return err instanceof ProxyError && isSignatureRejection(err.status, err.upstream?.message);
}
