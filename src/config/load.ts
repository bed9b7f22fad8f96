/**
 * Loads settings from every source and merges them, each key taken from the highest that sets it:
 * command-line flags, the environment (`SERVER__PORT`), `.env` in the working directory, the working
 * directory's `.ccproxy.toml` then `ccproxy.toml`, the user's `~/.config/ccproxy/config.toml`
 * (`--config FILE` instead of all three TOML files), defaults. Each leaf remembers where its value
 * came from, for `ccproxy config show` and for errors. Protected keys (see trust.ts) are not taken
 * from an untrusted working directory's files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dotenv from 'dotenv';
import { parse as parseToml } from 'smol-toml';
import { expectedForm, FIELD_BY_KEY, FIELDS, type Field, GROUPS } from './fields.ts';
import { type Settings, settingsSchema } from './schema.ts';
import { displayValue } from './secrets.ts';
import { howToTrust, isOwnFolder, isTrustedFolder, SENSITIVE_ENV } from './trust.ts';

export type Source = 'default' | `toml:${string}` | '.env' | 'env' | 'flag';

/** A protected key that an untrusted working directory's file tried to set. */
export interface IgnoredSetting {
  key: string;
  file: string;
}

export interface Loaded {
  settings: Settings;
  /** Where each leaf key's effective value came from. */
  sources: Record<string, Source>;
  /** Unknown keys, ignored protected keys and other non-fatal findings, one line each. */
  warnings: string[];
  /** The TOML files read, lowest precedence first. */
  tomlFiles: string[];
  /** The user's own settings file (`--config`, else ~/.config/ccproxy/config.toml), read or not. */
  userFile: string;
  /** May the working directory's files set protected keys? */
  trusted: boolean;
  /** Protected keys (and `.env` variables) that were not taken from the working directory. */
  ignored: IgnoredSetting[];
  /** process.env over `.env` (a trusted one): what credential lookups (CLAUDE_CODE_OAUTH_TOKEN) read. */
  env: Record<string, string | undefined>;
}

export interface LoadOptions {
  /** Flag values by dotted key (`server.port`), already typed or as strings. */
  flags?: Record<string, unknown>;
  /** An explicit TOML file (`--config`); it must exist, and it replaces the files found by default. */
  configFile?: string;
  /** Trust the working directory for this run (`--trust-project`). */
  trustProject?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
}

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

/** The user's own settings file: `$XDG_CONFIG_HOME/ccproxy/config.toml`. */
export function userConfigPath(home: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'ccproxy', 'config.toml');
}

/** The working directory's settings files, lowest precedence first. */
export function projectConfigPaths(cwd: string): string[] {
  return [path.join(cwd, 'ccproxy.toml'), path.join(cwd, '.ccproxy.toml')];
}

const GROUP_KEYS = new Set(GROUPS.map((g) => g.key));
const TOP_GROUPS = new Set(GROUPS.filter((g) => !g.key.includes('.')).map((g) => g.key));

/** Where a value came from, in words: `environment variable SERVER__PORT`, a file's path, `default`. */
export function describeSource(source: Source, key: string): string {
  if (source === 'env') return `environment variable ${envVar(key)}`;
  if (source === '.env') return `.env entry ${envVar(key)}`;
  if (source === 'flag') return 'command-line flag';
  if (source.startsWith('toml:')) return `${source.slice(5)}`;
  return 'default';
}

const envVar = (key: string) => key.toUpperCase().replaceAll('.', '__');

/** Turn a string from env/.env/flags into the leaf's type; throws a SettingsError naming the key. */
function coerce(field: Field, raw: unknown, source: Source): unknown {
  if (typeof raw !== 'string') return raw;
  const s = raw.trim();
  const fail = (): never => {
    throw new SettingsError(
      `Invalid setting ${field.key} = ${JSON.stringify(raw)} (from ${describeSource(source, field.key)}): expected ${expectedForm(field)}.`,
    );
  };
  switch (field.type) {
    case 'integer':
    case 'number': {
      if (s === '' || !/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(s)) fail();
      return Number(s);
    }
    case 'boolean': {
      const v = s.toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
      return fail();
    }
    case 'list':
      if (s.startsWith('[')) {
        try {
          return JSON.parse(s);
        } catch {
          return fail();
        }
      }
      return s === ''
        ? []
        : s
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean);
    case 'json':
      try {
        return JSON.parse(s);
      } catch {
        return fail();
      }
    default:
      return raw;
  }
}

/** `~/x` in a path setting means the home directory, as in a shell. */
function expandHome(value: unknown, home: string): unknown {
  return typeof value === 'string' && (value === '~' || value.startsWith('~/'))
    ? path.join(home, value.slice(1))
    : value;
}

