/** The `ccproxy` command: one file per subcommand, assembled here. */
import { Command } from 'commander';
import { VERSION } from '../version.ts';
import { registerAuth } from './auth.ts';
import { completionScript } from './completion.ts';
import { registerConfig } from './config.ts';
import { registerGenerateToken } from './generate-token.ts';
import { registerServe } from './serve.ts';
import { loadOrExit } from './settings.ts';
import { registerStatus } from './status.ts';
import { usageReport } from './usage.ts';

export function buildProgram(): Command {
  const program = new Command('ccproxy')
    .description('Use your Claude Pro/Max subscription from any Anthropic or OpenAI client.')
    .version(VERSION, '-V, --version')
    .option(
      '-c, --config <file>',
      'TOML settings file (default: .ccproxy.toml, ccproxy.toml, ~/.config/ccproxy/config.toml)',
    )
    .option('--show-completion <shell>', 'print a completion script for bash, zsh or fish')
    .enablePositionalOptions();
  registerServe(program);
  registerConfig(program);
  registerAuth(program);
  registerGenerateToken(program);
  registerStatus(program);
  program
    .command('usage')
    .description("Today's and this week's requests, tokens and cost by model (needs the access log)")
    .action(async () => {
      const { settings } = loadOrExit(program.opts());
      try {
        process.stdout.write(`${await usageReport(settings)}\n`);
      } catch (err) {
        process.stderr.write(`ccproxy: ${(err as Error).message}\n`);
        process.exit(1);
      }
    });
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

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
