/**
 * The accounts the settings list, made ready to use: `${VAR}` expanded from the environment, `~`
 * and relative paths resolved, each credentials file read once to prove it is there and readable.
 * The schema has already checked what can be checked without the environment (names unique,
 * exactly one credential each); what fails here stops start-up with a message naming the account
 * and the key.
 */
import os from 'node:os';
import path from 'node:path';
import { readCredentialsFile } from '../auth/credentials.ts';
import type { AccountSettings, Settings } from '../config/schema.ts';

export class AccountsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccountsError';
  }
}

export type AccountSpec =
  | { name: string; priority: number; order: number; kind: 'oauth_token'; token: string; from: string }
  | { name: string; priority: number; order: number; kind: 'api_key'; key: string; from: string }
  | { name: string; priority: number; order: number; kind: 'credentials_file'; file: string };

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** `${VAR}` replaced by its value; a variable that is unset (or empty) is an error naming it. */
export function expandVars(
  value: string,
  env: Record<string, string | undefined>,
  where: string,
): { value: string; vars: string[] } {
  const vars: string[] = [];
  const out = value.replace(VAR, (_, name: string) => {
    const v = env[name];
    if (v === undefined || v.trim() === '')
      throw new AccountsError(`${where} names \${${name}}, which is not set in the environment.`);
    vars.push(name);
    return v.trim();
  });
  return { value: out.trim(), vars };
}

/** `~` and relative paths made absolute, as every account's credentials_file is read. */
export function expandPath(file: string, home: string): string {
  const p = file === '~' || file.startsWith('~/') ? path.join(home, file.slice(1)) : file;
  return path.resolve(p);
}

/** One account's settings, resolved; throws an AccountsError naming the account and the key. */
function resolveOne(
  a: AccountSettings,
  order: number,
  env: Record<string, string | undefined>,
  home: string,
): AccountSpec {
  const at = (key: string) => `Account "${a.name}": ${key}`;
  const base = { name: a.name, priority: a.priority, order };
  if (a.oauth_token !== undefined) {
    const { value, vars } = expandVars(a.oauth_token, env, at('oauth_token'));
    if (!value) throw new AccountsError(`${at('oauth_token')} is empty.`);
    return { ...base, kind: 'oauth_token', token: value, from: from(vars, 'oauth_token') };
  }
  if (a.api_key !== undefined) {
    const { value, vars } = expandVars(a.api_key, env, at('api_key'));
    if (!value) throw new AccountsError(`${at('api_key')} is empty.`);
    return { ...base, kind: 'api_key', key: value, from: from(vars, 'api_key') };
  }
  const raw = expandVars(a.credentials_file ?? '', env, at('credentials_file')).value;
  if (!raw) throw new AccountsError(`${at('credentials_file')} is empty.`);
  const file = expandPath(raw, home);
  let creds: ReturnType<typeof readCredentialsFile>;
  try {
    creds = readCredentialsFile(file);
  } catch (err) {
    throw new AccountsError(`${at('credentials_file')}: ${(err as Error).message}`);
  }
  if (!creds)
    throw new AccountsError(
      `${at('credentials_file')} ${file} is missing or holds no login. Run \`ccproxy auth login --account ${a.name}\`, or point it at a Claude CLI credentials file.`,
    );
  return { ...base, kind: 'credentials_file', file };
}

/** Where a written credential came from, for status pages: the variable, or the settings. */
const from = (vars: string[], key: string) =>
  vars.length ? `environment variable ${vars.join(', ')}` : `accounts.list ${key}`;

/** The kind of credential an account's settings give. */
export function kindOf(a: AccountSettings): AccountSpec['kind'] {
  return a.oauth_token !== undefined
    ? 'oauth_token'
    : a.api_key !== undefined
      ? 'api_key'
      : 'credentials_file';
}

export interface ResolvedAccounts {
  /** The enabled accounts, resolved, in the order written. */
  enabled: AccountSpec[];
  /** `enabled = false`: listed in status, never used, not checked. */
  disabled: Array<{ name: string; kind: AccountSpec['kind'] }>;
}

/** The settings' accounts, resolved. Throws an AccountsError on bad input. */
export function resolveAccounts(
  settings: Settings,
  env: Record<string, string | undefined>,
  home = os.homedir(),
): ResolvedAccounts {
  const out: ResolvedAccounts = { enabled: [], disabled: [] };
  settings.accounts.list.forEach((a, i) => {
    if (a.enabled) out.enabled.push(resolveOne(a, i, env, home));
    else out.disabled.push({ name: a.name, kind: kindOf(a) });
  });
  return out;
}
