/**
 * `ccproxy auth login|info|validate|refresh|logout`: the subscription's credentials from the command
 * line, one file per command. Each command is a function of (context, options) returning its exit
 * code, so tests run them in-process with a scripted terminal; `registerAuth` wires them to commander,
 * loading a command's module only when it runs (`ccproxy serve` needs none of them).
 */
import type { Command } from 'commander';
import { createLogger } from '../../logging.ts';
import { loadOrExit } from '../settings.ts';
import { type AuthContext, DEFAULT_TIMEOUT_S, terminalIO } from './context.ts';
import type { LoginOptions } from './login.ts';
import type { LogoutOptions } from './logout.ts';

const EXIT_HELP = `
Exit codes: 0 done, 1 failed, 2 usage, 3 timed out, 4 state mismatch, 5 consent denied,
6 code or refresh token rejected (log in again), 7 --file exists (use --force), 8 unreachable, 130 cancelled.`;

export function registerAuth(program: Command): void {
  const auth = program
    .command('auth')
    .description('Log in to your Claude subscription and manage its credentials');

  const run = (fn: (ctx: AuthContext) => Promise<number>) => async () => {
    const { settings, env, userFile } = loadOrExit(program.opts());
    const log = createLogger({
      level: 'warn',
      format: 'pretty',
      secrets: () => [settings.security.auth_token].filter(Boolean),
    });
    const code = await fn({ settings, env, io: terminalIO(), log, settingsFile: userFile });
    process.exitCode = code;
    // Keep-alive sockets and stdin must not hold the process open once the answer is out.
    setTimeout(() => process.exit(code), 100).unref();
  };

  auth
    .command('login')
    .description('Log in with your Claude account (OAuth in the browser) and save the credentials')
    .option('--manual', 'print the URL and paste the code the login page shows (no local browser needed)')
    .option('--no-browser', 'do not open a browser; print the URL to open')
    .option('--file <path>', "save the credentials here instead of ccproxy's store (auth.credentials_file)")
    .option('--force', 'with --file: replace the login in an existing file')
    .option(
      '--account <name>',
      'log in a named account (docs/accounts.md): saved in its credentials_file, or a new file listed in your settings',
    )
    .option('--port <port>', 'port of the local callback server (auth.callback_port; 0 = any free port)')
    .option('--timeout <seconds>', `give up after this long (default ${DEFAULT_TIMEOUT_S})`)
    .option('--server <url>', 'finish the login through a running ccproxy at this URL (it saves the login)')
    .addHelpText('after', EXIT_HELP)
    .action((opts: LoginOptions) => run(async (ctx) => (await import('./login.ts')).login(ctx, opts))());

  auth
    .command('info')
    .description('Show where the credentials come from, the account, plan, scopes and expiry (tokens masked)')
    .option('--json', 'print JSON')
    .option('--account <name>', "a named account's login (its credentials_file; docs/accounts.md)")
    .action((opts: { json?: boolean; account?: string }) =>
      run(async (ctx) => (await import('./info.ts')).info(ctx, opts))(),
    );

  auth
    .command('validate')
    .description('Refresh if needed and confirm the upstream accepts the token (exit code 0 = valid)')
    .option('--account <name>', "a named account's login (its credentials_file; docs/accounts.md)")
    .addHelpText('after', EXIT_HELP)
    .action((opts: { account?: string }) =>
      run(async (ctx) => (await import('./validate.ts')).validate(ctx, opts))(),
    );

  auth
    .command('refresh')
    .description('Refresh the access token now and write the new pair back where it came from')
    .option('--account <name>', "a named account's login (its credentials_file; docs/accounts.md)")
    .action((opts: { account?: string }) =>
      run(async (ctx) => (await import('./refresh.ts')).refresh(ctx, opts))(),
    );

  auth
    .command('logout')
    .description("Remove ccproxy's own stored credentials, or a named account's login (asks first)")
    .option('-y, --yes', 'do not ask')
    .option('--claude-cli', "also remove the Claude CLI's login (logs Claude Code out)")
    .option('--account <name>', "a named account's login instead (its credentials_file; docs/accounts.md)")
    .action((opts: LogoutOptions) => run(async (ctx) => (await import('./logout.ts')).logout(ctx, opts))());
}
