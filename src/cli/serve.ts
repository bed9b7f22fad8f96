/** `ccproxy serve`, and `ccproxy` alone: start the proxy and print how to point clients at it. */

import net from 'node:net';
import type { Command } from 'commander';
import { agentWorkdir } from '../backends/sdk/workdir.ts';
import { describeSource } from '../config/load.ts';
import type { Settings } from '../config/schema.ts';
import { riskWarnings } from '../config/trust.ts';
import { ProxyError } from '../errors.ts';
import { createLogger, flushLogs } from '../logging.ts';
import { isLoopback } from '../loopback.ts';
import { enabledPieces } from '../observability/index.ts';
import { maskToken } from '../redact.ts';
import { buildApp, type ProxyApp } from '../server/app.ts';
import { collectWhenIdle } from '../server/idle-gc.ts';
import { limitOldGenerationGrowth, oldGenerationGrowthSetByFlags } from '../server/old-generation.ts';
import { capYoungGeneration, youngGenerationSizedByFlags } from '../server/young-generation.ts';
import { urlPassword } from '../storage/url.ts';
import { VERSION } from '../version.ts';
import { type CommonFlags, loadOrExit } from './settings.ts';

export function addServerFlags(cmd: Command): Command {
  return cmd
    .option('--host <host>', 'address to bind (server.host)')
    .option('-p, --port <port>', 'port to listen on (server.port)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (server.log_level)')
    .option('--log-format <format>', 'pretty or json (server.log_format)')
    .option('--allow-unauthenticated', 'allow binding beyond loopback without security.auth_token')
    .option('--observability', 'turn on metrics, the access log and the dashboard (observability.enabled)');
}

/**
 * `ccproxy serve`, and `ccproxy` alone: the root command takes the server's flags too, so that they
 * show in `ccproxy --help`. Anything else on the root's command line is a mistyped command, answered
 * with commander's own "unknown command … (Did you mean …?)" rather than run as `serve`.
 */
export function registerServe(program: Command): void {
  addServerFlags(program)
    .allowExcessArguments(true)
    .action(async (_opts, cmd: Command) => {
      if (cmd.args.length > 0) (cmd as unknown as { unknownCommand(): never }).unknownCommand();
      await serve(program.opts() as CommonFlags);
    });
  addServerFlags(program.command('serve').description('Start the proxy (what `ccproxy` alone does)')).action(
    async (_opts, cmd: Command) => {
      await serve({ ...program.opts(), ...cmd.opts() } as CommonFlags);
    },
  );
}

/** Refuse to expose the subscription on a network without a token, unless told to. */
function checkExposure(settings: Settings): string | undefined {
  if (isLoopback(settings.server.host) || settings.security.auth_token) return undefined;
  if (!settings.security.allow_unauthenticated) {
    return `Refusing to listen on ${settings.server.host} without security.auth_token: anyone who can reach this address could use your subscription. Run \`ccproxy generate-token\` and set SECURITY__AUTH_TOKEN, or pass --allow-unauthenticated if you really mean it.`;
  }
  return undefined;
}

/** Start-up failed: the log lines so far, then why, then exit. */
function die(message: string, code: number): never {
  flushLogs();
  process.stderr.write(`ccproxy: ${message}\n`);
  process.exit(code);
}

