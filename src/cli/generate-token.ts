/**
 * `ccproxy generate-token`: a strong random token for `security.auth_token`, printed as
 * `SECURITY__AUTH_TOKEN=…` (the first line, ready for the environment) with client set-up lines;
 * `--save` writes it into the user's own settings file (`--config`, else
 * ~/.config/ccproxy/config.toml), keeping everything else in it, mode 0600 — never into a working
 * directory's file, which may be committed, and whose security keys are not trusted anyway.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parse as parseToml } from 'smol-toml';
import { writeSecretFile } from '../auth/credentials.ts';
import type { Loaded } from '../config/load.ts';
import { loadOrExit } from './settings.ts';

/** 256 random bits, base64url, with a prefix that says what it is (and that secret scanners can match). */
export function newProxyToken(): string {
  return `ccp_${randomBytes(32).toString('base64url')}`;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Set `table.key = "value"` in TOML text, changing nothing else: replace the key's line in `[table]`,
 * or add it there (after a commented-out `# key = …` line, as `config init` writes, if there is one),
 * or append the table. Returns undefined when the file is laid out in a way this cannot edit safely.
 */
export function setTomlString(text: string, table: string, key: string, value: string): string | undefined {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  const entry = `${key} = ${JSON.stringify(value)}`;
  const isTable = (l: string) => /^\s*\[/.test(l);
  const header = new RegExp(`^\\s*\\[\\s*${escapeRe(table)}\\s*\\]\\s*(#.*)?$`);
  const start = lines.findIndex((l) => header.test(l));
  let out: string;
  if (start < 0) {
    const firstTable = lines.findIndex(isTable);
    const top = firstTable < 0 ? lines.length : firstTable;
    const dotted = new RegExp(`^\\s*${escapeRe(table)}\\s*\\.\\s*${escapeRe(key)}\\s*=`);
    const at = lines.slice(0, top).findIndex((l) => dotted.test(l));
    if (at >= 0) {
      lines[at] = `${table}.${key} = ${JSON.stringify(value)}`;
      out = lines.join(eol);
    } else {
      const body = text.replace(/(\r?\n)*$/, '');
      out = `${body}${body ? `${eol}${eol}` : ''}[${table}]${eol}${entry}${eol}`;
    }
  } else {
    let end = lines.findIndex((l, i) => i > start && isTable(l));
    if (end < 0) end = lines.length;
    const assigned = new RegExp(`^\\s*${escapeRe(key)}\\s*=`);
    const commented = new RegExp(`^\\s*#\\s*${escapeRe(key)}\\s*=`);
    let replaced = false;
    for (let i = start + 1; i < end; i++) {
      if (assigned.test(lines[i])) {
        lines[i] = entry;
        replaced = true;
        break;
      }
    }
    if (!replaced) {
      let at = start + 1;
      for (let i = start + 1; i < end; i++) {
        if (commented.test(lines[i])) {
          at = i + 1;
          break;
        }
      }
      lines.splice(at, 0, entry);
    }
    out = lines.join(eol);
  }
  return verify(text, out, table, key, value) ? out : undefined;
}

/** The edit set exactly one value and left every other one as it was. */
function verify(before: string, after: string, table: string, key: string, value: string): boolean {
  try {
    const a = parseToml(before) as Record<string, Record<string, unknown>>;
    const b = parseToml(after) as Record<string, Record<string, unknown>>;
    if (b[table]?.[key] !== value) return false;
    const strip = (doc: Record<string, Record<string, unknown>>) => {
      const copy = structuredClone(doc);
      if (copy[table]) delete copy[table][key];
      if (copy[table] && Object.keys(copy[table]).length === 0) delete copy[table];
      return JSON.stringify(copy);
    };
    return strip(a) === strip(b);
  } catch {
    return false;
  }
}

/** Where `--save` writes: the user's own settings file (`--config`, else ~/.config/ccproxy/config.toml). */
export function saveTarget(loaded: Pick<Loaded, 'userFile'>): string {
  return loaded.userFile;
}

export interface GenerateOptions {
  save?: boolean;
}

export interface GenerateIO {
  out(text: string): void;
  err(text: string): void;
}

export function generateToken(
  loaded: Loaded,
  opts: GenerateOptions,
  io: GenerateIO,
  token = newProxyToken(),
): number {
  const { settings } = loaded;
  io.out(`SECURITY__AUTH_TOKEN=${token}\n`);
  if (opts.save) {
    const file = saveTarget(loaded);
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        io.err(`ccproxy: cannot read ${file}: ${(err as Error).message}\n`);
        return 1;
      }
    }
    let hadToken = false;
    try {
      hadToken = Boolean((parseToml(text) as { security?: { auth_token?: unknown } }).security?.auth_token);
    } catch {
      // an unreadable file is refused by setTomlString below
    }
    const edited = setTomlString(text, 'security', 'auth_token', token);
    if (edited === undefined) {
      io.err(
        `ccproxy: could not edit ${file} safely (unusual layout); nothing was written. Add it by hand under [security]:\n  auth_token = "<the token above>"\n`,
      );
      return 1;
    }
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeSecretFile(file, edited);
    io.out(`\n${hadToken ? 'Replaced the token in' : 'Saved it to'} ${file} (mode 0600).\n`);
    const source = loaded.sources['security.auth_token'];
    if (source === 'env' || source === '.env' || source === 'flag')
      io.out(
        `Note: SECURITY__AUTH_TOKEN is also set in ${source === '.env' ? '.env' : 'the environment'}, which takes precedence over the file.\n`,
      );
  } else {
    io.out(
      "\nPut that line in your environment (or a trusted folder's .env), or run `ccproxy generate-token --save`.\n",
    );
  }
  const host = ['0.0.0.0', '::', ''].includes(settings.server.host)
    ? '<this machine>'
    : settings.server.host.includes(':')
      ? `[${settings.server.host}]`
      : settings.server.host;
  const base = `http://${host}:${settings.server.port}`;
  io.out(
    [
      '',
      'Clients send it as their API key (x-api-key or Authorization: Bearer):',
      `  export ANTHROPIC_BASE_URL=${base}/api ANTHROPIC_API_KEY=${token}`,
      `  export OPENAI_BASE_URL=${base}/api/v1 OPENAI_API_KEY=${token}`,
      `  curl -H "x-api-key: ${token}" ${base}/api/v1/models`,
      '',
      'Keep it secret: anyone who has it can use your Claude subscription through this proxy.',
      '',
    ].join('\n'),
  );
  return 0;
}

export function registerGenerateToken(program: Command): void {
  program
    .command('generate-token')
    .description('Print a strong random token for security.auth_token, with client set-up lines')
    .option(
      '--save',
      'also write it to your settings file (~/.config/ccproxy/config.toml or --config; mode 0600)',
    )
    .action((opts: GenerateOptions) => {
      const loaded = loadOrExit(program.opts());
      const code = generateToken(loaded, opts, {
        out: (t) => process.stdout.write(t),
        err: (t) => process.stderr.write(t),
      });
      process.exitCode = code;
    });
}
