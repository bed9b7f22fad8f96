/** The `ccproxy` command: one file per subcommand, assembled here. */
import { Command } from 'commander';
import { VERSION } from '../version.ts';
import { registerAccounts } from './accounts.ts';
import { registerAuth } from './auth/index.ts';
import { completionScript } from './completion.ts';
import { registerConfig } from './config.ts';
import { registerGenerateToken } from './generate-token.ts';
import { LAUNCHERS, registerLaunchers } from './launch.ts';
import { applyRuntimeV8Flags } from './self.ts';
import { registerServe } from './serve.ts';
import { registerService } from './service.ts';
import { registerStatus } from './status.ts';
import { registerTrace } from './trace.ts';
import { registerUsage } from './usage.ts';

export function buildProgram(): Command {
  const program = new Command('ccproxy')
    .description(
      'Use your Claude Pro/Max subscription from any Anthropic or OpenAI client.\nWith no command, starts the proxy (as `ccproxy serve` does).',
    )
    .version(VERSION, '-V, --version')
    .option(
      '-c, --config <file>',
      'TOML settings file, instead of ~/.config/ccproxy/config.toml with ./ccproxy.toml and ./.ccproxy.toml over it',
    )
    .option(
      '--trust-project',
      "let this folder's ccproxy.toml, .ccproxy.toml and .env set protected keys (upstream URLs, credentials, agent permissions…)",
    )
    .option('--show-completion <shell>', 'print a completion script for bash, zsh or fish')
    .enablePositionalOptions()
    // The root serves when called alone, and commander adds `help <command>` only to roots that do not.
    .helpCommand(true);
  registerServe(program);
  registerConfig(program);
  registerAuth(program);
  registerAccounts(program);
  registerGenerateToken(program);
  registerStatus(program);
  registerUsage(program);
  registerTrace(program);
  registerLaunchers(program);
  registerService(program);
  acceptSettingsFlagsEverywhere(program);
  program.hook('preAction', (cmd) => {
    const shell = cmd.opts().showCompletion;
    if (shell) {
      try {
        process.stdout.write(completionScript(program, shell));
        process.exit(0);
      } catch (err) {
        process.stderr.write(`ccproxy: ${(err as Error).message}\n`);
        process.exit(2);
      }
    }
  });
  return program;
}

/**
 * `ccproxy serve --trust-project` and `ccproxy config show -c x.toml` read as naturally as the flags
 * before the command, so every command takes them, and they land where the commands read them (the
 * root's options). Not the launchers: what follows `ccproxy claude` is Claude Code's (its `-c` is
 * --continue).
 */
function acceptSettingsFlagsEverywhere(program: Command): void {
  const leaves = (c: Command): Command[] =>
    c.commands.length ? c.commands.flatMap(leaves) : c === program ? [] : [c];
  for (const cmd of leaves(program)) {
    if (LAUNCHERS.has(cmd.name())) continue;
    cmd
      // The root takes excess arguments (to name a mistyped command) and commander copies that to
      // every command made after it: here a stray word is an error again, not silently dropped.
      .allowExcessArguments(false)
      .option('-c, --config <file>', 'TOML settings file (as before the command)')
      .option(
        '--trust-project',
        "let this folder's settings files set protected keys (as before the command)",
      );
  }
  program.hook('preAction', (_root, action) => {
    const o = action.opts();
    if (action === program) return;
    if (o.config !== undefined) program.setOptionValue('config', o.config);
    if (o.trustProject) program.setOptionValue('trustProject', true);
  });
}

export async function main(argv: string[]): Promise<void> {
  applyRuntimeV8Flags(process.execArgv);
  // OAuth login, refresh and profile calls honour HTTPS_PROXY / HTTP_PROXY / NO_PROXY as the
  // upstream calls do (src/http-client.ts); a malformed one is named before anything starts.
  const e = process.env;
  const proxy = e.HTTPS_PROXY || e.https_proxy || e.HTTP_PROXY || e.http_proxy;
  if (proxy && !URL.canParse(proxy)) {
    // The value is not echoed: a proxy URL may carry a password.
    process.stderr.write(
      'ccproxy: HTTPS_PROXY / HTTP_PROXY is not a usable proxy URL; expected e.g. http://proxy.example:3128.\n',
    );
    process.exit(2);
  }
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const line = fileErrorLine(err);
    if (!line) throw err;
    process.stderr.write(`ccproxy: ${line}\n`);
    process.exit(1);
  }
}

const FILE_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder',
  ENOTDIR: 'a part of the path is not a folder',
  EEXIST: 'a file of that name is in the way',
  ENOENT: 'no such file or folder',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
};

/**
 * A file a command could not read or write (a settings folder that is not writable, `--path` into a
 * file): one line naming the file and why, not node's stack trace.
 */
export function fileErrorLine(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException;
  const why = typeof e?.code === 'string' ? FILE_ERRORS[e.code] : undefined;
  if (!why || !e.path) return undefined;
  const verb = e.syscall === 'mkdir' ? 'create the folder' : e.syscall === 'rename' ? 'replace' : 'open';
  return `cannot ${verb} ${e.path}: ${why}.`;
}
