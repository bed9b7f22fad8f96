/**
 * Run an agent in the foreground as if it had been started directly: the terminal (stdin, stdout,
 * stderr) is its own, and its exit code, or the signal that ended it, becomes ccproxy's.
 */
import { spawn } from 'node:child_process';

export interface AgentRun {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/**
 * Resolves with the exit code to use; a death by signal is passed on by ending this process with
 * the same signal. Ctrl-C reaches the agent from the terminal itself (it is in the same process
 * group), so ccproxy only ignores it; a SIGTERM or SIGHUP sent to ccproxy alone is forwarded.
 */
export function runAgent(run: AgentRun): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(run.file, run.args, {
      env: run.env,
      stdio: 'inherit',
      shell: process.platform === 'win32' && /\.(cmd|bat)$/i.test(run.file),
    });
    const ignore = () => {};
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const handlers: Array<[NodeJS.Signals, () => void]> = [
      ['SIGINT', ignore],
      ['SIGQUIT', ignore],
      ['SIGTERM', forward('SIGTERM')],
      ['SIGHUP', forward('SIGHUP')],
    ];
    for (const [s, h] of handlers) if (process.platform !== 'win32' || s === 'SIGINT') process.on(s, h);
    const done = () => {
      for (const [s, h] of handlers) process.off(s, h);
    };
    child.on('error', (err) => {
      done();
      reject(err);
    });
    child.on('exit', (code, signal) => {
      done();
      if (signal) {
        process.kill(process.pid, signal);
        return;
      }
      resolve(code ?? 1);
    });
  });
}
