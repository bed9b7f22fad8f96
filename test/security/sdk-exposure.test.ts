/**
 * SDK mode's exposure, through the real CLI (spawned): where agents work is printed at start, a
 * working folder that would let any client read your home is refused unless acknowledged, and a
 * proxy bound beyond loopback refuses per-request tool and permission overrides in the client's
 * format. Nothing here starts an agent: the refusals come first.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnCli } from './cli.ts';

describe('SDK mode exposure (the real CLI)', () => {
  let dir: string;
  let env: Record<string, string | undefined>;
  before(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-sdk-exposure-')));
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
    for (const k of Object.keys(env)) if (/^(SERVER|SECURITY|CLAUDE)__/.test(k)) delete env[k];
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Start `serve`; `use` runs once it listens (with its URL), then it is stopped. */
  async function serve(
    args: string[],
    extraEnv: Record<string, string> = {},
    use: (url: string) => Promise<void> = async () => {},
  ) {
    const child = spawnCli(['serve', '--port', '0', ...args], { cwd: dir, env: { ...env, ...extraEnv } });
    child.stdin.end();
    let stdout = '';
    let stderr = '';
    let listening = false;
    let used: Promise<void> = Promise.resolve();
    child.stdout.on('data', (c) => {
      stdout += c;
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (!listening && m && stdout.includes('\n\n')) {
        listening = true;
        used = use(m[1].replace('0.0.0.0', '127.0.0.1')).finally(() => child.kill('SIGTERM'));
      }
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    await used;
    return { code, stdout, stderr, listening };
  }

  it('the banner says where agents work: ccproxy’s own folder when claude.cwd is unset', async () => {
    const r = await serve([]);
    assert.equal(r.listening, true, r.stderr);
    const home = path.join(dir, 'data', 'ccproxy', 'agent-home');
    assert.ok(r.stdout.includes(`agents work in ${home} (ccproxy's own folder`), r.stdout);
  });

  it('claude.cwd = your home folder refuses to start, saying why and how to accept it', async () => {
    const r = await serve([], { CLAUDE__CWD: dir });
    assert.equal(r.listening, false);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /claude\.cwd = .* is your home folder/);
    assert.match(r.stderr, /claude\.allow_broad_cwd = true/);
    const ok = await serve([], { CLAUDE__CWD: dir, CLAUDE__ALLOW_BROAD_CWD: 'true' });
    assert.equal(ok.listening, true, ok.stderr);
    assert.ok(ok.stdout.includes(`agents work in ${dir} (claude.cwd)`));
  });

  it('bound beyond loopback: per-request tool and permission overrides are refused (403)', async () => {
    const token = 'ccp_sdk-exposure-token-abcdefghijklmnopqrstuvwxyz';
    const r = await serve(['--host', '0.0.0.0'], { SECURITY__AUTH_TOKEN: token }, async (url) => {
      const anthropic = await fetch(`${url}/sdk/v1/messages`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-api-key': token,
          'anthropic-version': '2023-06-01',
        },
        body: JSON.stringify({
          model: 'claude-sonnet-5-5',
          max_tokens: 10,
          messages: [{ role: 'user', content: 'hi' }],
          ccproxy: { allowed_tools: ['Bash'] },
        }),
      });
      assert.equal(anthropic.status, 403);
      const a = (await anthropic.json()) as { type: string; error: { type: string; message: string } };
      assert.equal(a.type, 'error');
      assert.equal(a.error.type, 'permission_error');
      assert.match(a.error.message, /beyond loopback.*claude\.allow_request_overrides/);

      const openai = await fetch(`${url}/sdk/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          model: 'gpt-4o',
          messages: [{ role: 'user', content: 'hi' }],
          ccproxy: { permission_mode: 'plan' },
        }),
      });
      assert.equal(openai.status, 403);
      const o = (await openai.json()) as { error: { message: string; param?: string } };
      assert.match(o.error.message, /claude\.allow_request_overrides/);
      assert.equal(o.error.param, 'ccproxy.permission_mode');
    });
    assert.equal(r.listening, true, r.stderr);
  });
});
