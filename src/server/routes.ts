/**
 * The route table: every mode × format pair, registered by one loop. Each handler tells the story
 * of one request — parse, send to the backend, write the answer in the client's format.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RequestSignal } from '../abort.ts';
import type { Backend, Mode } from '../backends/backend.ts';
import { ProxyError } from '../errors.ts';
import { validateMessagesRequest } from '../formats/anthropic/frontend.ts';
import type { Format, FormatOptions, Frontend } from '../formats/frontend.ts';
import type { ModelInfo } from '../formats/models.ts';
import type { Lifecycle } from '../observability/lifecycle.ts';
import { toTokenUsage } from '../observability/usage.ts';
import { rawBodyOf } from './body.ts';
import { failureOf, type LiveContext, openContext } from './context.ts';
import { toProxyError, writeError } from './errors.ts';
import { pipeRaw, pumpStream, writeJson } from './respond.ts';

export interface RouteDeps {
  backends: Partial<Record<Mode, Backend>>;
  frontends: readonly Frontend[];
  formatOptions: FormatOptions;
  lifecycle: Lifecycle;
  /** Render a model list for clients that did not send `anthropic-version` (OpenAI shape). */
  renderOpenAIModels: (models: ModelInfo[]) => unknown;
  /** Per-mode time limit for a whole request, in ms (0 = none), and what to say when it is hit. */
  timeout: (mode: Mode) => { ms: number; message: string };
  live: Set<RequestSignal>;
  /** observability.capture is on: each request is captured, bodies kept up to `maxBytes`. */
  capture?: { maxBytes: number };
}

export interface RouteConfig {
  format: Format;
  mode?: Mode;
}

