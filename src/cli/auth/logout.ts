/**
 * `ccproxy auth logout`: remove ccproxy's own stored login (and, with `--claude-cli`, the Claude
 * CLI's), after asking; then say which credentials ccproxy uses now, if any.
 */
import fs from 'node:fs';
import { findCredentials, holdsLogin, removeLogin } from '../../auth/credentials.ts';
import { AuthError } from '../../auth/errors.ts';
import { type AuthContext, fail, paths } from './context.ts';

export interface LogoutOptions {
  yes?: boolean;
  /** Also remove the Claude CLI's login (logs Claude Code out too). */
  claudeCli?: boolean;
}

export async function logout(ctx: AuthContext, opts: LogoutOptions): Promise<number> {
  const { io } = ctx;
  const p = paths(ctx);
  try {
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
    if (!opts.yes) {
      if (!io.interactive)
        throw new AuthError('usage', 'Not asking without a terminal: pass --yes to log out.');
      const answer = await io.readLine(
        `Remove ${targets.join(' and ')}? [y/N] `,
        AbortSignal.timeout(10 * 60_000),
      );
      if (!/^y(es)?$/i.test(answer?.trim() ?? '')) {
        io.out('Nothing was removed.\n');
        return 1;
      }
    }
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

function describeRemaining(ctx: AuthContext): void {
  const next = findCredentials(paths(ctx), ctx.env);
  ctx.io.out(
    next
      ? `ccproxy now uses ${next.source.label}.${next.source.kind === 'claude-cli' ? ' Pass --claude-cli to remove that login too.' : ''}\n`
      : 'No credentials remain: run `ccproxy auth login` to log in again.\n',
  );
}
