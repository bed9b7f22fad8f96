/**
 * Find the ccproxy a launcher should use, or start one: ask `/health` on the configured address;
 * a ccproxy there is used as it is; a closed port gets a ccproxy started in the background
 * (detached, its output in a log file under the state directory), waited for until its `/health`
 * answers; anything else on the port is reported, never reused (`probeProxy`, proxy-client.ts).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Settings } from '../../config/schema.ts';
import { type Probe, ProxyClient, probeProxy } from '../proxy-client.ts';
import { backgroundEnv, selfCommand, stateDir } from '../self.ts';

export interface EnsureProxyOptions {
  settings: Settings;
  /** A proxy elsewhere (`--url`): used when it answers, never started. */
  url?: string;
  /** The settings file the caller loaded, handed to a started proxy so that it reads the same one. */
  configFile?: string;
  /** `serve` flags the caller was given (--host, --trust-project…), for a started proxy. */
  serveFlags?: string[];
  /** How to run ccproxy (default: this process's own command line). */
  command?: { file: string; args: string[] };
  /** Directory of the started proxy's log (default: $XDG_STATE_HOME/ccproxy). */
  logDir?: string;
  /** Progress for a person (stderr). */
  say?: (line: string) => void;
  /** Longest wait for a started proxy to answer, in ms (default 60 s: a slow first start). */
  startTimeoutMs?: number;
}

export interface RunningProxy {
  /** Base URL, without a trailing slash. */
  url: string;
  /** What clients send as their key: security.auth_token, or a placeholder when none is set. */
  key: string;
  /** Set when this call started it. */
  started?: { pid: number; log: string };
}

/**
 * A proxy found running, checked before an agent is started on it: one whose health fails (no
 * credentials, a login to renew) or that refuses this key would leave the agent retrying for minutes.
 */
async function usable(
  client: ProxyClient,
  found: Extract<Probe, { state: 'ccproxy' }>,
  proxy: RunningProxy,
): Promise<RunningProxy> {
  if (found.credentials) {
    throw new ProxyUnavailable(`the ccproxy at ${proxy.url} cannot answer requests: ${found.credentials}`);
  }
  const res = await client.get('/api/status', 5000).catch(() => undefined);
  await res?.arrayBuffer().catch(() => {});
  if (res?.status === 401) {
    throw new ProxyUnavailable(
      `the ccproxy at ${proxy.url} requires a token (its security.auth_token) and ${proxy.key === 'dummy' ? 'none is set here' : 'the one set here is not it'}: set the same security.auth_token (or SECURITY__AUTH_TOKEN) for this command.`,
    );
  }
  return proxy;
}

/** A proxy could not be found or started; the message says why and what to do. */
export class ProxyUnavailable extends Error {}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** A running ccproxy at the configured address (or `url`), started in the background if none is. */
export async function ensureProxy(opts: EnsureProxyOptions): Promise<RunningProxy> {
  const { settings } = opts;
  const key = settings.security.auth_token || 'dummy';
  const say = opts.say ?? (() => {});
  const client = new ProxyClient(settings, opts.url);
  const url = client.base;
  const found = await probeProxy(client);
  if (found.state === 'ccproxy') return usable(client, found, { url, key });

  if (opts.url) {
    throw new ProxyUnavailable(
      found.state === 'free'
        ? `no ccproxy answers at ${url} (connection refused). Start it there, or leave out --url to use (or start) a local one.`
        : `${url} is not a ccproxy: ${found.detail}.`,
    );
  }
  const { host, port } = settings.server;
  if (found.state === 'other') {
    throw new ProxyUnavailable(
      `port ${port} on ${host} is taken by something that is not ccproxy (${found.detail}). Stop it, or use another port: --port <n> (or server.port / SERVER__PORT).`,
    );
  }
  if (port === 0) {
    throw new ProxyUnavailable(
      'server.port is 0 (any free port): a launcher needs to know where the proxy is. Set server.port, or pass --port <n>.',
    );
  }

  // Nothing listens: start a ccproxy that outlives this command, for this launch and the next.
  const logDir = opts.logDir ?? stateDir();
  fs.mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const log = path.join(logDir, `proxy-${port}.log`);
  const fd = fs.openSync(log, 'a', 0o600);
  fs.writeSync(
    fd,
    `\n--- ${new Date().toISOString()}: started in the background by a ccproxy launcher ---\n`,
  );
  const self = opts.command ?? selfCommand();
  const args = [
    ...self.args,
    ...(opts.configFile ? ['--config', opts.configFile] : []),
    'serve',
    ...(opts.serveFlags ?? []),
    '--port',
    String(port),
    '--log-format',
    'json',
  ];
  const child = spawn(self.file, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    windowsHide: true,
    env: { ...process.env, ...backgroundEnv(process.env) },
  });
  fs.closeSync(fd);
  let exited: number | string | undefined;
  child.on('exit', (code, signal) => {
    exited = code ?? signal ?? 'unknown';
  });
  child.on('error', (err) => {
    exited = err.message;
  });
  child.unref();
  const pid = child.pid ?? 0;

  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  for (;;) {
    const now = await probeProxy(client, 2000);
    if (now.state === 'ccproxy') {
      // Another launcher's proxy won the race for the port.
      if (exited !== undefined) return usable(client, now, { url, key });
      say(
        `ccproxy: no proxy answered at ${url}, so one was started in the background (pid ${pid}, log ${log}). It keeps running for later launches; stop it with \`kill ${pid}\`.`,
      );
      return { url, key, started: { pid, log } };
    }
    if (exited !== undefined) {
      const why = tail(log);
      throw new ProxyUnavailable(
        `the background ccproxy stopped (exit ${exited}) before it answered at ${url}. Its log (${log}) ends with:\n${why}`,
      );
    }
    if (Date.now() > deadline) {
      throw new ProxyUnavailable(
        `the background ccproxy (pid ${pid}) did not answer at ${url} in time. See its log: ${log}`,
      );
    }
    await pause(100);
  }
}
