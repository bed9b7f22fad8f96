/**
 * Run ES module text in a node of its own, from the repository's root (so `./src/…` imports
 * resolve), with tsx for TypeScript: for what is per process, such as V8's flags or exit paths.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';

const ROOT = new URL('../..', import.meta.url);

export function runModule(script: string, env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    cwd: ROOT,
    env,
  });
}
