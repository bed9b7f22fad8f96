/**
 * The npm package as a user gets it: `npm pack` (with the real prepack/postpack hooks, on a copy
 * of the package's files so the checkout is never touched), then `npm install -g` of the tarball
 * into an empty prefix, then the installed `ccproxy` serving: /health, a request answered by the
 * fake upstream, the access log (DuckDB's native binding from the install) and the dashboard.
 *
 * The copy ships the checkout's dist/ as built (`prepack --no-build`): building is `npm run build`'s
 * job, tested everywhere else. The install takes dependencies from npm's cache when it has them
 * (--prefer-offline) and from the registry otherwise.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type FakeUpstream, reply, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  files: string[];
};

/** This environment without npm's own variables (set when the tests run under `npm test`). */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^npm_/i.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

function npm(args: string[], cwd: string) {
  const r = spawnSync('npm', args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, `npm ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

describe('the npm package, packed and installed into an empty prefix', {
  skip: process.platform === 'win32' ? 'the installed command is a .cmd shim on Windows' : false,
}, () => {
  let dir: string;
  let tarball: string;
  let prefix: string;
  let installed: string;
  let installLog: string;
  let packedFiles: string[];
  let fake: FakeUpstream;
  let server: ChildProcess | undefined;

  before(async () => {
    fake = await startFakeUpstream();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-package-'));
    const copy = path.join(dir, 'checkout');
    for (const f of [
      ...PKG.files.filter((f) => f !== 'npm-shrinkwrap.json'),
      'package-lock.json',
      'scripts/pack.mjs',
    ])
      fs.cpSync(path.join(ROOT, f), path.join(copy, f), { recursive: true });
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    pkg.scripts.prepack = `${pkg.scripts.prepack} --no-build`;
    fs.writeFileSync(path.join(copy, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);

    const packed = npm(['pack', '--json', '--pack-destination', dir], copy);
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    tarball = path.join(dir, info.filename);
    packedFiles = info.files.map((f) => f.path);

    // The copy's package.json is as it was, and nothing of the pack is left behind.
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(copy, 'package.json'), 'utf8')), pkg);
    assert.ok(!fs.existsSync(path.join(copy, 'npm-shrinkwrap.json')));
    assert.ok(!fs.existsSync(path.join(copy, '.package.json.prepack')));

    prefix = path.join(dir, 'prefix');
    const install = npm(
      ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
      dir,
    );
    installLog = install.stdout + install.stderr;
    installed = path.join(prefix, 'lib', 'node_modules', PKG.name);
  });
  after(async () => {
    server?.kill('SIGKILL');
    await fake?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the tarball: built dist/ with the dashboard, the shrinkwrap, no sources and no prepare script', () => {
    const files = packedFiles;
    for (const f of [
      'bin/ccproxy.js',
      'dist/cli/main.js',
      'dist/dashboard/index.html',
      'npm-shrinkwrap.json',
      'README.md',
      // The docs link to the examples.
      'docs/install.md',
      'examples/codex-config.toml',
    ])
      assert.ok(files.includes(f), `${f} is packed`);
    assert.ok(
      files.some((f) => /^dist\/dashboard\/main-\w+\.js$/.test(f)),
      'the dashboard bundle',
    );
    assert.ok(!files.some((f) => /^(src|test|bench|scripts)\//.test(f)), 'no sources, tests or scripts');
    const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
    assert.equal(manifest.scripts.prepare, undefined);
    assert.equal(manifest.bin.ccproxy, './bin/ccproxy.js');
  });

  it('installs without a build step or development dependencies', () => {
    assert.doesNotMatch(installLog, /prepare|install-scripts/, installLog);
    const deps = fs.readdirSync(path.join(installed, 'node_modules'));
    for (const dev of ['typescript', 'tsx', 'esbuild', '@biomejs', 'openai', 'playwright-core'])
      assert.ok(!deps.includes(dev), `${dev} is not installed`);
    assert.ok(deps.includes('fastify') && deps.includes('@duckdb'));
    assert.ok(fs.existsSync(path.join(prefix, 'bin', 'ccproxy')));
  });

  it('the installed ccproxy serves: health, a request through the fake upstream, the access log and the dashboard', async () => {
    const home = path.join(dir, 'home');
    fs.mkdirSync(home);
    server = spawn(path.join(prefix, 'bin', 'ccproxy'), ['serve', '--port', '0', '--observability'], {
      cwd: home,
      env: {
        PATH: `${path.dirname(process.execPath)}${path.delimiter}/usr/bin${path.delimiter}/bin`,
        HOME: home,
        UPSTREAM__BASE_URL: fake.url,
        CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN,
        OBSERVABILITY__FLUSH_INTERVAL_MS: '50',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      server!.stdout!.on('data', (c) => {
        out += c;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      server!.stderr!.on('data', (c) => {
        out += c;
      });
      server!.on('exit', (code) => reject(new Error(`ccproxy exited ${code}:\n${out}`)));
    });

    const health = (await (await fetch(`${url}/health`)).json()) as {
      serviceId: string;
      version: string;
      status: string;
    };
    assert.equal(health.serviceId, 'ccproxy');
    assert.equal(health.version, PKG.version);

    fake.enqueue(reply.text('Hello from an installed ccproxy.'));
    const res = await fetch(`${url}/api/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 16,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    assert.equal(res.status, 200);
    assert.equal(
      ((await res.json()) as { content: Array<{ text: string }> }).content[0].text,
      'Hello from an installed ccproxy.',
    );

    // The access log is DuckDB, loaded from the installed package: wait for the row to be written.
    for (;;) {
      const status = (await (await fetch(`${url}/logs/status`)).json()) as {
        store: { kind: string; rows: number };
      };
      assert.equal(status.store.kind, 'duckdb');
      if (status.store.rows >= 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const page = await fetch(`${url}/dashboard`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script[^>]+src="[^"]*main-\w+\.js"/);

    server.kill('SIGTERM');
    await new Promise((resolve) => server!.on('exit', resolve));
    server = undefined;
  });

  it('ccproxy codex without Codex installed (it is not a dependency) says how to install it', () => {
    const r = spawnSync(path.join(prefix, 'bin', 'ccproxy'), ['codex', 'exec', 'hi'], {
      cwd: dir,
      env: { PATH: path.dirname(process.execPath), HOME: path.join(dir, 'home') },
      encoding: 'utf8',
    });
    assert.equal(r.status, 127, r.stderr);
    assert.match(r.stderr, /Codex CLI is not installed: install it with `npm install -g @openai\/codex`/);
  });
});
