/**
 * The service managers `ccproxy service` drives: systemd's user instance (`systemctl --user`,
 * `journalctl --user`) on Linux and launchd (`launchctl`, per-user agents) on macOS. Each knows
 * where its file goes and how to start, stop, ask about and show the logs of the service; the
 * programs are looked up on PATH, so a test can stand in for them.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import {
  commandOfPlist,
  commandOfUnit,
  LAUNCHD_LABEL,
  launchdPlist,
  type ServiceSpec,
  SYSTEMD_UNIT,
  systemdUnit,
} from './unit.ts';

export interface Outcome {
  ok: boolean;
  /** What was done, or why it could not be: one line for a person. */
  detail: string;
}

export interface ServiceState {
  /** The manager answered (false: no user bus, no launchd session, program missing…). */
  reachable: boolean;
  running: boolean;
  pid?: number;
  /** The manager's own words for the state (`active (running)`, `failed`, `not loaded`…). */
  state: string;
}

export interface ServiceManager {
  name: string;
  /** The unit or plist path. */
  file: string;
  render(spec: ServiceSpec): string;
  commandOf(text: string): string[] | undefined;
  /** Start the service, enabled at login; restart it when the file changed. */
  start(changed: boolean): Outcome;
  /** Stop it and keep it from starting at login (before its file is removed). */
  stop(): Outcome;
  state(): ServiceState;
  /** The program and arguments that show its logs. */
  logs(opts: { lines: number; follow: boolean }): { file: string; args: string[] };
  /** How to start it by hand where this command could not. */
  manualStart: string;
  /** Where its output goes, when not to a journal. */
  logFile?: string;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The program is not there at all. */
  missing: boolean;
}

function run(file: string, args: string[]): Ran {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 30_000 });
  const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', missing };
}

const firstLine = (r: Ran) =>
  r.missing ? 'not installed' : (r.stderr || r.stdout).trim().split('\n')[0] || `exit code ${r.code}`;

export function systemd(home: string, env: NodeJS.ProcessEnv = process.env): ServiceManager {
  const dir = path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'systemd', 'user');
  const ctl = (...args: string[]) => run('systemctl', ['--user', ...args]);
  const unavailable = (r: Ran) => ({
    ok: false,
    detail: `systemd user services are not available here (systemctl --user: ${firstLine(r)})`,
  });
  return {
    name: 'systemd user unit',
    file: path.join(dir, SYSTEMD_UNIT),
    render: systemdUnit,
    commandOf: commandOfUnit,
    start(changed) {
      const reload = ctl('daemon-reload');
      if (reload.code !== 0) return unavailable(reload);
      const enable = ctl('enable', SYSTEMD_UNIT);
      if (enable.code !== 0)
        return { ok: false, detail: `systemctl --user enable failed: ${firstLine(enable)}` };
      const verb = changed ? 'restart' : 'start';
      const started = ctl(verb, SYSTEMD_UNIT);
      if (started.code !== 0)
        return { ok: false, detail: `systemctl --user ${verb} failed: ${firstLine(started)}` };
      return {
        ok: true,
        detail: `enabled and ${changed ? '(re)started' : 'started (if it was not running)'}`,
      };
    },
    stop() {
      const r = ctl('disable', '--now', SYSTEMD_UNIT);
      if (r.code === 0) {
        ctl('daemon-reload');
        return { ok: true, detail: 'stopped and disabled' };
      }
      return unavailable(r);
    },
    state() {
      const r = ctl('show', SYSTEMD_UNIT, '--property=LoadState,ActiveState,SubState,MainPID');
      if (r.code !== 0) return { reachable: false, running: false, state: unavailable(r).detail };
      const p = Object.fromEntries(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      const pid = Number(p.MainPID) || undefined;
      const state = p.LoadState === 'not-found' ? 'not loaded' : `${p.ActiveState} (${p.SubState})`;
      return { reachable: true, running: p.ActiveState === 'active', pid, state };
    },
    logs: ({ lines, follow }) => ({
      file: 'journalctl',
      args: ['--user', '-u', SYSTEMD_UNIT, '-n', String(lines), ...(follow ? ['-f'] : ['--no-pager'])],
    }),
    manualStart: `systemctl --user daemon-reload && systemctl --user enable --now ${SYSTEMD_UNIT}`,
  };
}

export function launchd(home: string, uid = os.userInfo().uid): ServiceManager {
  const file = path.join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
  const logFile = path.join(home, 'Library', 'Logs', 'ccproxy', 'ccproxy.log');
  const domain = `gui/${uid}`;
  const target = `${domain}/${LAUNCHD_LABEL}`;
  const ctl = (...args: string[]) => run('launchctl', args);
  return {
    name: 'launchd agent',
    file,
    render: launchdPlist,
    commandOf: commandOfPlist,
    start(changed) {
      const loaded = ctl('print', target).code === 0;
      if (loaded && !changed) {
        const kick = ctl('kickstart', target); // starts it if it is not running; no-op otherwise
        return kick.code === 0
          ? { ok: true, detail: 'loaded and running' }
          : { ok: false, detail: `launchctl kickstart failed: ${firstLine(kick)}` };
      }
      if (loaded) ctl('bootout', target);
      const boot = ctl('bootstrap', domain, file);
      if (boot.code !== 0) return { ok: false, detail: `launchctl bootstrap failed: ${firstLine(boot)}` };
      return { ok: true, detail: loaded ? 'reloaded' : 'loaded (starts at login)' };
    },
    stop() {
      const r = ctl('bootout', target);
      if (r.missing) return { ok: false, detail: 'launchctl not found' };
      return { ok: true, detail: r.code === 0 ? 'stopped and unloaded' : 'was not loaded' };
    },
    state() {
      const r = ctl('print', target);
      if (r.missing) return { reachable: false, running: false, state: 'launchctl not found' };
      if (r.code !== 0) return { reachable: true, running: false, state: 'not loaded' };
      const pid = Number(/^\s*pid = (\d+)/m.exec(r.stdout)?.[1]) || undefined;
      const state = /^\s*state = (.+)$/m.exec(r.stdout)?.[1]?.trim() ?? 'loaded';
      return { reachable: true, running: state === 'running', pid, state };
    },
    logs: ({ lines, follow }) => ({
      file: 'tail',
      args: ['-n', String(lines), ...(follow ? ['-f'] : []), logFile],
    }),
    manualStart: `launchctl bootstrap ${domain} ${file}`,
    logFile,
  };
}

/** The manager of this platform, or undefined where ccproxy has none. */
export function platformManager(home = os.homedir()): ServiceManager | undefined {
  if (process.platform === 'linux') return systemd(home);
  if (process.platform === 'darwin') return launchd(home);
  return undefined;
}
