/** `ccproxy config show|init`. */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { renderEffective, renderTomlTemplate } from '../config/render.ts';
import { loadOrExit } from './settings.ts';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('Show or create settings');

  config
    .command('show')
    .description('Print every setting, its effective value and where it came from (secrets masked)')
    .option('--json', 'print JSON instead of a table')
    .action((opts: { json?: boolean }) => {
      const loaded = loadOrExit(program.opts());
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ sources: loaded.sources, file: loaded.tomlPath ?? null }, null, 2)}\n`,
        );
        return;
      }
      process.stdout.write(`${renderEffective(loaded.settings, loaded.sources)}\n`);
      process.stdout.write(`\nTOML file: ${loaded.tomlPath ?? '(none found)'}\n`);
    });

  config
    .command('init')
    .description('Write a commented TOML file with every setting at its default')
    .option('--path <file>', 'where to write it', 'ccproxy.toml')
    .option('--force', 'overwrite an existing file')
    .action((opts: { path: string; force?: boolean }) => {
      const file = path.resolve(opts.path);
      if (fs.existsSync(file) && !opts.force) {
        process.stderr.write(`ccproxy: ${file} already exists; use --force to overwrite it.\n`);
        process.exit(1);
      }
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, renderTomlTemplate(), { mode: 0o600 });
      process.stdout.write(`Wrote ${file}\n`);
    });
}
