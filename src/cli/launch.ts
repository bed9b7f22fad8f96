/**
 * The launchers: `ccproxy claude [args…]` and `ccproxy codex [args…]` run Claude Code / Codex CLI
 * through this proxy (started in the background when none answers), and `ccproxy env` prints the
 * variables that point any other client at it.
 */
import type { Command } from 'commander';
import { MODES, type Mode } from '../backends/backend.ts';
import {
  CLAUDE_INSTALL,
  CODEX_INSTALL,
  claudeEnv,
  codexEnv,
  codexOverrides,
  findClaude,
  findCodex,
  type Program,
} from './launch/agents.ts';
import { ensureProxy, ProxyUnavailable, type RunningProxy } from './launch/ensure-proxy.ts';
import { runAgent } from './launch/run.ts';
import { clientVariables, detectShell, renderEnv, SHELLS, type Shell } from './launch/shell-env.ts';
import { checkUrlOrExit, proxyBase, serverUrl } from './proxy-client.ts';
import { type CommonFlags, explicitConfig, loadOrExit } from './settings.ts';

interface LaunchFlags {
  port?: string;
  url?: string;
}

const fail = (message: string, code: number): never => {
  process.stderr.write(`ccproxy: ${message}\n`);
  process.exit(code);
};

/** A coding agent a launcher runs: where its program is, and how one run is pointed at the proxy. */
interface Agent {
  name: string;
  description: string;
  find(): Program | undefined;
  /** How to install it, when `find` finds nothing. */
  install: string;
  prepare(proxy: RunningProxy, args: string[]): { args: string[]; env: NodeJS.ProcessEnv };
}

const AGENTS: Agent[] = [
  {
    name: 'claude',
    description: 'Run Claude Code through this proxy (started in the background if none answers)',
    find: () => findClaude(),
    install: CLAUDE_INSTALL,
    prepare: (proxy, args) => ({ args, env: claudeEnv(process.env, proxy) }),
  },
  {
    name: 'codex',
    description: 'Run Codex CLI through this proxy (started in the background if none answers)',
    find: () => findCodex(),
    install: CODEX_INSTALL,
    prepare: (proxy, args) => ({
      args: [...codexOverrides(proxy), ...args],
      env: codexEnv(process.env, proxy),
    }),
  },
];

/**
 * The flags before the command that change what `serve` does, for a proxy a launcher starts: it must
 * run with the settings the launcher read (its address, trust, log level…). `--port` is passed apart.
 */
function serveFlags(root: CommonFlags): string[] {
  return [
    ...(root.host !== undefined ? ['--host', root.host] : []),
    ...(root.trustProject ? ['--trust-project'] : []),
    ...(root.allowUnauthenticated ? ['--allow-unauthenticated'] : []),
    ...(root.logLevel !== undefined ? ['--log-level', root.logLevel] : []),
    ...(root.observability ? ['--observability'] : []),
  ];
}

/** `ccproxy <agent> [args…]`: its own options only right after the name; everything else is the agent's. */
function registerLauncher(program: Command, agent: Agent): void {
  program
    .command(agent.name)
    .description(agent.description)
    .usage(`[--port <port> | --url <url>] [${agent.name} arguments…]`)
    .option('--port <port>', 'port of the proxy to use or start (server.port)')
    .option('--url <url>', 'base URL of a running proxy to use (never started)')
    .argument('[args...]', `arguments for ${agent.name}`)
    .helpOption(false) // `ccproxy claude --help` is Claude Code's help; `ccproxy help claude` is this one
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .action(async (args: string[], opts: LaunchFlags) => {
      const root = program.opts() as CommonFlags;
      const loaded = loadOrExit({ ...root, port: opts.port ?? root.port });
      checkUrlOrExit(opts.url);
      const found = agent.find();
      if (!found) return fail(agent.install, 127);
      let proxy: RunningProxy;
      try {
        proxy = await ensureProxy({
          settings: loaded.settings,
          url: opts.url,
          configFile: explicitConfig(program),
          serveFlags: serveFlags(root),
          say: (line) => process.stderr.write(`${line}\n`),
        });
      } catch (err) {
        if (err instanceof ProxyUnavailable) return fail(err.message, 1);
        throw err;
      }
      const run = agent.prepare(proxy, args);
      try {
        process.exitCode = await runAgent({
          file: found.file,
          args: [...found.args, ...run.args],
          env: run.env,
        });
      } catch (err) {
        fail(`could not run ${found.file} (from ${found.from}): ${(err as Error).message}`, 127);
      }
    });
}

/** Commands whose arguments belong to another program. */
export const LAUNCHERS: ReadonlySet<string> = new Set(AGENTS.map((a) => a.name));

export function registerLaunchers(program: Command): void {
  for (const agent of AGENTS) registerLauncher(program, agent);

  program
    .command('env')
    .description('Print the variables that point clients at this proxy (eval "$(ccproxy env)")')
    .option('--shell <shell>', `${SHELLS.join(', ')} (default: from $SHELL)`)
    .option('--mode <mode>', MODES.join(' or '), 'api')
    .option('--port <port>', 'port of the proxy (server.port)')
    .option('--url <url>', 'base URL of the proxy (instead of host and port)')
    .action((opts: LaunchFlags & { shell?: string; mode: string }) => {
      const shell = (opts.shell ?? detectShell()) as Shell;
      if (!SHELLS.includes(shell)) fail(`unknown shell "${opts.shell}": use ${SHELLS.join(', ')}.`, 2);
      if (!(MODES as readonly string[]).includes(opts.mode))
        fail(`unknown mode "${opts.mode}": use ${MODES.join(' or ')}.`, 2);
      const root = program.opts() as CommonFlags;
      const { settings } = loadOrExit({ ...root, port: opts.port ?? root.port });
      checkUrlOrExit(opts.url);
      const base = opts.url === undefined ? serverUrl(settings) : proxyBase(opts.url);
      const key = settings.security.auth_token || 'dummy';
      process.stdout.write(renderEnv(shell, clientVariables(base, key, opts.mode as Mode, process.env)));
    });
}
