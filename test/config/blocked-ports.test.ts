/**
 * Ports fetch refuses (the Fetch standard's "bad ports"): a proxy there would answer curl but not
 * the dashboard, the JavaScript SDKs or ccproxy's own commands, so settings naming one are refused
 * with the reason, and so is `--url` for a command that talks to a running proxy.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
// @ts-expect-error undici's own list, not a typed export: the list this one must cover.
import { badPorts } from 'undici/lib/web/fetch/constants.js';
import { FETCH_BLOCKED_PORTS } from '../../src/blocked-ports.ts';
import { loadSettings } from '../../src/config/load.ts';
import { runCli } from '../security/cli.ts';

describe('ports fetch refuses', () => {
  it('are the ones node’s fetch and undici refuse', async () => {
    assert.deepEqual(
      (badPorts as string[]).map(Number).filter((p) => !FETCH_BLOCKED_PORTS.has(p)),
      [],
      'every port undici blocks is listed',
    );
    for (const port of FETCH_BLOCKED_PORTS) {
      await assert.rejects(fetch(`http://127.0.0.1:${port}/`), (err: Error & { cause?: Error }) => {
        assert.equal(err.cause?.message, 'bad port', `port ${port}`);
        return true;
      });
    }
  });

  it('server.port and auth.callback_port naming one are refused with the reason; others pass', () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-ports-'));
    try {
      const load = (env: Record<string, string>) => loadSettings({ env, cwd, home: cwd });
      assert.throws(
        () => load({ SERVER__PORT: '6000' }),
        /^SettingsError: Invalid setting server\.port = 6000 \(from environment variable SERVER__PORT\): port 6000 is one that browsers, node's fetch and the JavaScript SDKs refuse to connect to .*choose another port\.$/,
      );
      assert.throws(
        () => load({ AUTH__CALLBACK_PORT: '10080' }),
        /auth\.callback_port = 10080 .*refuse to connect/,
      );
      assert.equal(load({ SERVER__PORT: '6001' }).settings.server.port, 6001);
      assert.equal(load({ SERVER__PORT: '0' }).settings.server.port, 0);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('a command’s --port or --url naming one is one clear line, before any call', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-ports-'));
    try {
      const env = { PATH: process.env.PATH, HOME: cwd, XDG_CONFIG_HOME: path.join(cwd, 'xdg') };
      const port = await runCli(['status', '--port', '6667'], { cwd, env });
      assert.notEqual(port.code, 0);
      assert.match(port.stderr, /server\.port = 6667 .*refuse to connect/);
      const url = await runCli(['trace', 'list', '--url', 'http://127.0.0.1:6000'], { cwd, env });
      assert.equal(url.code, 2);
      assert.match(url.stderr, /^ccproxy: --url http:\/\/127\.0\.0\.1:6000: port 6000 is one that browsers/);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});
