/**
 * The container, as far as it can be tested without a container engine (none runs on the test
 * machines): the Dockerfile's structure (stages, base, non-root user, healthcheck, volume; every
 * file it copies is in the build context .dockerignore leaves), compose.yaml's services, and the
 * entrypoint and healthcheck scripts run as they are, outside a container, against the built ccproxy.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { BACKGROUND_ENV } from '../../src/cli/self.ts';
import { freePort } from '../helpers/net.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions per stage (line continuations joined, comments dropped). */
function stages(text: string): Array<{ from: string; name?: string; steps: Instruction[] }> {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const out: Array<{ from: string; name?: string; steps: Instruction[] }> = [];
  for (const line of lines) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (op === 'FROM') {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      out.push({ from, name, steps: [] });
    } else if (out.length) out.at(-1)!.steps.push({ op, args });
  }
  return out;
}

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const all = stages(text);
  const final = all.at(-1)!;
  const step = (op: string) => final.steps.filter((s) => s.op === op).map((s) => s.args);

  it('is multi-stage on a slim Node 20 base (glibc: DuckDB and Claude Code)', () => {
    assert.match(text, /^# syntax=docker\/dockerfile:1$/m);
    assert.match(text, /^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    // Every stage starts from the ARG (FROM ${NODE_IMAGE}).
    assert.deepEqual(
      all.map((s) => [s.from.replace(/^\$\{(\w+)\}$/, 'ARG $1'), s.name]),
      [
        ['ARG NODE_IMAGE', 'build'],
        ['ARG NODE_IMAGE', 'deps'],
        ['ARG NODE_IMAGE', undefined],
      ],
    );
    // The runtime stage gets production dependencies only, and the built dist/.
    const deps = all.find((s) => s.name === 'deps')!;
    assert.ok(deps.steps.some((s) => s.op === 'RUN' && /npm ci --omit=dev\b/.test(s.args)));
    assert.ok(step('COPY').some((a) => a === '--from=deps /app/node_modules ./node_modules'));
    assert.ok(step('COPY').some((a) => a === '--from=build /src/dist ./dist'));
  });

  it('runs as a non-root user, with a healthcheck on /health and its data in a volume', () => {
    const users = step('USER');
    assert.deepEqual(users, ['node']);
    const userAt = final.steps.findIndex((s) => s.op === 'USER');
    assert.ok(
      final.steps.slice(userAt).every((s) => s.op !== 'RUN'),
      'nothing runs as root after USER',
    );
    assert.match(step('HEALTHCHECK')[0], /CMD \["node", "\/app\/docker\/healthcheck\.mjs"\]$/);
    assert.deepEqual(step('VOLUME'), ['["/data"]']);
    assert.deepEqual(step('EXPOSE'), ['8000']);
    assert.deepEqual(step('ENTRYPOINT'), ['["/app/docker/entrypoint.sh"]']);
    const env = step('ENV').join(' ');
    for (const v of [
      'HOME=/data',
      'XDG_CONFIG_HOME=/data/config',
      'XDG_DATA_HOME=/data/share',
      'SERVER__HOST=0.0.0.0',
      // The background forms' malloc settings (src/cli/self.ts).
      ...Object.entries(BACKGROUND_ENV).map(([k, v]) => `${k}=${v}`),
    ])
      assert.ok(env.includes(v), v);
    assert.doesNotMatch(text, /^ADD /m, 'COPY only, no remote ADD');
  });

  it('every file it copies from the context is there and not left out by .dockerignore', () => {
    const ignore = read('.dockerignore')
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/$/, ''));
    assert.ok(read('.dockerignore').split('\n').includes('*'), 'everything else is left out');
    const sources = all
      .flatMap((s) => s.steps)
      .filter((s) => s.op === 'COPY' && !s.args.startsWith('--from'))
      .flatMap((s) => s.args.split(/\s+/).slice(0, -1));
    assert.ok(sources.length >= 6);
    for (const src of sources) {
      assert.ok(fs.existsSync(path.join(ROOT, src)), `${src} exists`);
      assert.ok(
        ignore.some((keep) => src === keep || src.startsWith(`${keep}/`)),
        `${src} is in the build context`,
      );
    }
  });
});