async function serve(flags: CommonFlags): Promise<void> {
  const loaded = loadOrExit(flags);
  const { settings, env } = loaded;
  const refusal = checkExposure(settings);
  if (refusal) die(refusal, 2);
  // Worked out once: every log line is checked against them, and parsing the storage URL for each
  // line (an exception when it is empty, as it is by default) was ~2% of the CPU of a busy proxy.
  const secrets = [settings.security.auth_token, urlPassword(settings.storage.url)].filter(
    (s) => s !== undefined,
  );
  const log = createLogger({
    level: settings.server.log_level,
    format: settings.server.log_format,
    secrets: () => secrets,
  });
  if (!isLoopback(settings.server.host) && !settings.security.auth_token) {
    log.warn(
      `ccproxy is listening on ${settings.server.host} WITHOUT authentication: anyone who can reach it can use your Claude subscription.`,
    );
  }

  let proxy: ProxyApp;
  let url: string;
  const inUse = () =>
    die(
      `port ${settings.server.port} on ${settings.server.host} is already in use (another ccproxy?). Stop it, or start on another port with --port <n>.`,
      1,
    );
  // Before anything is opened: a second ccproxy would otherwise first meet the first one's locked
  // access log, and report that.
  if ((await listenError(settings.server.host, settings.server.port)) === 'EADDRINUSE') inUse();
  try {
    proxy = await buildApp({ settings, log, env });
    // The accounts' tokens and keys as the settings give them (a token that is not Anthropic-shaped
    // would escape the scrub by shape); refreshed tokens are Anthropic-shaped and caught that way.
    secrets.push(...proxy.accounts.secrets());
    url = await proxy.listen();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') inUse();
    if (e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL')
      die(
        `cannot listen on ${settings.server.host}:${settings.server.port} (${e.code}). Use --host/--port.`,
        1,
      );
    // Anything else that stops start-up (a malformed proxy URL, an unreadable file…): its message,
    // not a stack trace.
    log.debug({ err }, 'start-up failed');
    die(e.message, 1);
  }

  // Before the banner: whoever waits for it (a test, a supervisor) may signal at once, and a signal
  // that arrives before node has a listener for it kills the process without a clean shutdown.
  handleSignals(proxy, settings, log);
  // Memory back once traffic stops (src/server/idle-gc.ts).
  if (settings.server.idle_gc_s > 0)
    collectWhenIdle({ lifecycle: proxy.lifecycle, idleMs: settings.server.idle_gc_s * 1000 });
  // A ceiling on V8's young generation (src/server/young-generation.ts), unless node's flags size it.
  if (settings.server.young_generation_mb > 0 && !youngGenerationSizedByFlags(process.execArgv, process.env))
    capYoungGeneration({ lifecycle: proxy.lifecycle, maxMb: settings.server.young_generation_mb });
  // A smaller step for the old generation (src/server/old-generation.ts), unless node's flags set it.
  const oldGrowth = settings.server.old_generation_growth_percent;
  if (oldGrowth > 0 && !oldGenerationGrowthSetByFlags(process.execArgv)) limitOldGenerationGrowth(oldGrowth);
  const risks = riskWarnings(settings, (key) => `set by ${describeSource(loaded.sources[key], key)}`);
  process.stdout.write(banner(url, settings, proxy, risks, { ...process.env, ...env }));
}

function banner(
  url: string,
  settings: Settings,
  proxy: ProxyApp,
  risks: string[],
  env: NodeJS.ProcessEnv,
): string {
  const key = settings.security.auth_token ? '<your ccproxy token>' : 'dummy';
  const t = proxy.tokens.state();
  const workdir = agentWorkdir(settings, env);
  const lines = [
    `ccproxy ${VERSION} listening on ${url}`,
    '',
    `  API mode  (Anthropic API on your subscription)  ${url}/api`,
    `  SDK mode  (answered by Claude Code)             ${url}/sdk`,
    `            agents work in ${workdir.dir}${workdir.isDefault ? " (ccproxy's own folder; set claude.cwd for a project)" : ' (claude.cwd)'}`,
    '',
    '  Anthropic clients (SDKs, Claude Code, aider):',
    `    export ANTHROPIC_BASE_URL=${url}/api ANTHROPIC_API_KEY=${key}`,
    '  OpenAI clients:',
    `    export OPENAI_BASE_URL=${url}/api/v1 OPENAI_API_KEY=${key}`,
    '',
  ];
  const on = enabledPieces(settings.observability);
  if (on.dashboard) lines.push(`  Dashboard  ${url}/dashboard`);
  if (on.metrics) lines.push(`  Metrics    ${url}/metrics`);
  if (on.dashboard || on.metrics) lines.push('');
  if (proxy.accounts.configured) {
    const list = proxy.accounts.views().map((a) => {
      const what =
        a.billing === 'api_key'
          ? `api_key, spill-over ${settings.accounts.spill_over ? `on, up to $${settings.limits.spill_over_daily_usd}/day` : 'off'}`
          : a.credential?.subscription_type
            ? `${a.kind}, ${a.credential.subscription_type} plan`
            : a.kind;
      return `${a.name} (${a.state === 'disabled' ? 'disabled' : what})`;
    });
    lines.push(`  Accounts (${settings.accounts.strategy}): ${list.join(', ')}`);
  } else if (t.source) {
    const exp = t.expiresAt ? `, token expires ${new Date(t.expiresAt).toISOString()}` : '';
    const plan = t.subscriptionType ? `, ${t.subscriptionType} plan` : '';
    lines.push(`  Credentials: ${t.source}${plan}${exp}`);
    if (t.kind === 'env')
      lines.push(`  Token: ${maskToken(proxy.tokens.credentials?.credentials.accessToken)}`);
  } else {
    lines.push(
      '  WARNING: no Claude subscription credentials found. Requests will fail with 401 until you',
      '  run `ccproxy auth login`, or `claude /login`, or set CLAUDE_CODE_OAUTH_TOKEN (from `claude setup-token`).',
    );
  }
  for (const r of risks) lines.push(`  WARNING: ${r}`);
  return `${lines.join('\n')}\n\n`;
}

/** First SIGINT/SIGTERM/SIGHUP: stop accepting, let requests finish for the grace period, then end the rest. Second: exit now. */
function handleSignals(proxy: ProxyApp, settings: Settings, log: ReturnType<typeof createLogger>): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      log.warn(`${signal} again: exiting now`);
      process.exit(130);
    }
    stopping = true;
    const grace = settings.server.shutdown_grace_s;
    // "Ctrl-C again" only speaks to someone at a terminal; a service manager gets a plain line.
    const again = process.stdin.isTTY ? ' (Ctrl-C again to exit now)' : '; a second signal exits at once';
    log.info(`${signal}: shutting down; in-flight requests have ${grace}s to finish${again}`);
    const timer = setTimeout(() => {
      proxy.abortAll(
        new ProxyError(
          'unavailable',
          'ccproxy is shutting down; retry the request against another instance or later.',
        ),
      );
    }, grace * 1000);
    timer.unref();
    try {
      await proxy.close();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'error while shutting down');
    }
    clearTimeout(timer);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // Its terminal closed: node's default would exit at once, leaving busy agents running on their own.
  process.on('SIGHUP', () => void stop('SIGHUP'));
}

/** The error code listening on `host:port` would meet now, if any (the port is let go at once). */
function listenError(host: string, port: number): Promise<string | undefined> {
  if (port === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
}
