/**
 * Assembles the proxy: Fastify, the guard, body parsing, the route table (mode × format), health
 * and status, and observability. `buildApp` is what `ccproxy serve` and the tests start.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { RequestSignal } from '../abort.ts';
import { Accounts } from '../accounts/index.ts';
import { registerAccountRoutes } from '../accounts/routes.ts';
import { registerOAuthRoutes } from '../auth/oauth-routes.ts';
import { TokenManager } from '../auth/token-manager.ts';
import { createApiBackend } from '../backends/api/backend.ts';
import type { Backend, Mode } from '../backends/backend.ts';
import { createSdkBackend } from '../backends/sdk/index.ts';
import type { Settings } from '../config/schema.ts';
import { ProxyError } from '../errors.ts';
import { anthropicFrontend } from '../formats/anthropic/frontend.ts';
import { FORMATS, type Format, type FormatOptions, type Frontend } from '../formats/frontend.ts';
import { modelRules } from '../formats/models.ts';
import { findOpenAIModel, openaiFrontend, renderOpenAIModels } from '../formats/openai/index.ts';
import { responsesFrontend } from '../formats/responses/index.ts';
import { infoLine } from '../logging.ts';
import {
  createObservability,
  enabledPieces,
  type Observability,
  PUBLIC_DASHBOARD_PATHS,
} from '../observability/index.ts';
import { Lifecycle } from '../observability/lifecycle.ts';
import { openStorage, type Storage } from '../storage/index.ts';
import { urlPassword } from '../storage/url.ts';
import { VERSION } from '../version.ts';
import { bodyReader, continueWhenWanted, rawBodyOf, registerJsonBody } from './body.ts';
import { capConnections, createConnections, timeoutOptions } from './connections.ts';
import { openContext } from './context.ts';
import { formatForPath, toProxyError, writeError } from './errors.ts';
import { frontDoor } from './front-door.ts';
import { createGuard, PUBLIC_PATHS } from './guard.ts';
import { HEAD_TOO, registerHealth } from './health.ts';
import { notOffered } from './not-found.ts';
import { type ProxiedRoute, type RouteConfig, registerRoutes } from './routes.ts';

export interface AppOptions {
  settings: Settings;
  log: Logger;
  /** What credential lookups read (process.env over `.env`). */
  env?: Record<string, string | undefined>;
  lifecycle?: Lifecycle;
  tokens?: TokenManager;
  /** Replace the backends (tests); defaults to API and SDK mode. */
  backends?: Partial<Record<Mode, Backend>>;
  /**
   * The clock time-based state is judged by (rate-limit resets, warm-pool idleness), in epoch ms;
   * default Date.now. Tests move it instead of waiting for a window to pass.
   */
  clock?: () => number;
  /** Where the dashboard bundle is (tests build their own); default dist/dashboard. */
  dashboardDir?: string;
}

