import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseToml } from 'smol-toml';
import { loadSettings, SettingsError } from '../../src/config/load.ts';
import { renderConfigDocs, renderEffective, renderTomlTemplate } from '../../src/config/render.ts';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-cfg-'));
}

describe('settings precedence', () => {
  it('defaults when nothing is set', () => {
    const cwd = tmp();
    const l = loadSettings({ env: {}, cwd, home: tmp() });
    assert.equal(l.settings.server.port, 8000);
    assert.equal(l.settings.server.host, '127.0.0.1');
    assert.equal(l.sources['server.port'], 'default');
    assert.deepEqual(l.tomlFiles, []);
    assert.equal(l.trusted, false);
  });

  it('flag > env > .env > toml > default, each source recorded', () => {
    const cwd = tmp();
    fs.writeFileSync(
      path.join(cwd, '.ccproxy.toml'),
      '[server]\nport = 1111\nhost = "127.0.0.2"\nlog_level = "warn"\nshutdown_grace_s = 3\n',
    );
    fs.writeFileSync(
      path.join(cwd, '.env'),
      'SERVER__PORT=2222\nSERVER__HOST=127.0.0.3\nSERVER__LOG_LEVEL=error\n',
    );
    const l = loadSettings({
      env: { SERVER__PORT: '3333', SERVER__HOST: '127.0.0.4' },
      cwd,
      home: cwd,
      flags: { 'server.port': '4444' },
    });
    assert.equal(l.settings.server.port, 4444);
    assert.equal(l.sources['server.port'], 'flag');
    assert.equal(l.settings.server.host, '127.0.0.4');
    assert.equal(l.sources['server.host'], 'env');
    assert.equal(l.settings.server.log_level, 'error');
    assert.equal(l.sources['server.log_level'], '.env');
    assert.equal(l.settings.server.shutdown_grace_s, 3);
    assert.match(l.sources['server.shutdown_grace_s'], /^toml:.*\.ccproxy\.toml$/);
  });

  it('layers the TOML files: the user file, then ccproxy.toml, then .ccproxy.toml, each key overriding', () => {
    const cwd = tmp();
    const home = tmp();
    const user = path.join(home, '.config', 'ccproxy', 'config.toml');
    fs.mkdirSync(path.dirname(user), { recursive: true });
    fs.writeFileSync(user, '[server]\nport = 3003\nlog_level = "warn"\n[openai]\ndefault_max_tokens = 77\n');
    assert.equal(loadSettings({ env: {}, cwd, home }).settings.server.port, 3003);
    fs.writeFileSync(path.join(cwd, 'ccproxy.toml'), '[server]\nport = 3002\nshutdown_grace_s = 4\n');
    fs.writeFileSync(path.join(cwd, '.ccproxy.toml'), '[server]\nport = 3001\n');
    const l = loadSettings({ env: {}, cwd, home });
    assert.deepEqual(l.tomlFiles, [user, path.join(cwd, 'ccproxy.toml'), path.join(cwd, '.ccproxy.toml')]);
    assert.equal(l.settings.server.port, 3001);
    assert.equal(l.sources['server.port'], `toml:${path.join(cwd, '.ccproxy.toml')}`);
    assert.equal(l.settings.server.shutdown_grace_s, 4);
    assert.equal(l.sources['server.shutdown_grace_s'], `toml:${path.join(cwd, 'ccproxy.toml')}`);
    assert.equal(l.settings.server.log_level, 'warn', "the user file's keys survive a project file");
    assert.equal(l.sources['server.log_level'], `toml:${user}`);
    assert.equal(l.settings.openai.default_max_tokens, 77);
    assert.deepEqual(l.warnings, []);
    // XDG_CONFIG_HOME moves the user file.
    const xdg = tmp();
    fs.mkdirSync(path.join(xdg, 'ccproxy'));
    fs.writeFileSync(path.join(xdg, 'ccproxy', 'config.toml'), '[openai]\ndefault_max_tokens = 5\n');
    const x = loadSettings({ env: { XDG_CONFIG_HOME: xdg }, cwd, home });
    assert.equal(x.settings.openai.default_max_tokens, 5);
    assert.equal(x.userFile, path.join(xdg, 'ccproxy', 'config.toml'));
  });

  it('--config names the one TOML file read (and it is trusted: the user named it)', () => {
    const cwd = tmp();
    const home = tmp();
    fs.writeFileSync(path.join(cwd, '.ccproxy.toml'), '[server]\nport = 3001\n');
    fs.writeFileSync(
      path.join(cwd, 'other.toml'),
      '[server]\nport = 3009\n[upstream]\nbase_url = "http://127.0.0.1:1234"\n',
    );
    const l = loadSettings({ env: {}, cwd, home, configFile: 'other.toml' });
    assert.equal(l.settings.server.port, 3009);
    assert.equal(l.settings.upstream.base_url, 'http://127.0.0.1:1234');
    assert.deepEqual(l.tomlFiles, [path.join(cwd, 'other.toml')]);
    assert.equal(l.userFile, path.join(cwd, 'other.toml'));
    assert.throws(
      () => loadSettings({ env: {}, cwd, home, configFile: 'missing.toml' }),
      /Config file not found/,
    );
  });

  it('coerces env strings to the key type: numbers, booleans, lists, JSON', () => {
    const cwd = tmp();
    const l = loadSettings({
      cwd,
      home: cwd,
      env: {
        OBSERVABILITY__METRICS: 'true',
        SERVER__ALLOWED_HOSTS: 'a.local, b.local',
        CORS__ORIGINS: '["http://x.test"]',
        OPENAI__MODEL_MAP: '[{"match":"prefix","pattern":"gpt-4o","model":"claude-haiku-5-5"}]',
      },
    });
    assert.equal(l.settings.observability.metrics, true);
    assert.deepEqual(l.settings.server.allowed_hosts, ['a.local', 'b.local']);
    assert.deepEqual(l.settings.cors.origins, ['http://x.test']);
    assert.equal(l.settings.openai.model_map[0].model, 'claude-haiku-5-5');
  });

  it('a bad value is one clear line naming the key, the source and the expected form', () => {
    const cwd = tmp();
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        { SERVER__PORT: 'abc' },
        /server\.port = "abc" \(from environment variable SERVER__PORT\): expected an integer from 0 to 65535/,
      ],
      [{ SERVER__PORT: '70000' }, /server\.port = 70000 .*expected an integer from 0 to 65535/],
      [
        { SERVER__LOG_LEVEL: 'loud' },
        /server\.log_level = "loud" .*expected one of fatal, error, warn, info/,
      ],
      [{ OBSERVABILITY__METRICS: 'maybe' }, /observability\.metrics .*expected true or false/],
      [{ OPENAI__MODEL_MAP: '[{"pattern":"x"}]' }, /openai\.model_map .*model/],
      [
        { OPENAI__MODEL_MAP: '[{"match":"regex","pattern":"gpt-(","model":"m"}]' },
        /openai\.model_map .*pattern: not a valid regular expression/,
      ],
      [{ UPSTREAM__PROXY_URL: 'not a url' }, /upstream\.proxy_url = "not a url" .*expected a URL/],
    ];
    for (const [env, re] of cases) {
      assert.throws(
        () => loadSettings({ env, cwd, home: cwd }),
        (err: unknown) => err instanceof SettingsError && re.test(err.message) && !err.message.includes('\n'),
      );
    }
  });

  it('a TOML syntax error names the file, the line and the column, in one line', () => {
    const cwd = tmp();
    const home = tmp();
    fs.writeFileSync(path.join(cwd, 'ccproxy.toml'), '[server]\nport = \n');
    assert.throws(
      () => loadSettings({ env: {}, cwd, home }),
      (err: unknown) =>
        err instanceof SettingsError &&
        err.message.includes(`${path.join(cwd, 'ccproxy.toml')}:2:8 (line 2, column 8): invalid value`) &&
        !err.message.includes('\n'),
    );
    fs.rmSync(path.join(cwd, 'ccproxy.toml'));
    const user = path.join(home, '.config', 'ccproxy', 'config.toml');
    fs.mkdirSync(path.dirname(user), { recursive: true });
    fs.writeFileSync(user, '[server]\nport = 1\nport = 2\n');
    assert.throws(() => loadSettings({ env: {}, cwd, home }), /config\.toml:3:1 \(line 3, column 1\)/);
  });

  it('unknown keys only warn', () => {
    const cwd = tmp();
    fs.writeFileSync(path.join(cwd, 'ccproxy.toml'), '[server]\nportt = 1\n[nope]\nx = 1\n');
    const l = loadSettings({ env: { SERVER__NOPE: '1', PATH: '/bin' }, cwd, home: cwd });
    assert.equal(l.warnings.length, 3);
    assert.match(l.warnings.join('\n'), /server\.portt/);
    assert.match(l.warnings.join('\n'), /SERVER__NOPE/);
  });
});

