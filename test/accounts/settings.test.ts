import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { AccountsError, resolveAccounts } from '../../src/accounts/config.ts';
import { loadSettings, SettingsError } from '../../src/config/load.ts';
import { renderEffective } from '../../src/config/render.ts';
import { settingsSchema } from '../../src/config/schema.ts';
import { startProxy } from '../helpers/proxy.ts';

const TOKEN = 'sk-ant-oat01-a-secret-token-that-must-never-show-0000000000';
const KEY = 'sk-ant-api03-a-secret-key-that-must-never-show-00000000000';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-accounts-'));
}

function credentialsFile(dir: string, name = 'creds.json'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(
    file,
    JSON.stringify({
      claudeAiOauth: { accessToken: 'at', refreshToken: 'rt', expiresAt: Date.now() + 3_600_000 },
    }),
    { mode: 0o600 },
  );
  return file;
}

/** Load settings from one user file (the trusted place for accounts). */
function load(toml: string, env: Record<string, string> = {}) {
  const home = tmp();
  const file = path.join(home, '.config', 'ccproxy', 'config.toml');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, toml);
  return loadSettings({ env, cwd: tmp(), home });
}

const settingsWith = (list: unknown[]) => settingsSchema.parse({ accounts: { list } });

describe('accounts in the settings', () => {
  it('[[accounts.list]] with [accounts] options, or the [[accounts]] shorthand, or JSON in the environment', () => {
    const full = load(`
[accounts]
strategy = "round_robin"
spill_over = true

[[accounts.list]]
name = "work"
oauth_token = "\${WORK_TOKEN}"

[[accounts.list]]
name = "payg"
api_key = "\${PAYG_KEY}"
priority = -1

[limits]
spill_over_daily_usd = 2.5
`);
    assert.deepEqual(
      full.settings.accounts.list.map((a) => [a.name, a.priority, a.enabled]),
      [
        ['work', 0, true],
        ['payg', -1, true],
      ],
    );
    assert.equal(full.settings.accounts.strategy, 'round_robin');
    assert.equal(full.settings.accounts.spill_over, true);
    assert.equal(full.settings.limits.spill_over_daily_usd, 2.5);

    const short = load('[[accounts]]\nname = "work"\noauth_token = "${WORK_TOKEN}"\n');
    assert.deepEqual(short.settings.accounts.list[0]?.name, 'work');
    assert.equal(short.settings.accounts.strategy, 'priority');

    const fromEnv = loadSettings({
      env: {
        ACCOUNTS__LIST: JSON.stringify([{ name: 'ci', oauth_token: '${CI_TOKEN}' }]),
        ACCOUNTS__SPILL_OVER: 'true',
      },
      cwd: tmp(),
      home: tmp(),
    });
    assert.equal(fromEnv.settings.accounts.list[0]?.name, 'ci');
    assert.equal(fromEnv.sources['accounts.list'], 'env');
  });

  it('examples/accounts.toml loads, and resolves once its variables and file are there', () => {
    const example = path.join(import.meta.dirname, '..', '..', 'examples', 'accounts.toml');
    const home = tmp();
    const cwd = tmp();
    const env = { WORK_CLAUDE_TOKEN: TOKEN, ANTHROPIC_API_KEY: KEY };
    const { settings } = loadSettings({ configFile: example, env, cwd, home });
    assert.deepEqual(
      settings.accounts.list.map((a) => a.name),
      ['work', 'personal', 'payg'],
    );
    fs.mkdirSync(path.join(home, '.claude'));
    credentialsFile(path.join(home, '.claude'), '.credentials.json');
    const resolved = resolveAccounts(settings, env, home);
    assert.deepEqual(
      resolved.enabled.map((a) => a.kind),
      ['oauth_token', 'credentials_file', 'api_key'],
    );
  });

  it('bad lists stop loading with a message naming the account and the key, tokens masked', () => {
    const cases: Array<[string, RegExp]> = [
      [
        `[[accounts]]\nname = "work"\noauth_token = "${TOKEN}"\n[[accounts]]\nname = "work"\napi_key = "${KEY}"\n`,
        /accounts\.list\.1\.name: two accounts are named "work"/,
      ],
      [
        `[[accounts]]\nname = "empty"\n`,
        /account "empty" has no credential: give exactly one of oauth_token, credentials_file or api_key/,
      ],
      [
        `[[accounts]]\nname = "both"\noauth_token = "${TOKEN}"\napi_key = "${KEY}"\n`,
        /account "both" has oauth_token and api_key/,
      ],
      [`[[accounts]]\nname = "has space"\noauth_token = "x"\n`, /accounts\.list\.0\.name: a name of letters/],
      [`[[accounts]]\nname = "typo"\noauth_tokn = "x"\n`, /Unrecognized key/],
    ];
    for (const [toml, want] of cases) {
      assert.throws(
        () => load(toml),
        (err: Error) => {
          assert.ok(err instanceof SettingsError, err.message);
          assert.match(err.message, /^Invalid setting accounts\.list = /);
          assert.match(err.message, want);
          assert.doesNotMatch(err.message, /must-never-show/);
          return true;
        },
      );
    }
  });

  it('a working directory may not set accounts unless trusted', () => {
    const cwd = tmp();
    fs.writeFileSync(
      path.join(cwd, 'ccproxy.toml'),
      `[accounts]\nspill_over = true\n[[accounts.list]]\nname = "theirs"\napi_key = "${KEY}"\n[limits]\nspill_over_daily_usd = 1000\n`,
    );
    const l = loadSettings({ env: {}, cwd, home: tmp() });
    assert.deepEqual(l.settings.accounts.list, []);
    assert.equal(l.settings.accounts.spill_over, false);
    assert.equal(l.settings.limits.spill_over_daily_usd, 5);
    assert.deepEqual(l.ignored.map((i) => i.key).sort(), [
      'accounts.list',
      'accounts.spill_over',
      'limits.spill_over_daily_usd',
    ]);
  });

  it('`config show` masks tokens and keys, and shows ${VAR} references as written', () => {
    const l = load(
      `[[accounts]]\nname = "lit"\noauth_token = "${TOKEN}"\n[[accounts]]\nname = "ref"\napi_key = "\${PAYG}"\n`,
    );
    const text = renderEffective(l.settings, l.sources);
    const line = (name: string) => text.split('\n').find((x) => x.startsWith(`accounts.list.${name} `))!;
    assert.doesNotMatch(text, /must-never-show/);
    assert.match(line('lit'), /oauth_token=sk-ant-o…0000 priority=0 enabled=true/);
    assert.match(line('ref'), /api_key=\$\{PAYG\}/);
  });
});

