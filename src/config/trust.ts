/**
 * Which settings a working directory may set, and what the start banner warns about.
 *
 * ccproxy reads `ccproxy.toml`, `.ccproxy.toml` and `.env` from the folder it is started in: handy
 * for a project's own port or log level, dangerous when that folder is a repository someone else
 * wrote. Keys marked PROTECTED in the schema (upstream and OAuth URLs, credential files, the agent's
 * permissions, tools, MCP servers and executable, the listening address, CORS, `security.*`…) are
 * taken from there only when the user trusts the folder: `security.trusted_folders` in the user's
 * own settings (or the environment, or a flag), or `--trust-project` for one run.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Settings } from './schema.ts';

/** A path as the file system sees it (symlinks resolved), or as given when it does not exist. */
function real(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/**
 * Is `cwd` one of `folders`, or inside one? Folders are absolute, `~/…`, or relative to the home
 * directory (never to the working directory: `.` must not mean "wherever I am started").
 */
export function isTrustedFolder(cwd: string, folders: readonly string[], home: string): boolean {
  const here = real(cwd);
  return folders.some((f) => {
    const expanded = f === '~' || f.startsWith('~/') ? path.join(home, f.slice(1)) : f;
    const rel = path.relative(real(path.resolve(home, expanded)), here);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  });
}

/**
 * Is `cwd` a folder of the user's own, where no one else's files land: ccproxy's settings folder
 * (where `ccproxy service install` runs the service and keeps its `.env`) or the home directory
 * itself (the container's `/data`). Only these exact folders: a repository is cloned below them.
 */
export function isOwnFolder(cwd: string, ownFolders: readonly string[]): boolean {
  const here = real(cwd);
  return ownFolders.some((f) => real(f) === here);
}

/**
 * Variables of an untrusted `.env` that would matter though they are not ccproxy settings: they are
 * dropped like the rest, and named in the warning (credentials, where Claude Code and the upstream
 * calls go, proxies).
 */
export const SENSITIVE_ENV =
  /^(ANTHROPIC_\w+|CLAUDE_\w+|HTTPS?_PROXY|ALL_PROXY|NO_PROXY|NODE_OPTIONS|PATH)$/i;

/** The sentence that says how to trust a folder, for warnings. */
export function howToTrust(cwd: string, userFile: string): string {
  return `If you trust ${cwd}, add it to security.trusted_folders in ${userFile}, or start ccproxy with --trust-project.`;
}

const ANTHROPIC_HOSTS = ['anthropic.com', 'claude.ai', 'claude.com'];

/** An https URL on one of Anthropic's own domains. */
export function isAnthropicUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const host = url.hostname.toLowerCase();
  return url.protocol === 'https:' && ANTHROPIC_HOSTS.some((d) => host === d || host.endsWith(`.${d}`));
}

/**
 * Permission modes that let the agent do more than Claude Code's default (ask, and refuse when no
 * one answers). `plan` is one of them: behind a proxy a model classifier approves its reads outside
 * the working folder and its commands (measured; see NARROWER_MODES in backends/sdk/overrides.ts).
 */
const WIDER_MODES_DO: Record<string, string> = {
  acceptEdits: 'edit files',
  bypassPermissions: 'use every tool, a shell included,',
  auto: 'use the tools a model classifier approves (shell commands, reads outside their folder)',
  plan: 'read outside their folder and run the commands a model classifier approves',
};

/**
 * What the start banner warns about: credentials that go somewhere other than Anthropic, and an
 * agent allowed more than by default. `from(key)` says where a value came from.
 */
export function riskWarnings(settings: Settings, from: (key: string) => string): string[] {
  const out: string[] = [];
  const urls: Array<[string, string, string]> = [
    ['upstream.base_url', settings.upstream.base_url, "your subscription's OAuth token is sent there"],
    ['auth.token_url', settings.auth.token_url, 'your refresh token is sent there'],
    ['auth.authorize_url', settings.auth.authorize_url, '`ccproxy auth login` opens it'],
    ['auth.profile_url', settings.auth.profile_url, 'your access token is sent there'],
  ];
  for (const [key, value, why] of urls) {
    if (!isAnthropicUrl(value)) out.push(`${key} is ${value}, not Anthropic's (${from(key)}): ${why}.`);
  }
  const c = settings.claude;
  if (c.permission_mode in WIDER_MODES_DO) {
    out.push(
      `claude.permission_mode is ${c.permission_mode} (${from('claude.permission_mode')}): SDK-mode agents ${WIDER_MODES_DO[c.permission_mode]} without asking.`,
    );
  }
  if (c.allowed_tools.length > 0) {
    out.push(
      `claude.allowed_tools lets SDK-mode agents use ${c.allowed_tools.join(', ')} without asking (${from('claude.allowed_tools')}).`,
    );
  }
  return out;
}
