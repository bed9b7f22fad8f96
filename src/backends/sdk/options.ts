/**
 * The agent's options for one request: `claude.*` settings, the request's `ccproxy` overrides and
 * the request itself (model, system prompt, thinking), split the way the SDK splits them:
 *
 * - host options, fixed when a Claude Code process starts (executable, env, settings sources,
 *   MCP servers from settings, max turns, tool allow/deny lists) — a pre-warmed spare has these;
 * - session options a spare takes when it is claimed (cwd, model, permission mode, thinking
 *   budget, appended system prompt).
 *
 * A request whose host options differ from the settings' cannot use a spare and starts cold.
 */
import fs from 'node:fs';
import path from 'node:path';
import type {
  ClaimOptions,
  McpServerConfig,
  Options,
  PermissionMode,
  SpawnedProcess,
  SpawnOptions,
} from '@anthropic-ai/claude-agent-sdk';
import type { Settings } from '../../config/schema.ts';
import { ProxyError } from '../../errors.ts';
import type { MessagesRequest } from '../../formats/anthropic/types.ts';
import { modelRules, resolveModel } from '../../formats/models.ts';
import { CLIENT_SERVER } from './client-tools.ts';
import type { LentLogin } from './login.ts';
import { narrowAllowedTools, type SdkOverrides, widenDisallowedTools } from './overrides.ts';
import { defaultAgentHome, ensureAgentHome } from './workdir.ts';

type Env = Record<string, string | undefined>;

export interface RunConfig {
  /** undefined = Claude Code's default model. */
  model?: string;
  system?: string;
  systemMode: 'append' | 'replace';
  maxTurns: number;
  permissionMode: PermissionMode;
  allowedTools: string[];
  /** Tools the request asked to allow that the settings do not: left out, and reported. */
  droppedTools: string[];
  disallowedTools: string[];
  /** Canonical working directory of the agent. */
  cwd: string;
  maxThinkingTokens?: number;
  toolDisplay: 'text' | 'hidden';
  timeoutS: number;
  /** The login this request's agent runs with (login.ts); set by the backend after the options. */
  login?: LentLogin;
  /** The client tool whose input is the answer (structured output, see client-tools.ts). */
  answerTool?: string;
}

/** Names Claude Code itself resolves (aliases and its default). */
const CLAUDE_CODE_ALIASES = new Set(['default', 'opus', 'sonnet', 'haiku', 'fable', 'opusplan', 'best']);

/**
 * The model for a request: mapped by the same rules as API mode; a name that maps to no Claude
 * model falls back to `claude.model`, then to Claude Code's own default.
 */
export function agentModel(requested: string, settings: Settings): string | undefined {
  const mapped = resolveModel(requested, modelRules(settings.openai.model_map));
  if (mapped.startsWith('claude-') || CLAUDE_CODE_ALIASES.has(mapped)) return mapped;
  return settings.claude.model || undefined;
}

/** A working directory that exists, canonical (Claude Code keys its sessions by it). */
export function resolveCwd(dir: string): string {
  try {
    const real = fs.realpathSync(dir);
    if (!fs.statSync(real).isDirectory()) throw new Error('not a directory');
    return real;
  } catch {
    throw ProxyError.invalid(
      `SDK mode working directory ${dir} does not exist or is not a folder (claude.cwd).`,
    );
  }
}

/**
 * The agent's working directory: `claude.cwd`, or a folder inside it that the request names
 * (relative to it, or absolute). A request cannot send the agent outside the configured folder:
 * what the agent may read without asking is what lies under its working directory.
 */
export function agentCwd(configured: string, override?: string): string {
  const base = resolveCwd(configured);
  if (override === undefined) return base;
  const inside = (d: string) => d === base || d.startsWith(base.endsWith(path.sep) ? base : base + path.sep);
  let dir: string | undefined;
  try {
    dir = fs.realpathSync(path.resolve(base, override));
    if (!fs.statSync(dir).isDirectory()) dir = undefined;
  } catch {
    dir = undefined;
  }
  // One answer for a folder outside and one that does not exist: a client learns nothing of the disk.
  if (!dir || !inside(dir)) {
    throw ProxyError.invalid(`ccproxy.cwd: must name a folder inside claude.cwd (${base}).`, 'ccproxy.cwd');
  }
  const found = projectSettingsBelow(dir, base);
  if (found) {
    throw ProxyError.invalid(
      `ccproxy.cwd: ${path.relative(base, found.dir)} holds Claude Code project settings (${found.file}), which could run hooks or start MCP servers; only claude.cwd's own are vetted. Choose another folder, or set claude.cwd to it.`,
      'ccproxy.cwd',
    );
  }
  return dir;
}

/** Files through which a folder configures Claude Code (hooks, permissions, MCP servers). */
const PROJECT_SETTINGS = [
  path.join('.claude', 'settings.json'),
  path.join('.claude', 'settings.local.json'),
  '.mcp.json',
];

