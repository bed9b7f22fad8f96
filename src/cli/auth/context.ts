/**
 * What every `ccproxy auth` command shares: the terminal as the commands see it (tests script it),
 * the context they run in, how a failure becomes a message and an exit code, and how times and
 * token-manager failures are put to a person.
 */
import os from 'node:os';
import readline from 'node:readline';
import type { Logger } from 'pino';
import { expandPath, expandVars } from '../../accounts/config.ts';
import { openBrowser } from '../../auth/browser.ts';
import { type CredentialPaths, credentialPaths } from '../../auth/credentials.ts';
import { AuthError, EXIT_CODES } from '../../auth/errors.ts';
import { TokenManager } from '../../auth/token-manager.ts';
import type { Settings } from '../../config/schema.ts';

/** The terminal, as the commands see it (tests script it). */
export interface AuthIO {
  out(text: string): void;
  err(text: string): void;
  /** One line of input; undefined when the input ended. */
  readLine(prompt: string, signal: AbortSignal): Promise<string | undefined>;
  openBrowser(url: string): Promise<boolean>;
  /** Whether a person can answer questions (stdin is a terminal). */
  interactive: boolean;
}

export interface AuthContext {
  settings: Settings;
  /** process.env over `.env`: where CLAUDE_CODE_OAUTH_TOKEN is read. */
  env: Record<string, string | undefined>;
  io: AuthIO;
  log: Logger;
  /** The user's own settings file (`--config`, else ~/.config/ccproxy/config.toml): `login --account` lists new accounts there. */
  settingsFile?: string;
}

/** How long `auth login` waits for the browser (or the pasted code) unless `--timeout` says. */
export const DEFAULT_TIMEOUT_S = 300;

/** The credential files the settings name, as absolute paths. */
export const paths = (ctx: AuthContext): CredentialPaths => credentialPaths(ctx.settings);

/** Print a failure and return its exit code. */
export function fail(ctx: AuthContext, err: unknown): number {
  if (err instanceof AuthError) {
    ctx.io.err(`ccproxy: ${err.message}\n`);
    return err.exitCode;
  }
  ctx.io.err(`ccproxy: ${(err as Error).message ?? String(err)}\n`);
  return EXIT_CODES.failed;
}

/**
 * A token manager over the credentials in use, or with `account` over that account's login (its
 * `credentials_file`, as the proxy reads it); none found is a failure that says what to run.
 */
export function tokenManager(ctx: AuthContext, account?: string): TokenManager {
  const file = account === undefined ? undefined : accountFile(ctx, account);
  const tokens = new TokenManager({
    settings: ctx.settings,
    env: ctx.env,
    log: ctx.log,
    file,
    loginCommand: account === undefined ? undefined : `ccproxy auth login --account ${account}`,
  });
  if (!tokens.credentials)
    throw new AuthError(
      'failed',
      file
        ? `No login in ${file.path} for account "${account}". Run \`ccproxy auth login --account ${account}\`.`
        : 'No Claude subscription credentials found. Run `ccproxy auth login`.',
    );
  return tokens;
}

/** `ccproxy auth login`, for the credentials in use or a named account. */
export const loginCommand = (account?: string) =>
  account === undefined ? '`ccproxy auth login`' : `\`ccproxy auth login --account ${account}\``;

/** Where a listed account keeps its login; a usage error for any other name or kind of account. */
export function accountFile(ctx: AuthContext, name: string): { path: string; label: string } {
  const list = ctx.settings.accounts.list;
  const listed = list.find((a) => a.name === name);
  if (!listed)
    throw new AuthError(
      'usage',
      `--account "${name}": the settings list ${list.length ? `only ${list.map((a) => `"${a.name}"`).join(', ')}` : 'no accounts'} (accounts.list, docs/accounts.md).`,
    );
  if (listed.credentials_file === undefined) {
    const key = listed.oauth_token !== undefined ? 'oauth_token' : 'api_key';
    throw new AuthError(
      'usage',
      `Account "${name}" holds an ${key} in the settings: there is no login to show, refresh or remove (a running proxy's \`ccproxy accounts\` shows its state).`,
    );
  }
  let file: string;
  try {
    file = expandPath(
      expandVars(listed.credentials_file, ctx.env, `Account "${name}": credentials_file`).value,
      os.homedir(),
    );
  } catch (err) {
    throw new AuthError('usage', (err as Error).message);
  }
  return { path: file, label: `account ${name} (${file})` };
}

/**
 * A token manager's failure to give a token, as an AuthError: a dead refresh token (exit 6, with
 * `dead` as the message), an unreachable token endpoint (exit 8), or anything else (exit 1).
 */
export function refreshFailure(tokens: TokenManager, err: unknown, dead: string): AuthError {
  if (tokens.state().reloginRequired) return new AuthError('invalid_grant', dead);
  const msg = (err as Error).message;
  return new AuthError(/cannot reach/i.test(msg) ? 'unreachable' : 'failed', msg);
}

/** `in 7h 59m`, `3m ago`. */
export function relative(ms: number, now = Date.now()): string {
  const d = ms - now;
  const abs = Math.abs(d);
  const h = Math.floor(abs / 3_600_000);
  const m = Math.floor((abs % 3_600_000) / 60_000);
  const span = h >= 48 ? `${Math.floor(h / 24)}d` : h > 0 ? `${h}h ${m}m` : `${m}m`;
  return d >= 0 ? `in ${span}` : `${span} ago`;
}

export function expiry(expiresAt: number | undefined): string {
  if (expiresAt === undefined) return 'unknown (long-lived token)';
  return `${new Date(expiresAt).toISOString()} (${expiresAt > Date.now() ? relative(expiresAt) : `expired ${relative(expiresAt)}`})`;
}

export function terminalIO(): AuthIO {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    readLine(prompt, signal) {
      return new Promise((resolve) => {
        const rl = readline.createInterface({
          input: process.stdin,
          output: process.stdout,
          terminal: false,
        });
        let answered = false;
        process.stdout.write(prompt);
        rl.once('line', (line) => {
          answered = true;
          rl.close();
          resolve(line);
        });
        rl.once('close', () => {
          if (!answered) resolve(undefined);
        });
        signal.addEventListener('abort', () => rl.close(), { once: true });
      });
    },
    openBrowser: (url) => openBrowser(url),
    interactive: process.stdin.isTTY === true,
  };
}