export interface ProxyApp {
  app: FastifyInstance;
  settings: Settings;
  lifecycle: Lifecycle;
  /** The usual credentials (the one account when none are configured). */
  tokens: TokenManager;
  /** The accounts requests are answered with, their state and readings. */
  accounts: Accounts;
  backends: Partial<Record<Mode, Backend>>;
  /** The access log's database and the state instances share (storage.url; in-process by default). */
  storage: Storage;
  /** End every in-flight request now, each with `reason` rendered in its client's format. */
  abortAll(reason: Error): void;
  /** Listen on the configured host and port; resolves with the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** The frontend of each format (the compiler wants one for every entry of FORMATS). */
const FRONTEND_OF: { readonly [F in Format]: Frontend } = {
  anthropic: anthropicFrontend as Frontend,
  openai: openaiFrontend as Frontend,
  responses: responsesFrontend as Frontend,
};

/** Every client format the proxy speaks, in FORMATS' order; each is served under every mode prefix. */
export const FRONTENDS: readonly Frontend[] = FORMATS.map((f) => FRONTEND_OF[f]);

/** Fastify's schema compilers for routes that declare no schema: never called, and ajv never loads. */
const noSchemas = (): never => {
  throw new Error('ccproxy routes declare no JSON schema; add a compiler before adding one');
};
const NO_SCHEMA_COMPILERS = { buildValidator: () => noSchemas, buildSerializer: () => noSchemas };

/**
 * A client's own request id is kept when it is short and plain; otherwise we make one: `req_` and 32
 * hex digits, 16 random for this process and a count (a UUID a request cost ~2 µs).
 */
function requestIdOf(value: unknown, proxyToken: string | undefined): string {
  if (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= 128 &&
    /^[\w.:-]+$/.test(value) &&
    // Ids are stored and shown as they are: one that holds a credential is not taken.
    !value.includes('sk-ant-') &&
    !(proxyToken && value.includes(proxyToken))
  )
    return value;
  return `req_${ID_PREFIX}${(++idCount).toString(16).padStart(16, '0')}`;
}
const ID_PREFIX = randomBytes(8).toString('hex');
let idCount = 0;

export async function buildApp(opts: AppOptions): Promise<ProxyApp> {
  const { settings, log } = opts;
  const env = opts.env ?? process.env;
  const lifecycle = opts.lifecycle ?? new Lifecycle();
  // First: what later parts share across instances (the access log, and account state) lives here.
  const storage = await openStorage(settings, log);
  // Observability is created below; refreshes that happen before it exists are simply not counted.
  let obs: Observability | undefined;
  const onRefresh = (r: Parameters<Observability['tokenRefresh']>[0]) => obs?.tokenRefresh(r);
  const tokens = opts.tokens ?? new TokenManager({ settings, env, log, onRefresh });
  let accounts: Accounts;
  try {
    accounts = await Accounts.create({
      settings,
      env,
      log,
      tokens,
      shared: storage.shared,
      lifecycle,
      now: opts.clock,
      onRefresh,
    });
  } catch (err) {
    await storage.close();
    throw err;
  }
  const backends: Partial<Record<Mode, Backend>> = opts.backends ?? {
    api: createApiBackend({ settings, accounts, log, env: { ...process.env, ...env } }),
    // The agents need a whole environment (PATH, HOME), not just the credential variables.
    sdk: createSdkBackend({
      settings,
      log,
      env: { ...process.env, ...env },
      tokens,
      accounts,
      clock: opts.clock,
    }),
  };
  const frontends = FRONTENDS;
  const formatOptions: FormatOptions = {
    modelRules: modelRules(settings.openai.model_map),
    defaultMaxTokens: settings.openai.default_max_tokens,
    reasoningOutput: settings.openai.reasoning_output,
    debug: (msg) => log.debug(msg),
  };

  const bodyTimeoutMs = settings.server.body_timeout_s * 1000;
  const timeouts = timeoutOptions(bodyTimeoutMs);
  const renderFor = (format: Format) => FRONTEND_OF[format];
  const formatOf = (req: FastifyRequest): Format => {
    const config = req.routeOptions?.config as unknown as RouteConfig | undefined;
    if (config?.anthropicWhenVersioned && req.headers['anthropic-version']) return 'anthropic';
    return config?.format ?? formatForPath(req.url, frontends);
  };
  const connections = createConnections(bodyTimeoutMs, (pe, url) =>
    renderFor(url ? formatForPath(url, frontends) : 'anthropic').renderError(pe),
  );

  // The server's listener is the front door once the routes are in (front-door.ts): proxied POSTs
  // skip Fastify, everything else is handed to Fastify's own listener.
  let listener: RequestListener | undefined;
  let fastifyListener: RequestListener | undefined;
  const app = Fastify({
    serverFactory: (handler) => {
      fastifyListener = handler;
      // No Host on HTTP/1.1 is the guard's to refuse, in the client's format (node's own 400 is bare).
      const server = createServer({ ...timeouts, requireHostHeader: false }, (req, res) =>
        (listener ?? handler)(req, res),
      );
      server.on('checkExpectation', connections.refuseExpectation);
      // Expect: 100-continue: told to send the body once it is wanted (body.ts), not at once.
      server.on('checkContinue', (req, res) => {
        continueWhenWanted(req, res);
        (listener ?? handler)(req, res);
      });
      // Receiving the request is bounded (server.body_timeout_s); answers are not: long agent runs
      // and streams have the proxy's own time limits instead.
      server.requestTimeout = timeouts.requestTimeout;
      server.setTimeout(0);
      server.keepAliveTimeout = 65_000;
      return server;
    },
    loggerInstance: log as FastifyBaseLogger,
    // One line per request comes from the lifecycle listener below instead.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    genReqId: (req) => requestIdOf(req.headers['x-request-id'], settings.security.auth_token),
    clientErrorHandler: connections.onClientError,
    // On close, idle keep-alive sockets go at once; in-flight requests may finish, new ones get 503.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // `http://host/api/` + `/v1/models` from a client that joins URLs naively: as nginx does.
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
    // HEAD only where a probe uses it (health, `/`, the model list): not on the live log stream,
    // whose headers wait for a first event, nor on the OAuth callback, which spends its code.
    exposeHeadRoutes: false,
    // No route declares a JSON schema (the translators check bodies), so Fastify's ajv and
    // fast-json-stringify compilers would load for nothing (~2 MB at start).
    schemaController: { compilersFactory: NO_SCHEMA_COMPILERS },
  });
  capConnections(
    app.server,
    {
      maxConnections: settings.server.max_connections,
      maxPerClient: settings.server.max_connections_per_client,
    },
    log,
  );
  obs = await createObservability({
    settings,
    lifecycle,
    log,
    version: VERSION,
    accounts,
    storage,
    dashboardDir: opts.dashboardDir,
    // What a capture must never hold, read when each is stored (tokens rotate).
    secrets: () => [...accounts.secrets(), urlPassword(settings.storage.url)],
    now: opts.clock,
  });
  // Request capture keeps each body's bytes as the client sent them.
  const readBody = bodyReader(settings.server.max_body_bytes, obs.capture !== undefined);
  registerJsonBody(app, readBody);
  // The dashboard's static page holds no data; it asks for the token itself (its API calls need it).
  const guard = createGuard({
    settings,
    publicPrefixes: enabledPieces(settings.observability).dashboard ? PUBLIC_DASHBOARD_PATHS : [],
  });
  // What every request gets first, from Fastify's hook or the front door.
  const admit = (req: IncomingMessage, res: ServerResponse, id: string) => {
    connections.track(req, res);
    res.setHeader('x-request-id', id);
    const cors = guard.corsHeaders(req.headers);
    if (cors) for (const [k, v] of Object.entries(cors)) res.setHeader(k, v);
    guard.check(req.method ?? 'GET', (req.url ?? '/').split('?', 1)[0]!, req.headers);
  };
  // A callback hook, not an async one: no promise per request.
  app.addHook('onRequest', (req, reply, done) => {
    try {
      admit(req.raw, reply.raw, req.id);
    } catch (err) {
      done(err as Error);
      return;
    }
    if (req.method === 'OPTIONS')
      reply.code(204).send(); // answered here: no done()
    else done();
  });

  app.setErrorHandler((err, req, reply) => {
    const pe = toProxyError(err);
    if (pe.kind === 'internal') req.log.error({ err }, 'unexpected error');
    connections.closeAfterAnswer(req.raw, reply.raw);
    const rendered = renderFor(formatOf(req)).renderError(pe);
    reply
      .code(rendered.status)
      .headers(rendered.headers ?? {})
      .send(rendered.body);
  });

  // A request to a proxied endpoint refused before its handler ran (shutting down, the guard, a body
  // that cannot be read) is still a request of the access log: it gets its record here, with the
  // refusal, and its capture (the client's bytes as they came, even when they are not JSON or UTF-8).
  const refuse = (
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    reqLog: Logger,
    route: ProxiedRoute,
    err: unknown,
  ) => {
    const pe = toProxyError(err);
    if (pe.kind === 'internal') reqLog.error({ err }, 'unexpected error');
    connections.closeAfterAnswer(req, res);
    const rendered = renderFor(route.format).renderError(pe);
    const ctx = openContext({
      req,
      res,
      requestId: id,
      mode: route.mode,
      format: route.format,
      route: route.url,
      lifecycle,
      log: reqLog,
      timeoutMs: 0,
      capture: obs?.capture && { maxBytes: obs.capture.maxBytes, body: rawBodyOf(req) },
    });
    ctx.record.status = rendered.status;
    ctx.record.errorKind = pe.kind;
    const written = writeError(res, rendered);
    if (written !== undefined) ctx.capture?.responseData(written);
  };

  app.setNotFoundHandler((req, reply) => {
    connections.closeAfterAnswer(req.raw, reply.raw);
    if (req.method === 'OPTIONS') return reply.code(204).send();
    const path = req.url.split('?', 1)[0];
    const format = formatForPath(req.url, frontends);
    const served =
      format === 'anthropic'
        ? 'e.g. POST /api/v1/messages'
        : 'for OpenAI clients: POST /api/v1/chat/completions, POST /api/v1/responses and GET /api/v1/models';
    const instead = notOffered(path);
    const pe = new ProxyError(
      'not_found',
      `No route for ${req.method} ${path}. ${instead ?? `ccproxy answers under /api (Anthropic API mode) and /sdk (Claude Code SDK mode), ${served}.`}`,
    );
    const rendered = renderFor(format).renderError(pe);
    return reply.code(rendered.status).send(rendered.body);
  });

  app.get('/', HEAD_TOO, async () => ({
    name: 'ccproxy',
    version: VERSION,
    modes: Object.keys(backends).map((m) => ({
      mode: m,
      anthropic_base_url: `/${m}`,
      openai_base_url: `/${m}/v1`,
    })),
    health: '/health',
  }));

  const live = new Set<RequestSignal>();
  registerHealth(app, { backends, tokens, accounts, version: VERSION });
  registerOAuthRoutes(app, { settings, tokens, log });
  registerAccountRoutes(app, accounts, {
    strategy: settings.accounts.strategy,
    spill_over: settings.accounts.spill_over,
    spill_over_daily_usd: settings.limits.spill_over_daily_usd,
  });
  const proxied = registerRoutes(app, {
    backends,
    frontends,
    formatOptions,
    lifecycle,
    live,
    capture: obs.capture,
    // The Claude models plus the OpenAI names and aliases the model rules map (formats/openai/models-list.ts).
    renderOpenAIModels: (models) => renderOpenAIModels(models, formatOptions.modelRules),
    findOpenAIModel: (models, id) => findOpenAIModel(models, formatOptions.modelRules, id),
    timeout: (mode) =>
      mode === 'sdk'
        ? {
            ms: settings.claude.timeout_s * 1000,
            message: `The agent run took longer than ${settings.claude.timeout_s}s (claude.timeout_s).`,
          }
        : {
            ms: settings.upstream.timeouts.total_s * 1000,
            message: `The upstream request took longer than ${settings.upstream.timeouts.total_s}s (upstream.timeouts.total_s).`,
          },
  });

  await obs.register(app);

  let closed = false;
  listener = frontDoor({
    routes: proxied,
    fastify: fastifyListener!,
    log,
    requestIdOf: (value) => requestIdOf(value, settings.security.auth_token),
    admit,
    readBody,
    refuse,
    closing: () => closed,
  });

  const requestLine = infoLine(log);
  lifecycle.subscribe((event, r) => {
    if (event !== 'end') return;
    requestLine(
      {
        reqId: r.id,
        status: r.status,
        ms: Math.round(r.durationMs ?? 0),
        model: r.upstreamModel ?? r.clientModel,
        in: r.usage?.input,
        out: r.usage?.output,
        error: r.errorKind,
        aborted: r.clientAborted || undefined,
      },
      `${r.method} ${r.route}`,
    );
  });

  return {
    app,
    settings,
    lifecycle,
    tokens,
    accounts,
    backends,
    storage,
    abortAll(reason) {
      for (const c of live) c.abort(reason);
    },
    async listen() {
      await app.listen({ host: settings.server.host, port: settings.server.port });
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : settings.server.port;
      const host = settings.server.host.includes(':') ? `[${settings.server.host}]` : settings.server.host;
      return `http://${host}:${port}`;
    },
    async close() {
      if (closed) return;
      closed = true;
      // Fastify closes the connections that are idle when closing starts; a keep-alive connection
      // whose last answer ends later would hold the close (and the process) until its client lets
      // go, up to keepAliveTimeout. Sweep those as they become idle.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
      // Connections kept only to take in the rest of a refused body hold nothing worth waiting for.
      connections.dropRefused();
      try {
        await app.close();
      } finally {
        clearInterval(sweep);
      }
      await Promise.all(Object.values(backends).map((b) => b?.close()));
      accounts.close();
      // Last, so the rows of the final requests are written.
      await obs?.close();
      await storage.close();
    },
  };
}

export { PUBLIC_PATHS };