describe('generated settings text', () => {
  it('docs/configuration.md is current (run `npm run docs:config` after changing the schema)', () => {
    const onDisk = fs.readFileSync(
      path.join(import.meta.dirname, '..', '..', 'docs', 'configuration.md'),
      'utf8',
    );
    assert.equal(onDisk, renderConfigDocs());
  });

  it('config init writes TOML that parses and mentions every key', () => {
    const text = renderTomlTemplate();
    const uncommented = text.replace(/^# ([a-z_0-9]+ = .*)$/gm, '$1');
    const doc = parseToml(uncommented) as Record<string, Record<string, unknown>>;
    assert.equal(doc.server.port, 8000);
    const cwd = tmp();
    fs.mkdirSync(path.join(cwd, '.config', 'ccproxy'), { recursive: true });
    fs.writeFileSync(path.join(cwd, '.config', 'ccproxy', 'config.toml'), uncommented);
    assert.deepEqual(loadSettings({ env: {}, cwd, home: cwd }).warnings, []);
    // In a working directory, protected keys at their defaults are left out without a warning (the
    // file paths excepted here: the template writes them under ~, and this test's home is not the one
    // the defaults were computed with).
    fs.writeFileSync(path.join(cwd, 'ccproxy.toml'), uncommented);
    const l = loadSettings({ env: {}, cwd, home: cwd });
    assert.deepEqual(
      l.ignored.filter((i) => !/_(file|path)$/.test(i.key)),
      [],
    );
  });

  it('config show masks secrets', () => {
    const cwd = tmp();
    const l = loadSettings({ env: { SECURITY__AUTH_TOKEN: 'ccp_supersecretvalue1234' }, cwd, home: cwd });
    const out = renderEffective(l.settings, l.sources);
    assert.doesNotMatch(out, /supersecretvalue/);
    assert.match(out, /security\.auth_token\s+ccp_supe…1234\s+env/);
  });

  it("config show masks the upstream proxy's password and MCP servers' env and headers", () => {
    const cwd = tmp();
    const env = {
      UPSTREAM__PROXY_URL: 'http://ann:hunter2pass@proxy.example:3128',
      CLAUDE__MCP_SERVERS: JSON.stringify({
        gh: { command: 'gh-mcp', env: { GITHUB_TOKEN: 'ghp_supersecretgithubtoken0000' } },
        web: {
          type: 'http',
          url: 'https://mcp.example',
          headers: { Authorization: 'Bearer websupersecret99999' },
        },
      }),
    };
    const l = loadSettings({ env, cwd, home: tmp() });
    assert.equal(l.settings.upstream.proxy_url, env.UPSTREAM__PROXY_URL, 'the value itself is whole');
    const out = renderEffective(l.settings, l.sources);
    assert.doesNotMatch(out, /hunter2pass|supersecretgithub|websupersecret/);
    assert.match(out, /upstream\.proxy_url\s+http:\/\/ann:\*\*\*\*@proxy\.example:3128/);
    assert.match(out, /gh-mcp/);
    // A malformed value is not quoted with its password either.
    assert.throws(
      () => loadSettings({ env: { UPSTREAM__PROXY_URL: 'http://u:pw1234567@h:1:2' }, cwd, home: tmp() }),
      (err: Error) => !err.message.includes('pw1234567'),
    );
  });
});
