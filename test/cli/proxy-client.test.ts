/**
 * Every command that talks to a running proxy takes the same options (`--host`, `--port`, `--url`)
 * and sends the proxy token from the settings: `status` and `usage` here, against a real proxy.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProxyClient, serverUrl } from '../../src/cli/proxy-client.ts';
import { settingsSchema } from '../../src/config/schema.ts';
import { freePort } from '../helpers/net.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { runCli } from '../security/cli.ts';

const TOKEN = 'proxy-client-test-token-0123456789';

describe('the client for a running proxy', () => {
  it('base URL from the settings (a wildcard bind is asked on loopback) or --url; the token on every call', async () => {
    const s = (server: object, token = '') =>
      settingsSchema.parse({ server, security: { auth_token: token } });
    assert.equal(serverUrl(s({ host: '0.0.0.0', port: 9009 })), 'http://127.0.0.1:9009');
    assert.equal(serverUrl(s({ host: '::', port: 9009 })), 'http://[::1]:9009');
    assert.equal(new ProxyClient(s({ port: 9009 }), 'http://h.test:1/').base, 'http://h.test:1');

    const proxy = await startProxy({ settings: { security: { auth_token: TOKEN } }, logLevel: 'silent' });
    try {
      const port = Number(new URL(proxy.url).port);
      assert.equal((await new ProxyClient(s({ port }, TOKEN)).get('/api/status', 10_000)).status, 200);
      assert.equal((await new ProxyClient(s({ port }, 'wrong')).get('/api/status', 10_000)).status, 401);
    } finally {
      await proxy.close();
    }
  });
});

describe('status and usage: one set of options', () => {
  let proxy: TestProxy;
  let cwd: string;
  let env: Record<string, string | undefined>;
  before(async () => {
    proxy = await startProxy({
      settings: { security: { auth_token: TOKEN }, observability: { access_log: true } },
      logLevel: 'silent',
    });
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-proxy-client-'));
    env = {
      PATH: process.env.PATH,
      HOME: cwd,
      XDG_CONFIG_HOME: path.join(cwd, 'xdg'),
      XDG_DATA_HOME: path.join(cwd, 'data'),
      SECURITY__AUTH_TOKEN: TOKEN,
    };
  });
  after(async () => {
    await proxy?.close();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('usage --port, usage --url and `ccproxy --port … usage` all ask the running server, with the token', async () => {
    const port = new URL(proxy.url).port;
    for (const args of [
      ['usage', '--port', port],
      ['usage', '--url', proxy.url],
      ['--port', port, 'usage'],
    ]) {
      const r = await runCli(args, { cwd, env });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`from the running server at ${proxy.url}`), args.join(' '));
    }
    const refused = await runCli(['usage', '--port', port], {
      cwd,
      env: { ...env, SECURITY__AUTH_TOKEN: 'no' },
    });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refused the token/);
  });

  it('status takes the same options', async () => {
    const r = await runCli(['status', '--url', proxy.url], { cwd, env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`at ${proxy.url}: running`));
    const down = await runCli(['status', '--port', String(await freePort())], { cwd, env });
    assert.equal(down.code, 1);
  });

  it('a --url that is not an http(s) URL is one clear line, exit code 2', async () => {
    for (const cmd of ['usage', 'status']) {
      const r = await runCli([cmd, '--url', 'localhost:8000'], { cwd, env });
      assert.equal(r.code, 2, cmd);
      assert.match(r.stderr, /--url localhost:8000 is not an http\(s\) URL/);
    }
  });
});
