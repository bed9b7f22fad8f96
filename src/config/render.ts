/**
 * Text generated from the settings schema: the reference in docs/configuration.md, the commented
 * TOML that `ccproxy config init` writes, and the table `ccproxy config show` prints.
 */
import os from 'node:os';
import { stringify as tomlStringify } from 'smol-toml';
import { envName, expectedForm, FIELDS, GROUPS } from './fields.ts';
import { getSetting, type Source } from './load.ts';
import type { Settings } from './schema.ts';
import { ACCOUNT_LIST_KEYS, displayValue } from './secrets.ts';

/** Defaults that depend on the machine are shown with `~` so the docs don't name one user's home. */
function portable(value: unknown): unknown {
  const home = os.homedir();
  if (typeof value === 'string' && home && value.startsWith(home)) return `~${value.slice(home.length)}`;
  return value;
}

function showValue(v: unknown): string {
  const p = portable(v);
  if (typeof p === 'string') return p === '' ? '""' : p;
  return JSON.stringify(p);
}

const groupOf = (key: string) => key.slice(0, key.lastIndexOf('.'));

export function renderConfigDocs(): string {
  const lines: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs:config`; a test fails when it is stale. Edit the schema, not this file. -->',
    '',
    'Every setting can be given in any of these places; for each key the first that sets it wins:',
    '',
    '1. a command-line flag (`--host`, `--port`, `--log-level`, `--log-format`, `--observability`);',
    '2. an environment variable: the key in upper case with `__` between levels (`server.port` →',
    '   `SERVER__PORT`);',
    '3. an entry in `.env` in the working directory;',
    "4. the working directory's `.ccproxy.toml`, then its `ccproxy.toml`;",
    '5. your own settings file, `~/.config/ccproxy/config.toml` (`$XDG_CONFIG_HOME/ccproxy/config.toml`);',
    '6. the default.',
    '',
    'The TOML files are layered, not alternatives: a project file changes the keys it sets and keeps the',
    'rest of yours. `--config FILE` reads that one file instead of the three. Lists may be given in the',
    'environment as `a,b,c` or as a JSON array; tables (`openai.model_map`, `claude.mcp_servers`,',
    '`observability.pricing`) as JSON. A TOML syntax error stops ccproxy with the file, line and column.',
    '',
    "**Protected keys** (marked † below) can send your subscription's credentials elsewhere, run another",
    'program, or widen what ccproxy and its agents may do: upstream and OAuth URLs, credential files, the',
    "agent's permissions, tools, MCP servers, executable and folder, the listening address, allowed hosts",
    'and origins, the access-log file, and everything under `auth` and `security`. They are read from',
    'flags, the environment, your own settings file and `--config FILE`, but **not** from a working',
    "directory's `.ccproxy.toml`, `ccproxy.toml` or `.env` unless you trust that folder: starting ccproxy",
    'inside a cloned repository must not let the repository decide where your OAuth token goes. An',
    "untrusted folder's protected keys are ignored with a warning that names the file and the keys, and",
    'its `.env` sets ccproxy settings only (its `CLAUDE_CODE_OAUTH_TOKEN`, `ANTHROPIC_*`, proxy variables',
    'and the rest are not used). To trust a folder and its subfolders, list it in your own file:',
    '',
    '```toml',
    '[security]',
    'trusted_folders = ["~/code/my-project"]',
    '```',
    '',
    '(or `SECURITY__TRUSTED_FOLDERS=…`), or start ccproxy with `--trust-project` for one run. Two folders',
    "are always trusted, being yours alone: ccproxy's own settings folder (`~/.config/ccproxy`, where the",
    '[background service](install.md#background-service) runs and keeps its `.env`) and your home directory',
    "itself (the container's `/data`), not the folders below it. The start",
    "banner warns whenever an upstream or OAuth URL is not Anthropic's or the agent is allowed more than by",
    'default.',
    '',
    '`ccproxy config show` prints the effective value of every key and the file or source it came from, the',
    'files read, whether the working directory is trusted and what was ignored; `ccproxy config init` writes',
    'a commented TOML file with all of them (to `~/.config/ccproxy/config.toml`, or `--path FILE`).',
    '',
  ];
  for (const g of GROUPS) {
    const fields = FIELDS.filter((f) => groupOf(f.key) === g.key);
    if (fields.length === 0) continue;
    lines.push(
      `## \`${g.key}\` — ${g.description}`,
      '',
      '| key | env | default | accepts | description |',
      '|---|---|---|---|---|',
    );
    for (const f of fields) {
      const cell = (s: string) => s.replaceAll('|', '\\|');
      lines.push(
        `| \`${f.key}\`${f.protected ? ' †' : ''} | \`${envName(f.key)}\` | \`${cell(showValue(f.default))}\` | ${cell(expectedForm(f))} | ${cell(f.description)} |`,
      );
    }
    lines.push('');
  }
  lines.push(
    '## Example: model mapping',
    '',
    '```toml',
    '[[openai.model_map]]',
    'match = "prefix"        # exact | prefix | regex',
    'pattern = "gpt-4o"',
    'model = "claude-sonnet-5-5"',
    '```',
    '',
    'Your rules are tried first, in order, then the built-in ones (see docs/openai.md). Claude model ids pass through.',
    '',
  );
  return lines.join('\n');
}