/**
 * The first project settings file in `dir` or a folder between it and `base` (not `base` itself,
 * whose settings the operator chose): a request may pick a working folder, not a configuration.
 */
function projectSettingsBelow(dir: string, base: string): { dir: string; file: string } | undefined {
  for (let d = dir; d !== base && d.startsWith(base); d = path.dirname(d)) {
    for (const file of PROJECT_SETTINGS) if (fs.existsSync(path.join(d, file))) return { dir: d, file };
  }
  return undefined;
}

/**
 * The agent's options for a request. `workdir` is the folder the agent works in when the request
 * names none (see workdir.ts); by default `claude.cwd`, else ccproxy's own folder.
 */
export function runConfig(
  settings: Settings,
  overrides: SdkOverrides,
  request: MessagesRequest,
  system: string | undefined,
  workdir?: string,
): RunConfig {
  const c = settings.claude;
  let base = workdir ?? c.cwd;
  if (!base) {
    base = defaultAgentHome(process.env);
    ensureAgentHome(base);
  }
  const tools = narrowAllowedTools(c.allowed_tools, overrides.allowed_tools);
  let maxThinkingTokens = overrides.max_thinking_tokens ?? (c.max_thinking_tokens || undefined);
  if (overrides.max_thinking_tokens === undefined && request.thinking?.type === 'enabled') {
    maxThinkingTokens = request.thinking.budget_tokens;
  }
  if (overrides.max_thinking_tokens === undefined && request.thinking?.type === 'disabled')
    maxThinkingTokens = 0;
  return {
    model: agentModel(request.model, settings),
    system,
    systemMode: overrides.system_prompt_mode ?? c.system_prompt_mode,
    maxTurns: overrides.max_turns ?? c.max_turns,
    permissionMode: overrides.permission_mode ?? c.permission_mode,
    allowedTools: tools.allowed,
    droppedTools: tools.dropped,
    disallowedTools: widenDisallowedTools(c.disallowed_tools, overrides.disallowed_tools),
    cwd: agentCwd(base, overrides.cwd),
    maxThinkingTokens,
    toolDisplay: overrides.tool_display ?? c.tool_display,
    timeoutS: c.timeout_s,
  };
}

/**
 * The environment of every agent process: ccproxy's own (or the one given), named as an Agent SDK
 * client, calling the upstream API mode calls, and never pointing back at ccproxy itself (a shell
 * that exports `ANTHROPIC_BASE_URL=http://127.0.0.1:8000/sdk` for its clients must not make the
 * agent call ccproxy, which would start another agent, and so on).
 *
 * `upstream.base_url` and `upstream.proxy_url`, when set, are the agents' `ANTHROPIC_BASE_URL` and
 * `HTTPS_PROXY` / `HTTP_PROXY`: one setting points both modes at a gateway or through a corporate
 * proxy. Left at their defaults, the environment's own stand (Claude Code's variables, as for
 * `claude` itself).
 */
export function agentEnv(base: Env, settings: Settings): Env {
  const env: Env = { ...base, CLAUDE_AGENT_SDK_CLIENT_APP: 'ccproxy' };
  const { base_url: upstream, proxy_url: proxy } = settings.upstream;
  if (upstream.replace(/\/+$/, '') !== DEFAULT_UPSTREAM) env.ANTHROPIC_BASE_URL = upstream;
  const url = env.ANTHROPIC_BASE_URL;
  if (url && pointsAtSelf(url, settings)) delete env.ANTHROPIC_BASE_URL;
  if (proxy) {
    // For an upstream of either scheme, as in API mode; lower-case names take precedence in some
    // clients, so the one proxy goes under both spellings.
    env.HTTPS_PROXY = env.https_proxy = env.HTTP_PROXY = env.http_proxy = proxy;
    // As in API mode, a loopback upstream is never reached through the proxy.
    const noProxy = (env.NO_PROXY ?? env.no_proxy ?? '').split(/[,\s]+/).filter(Boolean);
    env.NO_PROXY = env.no_proxy = [...new Set([...noProxy, ...LOOPBACK_HOSTS])].join(',');
  }
  return env;
}

/** `upstream.base_url`'s default: the Anthropic API, which Claude Code calls when told nothing. */
const DEFAULT_UPSTREAM = 'https://api.anthropic.com';
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '::1'];

export function pointsAtSelf(url: string, settings: Settings): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  if (settings.server.port === 0 || port !== settings.server.port) return false;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const local = ['localhost', '127.0.0.1', '::1', '0.0.0.0', settings.server.host];
  return local.includes(host);
}

export interface HostDeps {
  settings: Settings;
  env: Env;
  executable: string;
  spawn: (o: SpawnOptions) => SpawnedProcess;
}

