/** Loading settings for a command: flags → dotted keys, warnings printed, errors as one clear line. */
import path from 'node:path';
import { type Loaded, loadSettings, SettingsError } from '../config/load.ts';

export interface CommonFlags {
  config?: string;
  trustProject?: boolean;
  host?: string;
  port?: string;
  logLevel?: string;
  logFormat?: string;
  allowUnauthenticated?: boolean;
  observability?: boolean;
}

export function flagSettings(f: CommonFlags): Record<string, unknown> {
  return {
    'server.host': f.host,
    'server.port': f.port,
    'server.log_level': f.logLevel,
    'server.log_format': f.logFormat,
    'security.allow_unauthenticated': f.allowUnauthenticated || undefined,
    'observability.enabled': f.observability || undefined,
  };
}

/** Load settings or exit with a one-line error (exit code 2). */
/** `cwd`: read settings as a process started there would (the service's folder). */
export function loadOrExit(f: CommonFlags, cwd?: string): Loaded {
  try {
    const loaded = loadSettings({
      flags: flagSettings(f),
      configFile: f.config,
      trustProject: f.trustProject,
      cwd,
    });
    for (const w of loaded.warnings) process.stderr.write(`warning: ${w}\n`);
    return loaded;
  } catch (err) {
    if (err instanceof SettingsError) {
      process.stderr.write(`ccproxy: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** The settings file named with the root `--config`, as an absolute path (for a ccproxy started by this one). */
export function explicitConfig(program: { opts(): CommonFlags }): string | undefined {
  const file = program.opts().config;
  return file ? path.resolve(file) : undefined;
}
