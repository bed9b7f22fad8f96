/**
 * `ccproxy service install|uninstall|status|logs`: ccproxy as a per-user background service that
 * starts at login and again after a crash: a systemd user unit on Linux, a launchd agent on macOS.
 * The service runs in ~/.config/ccproxy, where ccproxy reads `.env` (secrets, SECTION__KEY
 * settings) and, unless install pinned another with --config, its settings file.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { loadSettings, projectConfigPaths } from '../config/load.ts';
import { ProxyClient, probeProxy, serverUrl } from './proxy-client.ts';
import { BACKGROUND_ENV, backgroundEnv } from './self.ts';
import type { ServiceManager } from './service/manager.ts';
import type { ServiceSpec } from './service/unit.ts';
import { explicitConfig, loadOrExit } from './settings.ts';

const ENV_TEMPLATE = `# Environment of the ccproxy service (\`ccproxy service install\`). ccproxy reads this file from its
# working directory when it starts: KEY=value lines, settings as SECTION__KEY (docs/configuration.md).
# Restart the service after a change (\`ccproxy service install\` does, when the unit changed; else
# systemctl --user restart ccproxy / launchctl kickstart -k gui/$UID/ccproxy).
#
# CLAUDE_CODE_OAUTH_TOKEN=   # a long-lived token from \`claude setup-token\`, if not logged in otherwise
# SECURITY__AUTH_TOKEN=      # from \`ccproxy generate-token\`: clients must then send it
# SERVER__PORT=8000
`;

/** The service's working directory: `$XDG_CONFIG_HOME/ccproxy`. */
function workDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'ccproxy');
}

/**
 * What the service's environment needs from this one: a PATH for SDK mode's tools, moved XDG dirs,
 * node's flags and glibc's malloc settings (read only at start: docs/install.md "Memory"); the
 * background forms' malloc settings where this environment sets none.
 */
export function serviceEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  const carried = ['PATH', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME', 'NODE_OPTIONS'];
  for (const name of [...carried, ...Object.keys(BACKGROUND_ENV)]) {
    if (env[name]) out[name] = env[name] as string;
  }
  return { ...out, ...backgroundEnv(env) };
}

const say = (line = '') => process.stdout.write(`${line}\n`);
const complain = (line: string) => process.stderr.write(`ccproxy: ${line}\n`);

/** The service manager's module loads only here: `ccproxy serve` registers these commands and runs none. */
async function managerOrExit(): Promise<ServiceManager> {
  const { platformManager } = await import('./service/manager.ts');
  const manager = platformManager();
  if (!manager) {
    complain(
      `no service manager ccproxy knows on ${process.platform}: run \`ccproxy serve\` under your own (NSSM, a scheduled task…), or in a container (docs/install.md).`,
    );
    process.exit(2);
  }
  return manager;
}