describe('accounts at start', () => {
  it('expands ${VAR} and ~, resolves files, and keeps disabled ones aside', () => {
    const home = tmp();
    fs.mkdirSync(path.join(home, 'c'));
    credentialsFile(path.join(home, 'c'));
    const r = resolveAccounts(
      settingsWith([
        { name: 'a', oauth_token: '${A_TOKEN}' },
        { name: 'b', credentials_file: '~/c/creds.json', priority: 3 },
        { name: 'c', api_key: 'prefix-${K}', enabled: true },
        { name: 'off', oauth_token: '${NOT_SET_BUT_DISABLED}', enabled: false },
      ]),
      { A_TOKEN: ' tok-a ', K: 'k' },
      home,
    );
    assert.deepEqual(r.enabled, [
      {
        name: 'a',
        priority: 0,
        order: 0,
        kind: 'oauth_token',
        token: 'tok-a',
        from: 'environment variable A_TOKEN',
      },
      {
        name: 'b',
        priority: 3,
        order: 1,
        kind: 'credentials_file',
        file: path.join(home, 'c', 'creds.json'),
      },
      { name: 'c', priority: 0, order: 2, kind: 'api_key', key: 'prefix-k', from: 'environment variable K' },
    ]);
    assert.deepEqual(r.disabled, [{ name: 'off', kind: 'oauth_token' }]);
  });

  it('an unset variable, a missing, empty or unreadable credentials file: an error naming the account and key', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'garbage.json'), '{not json');
    fs.writeFileSync(path.join(dir, 'nologin.json'), '{"other": 1}');
    const cases: Array<[unknown, RegExp]> = [
      [
        { name: 'w', oauth_token: '${WORK_TOKEN}' },
        /^Account "w": oauth_token names \$\{WORK_TOKEN\}, which is not set/,
      ],
      [{ name: 'k', api_key: '${EMPTY}' }, /^Account "k": api_key names \$\{EMPTY\}, which is not set/],
      [
        { name: 'f', credentials_file: path.join(dir, 'missing.json') },
        /^Account "f": credentials_file .*missing\.json is missing or holds no login\. Run `ccproxy auth login --account f`/,
      ],
      [
        { name: 'g', credentials_file: path.join(dir, 'garbage.json') },
        /^Account "g": credentials_file: .*is not valid JSON/,
      ],
      [
        { name: 'n', credentials_file: path.join(dir, 'nologin.json') },
        /^Account "n": credentials_file .* holds no login/,
      ],
      [{ name: 'd', credentials_file: dir }, /^Account "d": credentials_file: Cannot read credentials file/],
    ];
    for (const [a, want] of cases) {
      assert.throws(
        () => resolveAccounts(settingsWith([a]), { EMPTY: '  ' }, dir),
        (err: Error) => err instanceof AccountsError && want.test(err.message),
      );
    }
  });

  it('the proxy does not start on bad accounts, and says why', async () => {
    await assert.rejects(
      startProxy({ settings: { accounts: { list: [{ name: 'work', oauth_token: '${NOPE}' }] } } as never }),
      /Account "work": oauth_token names \$\{NOPE\}, which is not set in the environment/,
    );
  });
});