/**
 * Arrays of tables TOML may also write at the group's own name: `[[accounts]]` for
 * `[[accounts.list]]` (the group's other keys then come from another file or the environment, since
 * TOML cannot make `accounts` both a list and a table).
 */
const TOML_LISTS: Record<string, string> = { accounts: 'accounts.list' };

/** Flatten a TOML document into dotted leaf keys, warning about keys the schema does not have. */
function flattenToml(doc: Record<string, unknown>, file: string, warnings: string[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const visit = (obj: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (FIELD_BY_KEY.has(key)) out.set(key, v);
      else if (key in TOML_LISTS && Array.isArray(v)) out.set(TOML_LISTS[key]!, v);
      else if (GROUP_KEYS.has(key) && v && typeof v === 'object' && !Array.isArray(v))
        visit(v as Record<string, unknown>, key);
      else
        warnings.push(
          `Unknown setting "${key}" in ${file} (ignored). See docs/configuration.md for the keys.`,
        );
    }
  };
  visit(doc, '');
  return out;
}

/** Settings keys present in an environment-like map (`SERVER__PORT`), with warnings for near misses. */
function fromEnv(
  env: Record<string, string | undefined>,
  label: string,
  warnings: string[],
): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.includes('__')) continue;
    const key = name.toLowerCase().replaceAll('__', '.');
    const top = key.split('.')[0];
    if (!TOP_GROUPS.has(top)) continue; // someone else's variable
    if (FIELD_BY_KEY.has(key)) out.set(key, value);
    else warnings.push(`Unknown setting ${name} in ${label} (ignored).`);
  }
  return out;
}

