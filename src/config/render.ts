/**
 * Text generated from the settings schema: the reference in docs/configuration.md, the commented
 * TOML that `ccproxy config init` writes, and the table `ccproxy config show` prints.
 */
import os from 'node:os';
import { stringify as tomlStringify } from 'smol-toml';
import { maskToken } from '../auth/credentials.ts';
import { envName, expectedForm, FIELDS, GROUPS } from './fields.ts';
import { getSetting, type Source } from './load.ts';
import { SECRET_KEYS, type Settings } from './schema.ts';

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
    'Every setting can be given, highest precedence first, as a command-line flag (`--host`, `--port`,',
    '`--log-level`, `--config FILE`), an environment variable (the key in upper case with `__` between',
    'levels: `server.port` → `SERVER__PORT`), an entry in `.env` in the working directory, or a key in a TOML',
    'file (`--config FILE`, else the first of `.ccproxy.toml`, `ccproxy.toml`, `~/.config/ccproxy/config.toml`).',
    'Lists may be given in the environment as `a,b,c` or as a JSON array; tables (`openai.model_map`,',
    '`claude.mcp_servers`, `observability.pricing`) as JSON.',
    '',
    '`ccproxy config show` prints the effective value of every key and where it came from;',
    '`ccproxy config init` writes a commented TOML file with all of them.',
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
        `| \`${f.key}\` | \`${envName(f.key)}\` | \`${cell(showValue(f.default))}\` | ${cell(expectedForm(f))} | ${cell(f.description)} |`,
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
    '# Precedence: flags > environment (SERVER__PORT=…) > .env > this file > defaults.',
    '',
  ];
  for (const g of GROUPS) {
    const fields = FIELDS.filter((f) => groupOf(f.key) === g.key);
    if (fields.length === 0) continue;
    out.push(`[${g.key}]`, `# ${g.description}`);
    for (const f of fields) {
      const name = f.key.slice(g.key.length + 1);
      out.push(`# ${f.description}`);
      out.push(`# ${name} = ${tomlValue(f.default)}`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** `ccproxy config show`: key, effective value (secrets masked) and where it came from. */
export function renderEffective(settings: Settings, sources: Record<string, Source>): string {
  const rows = FIELDS.map((f) => {
    const v = getSetting(settings, f.key);
    const shown = SECRET_KEYS.has(f.key) ? (v ? maskToken(String(v)) : '""') : showValue(v);
    const src = sources[f.key];
    return [f.key, shown, src.startsWith('toml:') ? (portable(src.slice(5)) as string) : src];
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
