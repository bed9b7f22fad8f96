/**
 * `ccproxy auth login --account NAME`: where a named account's login goes, and adding the account
 * to the settings when they do not list it yet. An account the settings already list with a
 * credentials_file is logged in again in that file (a running proxy notices the new login within
 * RECHECK_MS when it had marked the account invalid); a new one gets its own file beside ccproxy's
 * store and a `[[accounts.list]]` table appended to the user's settings file. Appending (rather
 * than rewriting) keeps the person's comments and layout; when the result would not parse (the file
 * writes the list inline), nothing is changed and the table to add is printed instead.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { expandPath, expandVars } from '../../accounts/config.ts';
import { AuthError } from '../../auth/errors.ts';
import { ACCOUNT_NAME } from '../../config/schema.ts';
import { type AuthContext, paths } from './context.ts';

export interface AccountTarget {
  name: string;
  /** Where the login is saved. */
  file: string;
  /** The settings already list the account (else the login adds it). */
  listed: boolean;
}

/** Where `--account NAME`'s login goes; a usage error for a bad name or an account that holds no file. */
export function accountTarget(ctx: AuthContext, name: string, file: string | undefined): AccountTarget {
  if (!ACCOUNT_NAME.test(name))
    throw new AuthError(
      'usage',
      `--account "${name}": use a name of letters, digits, \`_\`, \`.\` and \`-\` (at most 64), starting with a letter or digit.`,
    );
  const home = os.homedir();
  const listed = ctx.settings.accounts.list.find((a) => a.name === name);
  if (!listed) {
    const own = path.join(path.dirname(paths(ctx).credentialsFile), 'accounts', `${name}.json`);
    return { name, file: path.resolve(file ?? own), listed: false };
  }
  if (listed.credentials_file === undefined) {
    const key = listed.oauth_token !== undefined ? 'oauth_token' : 'api_key';
    throw new AuthError(
      'usage',
      `Account "${name}" holds an ${key} in the settings, so there is no login to save for it: \`auth login --account\` writes refreshable (credentials_file) accounts. Choose another name, or replace its ${key} with credentials_file.`,
    );
  }
  let configured: string;
  try {
    configured = expandPath(
      expandVars(listed.credentials_file, ctx.env, `Account "${name}": credentials_file`).value,
      home,
    );
  } catch (err) {
    throw new AuthError('usage', (err as Error).message);
  }
  if (file !== undefined && path.resolve(file) !== configured)
    throw new AuthError(
      'usage',
      `Account "${name}" reads its login from ${configured} (accounts.list credentials_file); --file ${path.resolve(file)} would not be used. Leave out --file, or change the settings first.`,
    );
  return { name, file: configured, listed: true };
}

/** The TOML table that lists the account. */
function table(header: string, a: AccountTarget): string {
  return `\n${header}\nname = ${JSON.stringify(a.name)}\ncredentials_file = ${JSON.stringify(a.file)}\n`;
}

/**
 * Lists the account in the user's settings file (created if missing, mode 0600 as it may hold
 * tokens). Returns what to tell the person.
 */
export function addAccountToSettings(settingsFile: string, a: AccountTarget): string {
  let before = '';
  try {
    before = fs.readFileSync(settingsFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      return `Could not read ${settingsFile} (${(err as Error).message}); add this to your settings to use the account:\n${table('[[accounts.list]]', a)}`;
  }
  // A file that uses the `[[accounts]]` shorthand goes on with it (TOML cannot mix the two).
  const header = /^\s*\[\[\s*accounts\s*\]\]/m.test(before) ? '[[accounts]]' : '[[accounts.list]]';
  const after = `${before}${before === '' || before.endsWith('\n') ? '' : '\n'}${table(header, a)}`;
  try {
    parseToml(after);
  } catch {
    return `${settingsFile} lists accounts in a way a table cannot be appended to; nothing was changed there. Add the account to it by hand:\n${table('[[accounts.list]]', a)}`;
  }
  fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
  fs.writeFileSync(settingsFile, after, { mode: 0o600 });
  return `Added account "${a.name}" to ${settingsFile} (${header}); a running proxy uses it after a restart.`;
}
