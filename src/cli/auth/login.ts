/**
 * `ccproxy auth login`: log in with the Claude account and keep the credentials — in ccproxy's own
 * store, in `--file`, or (`--server`) in a running proxy's store. The ways of logging in are in
 * login-flows.ts; this is what comes around them: the checks, the notes, the time limit, the report.
 */
import fs from 'node:fs';
import path from 'node:path';
import { allCredentials, ENV_TOKEN } from '../../auth/credentials.ts';
import { AuthError } from '../../auth/errors.ts';
import { type LoginResult, saveLogin } from '../../auth/login.ts';
import { maskToken } from '../../redact.ts';
import { type AccountTarget, accountTarget, addAccountToSettings } from './account-login.ts';
import { type AuthContext, DEFAULT_TIMEOUT_S, expiry, fail, paths } from './context.ts';
import { loginManually, loginThroughServer, loginWithCallback } from './login-flows.ts';

export interface LoginOptions {
  manual?: boolean;
  /** `--no-browser` sets this to false. */
  browser?: boolean;
  file?: string;
  force?: boolean;
  port?: string;
  timeout?: string;
  server?: string;
  /** `--account NAME`: the login of one of several accounts (account-login.ts). */
  account?: string;
}

function timeoutSeconds(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_TIMEOUT_S;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new AuthError('usage', `--timeout: expected seconds > 0, got "${raw}".`);
  return n;
}

export async function login(ctx: AuthContext, opts: LoginOptions): Promise<number> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onSigint = () =>
    ac.abort(new AuthError('cancelled', 'Login cancelled; existing credentials were left as they were.'));
  try {
    const seconds = timeoutSeconds(opts.timeout);
    if (opts.server && (opts.file || opts.manual))
      throw new AuthError(
        'usage',
        '--server saves the login in the running proxy’s own store: it cannot be combined with --file or --manual.',
      );
    if (opts.account !== undefined && opts.server)
      throw new AuthError(
        'usage',
        '--server saves the login in the running proxy’s own store: it cannot be combined with --account.',
      );
    const account = opts.account !== undefined ? accountTarget(ctx, opts.account, opts.file) : undefined;
    // An account's own file (listed in the settings, or its default one) is replaced without
    // --force, as ccproxy's store is; a --file of someone else's is not.
    const own = account && (account.listed || opts.file === undefined);
    const store = own ? account.file : paths(ctx).credentialsFile;
    const target = path.resolve(account?.file ?? opts.file ?? store);
    const save = (result: LoginResult) => {
      checkTarget(target, store, opts.force === true);
      saveLogin(target, result);
    };
    checkTarget(target, store, opts.force === true);
    if (account) noteAccount(ctx, account);
    // With --server the login lands in the running proxy's store, not in the files here.
    else if (!opts.server) noteExisting(ctx, target, store);

    timer = setTimeout(
      () =>
        ac.abort(
          new AuthError(
            'timeout',
            `The login did not finish within ${seconds}s, so it was abandoned; existing credentials were left as they were. Run \`ccproxy auth login\` again (--timeout sets the limit${opts.manual ? '' : '; --manual works without a browser on this machine'}).`,
          ),
        ),
      seconds * 1000,
    );
    process.once('SIGINT', onSigint);

    let result: LoginResult;
    if (opts.server) {
      result = await loginThroughServer(ctx, { server: opts.server, browser: opts.browser }, ac.signal);
    } else if (opts.manual) {
      result = await loginManually(ctx, ac.signal);
      save(result);
    } else {
      result = await loginWithCallback(ctx, opts, save, ac.signal, seconds);
    }
    if (account) reportAccount(ctx, result, account);
    else reportLogin(ctx, result, opts.server ? undefined : target, store);
    return 0;
  } catch (err) {
    return fail(ctx, err);
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', onSigint);
    if (!ac.signal.aborted) ac.abort(new AuthError('cancelled', 'done'));
  }
}

/** `--file` must not silently replace someone else's file (the Claude CLI's, say). */
function checkTarget(target: string, store: string, force: boolean): void {
  if (target === store || force || !fs.existsSync(target)) return;
  throw new AuthError(
    'file_exists',
    `${target} already exists and is not ccproxy's own credential store; nothing was changed. Pass --force to overwrite its login (other keys in it are kept), or choose another --file.`,
  );
}

