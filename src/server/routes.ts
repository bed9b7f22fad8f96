/**
 * The route table: every mode × format pair, made by one loop. Each proxied handler tells the story
 * of one request — parse, send to the backend, write the answer in the client's format. The proxied
 * POST endpoints are not Fastify routes: the front door (front-door.ts) finds them in the table this
 * returns and calls them with Node's own request and response. Model lists, status and the 405s for
 * a known path's other methods are Fastify routes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RequestSignal } from '../abort.ts';
import type { Backend, Mode } from '../backends/backend.ts';
import { ProxyError } from '../errors.ts';
import { validateMessagesRequest } from '../formats/anthropic/frontend.ts';
import type { Format, FormatOptions, Frontend } from '../formats/frontend.ts';
import { findModel, type ModelInfo } from '../formats/models.ts';
import type { Lifecycle } from '../observability/lifecycle.ts';
import { toTokenUsage } from '../observability/usage.ts';
import { rawBodyOf } from './body.ts';
import { failureOf, type LiveContext, openContext } from './context.ts';
import { toProxyError, writeError } from './errors.ts';
import { HEAD_TOO } from './health.ts';
import { pipeRaw, pumpStream, writeJson } from './respond.ts';

export interface RouteDeps {
  backends: Partial<Record<Mode, Backend>>;
  frontends: readonly Frontend[];
  formatOptions: FormatOptions;
  lifecycle: Lifecycle;
  /** Render a model list for clients that did not send `anthropic-version` (OpenAI shape). */
  renderOpenAIModels: (models: ModelInfo[]) => unknown;
  /** One model in OpenAI's shape: a listed one, or a name the model rules map; else undefined. */
  findOpenAIModel: (models: ModelInfo[], id: string) => unknown;
  /** Per-mode time limit for a whole request, in ms (0 = none), and what to say when it is hit. */
  timeout: (mode: Mode) => { ms: number; message: string };
  live: Set<RequestSignal>;
  /** observability.capture is on: each request is captured, bodies kept up to `maxBytes`. */
  capture?: { maxBytes: number };
}

export interface RouteConfig {
  format: Format;
  mode?: Mode;
  /** Both SDKs share the path (the model list): a request with `anthropic-version` is Anthropic's. */
  anthropicWhenVersioned?: boolean;
}

/** A request to a proxied endpoint, admitted and its body read (front-door.ts). */
export interface ProxiedRequest {
  req: IncomingMessage;
  res: ServerResponse;
  id: string;
  log: Logger;
  body: unknown;
  /** The `{id}` of a `/sdk/{id}/…` path. */
  sessionId?: string;
}

export interface ProxiedRoute {
  mode: Mode;
  format: Format;
  /** The route as the access log names it: `/sdk/:sessionId/v1/messages`. */
  url: string;
  /** Answers the request; never rejects (a failure is written to the client in its format). */
  handle(p: ProxiedRequest): Promise<void>;
}

/** Find-my-way's default: a longer path parameter is no match. */
const MAX_PARAM_LENGTH = 100;

/** The proxied POST endpoints, found by exact path (a trailing slash and doubled ones ignored) or `/{mode}/{session}/…`. */
export class ProxiedRoutes {
  private readonly exact = new Map<string, ProxiedRoute>();
  /** Keyed by `/{mode}` + the rest of the path after the session segment. */
  private readonly withSession = new Map<string, ProxiedRoute>();

  add(route: ProxiedRoute, prefix: string, suffix: string): void {
    if (prefix.includes(':')) this.withSession.set(`/${route.mode}${suffix}`, route);
    else this.exact.set(prefix + suffix, route);
  }

  find(url: string): { route: ProxiedRoute; sessionId?: string } | undefined {
    const q = url.indexOf('?');
    let path = q === -1 ? url : url.slice(0, q);
    // A base URL ending in `/` joined naively (`/api//v1/messages`): as Fastify's routes, and nginx.
    if (path.includes('//')) path = path.replace(/\/{2,}/g, '/');
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    const route = this.exact.get(path);
    if (route) return { route };
    const second = path.indexOf('/', 1);
    const third = second === -1 ? -1 : path.indexOf('/', second + 1);
    if (third === -1 || third === second + 1 || third - second - 1 > MAX_PARAM_LENGTH) return undefined;
    const session = this.withSession.get(path.slice(0, second) + path.slice(third));
    if (!session) return undefined;
    try {
      return { route: session, sessionId: decodeURIComponent(path.slice(second + 1, third)) };
    } catch {
      return undefined; // malformed percent-encoding: Fastify's 404
    }
  }
}

