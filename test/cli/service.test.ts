/**
 * `ccproxy service`: the systemd unit and the launchd plist as written (pure functions, any
 * platform), and on Linux the command itself against stand-ins for systemctl and journalctl on
 * PATH: one that answers like a machine without a user bus (this one, most CI runners), and one
 * that works and records what it was asked (install twice, status, logs, uninstall). The real
 * systemctl is never called: it could start a service on the machine running the tests.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  applyRuntimeV8Flags,
  BACKGROUND_ENV,
  BACKGROUND_NODE_FLAGS,
  backgroundNodeFlags,
  RUNTIME_V8_FLAGS,
} from '../../src/cli/self.ts';
import {
  commandOfPlist,
  commandOfUnit,
  launchdPlist,
  type ServiceSpec,
  serviceOptions,
  systemdUnit,
} from '../../src/cli/service/unit.ts';
import { serviceEnv } from '../../src/cli/service.ts';
import { runCli, startServe } from '../security/cli.ts';
import { startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

const SPEC: ServiceSpec = {
  node: '/opt/node 20/bin/node',
  entry: '/usr/lib/node_modules/ccproxy-subscription/bin/ccproxy.js',
  configFile: '/home/ann/ccproxy & co/100% "real" $HOME\\config.toml',
  port: 8123,
  workDir: '/home/ann/.config/ccproxy',
  env: { PATH: '/usr/local/bin:/usr/bin:/bin', XDG_DATA_HOME: '/data/x' },
  logFile: '/home/ann/Library/Logs/ccproxy/ccproxy.log',
};

describe('the service files', () => {
  it('systemd: absolute node and ccproxy, the settings file, restart on failure but not on a settings error', () => {
    const unit = systemdUnit(SPEC);
    assert.match(
      unit,
      /^ExecStart="\/opt\/node 20\/bin\/node" "\/usr\/lib\/node_modules\/ccproxy-subscription\/bin\/ccproxy\.js" "--config" "\/home\/ann\/ccproxy & co\/100%% \\"real\\" \$\$HOME\\\\config\.toml" "serve" "--port" "8123"$/m,
    );
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^RestartPreventExitStatus=2$/m);
    assert.match(unit, /^WorkingDirectory=\/home\/ann\/\.config\/ccproxy$/m);
    assert.match(unit, /^Environment="PATH=\/usr\/local\/bin:\/usr\/bin:\/bin"$/m);
    assert.match(unit, /^Environment="XDG_DATA_HOME=\/data\/x"$/m);
    assert.match(unit, /^WantedBy=default\.target$/m);
    assert.match(unit, /^# Settings: \/home\/ann\/ccproxy & co\/100% "real"/m);
    assert.match(unit, /^# Environment and secrets .*: \/home\/ann\/\.config\/ccproxy\/\.env$/m);
    // What `service status` reads back is the command line exactly.
    assert.deepEqual(commandOfUnit(unit), [
      SPEC.node,
      SPEC.entry,
      '--config',
      SPEC.configFile,
      'serve',
      '--port',
      '8123',
    ]);
  });

  it('systemd: without --config and --port the service finds its settings in its directory', () => {
    const unit = systemdUnit({ ...SPEC, configFile: undefined, port: undefined });
    assert.match(unit, /^ExecStart="\/opt\/node 20\/bin\/node" "[^"]+ccproxy\.js" "serve"$/m);
    assert.match(unit, /^# Settings: \/home\/ann\/\.config\/ccproxy\/config\.toml when it exists/m);
    assert.deepEqual(serviceOptions(commandOfUnit(unit)!), { configFile: undefined, port: undefined });
  });

  it("node's flags come before the script, and are read back as part of the command", () => {
    const flags = backgroundNodeFlags([], {});
    const unit = systemdUnit({ ...SPEC, nodeFlags: flags, configFile: undefined, port: undefined });
    assert.match(
      unit,
      /^ExecStart="\/opt\/node 20\/bin\/node" "--max-semi-space-size=4" "[^"]+ccproxy\.js" "serve"$/m,
    );
    assert.deepEqual(commandOfPlist(launchdPlist({ ...SPEC, nodeFlags: flags }))?.slice(0, 3), [
      SPEC.node,
      '--max-semi-space-size=4',
      SPEC.entry,
    ]);
  });

  it('the background flags give way to a young generation sized already, and the container says the same', () => {
    assert.deepEqual(backgroundNodeFlags([], {}), [...BACKGROUND_NODE_FLAGS]);
    assert.deepEqual(backgroundNodeFlags(['--max-semi-space-size=16'], {}), []);
    assert.deepEqual(backgroundNodeFlags([], { NODE_OPTIONS: '--max-semi-space-size=8 --trace-gc' }), []);
    const entrypoint = fs.readFileSync(new URL('../../docker/entrypoint.sh', import.meta.url), 'utf8');
    for (const flag of BACKGROUND_NODE_FLAGS)
      assert.ok(entrypoint.includes(`exec node ${flag} "$ccproxy"`), flag);
  });

  it("every ccproxy turns allocation-site pretenuring off itself, unless node's command line chooses", () => {
    // A flag V8 does not know is ignored from inside without a word; node refuses it on its command line.
    const known = spawnSync(process.execPath, [...RUNTIME_V8_FLAGS, '-e', '0'], { encoding: 'utf8' });
    assert.equal(known.status, 0, known.stderr);
    assert.deepEqual(applyRuntimeV8Flags([]), [...RUNTIME_V8_FLAGS]);
    assert.deepEqual(applyRuntimeV8Flags(['--allocation-site-pretenuring']), []);
    assert.deepEqual(applyRuntimeV8Flags(['--no-allocation-site-pretenuring']), []);
  });

  it('launchd: the same command line, kept alive after a failure, its output in a log file', () => {
    const plist = launchdPlist(SPEC);
    assert.match(plist, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<!DOCTYPE plist/);
    assert.match(plist, /<key>Label<\/key>\s*<string>ccproxy<\/string>/);
    assert.match(
      plist,
      /<string>\/home\/ann\/ccproxy &amp; co\/100% &quot;real&quot; \$HOME\\config\.toml<\/string>/,
    );
    assert.match(plist, /<key>KeepAlive<\/key>\s*<dict>\s*<key>SuccessfulExit<\/key>\s*<false\/>\s*<\/dict>/);
    assert.match(plist, /<key>RunAtLoad<\/key>\s*<true\/>/);
    assert.match(plist, /<key>WorkingDirectory<\/key>\s*<string>\/home\/ann\/\.config\/ccproxy<\/string>/);
    assert.match(
      plist,
      /<key>StandardErrorPath<\/key>\s*<string>\/home\/ann\/Library\/Logs\/ccproxy\/ccproxy\.log<\/string>/,
    );
    assert.match(plist, /<key>PATH<\/key>\s*<string>\/usr\/local\/bin:\/usr\/bin:\/bin<\/string>/);
    // Well formed as far as tags go: every <dict>, <array> and <plist> is closed, and no raw & or < in text.
    for (const tag of ['dict', 'array', 'plist'])
      assert.equal(plist.split(`<${tag}`).length, plist.split(`</${tag}>`).length, tag);
    assert.doesNotMatch(plist.replace(/<!--[\s\S]*?-->/g, ''), /&(?!amp;|lt;|gt;|quot;)/);
    assert.deepEqual(commandOfPlist(plist), [
      SPEC.node,
      SPEC.entry,
      '--config',
      SPEC.configFile,
      'serve',
      '--port',
      '8123',
    ]);
    assert.deepEqual(serviceOptions(commandOfPlist(plist)!), { configFile: SPEC.configFile, port: '8123' });
  });

  it('the service gets PATH, moved XDG directories, node flags and malloc settings from the installing shell, nothing else', () => {
    assert.deepEqual(
      serviceEnv({
        PATH: '/bin',
        XDG_CONFIG_HOME: '/c',
        SECURITY__AUTH_TOKEN: 'secret',
        HOME: '/h',
        NODE_OPTIONS: '--max-semi-space-size=4',
        MALLOC_TRIM_THRESHOLD_: '1048576',
      }),
      {
        PATH: '/bin',
        XDG_CONFIG_HOME: '/c',
        NODE_OPTIONS: '--max-semi-space-size=4',
        MALLOC_TRIM_THRESHOLD_: '1048576',
        MALLOC_MMAP_THRESHOLD_: BACKGROUND_ENV.MALLOC_MMAP_THRESHOLD_,
      },
    );
    assert.deepEqual(serviceEnv({ PATH: '/bin' }), { PATH: '/bin', ...BACKGROUND_ENV });
  });
});

describe('ccproxy service on Linux (systemctl and journalctl stand-ins)', {
  skip: process.platform === 'linux' ? false : 'systemd is Linux only',
}, () => {
  let dir: string;
  let bin: string;
  let calls: string;
  let env: Record<string, string>;
  let unitFile: string;

  /** A stand-in for `name`: records its arguments, then runs `body` (POSIX sh, builtins only). */
  const standIn = (name: string, body: string) => {
    fs.writeFileSync(
      path.join(bin, name),
      `#!/bin/sh\nprintf '%s\\n' "${name} $*" >> "${calls}"\n${body}\n`,
      { mode: 0o755 },
    );
  };
  const called = () => (fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n') : []);
  const cli = (...args: string[]) => runCli(['service', ...args], { cwd: dir, env });

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-service-'));
    bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    calls = path.join(dir, 'calls.txt');
    env = {
      // The stand-ins, and node; no /usr/bin, so the machine's own systemctl is out of reach.
      PATH: [bin, path.dirname(process.execPath)].join(path.delimiter),
      HOME: path.join(dir, 'home'),
      XDG_CONFIG_HOME: path.join(dir, 'home', '.config'),
    };
    unitFile = path.join(env.XDG_CONFIG_HOME, 'systemd', 'user', 'ccproxy.service');
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('without a systemd user session: the unit is written, and the message says so and what to do', async () => {
    standIn('systemctl', `echo "Failed to connect to bus: No medium found" >&2\nexit 1`);
    const r = await cli('install');
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /systemd user services are not available here \(systemctl --user: Failed to connect to bus: No medium found\)\. The service file is written; where a systemd user unit can run, start it with `systemctl --user daemon-reload && systemctl --user enable --now ccproxy\.service`\. Here, run `ccproxy serve` yourself/,
    );
    assert.match(r.stdout, new RegExp(`^Wrote ${unitFile.replaceAll('.', '\\.')} `));
    const unit = fs.readFileSync(unitFile, 'utf8');
    const command = commandOfUnit(unit)!;
    assert.equal(command[0], process.execPath);
    assert.equal(command[1], '--max-semi-space-size=4');
    assert.match(command[2], /[/\\]bin[/\\]ccproxy\.js$/);
    assert.ok(path.isAbsolute(command[2]) && fs.existsSync(command[2]));
    assert.deepEqual(command.slice(3), ['serve']);
    assert.match(
      unit,
      new RegExp(
        `^WorkingDirectory=${path.join(env.XDG_CONFIG_HOME, 'ccproxy').replaceAll('.', '\\.')}$`,
        'm',
      ),
    );
    // The service's .env exists for secrets, readable by its owner only.
    const envFile = path.join(env.XDG_CONFIG_HOME, 'ccproxy', '.env');
    assert.equal(fs.statSync(envFile).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(envFile, 'utf8'), /^# CLAUDE_CODE_OAUTH_TOKEN=/m);

    const status = await cli('status');
    assert.equal(status.code, 1);
    assert.match(status.stdout, /state\s+unknown: systemd user services are not available here/);
  });

  it('--no-start writes the file and leaves systemd alone', async () => {
    fs.rmSync(calls, { force: true });
    const r = await cli('install', '--no-start');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Unchanged: /);
    assert.match(
      r.stdout,
      /Not started \(--no-start\)\. Start it with: systemctl --user daemon-reload && systemctl --user enable --now ccproxy\.service/,
    );
    assert.deepEqual(called(), []);
  });

  it("the service reads its secrets from its .env: the unit's command, run in its working directory", async () => {
    const fake = await startFakeUpstream();
    try {
      const workDir = /^WorkingDirectory=(.+)$/m.exec(fs.readFileSync(unitFile, 'utf8'))![1]!;
      fs.writeFileSync(path.join(workDir, 'config.toml'), `[upstream]\nbase_url = "${fake.url}"\n`);
      fs.appendFileSync(
        path.join(workDir, '.env'),
        `CLAUDE_CODE_OAUTH_TOKEN=${TEST_ACCESS_TOKEN}\nSECURITY__AUTH_TOKEN=ccp_service_token_1234567890\n`,
      );
      // As systemd runs it: in its working directory, with HOME and the unit's environment.
      const serve = await startServe(['--port', '0'], { cwd: workDir, env });
      try {
        const ask = (key: string) =>
          fetch(`${serve.url}/api/v1/messages`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'anthropic-version': '2023-06-01',
              'x-api-key': key,
            },
            body: JSON.stringify({
              model: 'claude-sonnet-4-5',
              max_tokens: 8,
              messages: [{ role: 'user', content: 'hi' }],
            }),
          });
        assert.equal((await ask('dummy')).status, 401, 'the token from .env guards it');
        const ok = await ask('ccp_service_token_1234567890');
        assert.equal(ok.status, 200, await ok.text());
        assert.equal(fake.messages().at(-1)!.headers.authorization, `Bearer ${TEST_ACCESS_TOKEN}`);
        assert.doesNotMatch(serve.stderr(), /not trusted/);
      } finally {
        await serve.stop();
      }
    } finally {
      await fake.close();
    }
  });

  it('a settings file in the folder installed from is named as not read (the service runs in its own)', async () => {
    const project = path.join(dir, 'ccproxy.toml');
    fs.writeFileSync(project, '[server]\nport = 9555\n');
    try {
      const r = await cli('install', '--no-start');
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        new RegExp(
          `^Note: the service runs in ${path.join(env.XDG_CONFIG_HOME!, 'ccproxy').replaceAll('.', '\\.')}, so it does not read ${project.replaceAll('.', '\\.')}\\. To use that file, install with \`ccproxy -c ${project.replaceAll('.', '\\.')} service install\`\\.$`,
          'm',
        ),
      );
      assert.deepEqual(
        commandOfUnit(fs.readFileSync(unitFile, 'utf8'))!.slice(3),
        ['serve'],
        'nothing pinned',
      );
    } finally {
      fs.rmSync(project);
    }
  });

  it('install twice is idempotent: the same unit, started once, restarted only when it changed', async () => {
    standIn('systemctl', 'exit 0');
    fs.rmSync(unitFile);
    fs.rmSync(calls, { force: true });
    const first = await cli('install');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^Wrote /);
    assert.match(first.stdout, /listens on http:\/\/127\.0\.0\.1:8000/);
    assert.match(first.stdout, /loginctl enable-linger/);
    const unit = fs.readFileSync(unitFile, 'utf8');
    assert.deepEqual(called(), [
      'systemctl --user daemon-reload',
      'systemctl --user enable ccproxy.service',
      'systemctl --user restart ccproxy.service',
    ]);

    fs.rmSync(calls);
    const second = await cli('install');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^Unchanged: /);
    assert.equal(fs.readFileSync(unitFile, 'utf8'), unit);
    assert.deepEqual(called(), [
      'systemctl --user daemon-reload',
      'systemctl --user enable ccproxy.service',
      'systemctl --user start ccproxy.service',
    ]);

    fs.rmSync(calls);
    const moved = await cli('install', '--port', '9001');
    assert.equal(moved.code, 0, moved.stderr);
    assert.match(moved.stdout, /^Updated /);
    assert.deepEqual(commandOfUnit(fs.readFileSync(unitFile, 'utf8'))!.slice(3), ['serve', '--port', '9001']);
    assert.ok(called().includes('systemctl --user restart ccproxy.service'));
  });

  it('status: what systemd says (state, pid) and whether ccproxy answers where the unit listens', async () => {
    standIn(
      'systemctl',
      `case "$2" in show) printf 'LoadState=loaded\\nActiveState=active\\nSubState=running\\nMainPID=4242\\n' ;; esac\nexit 0`,
    );
    const r = await cli('status');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ccproxy service \(systemd user unit\)$/m);
    assert.match(r.stdout, /state\s+active \(running\), pid 4242$/m);
    assert.match(r.stdout, /command\s+\S+ --max-semi-space-size=4 \S+ccproxy\.js serve --port 9001$/m);
    assert.match(r.stdout, /proxy\s+http:\/\/127\.0\.0\.1:9001: /);
  });

  it('logs: the journal of the user unit', async () => {
    standIn('journalctl', 'printf "a log line\\n"');
    fs.rmSync(calls, { force: true });
    const r = await cli('logs', '-n', '20');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'a log line\n');
    assert.deepEqual(called(), ['journalctl --user -u ccproxy.service -n 20 --no-pager']);
    for (const n of ['5abc', '-3', '1.5']) {
      const bad = await cli('logs', '-n', n);
      assert.equal(bad.code, 2, `-n ${n}`);
      assert.match(bad.stderr, /--lines must be a whole number/);
    }
  });

  it('uninstall stops and disables it, removes the unit and keeps the settings', async () => {
    standIn('systemctl', 'exit 0');
    fs.rmSync(calls, { force: true });
    const r = await cli('uninstall');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!fs.existsSync(unitFile));
    assert.ok(fs.existsSync(path.join(env.XDG_CONFIG_HOME, 'ccproxy', '.env')));
    assert.deepEqual(called(), [
      'systemctl --user disable --now ccproxy.service',
      'systemctl --user daemon-reload',
    ]);
    const again = await cli('uninstall');
    assert.equal(again.code, 0);
    assert.match(again.stdout, /^Not installed: /);
  });
});