/** Where a request names its SDK session: path `/sdk/{id}/…` or the `x-ccproxy-session-id` header. */
function sessionIdOf(req: FastifyRequest): string | undefined {
  const fromPath = (req.params as { sessionId?: string } | undefined)?.sessionId;
  const fromHeader = req.headers['x-ccproxy-session-id'];
  return fromPath || (typeof fromHeader === 'string' && fromHeader ? fromHeader : undefined);
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

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { backends, frontends, formatOptions, lifecycle } = deps;
  const paths = new Map<string, { methods: Set<string>; config: RouteConfig }>();
  const add = (
    method: 'GET' | 'POST',
    url: string,
    config: RouteConfig,
    handler: (req: FastifyRequest, reply: FastifyReply) => unknown,
  ) => {
    app.route({ method, url, config, handler });
    const entry = paths.get(url) ?? { methods: new Set(), config };
    entry.methods.add(method);
    paths.set(url, entry);
  };

  const context = (req: FastifyRequest, reply: FastifyReply, mode: Mode, format: Format): LiveContext => {
    const t = deps.timeout(mode);
    return openContext({
      req: req.raw,
      res: reply.raw,
      requestId: req.id,
      mode,
      format,
      route: req.routeOptions.url ?? 'unknown',
      lifecycle,
      log: req.log as unknown as Logger,
      timeoutMs: t.ms,
      timeoutMessage: t.message,
      live: deps.live,
      capture: deps.capture && { maxBytes: deps.capture.maxBytes, body: rawBodyOf(req.raw) },
    });
  };

  const fail = (frontend: Frontend, reply: FastifyReply, ctx: LiveContext, err: unknown) => {
    const why = failureOf(err, ctx.signal);
    if (ctx.record.clientAborted || reply.raw.destroyed) return;
    const pe = toProxyError(why);
    if (pe.kind === 'internal') ctx.log.error({ err: why }, 'unexpected error');
    ctx.record.errorKind = pe.kind;
    ctx.record.status = pe.status;
    const written = writeError(reply.raw, frontend.renderError(pe));
    if (written !== undefined) ctx.capture?.responseData(written);
  };

  const usage = (ctx: LiveContext) => () => lifecycle.emit('usage', ctx.record);

  for (const [mode, backend] of Object.entries(backends) as Array<[Mode, Backend]>) {
    const prefixes = mode === 'sdk' ? [`/${mode}`, `/${mode}/:sessionId`] : [`/${mode}`];
    const anthropic = frontends.find((f) => f.format === 'anthropic')!;

    for (const prefix of prefixes) {
      for (const frontend of frontends) {
        add('POST', prefix + frontend.path, { format: frontend.format, mode }, async (req, reply) => {
          reply.hijack();
          const ctx = context(req, reply, mode, frontend.format);
          try {
            const extras = takeExtras(req.body);
            const parsed = frontend.parseRequest(req.body, formatOptions);
            ctx.record.clientModel = parsed.clientModel;
            ctx.record.stream = parsed.stream;
            ctx.passthrough = frontend.format === 'anthropic';
            ctx.sessionId = mode === 'sdk' ? sessionIdOf(req) : undefined;
            ctx.extras = extras;
            // What the translation made, before the backend adds its own changes (for the trace's diff).
            if (ctx.capture && frontend.format !== 'anthropic')
              ctx.capture.translated = { ...parsed.request };
            const result = await backend.send(parsed.request, ctx);
            const meta = { requestId: ctx.requestId, created: Math.floor(ctx.record.startedAt / 1000) };
            if (result.type === 'raw') await pipeRaw(reply.raw, result, ctx, usage(ctx));
            else if (result.type === 'stream') {
              const renderer = frontend.streamRenderer(parsed, meta, formatOptions);
              await pumpStream(reply.raw, result.events, renderer, ctx, result.headers, usage(ctx));
            } else {
              ctx.record.status = 200;
              ctx.record.stopReason = result.message.stop_reason ?? undefined;
              ctx.record.upstreamModel ??= result.message.model;
              const body = frontend.renderMessage(result.message, parsed, meta, formatOptions);
              ctx.firstByte();
              const written = writeJson(reply.raw, 200, body, result.headers);
              ctx.capture?.responseData(written);
              ctx.record.usage = toTokenUsage(result.message.usage);
              lifecycle.emit('usage', ctx.record);
            }
          } catch (err) {
            fail(frontend, reply, ctx, err);
          }
        });
      }

      add('POST', `${prefix}/v1/messages/count_tokens`, { format: 'anthropic', mode }, async (req, reply) => {
        reply.hijack();
        const ctx = context(req, reply, mode, 'anthropic');
        try {
          if (!backend.countTokens) {
            throw new ProxyError(
              'not_found',
              `count_tokens is answered in API mode only: use /api/v1/messages/count_tokens.`,
            );
          }
          const body = validateMessagesRequest(req.body, { requireMaxTokens: false });
          ctx.record.clientModel = body.model;
          ctx.passthrough = true;
          const result = await backend.countTokens(body, ctx);
          if (result.type === 'raw') await pipeRaw(reply.raw, result, ctx, () => {});
          else if (result.type === 'message') {
            const written = writeJson(reply.raw, 200, result.message);
            ctx.capture?.responseData(written);
          }
        } catch (err) {
          fail(anthropic, reply, ctx, err);
        }
      });

      add('GET', `${prefix}/v1/models`, { format: 'openai', mode }, (req) => listModels(req, backend));
    }
    add('GET', `/${mode}/models`, { format: 'openai', mode }, (req) => listModels(req, backend));
    add('GET', `/${mode}/status`, { format: 'anthropic', mode }, () => backend.status());
  }

  /** Both SDKs call `/v1/models`: Anthropic clients send `anthropic-version`, OpenAI ones don't. */
  async function listModels(req: FastifyRequest, backend: Backend) {
    const models = await backend.listModels({
      signal: AbortSignal.timeout(15_000),
      log: req.log as unknown as Logger,
    });
    if (req.headers['anthropic-version']) {
      return {
        data: models.map((m) => ({
          type: 'model',
          id: m.id,
          display_name: m.display_name,
          created_at: m.created_at,
        })),
        has_more: false,
        first_id: models[0]?.id ?? null,
        last_id: models[models.length - 1]?.id ?? null,
      };
    }
    return deps.renderOpenAIModels(models);
  }

  // A known path with the wrong method is a 405 that says which method to use.
  for (const [url, { methods, config }] of paths) {
    const allow = [...methods].join(', ');
    const others = (['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const).filter((m) => !methods.has(m));
    app.route({
      method: others,
      url,
      config,
      handler: async (req) => {
        throw new ProxyError(
          'method_not_allowed',
          `Method ${req.method} is not allowed on ${req.url.split('?')[0]}; use ${allow}.`,
          {
            headers: { allow },
          },
        );
      },
    });
  }
}
