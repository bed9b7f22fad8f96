/**
 * The files `ccproxy service install` writes: a systemd user unit (Linux) and a launchd agent
 * (macOS). Pure functions of a spec, so both are tested on any platform, and the command line a
 * file holds can be read back (for `service status`).
 */
import { VERSION } from '../../version.ts';

export interface ServiceSpec {
  /** Absolute path of node. */
  node: string;
  /** node's own flags, before the script (self.ts: BACKGROUND_NODE_FLAGS). */
  nodeFlags?: readonly string[];
  /** Absolute path of ccproxy's bin/ccproxy.js. */
  entry: string;
  /** The settings file given to `--config`; none = the default search from the working directory. */
  configFile?: string;
  /** `--port`, when given at install. */
  port?: number;
  /** The service's working directory: ccproxy reads `.env` there (~/.config/ccproxy). */
  workDir: string;
  /** Environment the service needs that its manager would not give it (PATH, XDG_* dirs). */
  env: Record<string, string>;
  /** launchd only: where stdout and stderr go. */
  logFile: string;
}

export const SYSTEMD_UNIT = 'ccproxy.service';
export const LAUNCHD_LABEL = 'ccproxy';

/** node's flags and ccproxy's arguments in the service, after node. */
export function serviceArgs(spec: ServiceSpec): string[] {
  return [
    ...(spec.nodeFlags ?? []),
    spec.entry,
    ...(spec.configFile ? ['--config', spec.configFile] : []),
    'serve',
    ...(spec.port !== undefined ? ['--port', String(spec.port)] : []),
  ];
}

function settingsNote(spec: ServiceSpec): string {
  return spec.configFile
    ? `Settings: ${spec.configFile} (--config).`
    : `Settings: ${spec.workDir}/config.toml when it exists (or .ccproxy.toml / ccproxy.toml there).`;
}

/** A systemd value: `%` starts a specifier everywhere, so it is doubled. */
const specifierFree = (s: string) => s.replaceAll('%', '%%');

/** A quoted systemd word (ExecStart=, Environment=): `\` and `"` escaped, and `$` in ExecStart=. */
function systemdWord(s: string, exec = false): string {
  const escaped = specifierFree(s.replaceAll('\\', '\\\\').replaceAll('"', '\\"'));
  return `"${exec ? escaped.replaceAll('$', '$$$$') : escaped}"`;
}

export function systemdUnit(spec: ServiceSpec): string {
  const exec = [spec.node, ...serviceArgs(spec)].map((w) => systemdWord(w, true)).join(' ');
  const env = Object.entries(spec.env).map(([k, v]) => `Environment=${systemdWord(`${k}=${v}`)}`);
  return `# Written by \`ccproxy service install\` (ccproxy ${VERSION}); \`ccproxy service uninstall\` removes it.
# ${settingsNote(spec)}
# Environment and secrets (CLAUDE_CODE_OAUTH_TOKEN, SECURITY__AUTH_TOKEN, SERVER__PORT…): ${spec.workDir}/.env
[Unit]
Description=ccproxy: your Claude subscription for Anthropic and OpenAI clients
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
WorkingDirectory=${specifierFree(spec.workDir)}
${env.join('\n')}
ExecStart=${exec}
Restart=on-failure
RestartSec=5
# Exit code 2 is a settings error: starting again would not fix it (see \`ccproxy service logs\`).
RestartPreventExitStatus=2
# SIGTERM lets requests in flight finish (server.shutdown_grace_s, 15 s by default).
TimeoutStopSec=30

[Install]
WantedBy=default.target
`;
}

const xml = (s: string) =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

export function launchdPlist(spec: ServiceSpec): string {
  const strings = (items: string[], indent: string) =>
    items.map((s) => `${indent}<string>${xml(s)}</string>`).join('\n');
  const env = Object.entries(spec.env)
    .map(([k, v]) => `    <key>${xml(k)}</key>\n    <string>${xml(v)}</string>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by \`ccproxy service install\` (ccproxy ${VERSION}); \`ccproxy service uninstall\` removes it.
     ${xml(settingsNote(spec))}
     Environment and secrets (CLAUDE_CODE_OAUTH_TOKEN, SECURITY__AUTH_TOKEN, SERVER__PORT…): ${xml(spec.workDir)}/.env -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${strings([spec.node, ...serviceArgs(spec)], '    ')}
  </array>
  <key>WorkingDirectory</key>
  <string>${xml(spec.workDir)}</string>
  <key>EnvironmentVariables</key>
  <dict>
${env}
  </dict>
  <key>RunAtLoad</key>
  <true/>
  <!-- Started again when it exits with an error, not when it was stopped on purpose. -->
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>StandardOutPath</key>
  <string>${xml(spec.logFile)}</string>
  <key>StandardErrorPath</key>
  <string>${xml(spec.logFile)}</string>
</dict>
</plist>
`;
}

/** The command line (node first) in a unit written by `systemdUnit`. */
export function commandOfUnit(text: string): string[] | undefined {
  const line = text.split('\n').find((l) => l.startsWith('ExecStart='));
  if (!line) return undefined;
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) =>
    m[1].replace(/\\(.)/g, '$1').replaceAll('%%', '%').replaceAll('$$', '$'),
  );
}

/** The command line in a plist written by `launchdPlist`. */
export function commandOfPlist(text: string): string[] | undefined {
  const array = /<key>ProgramArguments<\/key>\s*<array>([\s\S]*?)<\/array>/.exec(text)?.[1];
  if (array === undefined) return undefined;
  return [...array.matchAll(/<string>([\s\S]*?)<\/string>/g)].map((m) =>
    m[1].replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&amp;', '&'),
  );
}

/** `--config` and `--port` from a service's command line: what `service status` needs to find it. */
export function serviceOptions(command: string[]): { configFile?: string; port?: string } {
  const after = (flag: string) => {
    const i = command.indexOf(flag);
    return i >= 0 ? command[i + 1] : undefined;
  };
  return { configFile: after('--config'), port: after('--port') };
}
