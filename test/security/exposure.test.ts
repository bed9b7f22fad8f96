/**
 * Binding beyond loopback without a token refuses to start (the real CLI, spawned), unless
 * `--allow-unauthenticated` is given, and then it warns loudly. The proxies started here have no
 * credentials and an unreachable upstream, so nothing could be used through them even for a moment.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isLoopback } from '../../src/server/guard.ts';
import { runCli, spawnCli } from './cli.ts';

describe('exposure on a network', () => {
  let dir: string;
  let env: Record<string, string | undefined>;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-exposure-'));
    env = {
      ...process.env,
      HOME: dir,
      XDG_CONFIG_HOME: path.join(dir, 'xdg'),
      XDG_DATA_HOME: path.join(dir, 'data'),
      UPSTREAM__BASE_URL: 'http://127.0.0.1:9',
      AUTH__TOKEN_URL: 'http://127.0.0.1:9/v1/oauth/token',
      CLAUDE_CODE_OAUTH_TOKEN: '',
      NO_COLOR: '1',
    };
    for (const k of Object.keys(env)) if (/^(SERVER|SECURITY)__/.test(k)) delete env[k];
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Start `serve`, wait for its banner, stop it; or collect its exit if it refuses. */
  async function serve(args: string[], extraEnv: Record<string, string> = {}) {
    const child = spawnCli(['serve', '--port', '0', ...args], { cwd: dir, env: { ...env, ...extraEnv } });
    child.stdin.end();
    let stdout = '';
    let stderr = '';
    let listening = false;
    child.stdout.on('data', (c) => {
      stdout += c;
      if (!listening && /listening on/.test(stdout)) {
        listening = true;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, stdout, stderr, listening };
  }

  for (const host of ['0.0.0.0', '::', '192.0.2.10', '127.0.0.1.nip.io']) {
    it(`--host ${host} without a token refuses to start (exit 2, never listens)`, async () => {
      const r = await serve(['--host', host]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.listening, false);
      assert.match(r.stderr, /Refusing to listen on .* without security\.auth_token/);
      assert.match(r.stderr, /ccproxy generate-token/);
    });
  }

  it('the same through settings (SERVER__HOST) refuses too', async () => {
    const r = await serve([], { SERVER__HOST: '0.0.0.0' });
    assert.equal(r.code, 2);
  });

  it('--allow-unauthenticated starts, and warns loudly', async () => {
    const r = await serve(['--host', '0.0.0.0', '--allow-unauthenticated', '--log-format', 'json']);
    assert.equal(r.listening, true, r.stderr);
    assert.match(
      r.stderr,
      /WITHOUT authentication: anyone who can reach it can use your Claude subscription/,
    );
  });

  it('with a token it starts without the warning, and never prints the token', async () => {
    const token = 'ccp_exposure-test-token-abcdefghijklmnopqrstuvwxyz';
    const r = await serve(['--host', '0.0.0.0'], { SECURITY__AUTH_TOKEN: token });
    assert.equal(r.listening, true, r.stderr);
    assert.doesNotMatch(r.stderr, /WITHOUT authentication/);
    assert.ok(!(r.stdout + r.stderr).includes(token));
    assert.match(r.stdout, /ANTHROPIC_API_KEY=<your ccproxy token>/);
  });

  it('loopback is decided on the address, not on how a name begins', async () => {
    for (const h of ['127.0.0.1', '127.255.0.9', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      assert.equal(isLoopback(h), true, h);
    for (const h of ['127.0.0.1.nip.io', '127.evil.example', '127.0.0.256', '0.0.0.0', '::', '10.0.0.1'])
      assert.equal(isLoopback(h), false, h);
    const ok = await runCli(['config', 'show'], { cwd: dir, env: { ...env, SERVER__HOST: '127.0.0.1' } });
    assert.equal(ok.code, 0, ok.stderr);
  });
});