function tomlValue(value: unknown): string {
  if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0)
    return '{}';
  // smol-toml renders a one-key document; take the value part.
  const doc = tomlStringify({ v: portable(value) as never });
  return doc.slice(doc.indexOf('=') + 1).trim();
}

/** The commented TOML file `ccproxy config init` writes: every key, commented out, at its default. */
export function renderTomlTemplate(): string {
  const out: string[] = [
    '# ccproxy configuration. Uncomment and change what you need; see docs/configuration.md.',
    '# Precedence: flags > environment (SERVER__PORT=…) > .env > ./.ccproxy.toml > ./ccproxy.toml',
    '# > ~/.config/ccproxy/config.toml > defaults. Keys marked (protected) are not read from a working',
    "# directory's files unless it is listed in security.trusted_folders (see docs/configuration.md).",
    '',
  ];
  for (const g of GROUPS) {
    const fields = FIELDS.filter((f) => groupOf(f.key) === g.key);
    if (fields.length === 0) continue;
    out.push(`[${g.key}]`, `# ${g.description}`);
    for (const f of fields) {
      const name = f.key.slice(g.key.length + 1);
      out.push(`# ${f.description}${f.protected ? ' (protected)' : ''}`);
      out.push(`# ${name} = ${tomlValue(f.default)}`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** `ccproxy config show`: key, effective value (secrets masked) and where it came from. */
export function renderEffective(settings: Settings, sources: Record<string, Source>): string {
  const rows = FIELDS.flatMap((f) => {
    const value = displayValue(f.key, getSetting(settings, f.key));
    const raw = sources[f.key];
    const src = raw.startsWith('toml:') ? (portable(raw.slice(5)) as string) : raw;
    // One row per account: the whole list would not fit a line.
    if (ACCOUNT_LIST_KEYS.has(f.key) && Array.isArray(value) && value.length > 0)
      return value.map((a: Record<string, unknown>) => {
        const { name, ...rest } = a;
        const parts = Object.entries(rest).map(([k, v]) => `${k}=${showValue(v)}`);
        return [`${f.key}.${String(name)}`, parts.join(' '), src];
      });
    return [[f.key, showValue(value), src]];
  });
  const w0 = Math.max(...rows.map((r) => r[0].length), 3);
  const w1 = Math.min(Math.max(...rows.map((r) => r[1].length), 5), 60);
  const line = (a: string, b: string, c: string) =>
    `${a.padEnd(w0)}  ${b.length > 60 ? `${b.slice(0, 59)}…` : b.padEnd(w1)}  ${c}`;
  return [
    line('key', 'value', 'source'),
    line('-'.repeat(w0), '-'.repeat(w1), '------'),
    ...rows.map((r) => line(r[0], r[1], r[2])),
  ].join('\n');
}
