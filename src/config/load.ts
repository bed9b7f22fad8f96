/**
 * Loads settings from every source and merges them, highest first: command-line flags,
 * environment (`SERVER__PORT`), `.env` in the working directory, a TOML file, defaults.
 * Each leaf remembers where its value came from, for `ccproxy config show` and for errors.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dotenv from 'dotenv';
import { parse as parseToml } from 'smol-toml';
import { expectedForm, FIELD_BY_KEY, FIELDS, type Field, GROUPS } from './fields.ts';
import { type Settings, settingsSchema } from './schema.ts';

export type Source = 'default' | `toml:${string}` | '.env' | 'env' | 'flag';

export interface Loaded {
  settings: Settings;
  /** Where each leaf key's effective value came from. */
  sources: Record<string, Source>;
  /** Unknown keys and other non-fatal findings, one line each. */
  warnings: string[];
  /** The TOML file read, if any. */
  tomlPath?: string;
  /** process.env over `.env`: what credential lookups (CLAUDE_CODE_OAUTH_TOKEN) should read. */
  env: Record<string, string | undefined>;
}

export interface LoadOptions {
  /** Flag values by dotted key (`server.port`), already typed or as strings. */
  flags?: Record<string, unknown>;
  /** An explicit TOML file (`--config`); it must exist. */
  configFile?: string;
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

export function tomlCandidates(cwd: string, home: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const xdg = env.XDG_CONFIG_HOME || path.join(home, '.config');
  return [
    path.join(cwd, '.ccproxy.toml'),
    path.join(cwd, 'ccproxy.toml'),
    path.join(xdg, 'ccproxy', 'config.toml'),
  ];
}

const GROUP_KEYS = new Set(GROUPS.map((g) => g.key));
const TOP_GROUPS = new Set(GROUPS.filter((g) => !g.key.includes('.')).map((g) => g.key));

function describeSource(source: Source, key: string): string {
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

/** Flatten a TOML document into dotted leaf keys, warning about keys the schema does not have. */
function flattenToml(doc: Record<string, unknown>, file: string, warnings: string[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const visit = (obj: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (FIELD_BY_KEY.has(key)) out.set(key, v);
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
): Map<string, string> {
  const out = new Map<string, string>();
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

export function loadSettings(opts: LoadOptions = {}): Loaded {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const home = opts.home ?? os.homedir();
  const warnings: string[] = [];
  const values = new Map<string, { value: unknown; source: Source }>();
  const put = (key: string, value: unknown, source: Source) => {
    values.set(key, { value: expandHome(coerce(FIELD_BY_KEY.get(key)!, value, source), home), source });
  };

  // 1. TOML (lowest of the sources that are not defaults).
  let tomlPath: string | undefined;
  if (opts.configFile) {
    tomlPath = path.resolve(cwd, opts.configFile);
    if (!fs.existsSync(tomlPath))
      throw new SettingsError(`Config file not found: ${tomlPath} (from --config).`);
  } else {
    tomlPath = tomlCandidates(cwd, home, env).find((p) => fs.existsSync(p));
  }
  if (tomlPath) {
    let doc: Record<string, unknown>;
    try {
      doc = parseToml(fs.readFileSync(tomlPath, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new SettingsError(`Cannot read config file ${tomlPath}: ${msg}`);
    }
    for (const [k, v] of flattenToml(doc, tomlPath, warnings)) put(k, v, `toml:${tomlPath}`);
  }

  // 2. .env in the working directory.
  let dotEnv: Record<string, string> = {};
  const dotEnvPath = path.join(cwd, '.env');
  if (fs.existsSync(dotEnvPath)) {
    dotEnv = dotenv.parse(fs.readFileSync(dotEnvPath));
    for (const [k, v] of fromEnv(dotEnv, '.env', warnings)) put(k, v, '.env');
  }

  // 3. The environment.
  for (const [k, v] of fromEnv(env, 'the environment', warnings)) put(k, v, 'env');

  // 4. Flags.
  for (const [k, v] of Object.entries(opts.flags ?? {})) {
    if (v === undefined) continue;
    if (!FIELD_BY_KEY.has(k)) throw new SettingsError(`Unknown flag setting ${k}.`);
    put(k, v, 'flag');
  }

  const input: Record<string, unknown> = {};
  for (const [k, { value }] of values) setPath(input, k, value);
  const parsed = settingsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = leafKeyOf(issue.path.map(String));
    const field = FIELD_BY_KEY.get(key);
    const got = values.get(key);
    const shown = got ? JSON.stringify(got.value) : 'value';
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
  return { settings: parsed.data, sources, warnings, tomlPath, env: { ...dotEnv, ...env } };
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