/** Say which credentials are there already and which will win once this login is saved. */
function noteExisting(ctx: AuthContext, target: string, store: string): void {
  const { io } = ctx;
  const sources = allCredentials(paths(ctx), ctx.env, (msg) => io.err(`warning: ${msg}\n`));
  const env = sources.find((s) => s.source.kind === 'env');
  const claude = sources.find((s) => s.source.kind === 'claude-cli');
  const own = sources.find((s) => s.source.kind === 'ccproxy');
  if (env) io.out(`Note: ${ENV_TOKEN} is set; it takes precedence over any login until you unset it.\n`);
  if (claude && !own && target === store) {
    const plan = claude.credentials.subscriptionType ? `, ${claude.credentials.subscriptionType} plan` : '';
    io.out(
      `Found the Claude CLI's credentials at ${paths(ctx).claudeCredentialsFile} (access token ${maskToken(claude.credentials.accessToken)}${plan}); ccproxy ${env ? 'would use' : 'uses'} them while it has no login of its own.\nThis login is saved in ccproxy's own store, which takes precedence over them.\n`,
    );
  } else if (own && target === store) {
    io.out(`This replaces the login in ${store} once it succeeds.\n`);
  }
  io.out('\n');
}

function noteAccount(ctx: AuthContext, a: AccountTarget): void {
  const again = fs.existsSync(a.file) ? `This replaces the login in ${a.file} once it succeeds.` : '';
  ctx.io.out(
    `Logging in account "${a.name}"${a.listed ? ' (listed in the settings)' : ', a new account'}. ${again}\n\n`,
  );
}

function reportAccount(ctx: AuthContext, result: LoginResult, a: AccountTarget): void {
  const { io } = ctx;
  const who = result.email ? ` as ${result.email}` : '';
  const plan = result.credentials.subscriptionType ? `, ${result.credentials.subscriptionType} plan` : '';
  io.out(`\nLogged in account "${a.name}"${who}${plan}.\n`);
  if (result.profileProblem) io.out(`(Could not read the account profile: ${result.profileProblem}.)\n`);
  const c = result.credentials;
  io.out(
    `Saved to ${a.file} (mode 0600). Access token ${maskToken(c.accessToken)}, expires ${expiry(c.expiresAt)}.\n`,
  );
  if (a.listed) {
    io.out(
      'A running proxy that had marked this account invalid uses the new login within a minute (or `ccproxy accounts resume NAME` at once).\n',
    );
    return;
  }
  if (!ctx.settingsFile) {
    io.out(
      `Add it to your settings to use it:\n\n[[accounts.list]]\nname = ${JSON.stringify(a.name)}\ncredentials_file = ${JSON.stringify(a.file)}\n`,
    );
    return;
  }
  io.out(`${addAccountToSettings(ctx.settingsFile, a)}\n`);
}

function reportLogin(ctx: AuthContext, result: LoginResult, target: string | undefined, store: string): void {
  const { io, env } = ctx;
  const who = [
    result.email ? `as ${result.email}` : undefined,
    result.organization ? `(${result.organization})` : undefined,
  ]
    .filter(Boolean)
    .join(' ');
  const plan = result.credentials.subscriptionType ? `, ${result.credentials.subscriptionType} plan` : '';
  io.out(`\nLogged in${who ? ` ${who}` : ''}${plan}.\n`);
  if (result.profileProblem) io.out(`(Could not read the account profile: ${result.profileProblem}.)\n`);
  if (!target) return;
  const c = result.credentials;
  io.out(
    `Saved to ${target} (mode 0600). Access token ${maskToken(c.accessToken)}, expires ${expiry(c.expiresAt)}.\n`,
  );
  if (env[ENV_TOKEN]?.trim())
    io.out(`Note: ${ENV_TOKEN} is set and still takes precedence; unset it for ccproxy to use this login.\n`);
  if (target === paths(ctx).claudeCredentialsFile)
    io.out('This is the Claude CLI’s file: Claude Code uses this login too.\n');
  else if (target !== store)
    io.out(
      `ccproxy reads its own store from ${store}; to use this file, set auth.credentials_file = "${target}".\n`,
    );
}
