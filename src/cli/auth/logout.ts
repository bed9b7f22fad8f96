/**
 * `ccproxy auth logout`: remove ccproxy's own stored login (and, with `--claude-cli`, the Claude
 * CLI's), after asking; then say which credentials ccproxy uses now, if any. With `--account NAME`,
 * a listed account's login instead (its `credentials_file`; the account stays in the settings).
 */
import fs from 'node:fs';
import { findCredentials, holdsLogin, removeLogin } from '../../auth/credentials.ts';
import { AuthError } from '../../auth/errors.ts';
import { type AuthContext, accountFile, fail, loginCommand, paths } from './context.ts';

export interface LogoutOptions {
  yes?: boolean;
  /** Also remove the Claude CLI's login (logs Claude Code out too). */
  claudeCli?: boolean;
  /** A listed account's login instead of the default one. */
  account?: string;
}

/** Ask before removing (unless --yes); false when the answer is not yes. */
async function confirm(ctx: AuthContext, opts: LogoutOptions, what: string): Promise<boolean> {
  if (opts.yes) return true;
  if (!ctx.io.interactive)
    throw new AuthError('usage', 'Not asking without a terminal: pass --yes to log out.');
  const answer = await ctx.io.readLine(`Remove ${what}? [y/N] `, AbortSignal.timeout(10 * 60_000));
  if (/^y(es)?$/i.test(answer?.trim() ?? '')) return true;
  ctx.io.out('Nothing was removed.\n');
  return false;
}

export async function logout(ctx: AuthContext, opts: LogoutOptions): Promise<number> {
  const { io } = ctx;
  const p = paths(ctx);
  try {
    if (opts.account !== undefined) return await logoutAccount(ctx, opts, opts.account);
    const own = holdsLogin(p.credentialsFile);
    const claude = opts.claudeCli === true && holdsLogin(p.claudeCredentialsFile);
    const targets = [
      own ? `ccproxy's credentials in ${p.credentialsFile}` : undefined,
      claude
        ? `the Claude CLI's login in ${p.claudeCredentialsFile} (Claude Code will be logged out too)`
        : undefined,
    ].filter((t): t is string => t !== undefined);
    if (targets.length === 0) {
      io.out(
        `Nothing to remove: ${opts.claudeCli ? 'neither file holds' : `${p.credentialsFile} holds no`} credentials.\n`,
      );
      describeRemaining(ctx);
      return 0;
    }
    if (!(await confirm(ctx, opts, targets.join(' and ')))) return 1;
    // ccproxy's own store is wholly its own; the Claude CLI's file keeps its other keys.
    if (own) fs.rmSync(p.credentialsFile, { force: true });
    if (claude) removeLogin(p.claudeCredentialsFile);
    io.out(`Removed ${targets.join(' and ')}.\n`);
    describeRemaining(ctx);
    return 0;
  } catch (err) {
    return fail(ctx, err);
  }
}

/** A listed account's login: its file loses the login (other keys stay); the settings are not touched. */
async function logoutAccount(ctx: AuthContext, opts: LogoutOptions, name: string): Promise<number> {
  if (opts.claudeCli)
    throw new AuthError('usage', '--account and --claude-cli name different logins: log out one at a time.');
  const file = accountFile(ctx, name);
  if (!holdsLogin(file.path)) {
    ctx.io.out(`Nothing to remove: ${file.path} holds no login for account "${name}".\n`);
    return 0;
  }
  if (!(await confirm(ctx, opts, `the login of account ${name} in ${file.path}`))) return 1;
  removeLogin(file.path);
  ctx.io.out(
    `Removed the login of account ${name} from ${file.path}. The account is still listed in your settings, and \`ccproxy serve\` does not start with a listed account that has no login: run ${loginCommand(name)}, or take it out of accounts.list.\n`,
  );
  return 0;
}

function describeRemaining(ctx: AuthContext): void {
  const next = findCredentials(paths(ctx), ctx.env);
  ctx.io.out(
    next
      ? `ccproxy now uses ${next.source.label}.${next.source.kind === 'claude-cli' ? ' Pass --claude-cli to remove that login too.' : ''}\n`
      : 'No credentials remain: run `ccproxy auth login` to log in again.\n',
  );
}
