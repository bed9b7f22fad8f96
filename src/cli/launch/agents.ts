/**
 * The coding agents the launchers run, and how each is pointed at ccproxy: where its program is,
 * and the environment and arguments that send its requests through the proxy. Pure except for the
 * look-ups on PATH and in node_modules.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { bundledBinary } from '../../backends/sdk/binary.ts';
import { isLoopback } from '../../loopback.ts';
import type { RunningProxy } from './ensure-proxy.ts';

export interface Program {
  /** What to spawn. */
  file: string;
  /** Arguments before the user's (a script for node, say). */
  args: string[];
  /** Where it was found, for messages. */
  from: string;
}

/** An executable named `name` on PATH (with PATHEXT on Windows), or undefined. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const file = path.join(dir, name + ext.toLowerCase());
      try {
        fs.accessSync(file, fs.constants.X_OK);
        if (fs.statSync(file).isFile()) return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

export const CLAUDE_INSTALL =
  'Claude Code is not installed: install it with `npm install -g @anthropic-ai/claude-code` (or see https://docs.claude.com/en/docs/claude-code/setup), then run this again.';

export const CODEX_INSTALL =
  'Codex CLI is not installed: install it with `npm install -g @openai/codex` (or `brew install --cask codex`), then run this again.';

/** Claude Code: the `claude` on PATH, else the binary that ships with the Agent SDK. */
export function findClaude(env: NodeJS.ProcessEnv = process.env): Program | undefined {
  const onPath = findOnPath('claude', env);
  if (onPath) return { file: onPath, args: [], from: 'PATH' };
  const bundled = bundledBinary();
  return bundled ? { file: bundled, args: [], from: 'the Claude Agent SDK' } : undefined;
}

/** Codex CLI: the `codex` on PATH, else the `@openai/codex` package next to ccproxy, run by node. */
export function findCodex(env: NodeJS.ProcessEnv = process.env): Program | undefined {
  const onPath = findOnPath('codex', env);
  if (onPath) return { file: onPath, args: [], from: 'PATH' };
  try {
    const require = createRequire(import.meta.url);
    const pkgFile = require.resolve('@openai/codex/package.json');
    const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { bin?: string | Record<string, string> };
    const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.codex;
    if (!bin) return undefined;
    return { file: process.execPath, args: [path.join(path.dirname(pkgFile), bin)], from: '@openai/codex' };
  } catch {
    return undefined;
  }
}

/**
 * Claude Code's environment: the proxy's API-mode URL, and the proxy's token (or a placeholder) as
 * ANTHROPIC_AUTH_TOKEN, the gateway setting, which wins over a claude.ai login and asks no
 * "use this API key?" question. An API key or OAuth token of the user's own is taken out, so that
 * Claude Code neither sends it to the proxy nor warns about two credentials.
 */
export function claudeEnv(env: NodeJS.ProcessEnv, proxy: RunningProxy): NodeJS.ProcessEnv {
  const out = directTo(env, proxy.url);
  delete out.ANTHROPIC_API_KEY;
  delete out.CLAUDE_CODE_OAUTH_TOKEN;
  out.ANTHROPIC_BASE_URL = `${proxy.url}/api`;
  out.ANTHROPIC_AUTH_TOKEN = proxy.key;
  return out;
}

const PROXY_VARS = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy'];

/**
 * `env` with ccproxy's host in NO_PROXY when a proxy variable is set and ccproxy is on this machine:
 * behind a corporate proxy a client would otherwise send its calls to ccproxy to that proxy, which
 * cannot reach it. Both spellings, as clients differ in which they read. (A ccproxy elsewhere, by
 * `--url`, may well need the proxy: left alone.)
 */
export function directTo(env: NodeJS.ProcessEnv, url: string): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (!PROXY_VARS.some((v) => out[v]) || !isLoopback(host)) return out;
  const entries = (out.NO_PROXY ?? out.no_proxy ?? '').split(/[,\s]+/).filter(Boolean);
  if (!entries.includes(host)) entries.push(host);
  out.NO_PROXY = out.no_proxy = entries.join(',');
  return out;
}

/** The environment variable Codex reads its key from (examples/codex-config.toml uses the same). */
export const CODEX_KEY_VAR = 'CCPROXY_KEY';

/**
 * Codex's configuration for this run only, as `-c key=value` overrides (values are TOML), as in
 * examples/codex-config.toml: a model provider for ccproxy's Responses endpoint, chosen for this
 * run, a model Codex and ccproxy agree on, and Claude's context window.
 * The user's ~/.codex/config.toml stays as it is and everything else in it still applies.
 */
export function codexOverrides(proxy: RunningProxy): string[] {
  const values: Array<[string, string | number]> = [
    // A model Codex knows, whose prompt and tools ccproxy translates (Codex's newer defaults send
    // input items the Responses frontend does not take); ccproxy maps it to Opus. `-m` still wins.
    ['model', 'gpt-5.5'],
    ['model_provider', 'ccproxy'],
    ['model_providers.ccproxy.name', 'ccproxy (Claude subscription)'],
    ['model_providers.ccproxy.base_url', `${proxy.url}/api/v1`],
    ['model_providers.ccproxy.wire_api', 'responses'],
    ['model_providers.ccproxy.env_key', CODEX_KEY_VAR],
    ['model_providers.ccproxy.stream_idle_timeout_ms', 300_000],
    ['model_context_window', 200_000],
    ['model_auto_compact_token_limit', 160_000],
  ];
  return values.flatMap(([k, v]) => ['-c', `${k}=${typeof v === 'number' ? v : JSON.stringify(v)}`]);
}

export function codexEnv(env: NodeJS.ProcessEnv, proxy: RunningProxy): NodeJS.ProcessEnv {
  return { ...directTo(env, proxy.url), [CODEX_KEY_VAR]: proxy.key };
}
