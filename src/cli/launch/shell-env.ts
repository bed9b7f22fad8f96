/**
 * `ccproxy env`: the variables that point clients at the proxy, as statements for one shell, so
 * that `eval "$(ccproxy env)"` (or its fish / PowerShell form) sets them in the current shell.
 */
import path from 'node:path';
import type { Mode } from '../../backends/backend.ts';
import { CODEX_KEY_VAR, directTo } from './agents.ts';

export const SHELLS = ['bash', 'zsh', 'fish', 'powershell'] as const;
export type Shell = (typeof SHELLS)[number];

/**
 * The variables, in order: Anthropic clients, OpenAI clients, Codex with examples/codex-config.toml;
 * behind a proxy (a proxy variable in `env`), NO_PROXY with a local ccproxy's host (see directTo).
 */
export function clientVariables(
  base: string,
  key: string,
  mode: Mode = 'api',
  env: NodeJS.ProcessEnv = {},
): Array<[string, string]> {
  const vars: Array<[string, string]> = [
    ['ANTHROPIC_BASE_URL', `${base}/${mode}`],
    ['ANTHROPIC_API_KEY', key],
    ['OPENAI_BASE_URL', `${base}/${mode}/v1`],
    ['OPENAI_API_KEY', key],
    [CODEX_KEY_VAR, key],
  ];
  const direct = directTo(env, base);
  if (direct.NO_PROXY !== env.NO_PROXY || direct.no_proxy !== env.no_proxy)
    vars.push(['NO_PROXY', direct.NO_PROXY!], ['no_proxy', direct.no_proxy!]);
  return vars;
}

/** The shell this runs in, from $SHELL (PowerShell on Windows), bash when unknown. */
export function detectShell(env: NodeJS.ProcessEnv = process.env, platform = process.platform): Shell {
  const name = path.basename(env.SHELL ?? '').replace(/\.exe$/, '');
  if (name === 'zsh' || name === 'fish' || name === 'bash') return name;
  if (name === 'pwsh' || name === 'powershell' || (!env.SHELL && platform === 'win32')) return 'powershell';
  return 'bash';
}

/** A value as one literal word of the shell: single quotes, with the shell's own escape for a quote. */
function quote(shell: Shell, value: string): string {
  switch (shell) {
    case 'bash':
    case 'zsh':
      return `'${value.replaceAll("'", `'\\''`)}'`;
    case 'fish':
      return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
    case 'powershell':
      return `'${value.replaceAll("'", "''")}'`;
  }
}

export function renderEnv(shell: Shell, vars: Array<[string, string]>): string {
  const statement = {
    bash: (name: string, v: string) => `export ${name}=${v}`,
    zsh: (name: string, v: string) => `export ${name}=${v}`,
    fish: (name: string, v: string) => `set -gx ${name} ${v}`,
    powershell: (name: string, v: string) => `$env:${name} = ${v}`,
  }[shell];
  const lines = vars.map(([name, value]) => statement(name, quote(shell, value)));
  const how = {
    bash: 'eval "$(ccproxy env --shell bash)"',
    zsh: 'eval "$(ccproxy env --shell zsh)"',
    fish: 'ccproxy env --shell fish | source',
    powershell: 'ccproxy env --shell powershell | Out-String | Invoke-Expression',
  }[shell];
  return `${lines.join('\n')}\n# Set these in the current shell with: ${how}\n`;
}
