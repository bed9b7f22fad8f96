/** `ccproxy config show|init`. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { FIELDS } from '../config/fields.ts';
import { getSetting, type Loaded, userConfigPath } from '../config/load.ts';
import { displayValue } from '../config/secrets.ts';
import { loadOrExit } from './settings.ts';

/** What `config show` prints under the table: the files read, the folder's trust, what was left out. */
export function describeFiles(loaded: Loaded, cwd = process.cwd()): string {
  const lines = [
    '',
    loaded.tomlFiles.length
      ? `Settings files, lowest precedence first: ${loaded.tomlFiles.join(', ')}`
      : `Settings files: none found (yours would be ${loaded.userFile})`,
    loaded.trusted
      ? `Working directory ${cwd}: trusted (its ccproxy.toml, .ccproxy.toml and .env may set any key)`
      : `Working directory ${cwd}: not trusted (its ccproxy.toml, .ccproxy.toml and .env may not set protected keys)`,
  ];
  for (const i of loaded.ignored) lines.push(`  ignored: ${i.key} from ${i.file}`);
  return lines.join('\n');
}

export function registerConfig(program: Command): void {
  const config = program.command('config').description('Show or create settings');

  config
    .command('show')
    .description('Print every setting, its effective value and where it came from (secrets masked)')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { json?: boolean }) => {
      const loaded = loadOrExit(program.opts());
      if (opts.json) {
        const values = Object.fromEntries(
          FIELDS.map((f) => [f.key, displayValue(f.key, getSetting(loaded.settings, f.key))]),
        );
        const doc = {
          values,
          sources: loaded.sources,
          files: loaded.tomlFiles,
          user_file: loaded.userFile,
          trusted: loaded.trusted,
          ignored: loaded.ignored,
        };
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        return;
      }
      const { renderEffective } = await import('../config/render.ts');
      process.stdout.write(`${renderEffective(loaded.settings, loaded.sources)}\n`);
      process.stdout.write(`${describeFiles(loaded)}\n`);
    });

  config
    .command('init')
    .description('Write a commented TOML file with every setting at its default')
    .option('--path <file>', 'where to write it (default: ~/.config/ccproxy/config.toml)')
    .option('--force', 'overwrite an existing file')
    .action(async (opts: { path?: string; force?: boolean }) => {
      const file = path.resolve(opts.path ?? userConfigPath(os.homedir()));
      if (fs.existsSync(file) && !opts.force) {
        process.stderr.write(`ccproxy: ${file} already exists; use --force to overwrite it.\n`);
        process.exit(1);
      }
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      const { renderTomlTemplate } = await import('../config/render.ts');
      fs.writeFileSync(file, renderTomlTemplate(), { mode: 0o600 });
      process.stdout.write(`Wrote ${file}\n`);
    });
}