export function registerService(program: Command): void {
  const service = program
    .command('service')
    .description('Run ccproxy in the background: a systemd user service (Linux) or a launchd agent (macOS)');

  service
    .command('install')
    .description('Write the service file and start it (again: update it; restarts only when it changed)')
    .option('-p, --port <port>', 'port the service listens on (server.port; default from the settings)')
    .option('--no-start', 'only write the file')
    .action(async (opts: { port?: string; start: boolean }) => {
      const manager = await managerOrExit();
      const { backgroundNodeFlags, ccproxyEntry } = await import('./self.ts');
      const dir = workDir();
      // The settings as the service will read them: in its own folder, not this one.
      const loaded = loadOrExit({ ...program.opts(), port: opts.port }, dir);
      const here = explicitConfig(program)
        ? []
        : projectConfigPaths(process.cwd()).filter((f) => fs.existsSync(f));
      if (here.length && path.resolve(process.cwd()) !== path.resolve(dir)) {
        say(
          `Note: the service runs in ${dir}, so it does not read ${here.join(' or ')}. To use that file, install with \`ccproxy -c ${here.at(-1)} service install\`.`,
        );
      }
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const envFile = path.join(dir, '.env');
      if (!fs.existsSync(envFile)) fs.writeFileSync(envFile, ENV_TEMPLATE, { mode: 0o600 });
      const spec: ServiceSpec = {
        node: process.execPath,
        // Not this process's flags: NODE_OPTIONS, when set, travels in the unit's environment.
        nodeFlags: backgroundNodeFlags([], process.env),
        entry: ccproxyEntry(),
        // Pinned only when --config names a file; otherwise the service layers the files as `serve` does.
        configFile: explicitConfig(program),
        port: opts.port !== undefined ? loaded.settings.server.port : undefined,
        workDir: dir,
        env: serviceEnv(process.env),
        logFile: manager.logFile ?? '',
      };
      const text = manager.render(spec);
      const before = fs.existsSync(manager.file) ? fs.readFileSync(manager.file, 'utf8') : undefined;
      const changed = before !== text;
      if (changed) {
        fs.mkdirSync(path.dirname(manager.file), { recursive: true });
        fs.writeFileSync(manager.file, text, { mode: 0o644 });
      }
      if (manager.logFile) fs.mkdirSync(path.dirname(manager.logFile), { recursive: true });
      say(
        `${changed ? (before ? 'Updated' : 'Wrote') : 'Unchanged:'} ${manager.file} (${manager.name}: ccproxy serve, ${
          spec.configFile
            ? `settings from ${spec.configFile}`
            : `settings from ${path.join(dir, 'config.toml')} if it exists`
        }; environment and secrets in ${envFile}).`,
      );
      const url = serverUrl(loaded.settings);
      if (!opts.start) {
        say(`Not started (--no-start). Start it with: ${manager.manualStart}`);
        return;
      }
      const started = manager.start(changed);
      if (!started.ok) {
        complain(
          `${started.detail}. The service file is written; where a ${manager.name} can run, start it with \`${manager.manualStart}\`. Here, run \`ccproxy serve\` yourself (or the container: docs/install.md).`,
        );
        process.exitCode = 1;
        return;
      }
      say(
        `Service ${started.detail}; it listens on ${url}. See \`ccproxy service status\` and \`ccproxy service logs\`.`,
      );
      if (process.platform === 'linux') {
        say('A user service stops when you log out; to keep it running: loginctl enable-linger "$USER"');
      }
    });

  service
    .command('uninstall')
    .description('Stop the service and remove its file (settings and .env stay)')
    .action(async () => {
      const manager = await managerOrExit();
      if (!fs.existsSync(manager.file)) {
        say(`Not installed: ${manager.file} does not exist.`);
        return;
      }
      const stopped = manager.stop();
      fs.rmSync(manager.file, { force: true });
      say(
        `Removed ${manager.file}${stopped.ok ? ` (${stopped.detail})` : ''}. ${workDir()} (settings, .env) is kept.`,
      );
      if (!stopped.ok) complain(`${stopped.detail}; if it is still running, stop it by hand.`);
    });

  service
    .command('status')
    .description('Is the service installed and running, with which pid, and where does it answer?')
    .action(async () => {
      const manager = await managerOrExit();
      const installed = fs.existsSync(manager.file);
      const command = installed ? (manager.commandOf(fs.readFileSync(manager.file, 'utf8')) ?? []) : [];
      const state = manager.state();
      const row = (label: string, value: string) => say(`  ${label.padEnd(9)}${value}`);
      say(`ccproxy service (${manager.name})`);
      row(
        'file',
        installed ? manager.file : `not installed (no ${manager.file}): \`ccproxy service install\``,
      );
      if (command.length) row('command', command.join(' '));
      row(
        'state',
        state.reachable
          ? `${state.state}${state.pid ? `, pid ${state.pid}` : ''}`
          : `unknown: ${state.state}`,
      );
      // Where it listens: the settings as the service reads them (its --config and --port, its .env).
      const { serviceOptions } = await import('./service/unit.ts');
      const { configFile, port } = serviceOptions(command);
      let client: ProxyClient | undefined;
      try {
        const settings = loadSettings({
          configFile,
          flags: { 'server.port': port },
          cwd: workDir(),
          env: serviceEnv(process.env),
        }).settings;
        client = new ProxyClient(settings);
      } catch (err) {
        row('settings', (err as Error).message);
      }
      if (client) {
        const url = client.base;
        const p = await probeProxy(client);
        row(
          'proxy',
          p.state === 'ccproxy'
            ? `${url}: ccproxy ${p.version ?? '?'} answers, health ${p.status ?? '?'}`
            : p.state === 'free'
              ? `${url}: nothing answers`
              : `${url}: not ccproxy (${p.detail})`,
        );
      }
      row('logs', 'ccproxy service logs [-f]');
      process.exitCode = state.running ? 0 : 1;
    });

  service
    .command('logs')
    .description("Show the service's log (journalctl --user on Linux, its log file on macOS)")
    .option('-n, --lines <n>', 'how many of the last lines', '100')
    .option('-f, --follow', 'keep showing new lines')
    .action(async (opts: { lines: string; follow?: boolean }) => {
      const manager = await managerOrExit();
      const lines = /^\d+$/.test(opts.lines.trim()) ? Number(opts.lines) : Number.NaN;
      if (!Number.isInteger(lines) || lines < 0) {
        complain(`--lines must be a whole number, not "${opts.lines}".`);
        process.exit(2);
      }
      const cmd = manager.logs({ lines, follow: Boolean(opts.follow) });
      const child = spawn(cmd.file, cmd.args, { stdio: 'inherit' });
      process.on('SIGINT', () => {}); // Ctrl-C ends `-f` in the child; this waits for it
      process.exitCode = await new Promise<number>((resolve) => {
        child.on('error', (err) => {
          complain(`cannot run ${cmd.file}: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
          resolve(1);
        });
        child.on('exit', (code) => resolve(code ?? 1));
      });
    });
}
