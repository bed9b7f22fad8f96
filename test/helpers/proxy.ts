/**
 * Start a real ccproxy (buildApp + listen on port 0) for a test, with settings overrides, an
 * isolated HOME for credentials, and every log line captured (for the no-secrets scans).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Settings } from '../../src/config/schema.ts';
import { settingsSchema } from '../../src/config/schema.ts';
import { createLogger } from '../../src/logging.ts';
import { type AppOptions, buildApp, type ProxyApp } from '../../src/server/app.ts';

export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends Array<unknown> ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};

export interface TestProxy {
  url: string;
  proxy: ProxyApp;
  settings: Settings;
  /** Temp dir holding this proxy's credential files and data. */
  dir: string;
  /** Everything the proxy logged so far. */
  logs(): string;
  close(): Promise<void>;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && base[k] && typeof base[k] === 'object'
        ? merge(base[k] as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export interface StartOptions {
  settings?: DeepPartial<Settings>;
  /** Credential env (e.g. { CLAUDE_CODE_OAUTH_TOKEN: 't' }); default none. */
  env?: Record<string, string | undefined>;
  /** Contents for ccproxy's own credentials file, written mode 0600. */
  credentials?: unknown;
  /** Contents for the Claude CLI credentials file. */
  claudeCredentials?: unknown;
  logLevel?: string;
  app?: Partial<AppOptions>;
}

export async function startProxy(opts: StartOptions = {}): Promise<TestProxy> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-test-'));
  const credentialsFile = path.join(dir, 'ccproxy', 'credentials.json');
  const claudeCredentialsFile = path.join(dir, 'claude', '.credentials.json');
  const write = (file: string, doc: unknown) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(doc), { mode: 0o600 });
  };
  // The agents' folder must not hold the credential files (SDK mode refuses such a claude.cwd).
  const agentDir = path.join(dir, 'agent');
  fs.mkdirSync(agentDir);
  if (opts.credentials) write(credentialsFile, opts.credentials);
  if (opts.claudeCredentials) write(claudeCredentialsFile, opts.claudeCredentials);

  const base = settingsSchema.parse({}) as unknown as Record<string, unknown>;
  const settings = settingsSchema.parse(
    merge(
      merge(base, {
        server: { port: 0, log_level: opts.logLevel ?? 'debug', log_format: 'json' },
        auth: { credentials_file: credentialsFile, claude_credentials_file: claudeCredentialsFile },
        upstream: { retry: { base_delay_ms: 10 } },
        observability: { duckdb_path: path.join(dir, 'access-log.duckdb') },
        claude: { cwd: agentDir },
      }),
      (opts.settings ?? {}) as Record<string, unknown>,
    ),
  );

  let captured = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      captured += chunk.toString();
      cb();
    },
  });
  const log = createLogger({
    level: settings.server.log_level,
    format: 'json',
    destination: sink,
    secrets: () => [settings.security.auth_token].filter(Boolean),
  });
  const proxy = await buildApp({ settings, log, env: opts.env ?? {}, ...opts.app });
  const url = await proxy.listen();
  return {
    url,
    proxy,
    settings,
    dir,
    logs: () => captured,
    async close() {
      await proxy.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
