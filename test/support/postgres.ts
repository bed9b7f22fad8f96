/**
 * A throwaway PostgreSQL server for tests and benchmarks: initdb in a temp folder, pg_ctl start on a
 * free loopback port (its unix socket in the same folder, trust authentication, no fsync), stopped
 * and removed at the end — also when the test process exits early. `stop()`/`start()` take it down
 * and bring it back on the same port, for outage tests.
 *
 * The binaries come from PATH or Debian's /usr/lib/postgresql/<version>/bin (`apt-get install
 * postgresql`; .ci/run installs it). PostgreSQL refuses to run as root: as root, the server runs as
 * the `postgres` user the package creates (or `nobody`), through runuser, and owns the temp folder.
 * Without the binaries a test is skipped with a message — except in CI (the `CI` variable), where
 * that is a failure.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../helpers/net.ts';

const run = promisify(execFile);

/** The folder holding initdb and pg_ctl, or undefined. */
export function findPostgresBin(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'))) return dir;
  }
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base)
    ? fs
        .readdirSync(base)
        .filter((v) => fs.existsSync(path.join(base, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  return versions[0] ? path.join(base, versions[0], 'bin') : undefined;
}

/**
 * A `skip` value for node:test: a reason when PostgreSQL is missing here, false otherwise. In CI a
 * missing PostgreSQL is not skipped: `startPostgres` then fails, naming what to install.
 */
export function postgresSkip(): string | false {
  if (findPostgresBin() || process.env.CI) return false;
  return 'PostgreSQL is not installed (apt-get install postgresql); skipping the PostgreSQL tests';
}

export interface TestPostgres {
  /** `postgres://ccproxy@127.0.0.1:<port>/<database>` (trust authentication: any password works). */
  url(database?: string): string;
  port: number;
  /** Create a database and return its URL. */
  createDatabase(name: string): Promise<string>;
  /** Run one statement as the superuser against a database (default `postgres`). */
  sql<R extends pg.QueryResultRow = Record<string, unknown>>(
    text: string,
    values?: unknown[],
    database?: string,
  ): Promise<R[]>;
  /** Stop the server (`pg_ctl stop -m fast`: connections are ended), keeping its data. */
  stop(): Promise<void>;
  /** Start it again on the same port. */
  start(): Promise<void>;
  /** Stop it and remove its folder. */
  close(): Promise<void>;
}

interface RunAs {
  cmd: (bin: string, args: string[]) => [string, string[]];
  uid?: number;
  gid?: number;
}

/** As root, run the server as an unprivileged user PostgreSQL accepts. */
function runAs(): RunAs {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { cmd: (b, a) => [b, a] };
  for (const user of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
      return { cmd: (b, a) => ['runuser', ['-u', user, '--', b, ...a]], uid, gid };
    } catch {}
  }
  throw new Error('Running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as.');
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = findPostgresBin();
  if (!bin) {
    throw new Error(
      'PostgreSQL binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin: apt-get install postgresql.',
    );
  }
  const as = runAs();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-pg-'));
  if (as.uid !== undefined) fs.chownSync(dir, as.uid, as.gid!);
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const exec = async (tool: string, args: string[]) => {
    const [cmd, argv] = as.cmd(path.join(bin, tool), args);
    try {
      await run(cmd, argv, { cwd: dir, timeout: 120_000 });
    } catch (err) {
      const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
      const e = err as { stderr?: string; message: string };
      throw new Error(`${tool} ${args[0] ?? ''} failed: ${e.stderr || e.message}\n${log}`);
    }
  };
  let port = 0;
  let running = false;
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  // A test process that ends without close() must not leave a server behind.
  const onExit = () => {
    if (running) {
      try {
        const [cmd, argv] = as.cmd(path.join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w']);
        execFileSync(cmd, argv, { stdio: 'ignore', timeout: 30_000 });
      } catch {}
    }
    remove();
  };
  process.once('exit', onExit);

  const start = async () => {
    const options = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${dir}`,
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
    ].join(' ');
    await exec('pg_ctl', ['start', '-D', data, '-l', logFile, '-w', '-t', '120', '-o', options]);
    running = true;
  };

  try {
    await exec('initdb', [
      '-D',
      data,
      '-U',
      'ccproxy',
      '--auth=trust',
      '--encoding=UTF8',
      '--no-locale',
      '-N',
    ]);
    port = await freePort();
    await start();
  } catch (err) {
    onExit();
    process.removeListener('exit', onExit);
    throw err;
  }

  const url = (database = 'postgres') => `postgres://ccproxy@127.0.0.1:${port}/${database}`;
  const sql = async <R extends pg.QueryResultRow>(text: string, values?: unknown[], database?: string) => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  };

  return {
    url,
    get port() {
      return port;
    },
    async createDatabase(name) {
      await sql(`CREATE DATABASE "${name.replaceAll('"', '')}"`);
      return url(name);
    },
    sql,
    async stop() {
      await exec('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w']);
      running = false;
    },
    start,
    async close() {
      process.removeListener('exit', onExit);
      if (running) {
        await exec('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']).catch(() => {});
        running = false;
      }
      remove();
    },
  };
}
