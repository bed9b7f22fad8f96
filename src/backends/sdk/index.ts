/**
 * SDK mode: Messages requests answered by the Claude Code agent through
 * `@anthropic-ai/claude-agent-sdk`, with the user's own Claude Code set-up (login, tools, MCP
 * servers, settings). See docs/sdk-mode.md.
 */
import type { Logger } from 'pino';
import type { Accounts } from '../../accounts/index.ts';
import type { TokenManager } from '../../auth/token-manager.ts';
import type { Settings } from '../../config/schema.ts';
import { ProxyError } from '../../errors.ts';
import { BUILTIN_MODELS } from '../../formats/models.ts';
import { redactUrl, urlPassword } from '../../storage/url.ts';
import type { Backend } from '../backend.ts';
import { AgentLifecycle } from './agent-lifecycle.ts';
import { AgentSlots, agentCap } from './agent-slots.ts';
import { agentApiUrl } from './api-retries.ts';
import { ClaudeBinary } from './binary.ts';
import { LastFailure } from './last-failure.ts';
import { AgentLogin, LOGIN_VARS } from './login.ts';
import { loadAgentModules } from './modules.ts';
import { agentEnv } from './options.ts';
import { AgentPool } from './pool.ts';
import { ProcessTracker } from './processes.ts';
import { SdkRunner } from './run.ts';
import { AgentStarter } from './start.ts';
import { agentWorkdir, workdirRefusal } from './workdir.ts';

export { SDK_OVERRIDE_KEYS, type SdkOverrides, validateSdkOverrides } from './overrides.ts';

export interface SdkBackendDeps {
  settings: Settings;
  log: Logger;
  /** The environment of the Claude Code processes (default: ccproxy's own). */
  env?: Record<string, string | undefined>;
  /** ccproxy's credentials: lent to the agents when they are ccproxy's own login (see login.ts). */
  tokens?: TokenManager;
  /** Configured accounts: each agent is started with the account chosen for its request. */
  accounts?: Accounts;
  /** The clock the warm pool measures idleness with (default Date.now; tests move it). */
  clock?: () => number;
}

export interface SdkBackend extends Backend {
  mode: 'sdk';
  /** Start the warm pool and wait until its spares are ready (false if they were not in time). */
  warmUp(timeoutMs?: number): Promise<boolean>;
}

