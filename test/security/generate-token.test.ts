import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { parse as parseToml } from 'smol-toml';
import { newProxyToken, setTomlString } from '../../src/cli/generate-token.ts';
import { renderTomlTemplate } from '../../src/config/render.ts';
import { runCli } from './cli.ts';

const TOKEN = /ccp_[A-Za-z0-9_-]{43}/;

describe('ccproxy generate-token', () => {
  it('makes 256-bit tokens with a recognisable prefix, never the same twice', () => {
    const seen = new Set(Array.from({ length: 200 }, newProxyToken));
    assert.equal(seen.size, 200);
    for (const t of seen) assert.match(t, new RegExp(`^${TOKEN.source}$`));
  });

  describe('setting security.auth_token in TOML text', () => {
    const value = (text: string) =>
      (parseToml(text) as { security?: { auth_token?: string } }).security?.auth_token;

    it('in an empty or missing file', () => {
      assert.equal(setTomlString('', 'security', 'auth_token', 'T1'), '[security]\nauth_token = "T1"\n');
    });

    it('in the file `config init` writes: right under the commented default, nothing else changed', () => {
      const template = renderTomlTemplate();
      const out = setTomlString(template, 'security', 'auth_token', 'T2')!;
      assert.equal(value(out), 'T2');
      const added = out.split('\n').filter((l) => !template.split('\n').includes(l));
      assert.deepEqual(added, ['auth_token = "T2"']);
      const lines = out.split('\n');
      assert.match(lines[lines.indexOf('auth_token = "T2"') - 1], /^# auth_token = /);
    });

    it('replaces an existing token and keeps comments, order and other tables', () => {
      const text =
        '# mine\n[server]\nport = 9000 # fixed\n\n[security]\n# who may use it\nauth_token = "old"\nallow_unauthenticated = false\n\n[cors]\norigins = ["http://a.test"]\n';
      const out = setTomlString(text, 'security', 'auth_token', 'T3')!;
      assert.equal(out, text.replace('auth_token = "old"', 'auth_token = "T3"'));
    });

    it('adds a [security] table when there is none, and handles dotted keys and CRLF', () => {
      assert.equal(
        setTomlString('[server]\nport = 1\n', 'security', 'auth_token', 'T4'),
        '[server]\nport = 1\n\n[security]\nauth_token = "T4"\n',
      );
      assert.equal(
        setTomlString('security.auth_token = "old"\n[server]\nport = 1\n', 'security', 'auth_token', 'T5'),
        'security.auth_token = "T5"\n[server]\nport = 1\n',
      );
      assert.equal(
        setTomlString('[security]\r\nauth_token = "old"\r\n', 'security', 'auth_token', 'T6'),
        '[security]\r\nauth_token = "T6"\r\n',
      );
    });

    it('refuses layouts it cannot edit safely (inline table, broken file)', () => {
      assert.equal(
        setTomlString('security = { auth_token = "x" }\n', 'security', 'auth_token', 'T'),
        undefined,
      );
      assert.equal(setTomlString('[security\nbroken', 'security', 'auth_token', 'T'), undefined);
    });
  });

  describe('the real command', () => {
    let dir: string;
    let env: Record<string, string | undefined>;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-gentoken-'));
      env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'xdg') };
      for (const k of Object.keys(env)) if (/__/.test(k)) delete env[k];
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('prints SECURITY__AUTH_TOKEN=… first, then client set-up lines; writes nothing', async () => {
      const r = await runCli(['generate-token'], { cwd: dir, env });
      assert.equal(r.code, 0, r.stderr);
      const [first] = r.stdout.split('\n');
      assert.match(first, new RegExp(`^SECURITY__AUTH_TOKEN=${TOKEN.source}$`));
      const token = first.split('=')[1];
      assert.ok(r.stdout.includes(`ANTHROPIC_API_KEY=${token}`));
      assert.ok(r.stdout.includes(`OPENAI_API_KEY=${token}`));
      assert.ok(r.stdout.includes(`x-api-key: ${token}`));
      assert.deepEqual(fs.readdirSync(dir), []);
    });

    it("--save writes it into your own settings file (never the working directory's), keeps the rest, mode 0600; config show masks it", async () => {
      const file = path.join(dir, 'xdg', 'ccproxy', 'config.toml');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const original = '# my settings\n[server]\nport = 9123\n';
      fs.writeFileSync(file, original, { mode: 0o644 });
      const project = path.join(dir, 'ccproxy.toml');
      fs.writeFileSync(project, '[server]\nlog_level = "warn"\n');
      const r = await runCli(['generate-token', '--save'], { cwd: dir, env });
      assert.equal(
        fs.readFileSync(project, 'utf8'),
        '[server]\nlog_level = "warn"\n',
        'a repo file gets no secret',
      );
      assert.equal(r.code, 0, r.stderr);
      const token = r.stdout.split('\n')[0].split('=')[1];
      const saved = fs.readFileSync(file, 'utf8');
      assert.ok(saved.startsWith(original));
      assert.equal((parseToml(saved) as { security: { auth_token: string } }).security.auth_token, token);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.match(r.stdout, /Saved it to .*config\.toml \(mode 0600\)/);

      const show = await runCli(['config', 'show'], { cwd: dir, env });
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, /security\.auth_token +ccp_\S+…\S{4} +.*xdg\/ccproxy\/config\.toml/);
      assert.ok(!show.stdout.includes(token), 'config show masks the token');
      const json = await runCli(['config', 'show', '--json'], { cwd: dir, env });
      assert.ok(!json.stdout.includes(token));
      // The values, masked, beside their sources (it printed the sources alone).
      const doc = JSON.parse(json.stdout) as {
        values: Record<string, unknown>;
        sources: Record<string, string>;
      };
      assert.equal(doc.values['server.port'], 9123);
      assert.match(String(doc.values['security.auth_token']), /^ccp_\S+…\S{4}$/);
      assert.match(doc.sources['server.port']!, /config\.toml$/);
    });

    it('--save with no settings file creates ~/.config/ccproxy/config.toml (0600)', async () => {
      const r = await runCli(['generate-token', '--save'], { cwd: dir, env });
      assert.equal(r.code, 0, r.stderr);
      const file = path.join(dir, 'xdg', 'ccproxy', 'config.toml');
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.match(fs.readFileSync(file, 'utf8'), /^\[security\]\nauth_token = "ccp_/);
    });
  });
});