function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    cur[p] ??= {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

/** One source of settings, as read: values by dotted key, not yet checked. */
interface Layer {
  source: Source;
  values: Map<string, unknown>;
  /** A file of the working directory (subject to trust), with its path. */
  workingDir?: string;
}

/** Parse a TOML file; a syntax error names the file, line and column. */
function readToml(file: string, warnings: string[]): Map<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new SettingsError(`Cannot read config file ${file}: ${(err as Error).message}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    const e = err as Error & { line?: number; column?: number };
    const reason = (e.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
    const at = e.line ? `:${e.line}${e.column ? `:${e.column}` : ''}` : '';
    const where = e.line ? ` (line ${e.line}${e.column ? `, column ${e.column}` : ''})` : '';
    // The offending line is not quoted: it may hold a secret (a token with a missing quote).
    throw new SettingsError(`Invalid TOML in ${file}${at}${where}: ${reason}.`);
  }
  return flattenToml(doc, file, warnings);
}

/** The working directory's `.env`; one that cannot be read is a settings error naming it. */
function readDotEnv(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // A folder named .env is what a bind mount of a missing file leaves behind.
    const why =
      e.code === 'EISDIR'
        ? 'it is a folder, not a file'
        : e.code === 'EACCES'
          ? 'permission denied'
          : e.message;
    throw new SettingsError(
      `Cannot read ${file}: ${why}. Fix or remove it, or start ccproxy in another folder.`,
    );
  }
}

export function loadSettings(opts: LoadOptions = {}): Loaded {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const home = opts.home ?? os.homedir();
  const warnings: string[] = [];

  // 1. Every source, lowest first. TOML: the user's file, then the working directory's (or --config).
  const layers: Layer[] = [];
  const tomlFiles: string[] = [];
  let userFile = userConfigPath(home, env);
  if (opts.configFile) {
    userFile = path.resolve(cwd, opts.configFile);
    if (!fs.existsSync(userFile))
      throw new SettingsError(`Config file not found: ${userFile} (from --config).`);
    tomlFiles.push(userFile);
  } else {
    const seen = new Set<string>();
    for (const file of [userFile, ...projectConfigPaths(cwd)]) {
      if (!fs.existsSync(file) || seen.has(fs.realpathSync(file))) continue;
      seen.add(fs.realpathSync(file));
      tomlFiles.push(file);
    }
  }
  for (const file of tomlFiles) {
    const workingDir = file === userFile ? undefined : file;
    layers.push({ source: `toml:${file}`, values: readToml(file, warnings), workingDir });
  }
  const dotEnvPath = path.join(cwd, '.env');
  let dotEnv: Record<string, string> = {};
  if (fs.existsSync(dotEnvPath)) {
    dotEnv = dotenv.parse(readDotEnv(dotEnvPath));
    layers.push({ source: '.env', values: fromEnv(dotEnv, '.env', warnings), workingDir: dotEnvPath });
  }
  layers.push({ source: 'env', values: fromEnv(env, 'the environment', warnings) });
  const flags = new Map<string, unknown>();
  for (const [k, v] of Object.entries(opts.flags ?? {})) {
    if (v === undefined) continue;
    if (!FIELD_BY_KEY.has(k)) throw new SettingsError(`Unknown flag setting ${k}.`);
    flags.set(k, v);
  }
  layers.push({ source: 'flag', values: flags });

  // 2. Is the working directory trusted? Only the user's own sources can say so.
  let folders: unknown = [];
  for (const l of layers) {
    if (l.workingDir || !l.values.has(TRUST_KEY)) continue;
    folders = coerce(FIELD_BY_KEY.get(TRUST_KEY)!, l.values.get(TRUST_KEY), l.source);
  }
  const trusted =
    opts.trustProject === true ||
    isOwnFolder(cwd, [home, path.dirname(userConfigPath(home, env))]) ||
    (Array.isArray(folders) && isTrustedFolder(cwd, folders.map(String), home));

  // 3. Merge, leaving out what an untrusted working directory may not set.
  const values = new Map<string, { value: unknown; source: Source }>();
  const ignored: IgnoredSetting[] = [];
  for (const layer of layers) {
    for (const [key, raw] of layer.values) {
      const field = FIELD_BY_KEY.get(key)!;
      if (layer.workingDir && !trusted && field.protected) {
        // Left out either way; only a value that would change something is worth a warning.
        if (!isDefault(field, raw, layer.source, home)) ignored.push({ key, file: layer.workingDir });
        continue;
      }
      values.set(key, { value: expandHome(coerce(field, raw, layer.source), home), source: layer.source });
    }
  }
  // An untrusted .env sets ccproxy settings only: its other variables (a token, ANTHROPIC_BASE_URL,
  // proxies…) would reach the credential lookup, the upstream calls and the agents' environment.
  const dropped = trusted ? [] : Object.keys(dotEnv).filter((n) => SENSITIVE_ENV.test(n));
  for (const name of dropped) ignored.push({ key: name, file: dotEnvPath });
  for (const file of new Set(ignored.map((i) => i.file))) {
    const keys = ignored.filter((i) => i.file === file).map((i) => i.key);
    warnings.push(
      `Ignored ${keys.join(', ')} from ${file}: this working directory is not trusted, and ${keys.length === 1 ? 'that setting' : 'those settings'} could send your credentials elsewhere or widen what ccproxy and its agents may do. ${howToTrust(cwd, userFile)}`,
    );
  }

  const input: Record<string, unknown> = {};
  for (const [k, { value }] of values) setPath(input, k, value);
  const parsed = settingsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = leafKeyOf(issue.path.map(String));
    const field = FIELD_BY_KEY.get(key);
    const got = values.get(key);
    // A malformed storage URL may still carry a password, an account list its tokens: never shown.
    const shown = got ? JSON.stringify(displayValue(key, got.value)) : 'value';
    const from = got ? describeSource(got.source, key) : 'settings';
    const detail =
      field?.type === 'json'
        ? `${issue.path.join('.')}: ${issue.message}`
        : issue.code === 'custom'
          ? issue.message
          : `expected ${field ? expectedForm(field) : issue.message}`;
    throw new SettingsError(`Invalid setting ${key} = ${shown} (from ${from}): ${detail}.`);
  }

  const sources: Record<string, Source> = {};
  for (const f of FIELDS) sources[f.key] = values.get(f.key)?.source ?? 'default';
  return {
    settings: parsed.data,
    sources,
    warnings,
    tomlFiles,
    userFile,
    trusted,
    ignored,
    env: trusted ? { ...dotEnv, ...env } : { ...env },
  };
}

const TRUST_KEY = 'security.trusted_folders';

/** A raw value that amounts to the key's default (a `config init` file with everything uncommented). */
function isDefault(field: Field, raw: unknown, source: Source, home: string): boolean {
  try {
    return JSON.stringify(expandHome(coerce(field, raw, source), home)) === JSON.stringify(field.default);
  } catch {
    return false;
  }
}

/** The leaf key an issue path points into (`openai.model_map.0.pattern` → `openai.model_map`). */
function leafKeyOf(parts: string[]): string {
  for (let i = parts.length; i > 0; i--) {
    const key = parts.slice(0, i).join('.');
    if (FIELD_BY_KEY.has(key)) return key;
  }
  return parts.join('.');
}

/** Read a leaf by dotted key. */
export function getSetting(settings: Settings, key: string): unknown {
  let cur: unknown = settings;
  for (const p of key.split('.')) cur = (cur as Record<string, unknown> | undefined)?.[p];
  return cur;
}
