/**
 * `ccproxy claude` and `ccproxy codex` run the real agents (Claude Code from the Agent SDK, Codex
 * from `@openai/codex`) through a ccproxy the launcher starts in the background, answered by the
 * fake upstream; a port held by something else is refused; `ccproxy env` for each shell.
 *
 * The CLI runs from source with a home, state directory and port of its own; its environment
 * holds what a user's shell would (the proxy settings as SECTION__KEY, the subscription token),
 * and PATH has neither agent, so both come from the packages next to ccproxy.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { claudeEnv, codexEnv, directTo, findCodex, findOnPath } from '../../src/cli/launch/agents.ts';
import { clientVariables, detectShell, renderEnv } from '../../src/cli/launch/shell-env.ts';
import { ProxyClient, probeProxy as probeClient } from '../../src/cli/proxy-client.ts';
import { settingsSchema } from '../../src/config/schema.ts';
import { freePort } from '../helpers/net.ts';
import { runCli } from '../security/cli.ts';
import { type FakeUpstream, reply, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

const TOKEN = 'ccp_launcher-test-token-0123456789abcdef';

/** What answers at a URL, asked the way the launchers ask. */
const probeProxy = (url: string, timeoutMs?: number) =>
  probeClient(new ProxyClient(settingsSchema.parse({}), url), timeoutMs);