/** Where a request names its SDK session: path `/sdk/{id}/…` or the `x-ccproxy-session-id` header. */
function sessionIdOf(p: ProxiedRequest): string | undefined {
  const fromHeader = p.req.headers['x-ccproxy-session-id'];
  return p.sessionId || (typeof fromHeader === 'string' && fromHeader ? fromHeader : undefined);
}

/** Per-request SDK overrides travel in a namespaced body field that the upstream must never see. */
function takeExtras(body: unknown): Record<string, unknown> | undefined {
  if (!body || typeof body !== 'object' || !('ccproxy' in body)) return undefined;
  const extras = (body as { ccproxy: unknown }).ccproxy;
  delete (body as { ccproxy?: unknown }).ccproxy;
  if (extras === null || typeof extras !== 'object' || Array.isArray(extras)) {
    throw ProxyError.invalid('ccproxy: expected an object of SDK-mode overrides.', 'ccproxy');
  }
  return extras as Record<string, unknown>;
}

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): ProxiedRoutes {
  const { backends, frontends, formatOptions, lifecycle } = deps;
  const proxied = new ProxiedRoutes();
  const paths = new Map<string, { methods: Set<string>; config: RouteConfig }>();
  const known = (method: 'GET' | 'POST', url: string, config: RouteConfig) => {
    const entry = paths.get(url) ?? { methods: new Set(), config };
    entry.methods.add(method);
    paths.set(url, entry);
  };
  const get = (url: string, config: RouteConfig, handler: (req: FastifyRequest) => unknown) => {
    app.route({ method: 'GET', url, config, handler, ...HEAD_TOO });
    known('GET', url, config);
  };
  const post = (
    mode: Mode,
    format: Format,
    prefix: string,
    suffix: string,
    handle: (p: ProxiedRequest, ctx: LiveContext) => Promise<void>,
  ) => {
    const url = prefix + suffix;
    proxied.add(
      { mode, format, url, handle: async (p) => handle(p, context(p, mode, format, url)) },
      prefix,
      suffix,
    );
    known('POST', url, { format, mode });
  };

  const context = (p: ProxiedRequest, mode: Mode, format: Format, route: string): LiveContext => {
    const t = deps.timeout(mode);
    return openContext({
      req: p.req,
      res: p.res,
      requestId: p.id,
      mode,
      format,
      route,
      lifecycle,
      log: p.log,
      timeoutMs: t.ms,
      timeoutMessage: t.message,
      live: deps.live,
      capture: deps.capture && { maxBytes: deps.capture.maxBytes, body: rawBodyOf(p.req) },
    });
  };

  const fail = (frontend: Frontend, res: ServerResponse, ctx: LiveContext, err: unknown) => {
    const why = failureOf(err, ctx.signal);
    if (ctx.record.clientAborted || res.destroyed) return;
    const pe = toProxyError(why);
    if (pe.kind === 'internal') ctx.log.error({ err: why }, 'unexpected error');
    ctx.record.errorKind = pe.kind;
    ctx.record.status = pe.status;
    const written = writeError(res, frontend.renderError(pe));
    if (written !== undefined) ctx.capture?.responseData(written);
  };

  const usage = (ctx: LiveContext) => () => lifecycle.emit('usage', ctx.record);

  const shared: RouteConfig = { format: 'openai', anthropicWhenVersioned: true };
  for (const [mode, backend] of Object.entries(backends) as Array<[Mode, Backend]>) {
    const prefixes = mode === 'sdk' ? [`/${mode}`, `/${mode}/:sessionId`] : [`/${mode}`];
    const anthropic = frontends.find((f) => f.format === 'anthropic')!;

    for (const prefix of prefixes) {
      for (const frontend of frontends) {
        post(mode, frontend.format, prefix, frontend.path, async (p, ctx) => {
          const res = p.res;
          try {
            const extras = takeExtras(p.body);
            const parsed = frontend.parseRequest(p.body, formatOptions);
            ctx.record.clientModel = parsed.clientModel;
            ctx.record.stream = parsed.stream;
            ctx.passthrough = frontend.format === 'anthropic';
            ctx.sessionId = mode === 'sdk' ? sessionIdOf(p) : undefined;
            ctx.extras = extras;
            // What the translation made, before the backend adds its own changes (for the trace's diff).
            if (ctx.capture && frontend.format !== 'anthropic')
              ctx.capture.translated = { ...parsed.request };
            const result = await backend.send(parsed.request, ctx);
            const meta = { requestId: ctx.requestId, created: Math.floor(ctx.record.startedAt / 1000) };
            if (result.type === 'raw') await pipeRaw(res, result, ctx, usage(ctx));
            else if (result.type === 'stream') {
              const renderer = frontend.streamRenderer(parsed, meta, formatOptions);
              await pumpStream(res, result.events, renderer, ctx, result.headers, usage(ctx));
            } else {
              ctx.record.status = 200;
              ctx.record.stopReason = result.message.stop_reason ?? undefined;
              ctx.record.upstreamModel ??= result.message.model;
              const body = frontend.renderMessage(result.message, parsed, meta, formatOptions);
              ctx.firstByte();
              const written = writeJson(res, 200, body, result.headers);
              ctx.capture?.responseData(written);
              ctx.record.usage = toTokenUsage(result.message.usage);
              lifecycle.emit('usage', ctx.record);
            }
          } catch (err) {
            fail(frontend, res, ctx, err);
          }
        });
      }

      post(mode, 'anthropic', prefix, '/v1/messages/count_tokens', async (p, ctx) => {
        try {
          if (!backend.countTokens) {
            throw new ProxyError(
              'not_found',
              `count_tokens is answered in API mode only: use /api/v1/messages/count_tokens.`,
            );
          }
          const body = validateMessagesRequest(p.body, { requireMaxTokens: false });
          ctx.record.clientModel = body.model;
          ctx.passthrough = true;
          const result = await backend.countTokens(body, ctx);
          if (result.type === 'raw') await pipeRaw(p.res, result, ctx, () => {});
          else if (result.type === 'message') {
            const written = writeJson(p.res, 200, result.message);
            ctx.capture?.responseData(written);
          }
        } catch (err) {
          fail(anthropic, p.res, ctx, err);
        }
      });

      get(`${prefix}/v1/models`, { ...shared, mode }, (req) => listModels(req, backend));
      get(`${prefix}/v1/models/:id`, { ...shared, mode }, (req) => retrieveModel(req, backend));
    }
    get(`/${mode}/models`, { ...shared, mode }, (req) => listModels(req, backend));
    get(`/${mode}/models/:id`, { ...shared, mode }, (req) => retrieveModel(req, backend));
    get(`/${mode}/status`, { format: 'anthropic', mode }, () => backend.status());
  }

  const modelsOf = (req: FastifyRequest, backend: Backend) =>
    backend.listModels({ signal: AbortSignal.timeout(15_000), log: req.log as unknown as Logger });

  /** Both SDKs call `/v1/models`: Anthropic clients send `anthropic-version`, OpenAI ones don't. */
  async function listModels(req: FastifyRequest, backend: Backend) {
    const models = await modelsOf(req, backend);
    if (req.headers['anthropic-version']) {
      return {
        data: models.map(anthropicModel),
        has_more: false,
        first_id: models[0]?.id ?? null,
        last_id: models[models.length - 1]?.id ?? null,
      };
    }
    return deps.renderOpenAIModels(models);
  }

  /**
   * `GET /v1/models/{id}` (`client.models.retrieve(id)` in both SDKs): one entry of the same list
   * each client's `list()` gets, or a 404 naming the model.
   */
  async function retrieveModel(req: FastifyRequest, backend: Backend) {
    const { id } = req.params as { id: string };
    const models = await modelsOf(req, backend);
    if (req.headers['anthropic-version']) {
      const found = findModel(models, id);
      if (found) return anthropicModel(found);
      throw new ProxyError('not_found', `model: ${id}`, { param: 'model' });
    }
    const found = deps.findOpenAIModel(models, id);
    if (found) return found;
    throw new ProxyError(
      'not_found',
      `The model '${id}' does not exist: GET /v1/models lists the Claude models and the names ccproxy maps to them (openai.model_map).`,
      { param: 'model' },
    );
  }

  // A known path with the wrong method is a 405 that says which method to use.
  for (const [url, { methods, config }] of paths) {
    const allow = [...methods].join(', ');
    // HEAD is answered wherever GET is (as its status, without the body).
    const others = (['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const).filter(
      (m) => !methods.has(m) && !(m === 'HEAD' && methods.has('GET')),
    );
    app.route({
      method: others,
      url,
      config,
      // Refused before the body is read: an empty or broken body is not what is wrong.
      onRequest: async (req) => {
        throw new ProxyError(
          'method_not_allowed',
          `Method ${req.method} is not allowed on ${req.url.split('?')[0]}; use ${allow}.`,
          {
            headers: { allow },
          },
        );
      },
      handler: async () => undefined,
    });
  }
  return proxied;
}

const anthropicModel = (m: ModelInfo) => ({
  type: 'model',
  id: m.id,
  display_name: m.display_name,
  created_at: m.created_at,
});
