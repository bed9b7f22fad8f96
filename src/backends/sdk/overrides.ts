/**
 * Per-request SDK-mode overrides: the namespaced `"ccproxy": {…}` field of a request body, handed
 * to the backend as `ctx.extras`. Each key overrides the `claude.*` setting of the same name for
 * one request. Unknown keys and bad values are a 400 that lists what is allowed.
 */
import type { Settings } from '../../config/schema.ts';
import { ProxyError } from '../../errors.ts';

type ClaudeSettings = Settings['claude'];

export const PERMISSION_MODES = [
  'default',
  'acceptEdits',
  'bypassPermissions',
  'plan',
  'dontAsk',
  'auto',
] as const satisfies readonly ClaudeSettings['permission_mode'][];

export interface SdkOverrides {
  max_turns?: number;
  permission_mode?: ClaudeSettings['permission_mode'];
  allowed_tools?: string[];
  disallowed_tools?: string[];
  cwd?: string;
  max_thinking_tokens?: number;
  system_prompt_mode?: ClaudeSettings['system_prompt_mode'];
  tool_display?: ClaudeSettings['tool_display'];
}

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

/**
 * Validate the `ccproxy` field of a request (`undefined`/`null` = no overrides). Throws an
 * `invalid_request` ProxyError naming the bad key and listing the allowed ones. The server and
 * the frontends may call it early, before a backend is involved; the SDK backend calls it again.
 *
 * A request may not raise its own permissions past the configured ones: `bypassPermissions` is
 * accepted only when `claude.permission_mode` already is `bypassPermissions`.
 */
export function validateSdkOverrides(
  value: unknown,
  settings?: Pick<ClaudeSettings, 'permission_mode'>,
): SdkOverrides {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw ProxyError.invalid(
      `ccproxy: must be an object of SDK-mode overrides (${SDK_OVERRIDE_KEYS.join(', ')}).`,
      'ccproxy',
    );
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const check = CHECKS[key as keyof SdkOverrides];
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
  if (
    out.permission_mode === 'bypassPermissions' &&
    settings &&
    settings.permission_mode !== 'bypassPermissions'
  ) {
    throw ProxyError.invalid(
      'ccproxy.permission_mode: bypassPermissions is only allowed when claude.permission_mode is bypassPermissions.',
      'ccproxy.permission_mode',
    );
  }
  return out as SdkOverrides;
}
