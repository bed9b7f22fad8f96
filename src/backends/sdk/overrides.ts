/**
 * Per-request SDK-mode overrides: the namespaced `"ccproxy": {…}` field of a request body, handed
 * to the backend as `ctx.extras`. Each key overrides the `claude.*` setting of the same name for
 * one request. Unknown keys and bad values are a 400 that lists what is allowed.
 *
 * Whoever may call the proxy may send this field, so an override may only narrow what the settings
 * let the agent do (docs/sdk-mode.md, "Security"):
 * - `allowed_tools` is intersected with `claude.allowed_tools` (what is dropped is reported);
 * - `disallowed_tools` is added to `claude.disallowed_tools`;
 * - `permission_mode` may only name a mode that permits no more than `claude.permission_mode`;
 * - `cwd` stays inside `claude.cwd` (options.ts agentCwd);
 * - `system_prompt_mode = replace` only when the settings already replace Claude Code's prompt;
 * - `max_turns`, `max_thinking_tokens`, `tool_display` change cost and display, not reach: free.
 * Bound beyond loopback, the tool, permission and folder keys are refused outright unless
 * `claude.allow_request_overrides` is set.
 */
import type { Settings } from '../../config/schema.ts';
import { ProxyError } from '../../errors.ts';
import { isLoopback } from '../../loopback.ts';

type ClaudeSettings = Settings['claude'];
type PermissionMode = ClaudeSettings['permission_mode'];

export const PERMISSION_MODES = [
  'default',
  'acceptEdits',
  'bypassPermissions',
  'plan',
  'dontAsk',
  'auto',
] as const satisfies readonly PermissionMode[];

/**
 * The modes a request may pick under each configured one: those that permit no more. Behind a
 * proxy nobody answers a permission prompt (`permissionPrompts: 'none'` denies whatever would
 * ask), and then, as measured with Claude Code 2.1.332 against the fake upstream:
 * - `default` and `dontAsk` permit the same: pre-approved tools and reads inside the working
 *   folders; everything else is denied;
 * - `acceptEdits`: that, and every file edit inside the working folders;
 * - `auto`: a model classifier decides what would ask — shell commands, and reads of files
 *   outside the working folders (`/etc/…`, `~/.ssh/…`) included;
 * - `plan`: like `auto` for reads and commands (the classifier decides, files outside the
 *   working folders included), while edits are held even when pre-approved: not narrower than
 *   `default`, so it is only ever chosen under `plan`, `auto` or `bypassPermissions`;
 * - `bypassPermissions`: everything.
 * The names alone suggest a line from `plan` to `bypassPermissions`; it is not one.
 */
export const NARROWER_MODES: Readonly<Record<PermissionMode, readonly PermissionMode[]>> = {
  dontAsk: ['dontAsk', 'default'],
  default: ['default', 'dontAsk'],
  acceptEdits: ['acceptEdits', 'default', 'dontAsk'],
  plan: ['plan'],
  auto: ['auto', 'plan', 'acceptEdits', 'default', 'dontAsk'],
  bypassPermissions: PERMISSION_MODES,
};

/** Does `mode` permit no more than `configured`? */
export function narrowsPermission(mode: PermissionMode, configured: PermissionMode): boolean {
  return NARROWER_MODES[configured].includes(mode);
}

export interface SdkOverrides {
  max_turns?: number;
  permission_mode?: PermissionMode;
  allowed_tools?: string[];
  disallowed_tools?: string[];
  cwd?: string;
  max_thinking_tokens?: number;
  system_prompt_mode?: ClaudeSettings['system_prompt_mode'];
  tool_display?: ClaudeSettings['tool_display'];
}

/** The keys that change what the agent may reach: refused beyond loopback unless allowed. */
const REACH_KEYS: readonly (keyof SdkOverrides)[] = [
  'allowed_tools',
  'disallowed_tools',
  'permission_mode',
  'cwd',
];

type Check = (value: unknown) => string | undefined;

const positiveInt: Check = (v) =>
  Number.isInteger(v) && (v as number) >= 1 ? undefined : 'must be a positive integer';
const nonNegativeInt: Check = (v) =>
  Number.isInteger(v) && (v as number) >= 0 ? undefined : 'must be an integer ≥ 0';
const oneOf =
  (values: readonly string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v) ? undefined : `must be one of ${values.join(', ')}`;
const stringList: Check = (v) =>
  Array.isArray(v) && v.every((x) => typeof x === 'string' && x !== '')
    ? undefined
    : 'must be a list of tool names';
const nonEmptyString: Check = (v) =>
  typeof v === 'string' && v.trim() !== '' ? undefined : 'must be a non-empty path';

const CHECKS: Record<keyof SdkOverrides, Check> = {
  max_turns: positiveInt,
  permission_mode: oneOf(PERMISSION_MODES),
  allowed_tools: stringList,
  disallowed_tools: stringList,
  cwd: nonEmptyString,
  max_thinking_tokens: nonNegativeInt,
  system_prompt_mode: oneOf(['append', 'replace']),
  tool_display: oneOf(['text', 'hidden']),
};

/** The override keys a request may send, in the order they are documented. */
export const SDK_OVERRIDE_KEYS = Object.keys(CHECKS) as (keyof SdkOverrides)[];

