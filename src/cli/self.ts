/**
 * Where this ccproxy is and how it runs itself: the launchers start it in the background, and a
 * service unit names it by absolute path (a service manager has no PATH worth relying on).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The package's `bin/ccproxy.js` (same depth below the root from src/cli and dist/cli). */
export function ccproxyEntry(): string {
  const entry = path.resolve(import.meta.dirname, '..', '..', 'bin', 'ccproxy.js');
  try {
    return fs.realpathSync(entry);
  } catch {
    return entry;
  }
}

/**
 * The command line that started this process (node, its flags, the script): run with other
 * arguments, it is this same ccproxy, whether installed, linked or run from source by tsx.
 */
export function selfCommand(): { file: string; args: string[] } {
  return { file: process.execPath, args: [...process.execArgv, process.argv[1]] };
}

/** `$XDG_STATE_HOME/ccproxy` (default `~/.local/state/ccproxy`): logs of what ccproxy started. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state'), 'ccproxy');
}