/** Throws when `claude.cwd` is too broad a folder (see workdir.ts): ccproxy does not start. */
export function createSdkBackend(deps: SdkBackendDeps): SdkBackend {
  const { settings, log } = deps;
  const c = settings.claude;
  const env = agentEnv(deps.env ?? process.env, settings);
  const refusal = workdirRefusal(settings, env);
  if (refusal) throw new Error(refusal);
  const workdir = agentWorkdir(settings, env);
  const apiUrl = agentApiUrl(env);
  const binary = new ClaudeBinary(c.cli_path);
  const tracker = new ProcessTracker();
  let version: string | undefined;
  void binary.info().then((i) => {
    version = i.version;
    if (!i.ok) log.warn(`SDK mode unavailable: ${i.error}`);
  });
  if (env.ANTHROPIC_API_KEY) {
    log.warn(
      'ANTHROPIC_API_KEY is set: SDK-mode agents will bill that API key, not the Claude subscription.',
    );
  }

  // Claude Code needs a login of its own: without a token in the agents' environment, each agent
  // started is lent ccproxy's own login, if it has one (login.ts).
  const hasOwnToken = Boolean(env.CLAUDE_CODE_OAUTH_TOKEN);
  // (An empty one counts as none; `env` is this backend's own copy, set once here.)
  if (!hasOwnToken) delete env.CLAUDE_CODE_OAUTH_TOKEN;
  const login = new AgentLogin(deps.tokens, hasOwnToken, deps.accounts);
  // With accounts, the account chosen for each request is the agent's only login.
  if (login.perAccount) for (const v of LOGIN_VARS) delete env[v];
  const starter = new AgentStarter({ settings, env, login, binary, tracker, version: () => version });
  const lifecycle = new AgentLifecycle({ tracker, log, env });
  const slots = new AgentSlots({
    max: agentCap(settings),
    queueTimeoutMs: c.queue_timeout_s * 1000,
    tracker,
    reclaim: () => pool.reclaimIdle(),
    onFree: () => pool.spares.slotFreed(),
  });
  const pool = new AgentPool({
    size: c.pool_size,
    idleMs: c.pool_idle_s * 1000,
    maxSessions: c.max_sessions,
    tracker,
    slots,
    log,
    lifecycle,
    spareOptions: (onSpawn) => starter.spareOptions(onSpawn),
    loginIsCurrent: (generation) => login.isCurrent(generation),
    now: deps.clock,
  });
  const runner = new SdkRunner({
    settings,
    log,
    env,
    login,
    binary,
    tracker,
    pool,
    slots,
    starter,
    lifecycle,
    workdir,
  });
  const lastFailure = new LastFailure(deps.clock);
  if (c.prewarm_on_start && c.pool_size > 0 && !binary.check())
    void login.refresh().then(() => pool.spares.activate());

  return {
    mode: 'sdk',

    async send(request, ctx) {
      const [, lent, info] = await Promise.all([
        loadAgentModules(),
        login.choose(request, ctx),
        binary.info(),
      ]);
      ctx.record.account = lent.account;
      ctx.record.billing = lent.billing;
      if (info.outdated) {
        lent.lease?.end();
        throw new ProxyError('unavailable', info.error ?? 'Claude Code is too old.');
      }
      try {
        const reply = lastFailure.watch(await runner.send(request, ctx, lent));
        lent.lease?.succeeded();
        return reply;
      } catch (err) {
        lastFailure.failed(err);
        // The agent called the upstream itself: what its failure says about the account is kept
        // for the next requests (this one is not moved: its agent already ran).
        lent.lease?.failed(err);
        throw err;
      } finally {
        lent.lease?.end();
      }
    },

    async listModels() {
      return [...BUILTIN_MODELS];
    },

    async status() {
      const info = await binary.info();
      return {
        mode: 'sdk',
        claude_code: {
          path: info.path,
          version: info.version ?? null,
          ok: info.ok,
          ...(info.error ? { error: info.error } : {}),
        },
        last_failure: lastFailure.current ?? null,
        pool: pool.status(),
        processes: {
          running: tracker.count,
          peak: tracker.peak,
          max_concurrent_agents: slots.max,
          queued: slots.queued,
          started: tracker.started,
          crashed: tracker.crashed,
          pids: tracker.pids(),
          busy_agents: lifecycle.workingCount,
        },
        settings: {
          // Where the agents' API calls go (upstream.base_url, else ANTHROPIC_BASE_URL, else the API).
          api_url: urlPassword(apiUrl) ? redactUrl(apiUrl) : apiUrl,
          cwd: workdir.dir,
          permission_mode: c.permission_mode,
          system_prompt_mode: c.system_prompt_mode,
          tool_display: c.tool_display,
          max_turns: c.max_turns,
          timeout_s: c.timeout_s,
        },
      };
    },

    async health() {
      const info = await binary.info();
      if (!info.ok) return { ok: false, detail: info.error };
      const failure = lastFailure.current;
      if (failure)
        return { ok: false, detail: `The last SDK request failed (${failure.at}): ${failure.message}` };
      // Requests still start cold when spares keep failing: degraded, not down.
      if (!pool.spares.healthy) {
        return { ok: true, detail: `warm pool failing (${pool.spares.lastFailure}); requests start cold` };
      }
      return { ok: true };
    },

    async warmUp(timeoutMs = 60_000) {
      if (c.pool_size === 0) return true;
      const problem = binary.check();
      if (problem) throw problem;
      await login.refresh();
      return pool.spares.ready(timeoutMs);
    },

    async close() {
      await pool.close();
      await lifecycle.close();
      await tracker.killAll();
      await lifecycle.close();
    },
  };
}
