/**
 * Where SDK-mode agents work. Claude Code reads anything under its working directory without
 * asking, so that folder is what every SDK-mode client can read:
 * - `claude.cwd` unset → an empty folder ccproxy owns, `<data dir>/ccproxy/agent-home` (mode 0700),
 *   never the folder ccproxy happened to be started from (a home folder, with ~/.ssh in it);
 * - `claude.cwd` set to `/`, a home folder or above one, or a folder holding a credentials file →
 *   refused at start unless `claude.allow_broad_cwd` says the user means it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Settings } from '../../config/schema.ts';

type Env = Record<string, string | undefined>;

function homeOf(env: Env): string {
  return env.HOME || env.USERPROFILE || os.homedir();
}

/** The default working folder: `$XDG_DATA_HOME/ccproxy/agent-home` (~/.local/share by default). */
export function defaultAgentHome(env: Env): string {
  const data = env.XDG_DATA_HOME || path.join(homeOf(env), '.local', 'share');
  return path.join(data, 'ccproxy', 'agent-home');
}

export interface AgentWorkdir {
  dir: string;
  /** ccproxy's own folder (claude.cwd unset): created on first use. */
  isDefault: boolean;
}

export function agentWorkdir(settings: Settings, env: Env): AgentWorkdir {
  const configured = settings.claude.cwd.trim();
  return configured ? { dir: configured, isDefault: false } : { dir: defaultAgentHome(env), isDefault: true };
}

/** Create ccproxy's own agent folder (again, if it was removed), for this user only. */
export function ensureAgentHome(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32' && fs.statSync(dir).mode & 0o077) fs.chmodSync(dir, 0o700);
}

const realOr = (p: string) => {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
};

const within = (child: string, parent: string) =>
  child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);

/** Why `dir` is too broad a working folder for agents anyone calling the proxy can steer, if it is. */
export function broadCwdReason(dir: string, settings: Settings, env: Env): string | undefined {
  const real = realOr(dir);
  if (path.parse(real).root === real) return 'is the root of the file system';
  for (const home of new Set([homeOf(env), os.homedir()].map(realOr))) {
    if (within(home, real)) return real === home ? 'is your home folder' : 'holds your home folder';
  }
  const secrets = [
    settings.auth.credentials_file,
    settings.auth.claude_credentials_file,
    path.join(env.CLAUDE_CONFIG_DIR || path.join(homeOf(env), '.claude'), '.credentials.json'),
  ];
  const held = secrets.find((f) => within(realOr(f), real));
  if (held) return `holds the credentials file ${held}`;
  return undefined;
}

/**
 * The start-up check of `claude.cwd`: a message saying why it is refused and what to do, or
 * undefined when it is fine (or acknowledged with `claude.allow_broad_cwd`).
 */
export function workdirRefusal(settings: Settings, env: Env): string | undefined {
  const w = agentWorkdir(settings, env);
  if (w.isDefault || settings.claude.allow_broad_cwd) return undefined;
  const why = broadCwdReason(w.dir, settings, env);
  if (!why) return undefined;
  return `claude.cwd = ${w.dir} ${why}: SDK-mode agents read anything under their working folder without asking, so every client of this proxy could read it (SSH keys, tokens). Point claude.cwd at a project folder, leave it empty for ccproxy's own empty folder (${defaultAgentHome(env)}), or set claude.allow_broad_cwd = true if you really mean it.`;
}
