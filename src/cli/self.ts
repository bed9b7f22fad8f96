/**
 * Where this ccproxy is and how it runs itself: the launchers start it in the background, and a
 * service unit names it by absolute path (a service manager has no PATH worth relying on).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { youngGenerationSizedByFlags } from '../server/young-generation.ts';

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
 * Node's flags for a ccproxy that keeps running in the background (the service, the container, a
 * launcher's proxy): a young generation of at most 2 × 4 MB instead of 2 × 16 MB, which bounds the
 * peak of a burst (1,000 streams at once: ~200 → 122–150 MB) for usually 5–8% more CPU per stream
 * (docs/performance.md). A V8 flag counts only on node's command line, hence here and not in serve.
 * The container's entrypoint says the same (docker/entrypoint.sh).
 */
export const BACKGROUND_NODE_FLAGS = ['--max-semi-space-size=4'] as const;

/** BACKGROUND_NODE_FLAGS, unless node's flags or NODE_OPTIONS already size the young generation. */
export function backgroundNodeFlags(execArgv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  return youngGenerationSizedByFlags(execArgv, env) ? [] : [...BACKGROUND_NODE_FLAGS];
}

/**
 * V8 settings every ccproxy process takes at start, however it was started: ones V8 reads as it runs,
 * so they count when set from inside (the young generation's size above does not).
 *
 * No allocation-site pretenuring. V8 watches which allocation sites' objects survive collections and
 * from then on allocates that site's objects in the old generation. In a burst of streams it can
 * judge node's own queued socket writes long-lived: each write's entry then lands in the old
 * generation and keeps its chunk alive until a full collection, though both are done with within the
 * turn. Bursts of 1,000 streams soon after start peaked at ~220 MB in more than half the runs, and at
 * ~150 MB in every run without pretenuring, at no CPU cost we could measure (docs/performance.md).
 */
export const RUNTIME_V8_FLAGS = ['--no-allocation-site-pretenuring'] as const;

/**
 * Sets RUNTIME_V8_FLAGS, less those node's command line already sets either way (node refuses them
 * in NODE_OPTIONS); returns what it set.
 */
export function applyRuntimeV8Flags(execArgv: readonly string[]): string[] {
  const given = execArgv.join(' ');
  const flags = RUNTIME_V8_FLAGS.filter((f) => !given.includes(f.replace(/^--(no-)?/, '')));
  for (const f of flags) v8.setFlagsFromString(f);
  return flags;
}

/**
 * glibc's malloc for the same forms: fixed thresholds (glibc raises both, up to 32 MB, once a big
 * buffer is freed, and then keeps what is freed), so memory freed after a load goes back to the
 * system: 3–9 MB less at rest (docs/performance.md). 512 KB, not less: a request body under it
 * (Claude Code's are ~100–500 KB) is read into the heap instead of fresh mapped memory, which cost
 * 128 KB thresholds ~0.9 ms of CPU on a 150 KB request for ~2 MB less at rest. Read by glibc at
 * start only; other C libraries ignore them. The Dockerfile sets the same.
 */
export const BACKGROUND_ENV = {
  MALLOC_TRIM_THRESHOLD_: '524288',
  MALLOC_MMAP_THRESHOLD_: '524288',
} as const;

/** BACKGROUND_ENV, less what the user's environment sets already. */
export function backgroundEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(BACKGROUND_ENV).filter(([k]) => env[k] === undefined));
}

/**
 * The command line that started this process (node, its flags, the script): run with other
 * arguments, it is this same ccproxy, whether installed, linked or run from source by tsx. It
 * starts a background proxy, so the background flags are added.
 */
export function selfCommand(): { file: string; args: string[] } {
  return {
    file: process.execPath,
    args: [...process.execArgv, ...backgroundNodeFlags(process.execArgv, process.env), process.argv[1]],
  };
}

/** `$XDG_STATE_HOME/ccproxy` (default `~/.local/state/ccproxy`): logs of what ccproxy started. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state'), 'ccproxy');
}
