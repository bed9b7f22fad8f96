/**
 * SDK mode: Messages requests answered by the Claude Code agent through
 * `@anthropic-ai/claude-agent-sdk`, with the user's own Claude Code set-up (login, tools, MCP
 * servers, settings). See docs/sdk-mode.md.
 */
import type { Logger } from 'pino';
import type { TokenManager } from '../../auth/token-manager.ts';
import type { Settings } from '../../config/schema.ts';
import { ProxyError } from '../../errors.ts';
import { BUILTIN_MODELS } from '../../formats/models.ts';
import type { Backend } from '../backend.ts';
import { AgentSlots, agentCap } from './agent-slots.ts';
import { ClaudeBinary } from './binary.ts';
import { LastFailure } from './last-failure.ts';
import { loadAgentModules } from './modules.ts';
import { agentEnv, hostOptions } from './options.ts';
import { AgentPool } from './pool.ts';
import { ProcessTracker } from './processes.ts';
import { SdkRunner } from './run.ts';
import { agentWorkdir, workdirRefusal } from './workdir.ts';

export { SDK_OVERRIDE_KEYS, type SdkOverrides, validateSdkOverrides } from './overrides.ts';

export interface SdkBackendDeps {
  settings: Settings;
  log: Logger;
  /** The environment of the Claude Code processes (default: ccproxy's own). */
  env?: Record<string, string | undefined>;
  /** ccproxy's credentials: lent to the agents when they are ccproxy's own login (see shareLogin). */
  tokens?: TokenManager;
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

  // The pool retires agents through the runner, which is built after it.
  let runner: SdkRunner | undefined;
  const slots = new AgentSlots({
    max: agentCap(settings),
    queueTimeoutMs: c.queue_timeout_s * 1000,
    tracker,
    reclaim: () => pool.reclaimIdle(),
    onFree: () => pool.slotFreed(),
  });
  const pool = new AgentPool({
    size: c.pool_size,
    idleMs: c.pool_idle_s * 1000,
    maxSessions: c.max_sessions,
    tracker,
    slots,
    log,
    spareOptions: (onSpawn) => {
      if (binary.check()) throw binary.check();
      return hostOptions({ settings, env, executable: binary.executable, spawn: tracker.spawner(onSpawn) });
    },
    retire: (agent, reason) => runner?.retire(agent, reason),
    now: deps.clock,
  });
  runner = new SdkRunner({
    settings,
    log,
    env,
    binary,
    tracker,
    pool,
    slots,
    workdir,
    version: () => version,
  });
  const lastFailure = new LastFailure(deps.clock);

  // Claude Code needs a login of its own. When the subscription's credentials are ccproxy's own
  // (`ccproxy auth login`) and the agents' environment has no token, they get ccproxy's, refreshed
  // before each request, so a process started later never carries an expired one.
  const hasOwnToken = Boolean(env.CLAUDE_CODE_OAUTH_TOKEN);
  const shareLogin = async () => {
    const tokens = deps.tokens;
    if (hasOwnToken || !tokens) return;
    if (!tokens.credentials) tokens.reload();
    let token: string | undefined;
    if (tokens.credentials?.source.kind === 'ccproxy') {
      // No usable login: the agent answers with its own "not logged in", which says what to do.
      token = await tokens.getAccessToken().catch(() => undefined);
    }
    // Taken back when another login took over (`claude /login`): the agents use their own then.
    if (token) env.CLAUDE_CODE_OAUTH_TOKEN = token;
    else delete env.CLAUDE_CODE_OAUTH_TOKEN;
  };
  if (c.prewarm_on_start && c.pool_size > 0 && !binary.check()) void shareLogin().then(() => pool.activate());

  return {
    mode: 'sdk',

    async send(request, ctx) {
      const [, , info] = await Promise.all([loadAgentModules(), shareLogin(), binary.info()]);
      if (info.outdated) throw new ProxyError('unavailable', info.error ?? 'Claude Code is too old.');
      try {
        return lastFailure.watch(await runner.send(request, ctx));
      } catch (err) {
        lastFailure.failed(err);
        throw err;
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
          busy_agents: runner.runningCount,
        },
        settings: {
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
      if (!pool.healthy) {
        return { ok: true, detail: `warm pool failing (${pool.lastFailure}); requests start cold` };
      }
      return { ok: true };
    },

    async warmUp(timeoutMs = 60_000) {
      if (c.pool_size === 0) return true;
      const problem = binary.check();
      if (problem) throw problem;
      await shareLogin();
      return pool.ready(timeoutMs);
    },

    async close() {
      await pool.close();
      await runner.close();
      await tracker.killAll();
      await runner.close();
    },
  };
}