/** What an override is checked against: the settings it may only narrow, and the exposure. */
export interface OverridePolicy {
  permission_mode: PermissionMode;
  system_prompt_mode: ClaudeSettings['system_prompt_mode'];
  allow_request_overrides: boolean;
  /** The bound address when it is beyond loopback; undefined on loopback. */
  exposedOn?: string;
}

export function overridePolicy(settings: Pick<Settings, 'claude' | 'server'>): OverridePolicy {
  const c = settings.claude;
  return {
    permission_mode: c.permission_mode,
    system_prompt_mode: c.system_prompt_mode,
    allow_request_overrides: c.allow_request_overrides,
    exposedOn: isLoopback(settings.server.host) ? undefined : settings.server.host,
  };
}

/**
 * Validate the `ccproxy` field of a request (`undefined`/`null` = no overrides). Throws an
 * `invalid_request` ProxyError naming the bad key and listing the allowed ones, one naming the
 * setting a widening override would exceed, or a `permission` one for a reach override on an
 * exposed proxy. Without a policy only the shape is checked.
 */
export function validateSdkOverrides(value: unknown, policy?: OverridePolicy): SdkOverrides {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw ProxyError.invalid(
      `ccproxy: must be an object of SDK-mode overrides (${SDK_OVERRIDE_KEYS.join(', ')}).`,
      'ccproxy',
    );
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const check = Object.hasOwn(CHECKS, key) ? CHECKS[key as keyof SdkOverrides] : undefined;
    if (!check) {
      throw ProxyError.invalid(
        `ccproxy.${key}: unknown override. Allowed keys: ${SDK_OVERRIDE_KEYS.join(', ')}.`,
        `ccproxy.${key}`,
      );
    }
    if (v === undefined || v === null) continue;
    const problem = check(v);
    if (problem) throw ProxyError.invalid(`ccproxy.${key}: ${problem}.`, `ccproxy.${key}`);
    out[key] = v;
  }
  if (policy) checkPolicy(out as SdkOverrides, policy);
  return out as SdkOverrides;
}

function checkPolicy(o: SdkOverrides, policy: OverridePolicy): void {
  if (policy.exposedOn !== undefined && !policy.allow_request_overrides) {
    const key = REACH_KEYS.find((k) => o[k] !== undefined);
    if (key) {
      throw new ProxyError(
        'permission',
        `ccproxy.${key}: ccproxy listens on ${policy.exposedOn}, beyond loopback, so per-request tool, permission and folder overrides (${REACH_KEYS.join(', ')}) are refused. Leave them out, or set claude.allow_request_overrides = true to accept them (they can still only narrow the claude.* settings).`,
        { param: `ccproxy.${key}` },
      );
    }
  }
  const mode = o.permission_mode;
  if (mode !== undefined && !narrowsPermission(mode, policy.permission_mode)) {
    const allowed = NARROWER_MODES[policy.permission_mode];
    throw ProxyError.invalid(
      `ccproxy.permission_mode: ${mode} permits more than claude.permission_mode (${policy.permission_mode}), and a request may only narrow it (${allowed.join(', ')}). Change claude.permission_mode to allow ${mode} for every request.`,
      'ccproxy.permission_mode',
    );
  }
  if (o.system_prompt_mode === 'replace' && policy.system_prompt_mode !== 'replace') {
    throw ProxyError.invalid(
      "ccproxy.system_prompt_mode: replace is only allowed when claude.system_prompt_mode is replace: it would drop Claude Code's own system prompt, its safety guidance included.",
      'ccproxy.system_prompt_mode',
    );
  }
}

/**
 * Is an allow rule the request names covered by one of the settings? The same rule, a rule for a
 * narrower use of a tool the settings allow whole (`Bash(git status:*)` under `Bash`), or a tool of
 * an MCP server the settings allow whole (`mcp__github__list_issues` under `mcp__github`).
 */
export function coveredBy(rule: string, configured: readonly string[]): boolean {
  if (configured.includes(rule)) return true;
  const open = rule.indexOf('(');
  if (open > 0 && rule.endsWith(')') && configured.includes(rule.slice(0, open))) return true;
  return configured.some((c) => {
    if (!c.startsWith('mcp__')) return false;
    if (c.endsWith('__*')) return rule.startsWith(c.slice(0, -1));
    return !c.slice(5).includes('__') && rule.startsWith(`${c}__`);
  });
}

/** The request's allow-list within the settings' one; `dropped` = what the settings do not allow. */
export function narrowAllowedTools(
  configured: readonly string[],
  requested: readonly string[] | undefined,
): { allowed: string[]; dropped: string[] } {
  if (requested === undefined) return { allowed: [...configured], dropped: [] };
  const allowed: string[] = [];
  const dropped: string[] = [];
  for (const rule of new Set(requested)) (coveredBy(rule, configured) ? allowed : dropped).push(rule);
  return { allowed, dropped };
}

/** The settings' deny-list with the request's added (a deny is never lifted per request). */
export function widenDisallowedTools(
  configured: readonly string[],
  requested: readonly string[] | undefined,
): string[] {
  return [...new Set([...configured, ...(requested ?? [])])];
}