/** Options fixed for the life of a Claude Code process. */
export function hostOptions(
  d: HostDeps,
  cfg?: Pick<RunConfig, 'maxTurns' | 'allowedTools' | 'disallowedTools'>,
): Options {
  const c = d.settings.claude;
  const bypass = c.permission_mode === 'bypassPermissions';
  return {
    pathToClaudeCodeExecutable: d.executable,
    spawnClaudeCodeProcess: d.spawn,
    env: agentEnv(d.env, d.settings),
    settingSources: [...c.setting_sources],
    // Claude Code's own system prompt (its safety guidance among it): a spare fixes the preset at
    // prewarm, and without one it ran on the SDK's minimal prompt; a cold start sets it again below.
    systemPrompt: { type: 'preset', preset: 'claude_code' },
    includePartialMessages: true,
    maxTurns: cfg?.maxTurns ?? c.max_turns,
    // The client's tools are always allowed: the client decides whether to run them.
    allowedTools: [...(cfg?.allowedTools ?? c.allowed_tools), `mcp__${CLIENT_SERVER}`],
    disallowedTools: [...(cfg?.disallowedTools ?? c.disallowed_tools)],
    mcpServers: settingsMcpServers(d.settings),
    // Nobody can click "allow" behind a proxy: what would prompt is denied, and Claude is told so.
    permissionPrompts: 'none',
    ...(bypass ? { allowDangerouslySkipPermissions: true } : {}),
  };
}

function settingsMcpServers(settings: Settings): Record<string, McpServerConfig> {
  return { ...(settings.claude.mcp_servers as Record<string, McpServerConfig>) };
}

/** Does the request run with the host options a spare was started with? */
export function fitsSpare(cfg: RunConfig, settings: Settings): boolean {
  const c = settings.claude;
  const same = (a: readonly string[], b: readonly string[]) =>
    a.length === b.length && a.every((x, i) => x === b[i]);
  return (
    cfg.maxTurns === c.max_turns &&
    same(cfg.allowedTools, c.allowed_tools) &&
    same(cfg.disallowedTools, c.disallowed_tools) &&
    (cfg.systemMode === 'append' || cfg.system === undefined)
  );
}

/**
 * A signature of the options a live agent keeps: a session's agent is reused only while it matches.
 * The permission mode is one: a session turn that narrows it gets an agent that runs under it.
 */
export function hostSignature(cfg: RunConfig): string {
  return JSON.stringify([
    cfg.maxTurns,
    cfg.allowedTools,
    cfg.disallowedTools,
    cfg.cwd,
    cfg.systemMode,
    cfg.permissionMode,
  ]);
}

export function systemPromptOption(cfg: RunConfig): Options['systemPrompt'] {
  if (cfg.systemMode === 'replace' && cfg.system !== undefined) return cfg.system;
  return cfg.system === undefined
    ? { type: 'preset', preset: 'claude_code' }
    : { type: 'preset', preset: 'claude_code', append: cfg.system };
}

export interface ColdExtras {
  /** Resume this session (its transcript exists). */
  resume?: string;
  /** Start a new session with this id. */
  sessionId?: string;
  /** Extra MCP servers for this process (the client's tools). */
  mcpServers?: Record<string, McpServerConfig>;
  /** Extra environment for this process. */
  env?: Record<string, string>;
  abortController?: AbortController;
}

/** Options of a cold start: host options plus the session's, in one go. */
export function coldOptions(host: HostDeps, cfg: RunConfig, extra: ColdExtras = {}): Options {
  const base = hostOptions(host, cfg);
  return {
    ...base,
    cwd: cfg.cwd,
    ...(cfg.model ? { model: cfg.model } : {}),
    permissionMode: cfg.permissionMode,
    ...(cfg.maxThinkingTokens !== undefined ? { maxThinkingTokens: cfg.maxThinkingTokens } : {}),
    systemPrompt: systemPromptOption(cfg),
    mcpServers: { ...base.mcpServers, ...extra.mcpServers },
    ...(extra.env ? { env: { ...base.env, ...extra.env } } : {}),
    ...(extra.resume ? { resume: extra.resume } : {}),
    ...(extra.sessionId ? { sessionId: extra.sessionId } : {}),
    ...(extra.abortController ? { abortController: extra.abortController } : {}),
  };
}

/** What a pre-warmed spare is told when a request claims it. */
export function claimOptions(cfg: RunConfig): ClaimOptions {
  return {
    cwd: cfg.cwd,
    ...(cfg.model ? { model: cfg.model } : {}),
    permissionMode: cfg.permissionMode,
    ...(cfg.maxThinkingTokens !== undefined ? { maxThinkingTokens: cfg.maxThinkingTokens } : {}),
    ...(cfg.system !== undefined ? { appendSystemPrompt: cfg.system } : {}),
  };
}