/** The pid in "started one in the background (pid N, …)". */
const startedPid = (stderr: string) => Number(/\(pid (\d+), log /.exec(stderr)?.[1]) || undefined;

async function stopProxy(pid: number | undefined, url: string): Promise<void> {
  if (!pid) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  // Wait until the port is closed, so that the next test file never meets this proxy.
  while ((await probeProxy(url, 1000)).state !== 'free') await new Promise((r) => setTimeout(r, 100));
}

describe('ccproxy claude / codex: the agents through a proxy the launcher starts', () => {
  let fake: FakeUpstream;
  let dir: string;
  let port: number;
  let url: string;
  let env: Record<string, string>;
  let pid: number | undefined;

  before(async () => {
    fake = await startFakeUpstream();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-launch-'));
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const home = path.join(dir, 'home');
    fs.mkdirSync(home);
    env = {
      PATH: [path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter),
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, '.config'),
      XDG_DATA_HOME: path.join(home, '.local', 'share'),
      XDG_STATE_HOME: path.join(dir, 'state'),
      SERVER__PORT: String(port),
      SERVER__LOG_LEVEL: 'debug',
      UPSTREAM__BASE_URL: fake.url,
      SECURITY__AUTH_TOKEN: TOKEN,
      CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN,
      // Claude Code: offline, its own config in the temporary home.
      CLAUDE_CONFIG_DIR: path.join(home, '.claude'),
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      // Codex: its home in the temporary one, nothing but loopback reachable.
      CODEX_HOME: path.join(home, '.codex'),
      // Behind a corporate proxy (nothing listens there), with no NO_PROXY: the launchers must
      // send the agents' calls to ccproxy on this machine directly.
      HTTPS_PROXY: 'http://127.0.0.1:9',
      HTTP_PROXY: 'http://127.0.0.1:9',
      RUST_LOG: 'error',
      TERM: 'dumb',
    };
    fs.mkdirSync(env.CODEX_HOME, { recursive: true });
  });
  after(async () => {
    await stopProxy(pid, url);
    await fake?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[]) => runCli(args, { cwd: dir, env });

  it('ccproxy claude -p: no proxy answers, so one starts in the background; Claude Code is answered through it', async () => {
    assert.equal((await probeProxy(url)).state, 'free');
    fake.reset();
    fake.handle(() => reply.text('Hello from the launcher.'));
    // Flags before the command reach the proxy it starts (`--port` from the environment here).
    const r = await cli(['--log-level', 'debug', '--trust-project', 'claude', '-p', 'hello']);
    fake.handle(undefined);
    pid = startedPid(r.stderr);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Hello from the launcher\./);
    assert.ok(pid, `the launcher says which proxy it started: ${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(`started in the background \\(pid ${pid}, log .*proxy-${port}\\.log\\)`),
    );
    assert.ok(fs.existsSync(path.join(env.XDG_STATE_HOME, 'ccproxy', `proxy-${port}.log`)));
    // A proxy that keeps running gets the background forms' node flag (src/cli/self.ts).
    if (process.platform === 'linux') {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      assert.ok(cmdline.includes('--max-semi-space-size=4'), cmdline.join(' '));
      const serve = cmdline.slice(cmdline.indexOf('serve'));
      assert.deepEqual(
        serve.slice(0, 4),
        ['serve', '--trust-project', '--log-level', 'debug'],
        serve.join(' '),
      );
      const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      assert.ok(environ.includes('MALLOC_TRIM_THRESHOLD_=524288'), 'glibc malloc settings');
    }
    // It went through the proxy: the upstream saw the subscription's token, not the proxy's.
    const sent = fake.messages().at(-1)!;
    assert.equal(sent.headers.authorization, `Bearer ${TEST_ACCESS_TOKEN}`);
    assert.match(String(sent.headers['user-agent']), /^claude-cli\//);
    // And the proxy keeps running for the next launch.
    assert.equal((await probeProxy(url)).state, 'ccproxy');
  });

  it('a second launch uses the running proxy, and the agent’s exit code comes back', async () => {
    fake.reset();
    fake.handle(() => reply.text('Second answer.'));
    const r = await cli(['claude', '-p', 'again']);
    fake.handle(undefined);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Second answer\./);
    assert.doesNotMatch(r.stderr, /started in the background/);

    // An option Claude Code does not know: it fails, and ccproxy exits with its code.
    const bad = await cli(['claude', '--no-such-option']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /no-such-option/);
  });

  it('ccproxy codex exec: Codex CLI through the Responses endpoint, configured for this run only', async () => {
    fake.reset();
    fake.enqueue(reply.text('Hello from Claude, asked by Codex.'));
    const last = path.join(dir, 'codex-last.txt');
    const work = fs.mkdtempSync(path.join(dir, 'codex-cwd-'));
    const r = await cli([
      'codex',
      'exec',
      '--strict-config',
      '--skip-git-repo-check',
      '--ephemeral',
      '--color',
      'never',
      '--sandbox',
      'read-only',
      '-c',
      'approval_policy="never"',
      '-c',
      'model_providers.ccproxy.request_max_retries=0',
      '-c',
      'model_providers.ccproxy.stream_max_retries=0',
      '--output-last-message',
      last,
      '-C',
      work,
      'Say hello.',
    ]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(fs.readFileSync(last, 'utf8').trim(), 'Hello from Claude, asked by Codex.');
    const [req] = fake.messages();
    assert.equal((req.body as { model: string }).model, 'claude-opus-5-5', 'a gpt-5 model, mapped to Opus');
    assert.equal(req.headers.authorization, `Bearer ${TEST_ACCESS_TOKEN}`);
    // The user's Codex configuration is not touched.
    assert.ok(!fs.existsSync(path.join(env.CODEX_HOME, 'config.toml')));
  });

  it('a running proxy that wants a token this launch lacks, or has no credentials, is named before the agent runs', async () => {
    fake.reset();
    const { SECURITY__AUTH_TOKEN: _, ...tokenless } = env;
    const r = await runCli(['claude', '-p', 'hello'], { cwd: dir, env: tokenless });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `the ccproxy at ${url.replaceAll('.', '\\.')} requires a token \\(its security\\.auth_token\\) and none is set here`,
      ),
    );
    assert.equal(fake.messages().length, 0, 'the agent did not run');

    // A ccproxy whose health says it has no credentials (a stand-in answering its health document).
    const sick = http.createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/health+json' }).end(
        JSON.stringify({
          status: 'fail',
          serviceId: 'ccproxy',
          checks: { 'credentials:login': [{ status: 'fail', output: 'No subscription credentials found.' }] },
        }),
      );
    });
    await new Promise<void>((resolve) => sick.listen(0, '127.0.0.1', resolve));
    try {
      const at = `http://127.0.0.1:${(sick.address() as AddressInfo).port}`;
      const noLogin = await cli(['claude', '--url', at, '-p', 'hello']);
      assert.equal(noLogin.code, 1);
      assert.match(noLogin.stderr, /cannot answer requests: No subscription credentials found\./);
    } finally {
      await new Promise((resolve) => sick.close(resolve));
    }
  });

  it('a port held by something that is not ccproxy is reported, not used', async () => {
    const other = http.createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain', server: 'not-ccproxy' }).end('nope');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherPort = (other.address() as AddressInfo).port;
    try {
      fake.reset();
      const r = await cli(['claude', '--port', String(otherPort), '-p', 'hello']);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(
          `port ${otherPort} on 127\\.0\\.0\\.1 is taken by something that is not ccproxy \\(GET /health answered HTTP 404 from "not-ccproxy"`,
        ),
      );
      assert.match(r.stderr, /--port <n>/);
      assert.equal(fake.messages().length, 0, 'the agent did not run');
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('--url pointing at nothing is refused, never started', async () => {
    const nothing = await freePort();
    const r = await cli(['codex', '--url', `http://127.0.0.1:${nothing}`, 'exec', 'hi']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`no ccproxy answers at http://127\\.0\\.0\\.1:${nothing}`));
    assert.equal((await probeProxy(`http://127.0.0.1:${nothing}`)).state, 'free');
  });
});

describe('finding the agents', () => {
  it('looks on PATH first, and only at executable files', () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-path-'));
    try {
      assert.equal(findOnPath('codex', { PATH: bin }), undefined);
      fs.writeFileSync(path.join(bin, 'codex'), '#!/bin/sh\n', { mode: 0o644 });
      assert.equal(findOnPath('codex', { PATH: bin }), undefined, 'not executable');
      fs.chmodSync(path.join(bin, 'codex'), 0o755);
      assert.deepEqual(findCodex({ PATH: bin }), { file: path.join(bin, 'codex'), args: [], from: 'PATH' });
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });

  it('behind a proxy, the agents reach ccproxy directly: its host goes into NO_PROXY', () => {
    const proxied = { HTTPS_PROXY: 'http://corp:3128', no_proxy: '.corp.example internal' };
    const v4 = directTo(proxied, 'http://127.0.0.1:8000');
    assert.equal(v4.NO_PROXY, '.corp.example,internal,127.0.0.1');
    assert.equal(v4.no_proxy, v4.NO_PROXY);
    assert.deepEqual(directTo(v4, 'http://127.0.0.1:8000'), v4, 'listed once');
    assert.equal(directTo({ all_proxy: 'socks5://corp' }, 'http://[::1]:8000').NO_PROXY, '::1');
    assert.deepEqual(
      directTo({ PATH: '/bin' }, 'http://127.0.0.1:8000'),
      { PATH: '/bin' },
      'no proxy: unchanged',
    );
    assert.deepEqual(
      directTo(proxied, 'http://ccproxy.corp:8000'),
      proxied,
      'a ccproxy elsewhere: the proxy decides',
    );
    const claude = claudeEnv(proxied, { url: 'http://localhost:8000', key: 'k' });
    assert.equal(claude.NO_PROXY, '.corp.example,internal,localhost');
    assert.equal(codexEnv(proxied, { url: 'http://localhost:8000', key: 'k' }).NO_PROXY, claude.NO_PROXY);
  });

  it('else Codex from the @openai/codex package, run by this node', () => {
    const found = findCodex({ PATH: '' });
    assert.equal(found?.file, process.execPath);
    assert.match(found?.args[0] ?? '', /@openai[/\\]codex[/\\]bin[/\\]codex\.js$/);
  });
});

describe('ccproxy env', () => {
  const vars = clientVariables('http://127.0.0.1:8000', "it's-a-token");

  it('names the variables of both client families and Codex, for API or SDK mode', () => {
    assert.deepEqual(vars, [
      ['ANTHROPIC_BASE_URL', 'http://127.0.0.1:8000/api'],
      ['ANTHROPIC_API_KEY', "it's-a-token"],
      ['OPENAI_BASE_URL', 'http://127.0.0.1:8000/api/v1'],
      ['OPENAI_API_KEY', "it's-a-token"],
      ['CCPROXY_KEY', "it's-a-token"],
    ]);
    assert.equal(clientVariables('http://h:1', 'k', 'sdk')[2][1], 'http://h:1/sdk/v1');
    // Behind a proxy, a local ccproxy is reached directly; one elsewhere is left to the proxy.
    const proxied = { HTTP_PROXY: 'http://corp:3128', NO_PROXY: 'internal' };
    assert.deepEqual(clientVariables('http://127.0.0.1:8000', 'k', 'api', proxied).slice(5), [
      ['NO_PROXY', 'internal,127.0.0.1'],
      ['no_proxy', 'internal,127.0.0.1'],
    ]);
    assert.equal(clientVariables('http://ccproxy.corp:8000', 'k', 'api', proxied).length, 5);
  });

  it('prints statements for each shell, quoted so that a value stays one word', () => {
    assert.match(renderEnv('bash', vars), /^export ANTHROPIC_API_KEY='it'\\''s-a-token'$/m);
    assert.match(renderEnv('zsh', vars), /^export OPENAI_BASE_URL='http:\/\/127\.0\.0\.1:8000\/api\/v1'$/m);
    assert.match(renderEnv('fish', vars), /^set -gx ANTHROPIC_API_KEY 'it\\'s-a-token'$/m);
    assert.match(renderEnv('powershell', vars), /^\$env:ANTHROPIC_API_KEY = 'it''s-a-token'$/m);
    assert.match(renderEnv('fish', vars), /ccproxy env --shell fish \| source/);
  });

  it('bash evaluates what it prints to the exact values', () => {
    const r = spawnSync(
      'bash',
      [
        '-c',
        'eval "$1"; printf "%s|%s" "$ANTHROPIC_API_KEY" "$OPENAI_BASE_URL"',
        '_',
        renderEnv('bash', vars),
      ],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.stdout, "it's-a-token|http://127.0.0.1:8000/api/v1");
  });

  it('detects the shell from $SHELL', () => {
    assert.equal(detectShell({ SHELL: '/usr/bin/fish' }), 'fish');
    assert.equal(detectShell({ SHELL: '/bin/zsh' }), 'zsh');
    assert.equal(detectShell({ SHELL: '/opt/bin/pwsh' }), 'powershell');
    assert.equal(detectShell({}, 'win32'), 'powershell');
    assert.equal(detectShell({}, 'linux'), 'bash');
  });

  it('the command: the configured port and token, or --url; bad shells are named', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-env-'));
    try {
      const env = { PATH: process.env.PATH, HOME: cwd, SERVER__PORT: '8123', SECURITY__AUTH_TOKEN: TOKEN };
      const r = await runCli(['env', '--shell', 'bash'], { cwd, env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^export ANTHROPIC_BASE_URL='http:\/\/127\.0\.0\.1:8123\/api'$/m);
      // --port before the command, as `ccproxy --help` lists it.
      const root = await runCli(['--port', '8124', 'env', '--shell', 'bash'], { cwd, env });
      assert.match(root.stdout, /^export ANTHROPIC_BASE_URL='http:\/\/127\.0\.0\.1:8124\/api'$/m);
      assert.match(r.stdout, new RegExp(`^export OPENAI_API_KEY='${TOKEN}'$`, 'm'));
      const url = await runCli(
        ['env', '--shell', 'fish', '--url', 'http://proxy.lan:9000/', '--mode', 'sdk'],
        {
          cwd,
          env,
        },
      );
      assert.match(url.stdout, /^set -gx OPENAI_BASE_URL 'http:\/\/proxy\.lan:9000\/sdk\/v1'$/m);
      // The address clients are given names the same proxy.
      const client = await runCli(['env', '--shell', 'bash', '--url', 'http://proxy.lan:9000/api/v1'], {
        cwd,
        env,
      });
      assert.match(client.stdout, /^export OPENAI_BASE_URL='http:\/\/proxy\.lan:9000\/api\/v1'$/m);
      for (const url of ['notaurl', 'ftp://proxy.lan:9000']) {
        const wrong = await runCli(['env', '--url', url], { cwd, env });
        assert.equal(wrong.code, 2);
        assert.equal(
          wrong.stderr,
          `ccproxy: --url ${url} is not an http(s) URL (e.g. http://127.0.0.1:8000).\n`,
        );
      }
      const bad = await runCli(['env', '--shell', 'tcsh'], { cwd, env });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /unknown shell "tcsh": use bash, zsh, fish, powershell/);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});