describe('compose.yaml', () => {
  const text = read('compose.yaml');
  /** The top-level block of a service, by its indentation. */
  const service = (name: string) =>
    new RegExp(`^  ${name}:\\n((?:    .*\\n|\\s*\\n)*)`, 'm').exec(text)?.[1] ?? '';

  it('ccproxy alone: built here, published on loopback, token and data passed in', () => {
    const s = service('ccproxy');
    assert.match(s, /^ {4}build: \.$/m);
    assert.match(s, /- "127\.0\.0\.1:\$\{CCPROXY_PORT:-8000\}:8000"/);
    assert.match(s, /SECURITY__AUTH_TOKEN: \$\{CCPROXY_AUTH_TOKEN:-\}/);
    assert.match(s, /- ccproxy-data:\/data/);
    assert.doesNotMatch(s, /profiles:/, 'starts without a profile');
    assert.match(s, /postgres:\n\s+condition: service_healthy\n(\s+#.*\n)*\s+required: false/);
  });

  it('the team profile adds PostgreSQL, and ccproxy is given its URL and can turn the access log on', () => {
    const pg = service('postgres');
    assert.match(pg, /profiles: \[team\]/);
    assert.match(pg, /image: postgres:\d+/);
    assert.match(pg, /pg_isready/);
    assert.match(service('ccproxy'), /STORAGE__URL: \$\{CCPROXY_STORAGE_URL:-\}/);
    assert.match(service('ccproxy'), /OBSERVABILITY__ENABLED: \$\{CCPROXY_OBSERVABILITY:-false\}/);
    assert.match(text, /docs\/team\.md/);
  });
});

describe('docker/entrypoint.sh and docker/healthcheck.mjs, outside a container', {
  skip: process.platform === 'win32' ? 'POSIX sh' : false,
}, () => {
  const entrypoint = path.join(ROOT, 'docker', 'entrypoint.sh');
  const healthcheck = path.join(ROOT, 'docker', 'healthcheck.mjs');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-entrypoint-'));
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    fs.rmSync(home, { recursive: true, force: true });
  });

  /** The image's environment, with this test's home as /data. */
  const imageEnv = (extra: Record<string, string> = {}) => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, 'config'),
    XDG_DATA_HOME: path.join(home, 'share'),
    XDG_STATE_HOME: path.join(home, 'state'),
    SERVER__HOST: '0.0.0.0',
    SERVER__LOG_FORMAT: 'json',
    ...extra,
  });

  const health = (port: number) =>
    spawnSync(process.execPath, [healthcheck], { env: { SERVER__PORT: String(port) }, encoding: 'utf8' });

  /** The entrypoint started with `args`, once ccproxy's banner says it listens; its output so far. */
  const serving = async (args: string[], env: Record<string, string>) => {
    const child = spawn('sh', [entrypoint, ...args], { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (c) => {
        out += c;
        if (out.includes('listening on')) resolve();
      });
      child.stderr!.on('data', (c) => {
        out += c;
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    const stop = async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.on('exit', resolve));
    };
    return { out, stop };
  };

  it('refuses 0.0.0.0 without a token, and says how to give one', () => {
    const r = spawnSync('sh', [entrypoint], { cwd: home, env: imageEnv(), encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /refusing to start without a token\. The container listens on 0\.0\.0\.0/);
    assert.match(r.stderr, /docker run --rm ccproxy generate-token/);
    assert.match(r.stderr, /CCPROXY_AUTH_TOKEN=ccp_… in \.env/);
    // Options only mean `serve` with them: the same refusal.
    const opts = spawnSync('sh', [entrypoint, '--port', '0'], {
      cwd: home,
      env: imageEnv(),
      encoding: 'utf8',
    });
    assert.equal(opts.status, 2);
  });

  it('with the token (and the login) in /data/.env it serves: ccproxy reads that .env, and so does the check', async () => {
    const port = await freePort();
    const dotenv = path.join(home, '.env');
    fs.writeFileSync(
      dotenv,
      'SECURITY__AUTH_TOKEN="ccp_entrypoint-dotenv-token-0123456789"\nCLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-entrypoint-dotenv\n',
      { mode: 0o600 },
    );
    const proxy = await serving(['--port', String(port)], imageEnv());
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/status`);
      await res.arrayBuffer();
      assert.equal(res.status, 401, 'the token from .env guards it');
      assert.equal(health(port).status, 0, 'and the login from .env is used');
    } finally {
      await proxy.stop();
      fs.rmSync(dotenv);
    }
  });

  it('runs ccproxy commands other than serve as they are', () => {
    const version = spawnSync('sh', [entrypoint, '--version'], {
      cwd: home,
      env: imageEnv(),
      encoding: 'utf8',
    });
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
    const r = spawnSync('sh', [entrypoint, 'config', 'show'], {
      cwd: home,
      env: imageEnv(),
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /server\.host\s+0\.0\.0\.0/);
  });

  it('with SECURITY__AUTH_TOKEN it serves on 0.0.0.0; the healthcheck passes once credentials are there', async () => {
    const port = await freePort();
    const { out, stop } = await serving(
      [],
      imageEnv({
        SERVER__PORT: String(port),
        SECURITY__AUTH_TOKEN: 'ccp_entrypoint-test-token-0123456789',
        CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-entrypoint-test',
      }),
    );
    assert.match(out, new RegExp(`listening on http://0\\.0\\.0\\.0:${port}`));
    const r = health(port);
    assert.equal(r.status, 0, r.stderr);
    await stop();
    assert.equal(health(port).status, 1, 'nothing answers: unhealthy');
  });

  it('the healthcheck fails while ccproxy has no credentials, naming why', async () => {
    const port = await freePort();
    const { stop } = await serving(['--host', '127.0.0.1', '--port', String(port)], imageEnv());
    const r = health(port);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /unhealthy: No subscription credentials found/);
    await stop();
  });
});
