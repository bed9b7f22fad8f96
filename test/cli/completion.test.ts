/**
 * `ccproxy --show-completion`: generated from the command tree, so the launchers, `env` and
 * `service` (with its subcommands and options) complete in every shell without a hand-kept list.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { completionScript } from '../../src/cli/completion.ts';
import { buildProgram } from '../../src/cli/main.ts';

describe('shell completion', () => {
  const program = buildProgram();

  it('bash: the top level offers the new commands; each one its subcommands and options', () => {
    const script = completionScript(program, 'bash');
    const words = (path: string) =>
      new RegExp(`^ +"${path}"\\) words="([^"]*)"`, 'm').exec(script)?.[1].split(' ');
    for (const c of ['claude', 'codex', 'env', 'service']) assert.ok(words('')?.includes(c), c);
    assert.deepEqual(words('service')?.slice(0, 4), ['install', 'uninstall', 'status', 'logs']);
    assert.ok(words('service install')?.includes('--no-start'));
    assert.ok(words('service logs')?.includes('--follow'));
    assert.ok(words('env')?.includes('--shell'));
    assert.ok(words('claude')?.includes('--port'));
  });

  it('bash, run: the value after an option is not a command; a file option completes files; help is offered', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-completion-'));
    try {
      fs.writeFileSync(path.join(dir, 'settings.toml'), '');
      const script = path.join(dir, 'ccproxy.bash');
      fs.writeFileSync(script, completionScript(program, 'bash'));
      const complete = (...words: string[]) => {
        const r = spawnSync(
          'bash',
          [
            '--norc',
            '-c',
            `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ccproxy_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
            'complete',
            script,
            ...words,
          ],
          { cwd: dir, encoding: 'utf8' },
        );
        assert.equal(r.status, 0, r.stderr);
        return r.stdout.split('\n').filter(Boolean);
      };
      const configWords = complete('ccproxy', 'config', '');
      assert.ok(configWords.includes('show') && configWords.includes('init'));
      assert.deepEqual(
        complete('ccproxy', '-c', 'x.toml', 'config', ''),
        configWords,
        'after -c x.toml: config',
      );
      assert.ok(
        complete('ccproxy', '--port', '8080', '').includes('serve'),
        'after --port 8080: the commands',
      );
      assert.deepEqual(complete('ccproxy', '--port', ''), [], 'a port is not a command');
      assert.deepEqual(complete('ccproxy', '-c', 'sett'), ['settings.toml']);
      assert.deepEqual(complete('ccproxy', 'config', 'init', '--path', 'sett'), ['settings.toml']);
      assert.ok(complete('ccproxy', '').includes('help'));
      assert.deepEqual(complete('ccproxy', 'service', 'in'), ['install']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('zsh and fish carry the same commands, and skip option values the same way', () => {
    const zsh = completionScript(program, 'zsh');
    assert.match(zsh, /^ +"service install"\) cands=\(.*--no-start/m);
    assert.match(zsh, /^ +""\) cands=\(.*\bclaude codex env service\b/m);
    assert.match(zsh, /^ +valued=\(.*--port.*\)$/m);
    assert.match(zsh, /^ +files=\(.*--config.*\)$/m);
    const fish = completionScript(program, 'fish');
    for (const c of ['claude', 'codex', 'env', 'service', 'help'])
      assert.match(fish, new RegExp(`^complete -c ccproxy -n '___ccproxy_at' -a ${c}$`, 'm'));
    // The whole path: `service status` is not the top-level `status`.
    assert.match(fish, /^complete -c ccproxy -n '___ccproxy_at service' -a uninstall$/m);
    assert.match(fish, /^complete -c ccproxy -n '___ccproxy_at env' -l shell -r$/m);
    assert.match(fish, /^complete -c ccproxy -n '___ccproxy_at config init' -l path -r -F$/m);
    assert.match(fish, /^ +if contains -- \$w .*--port/m);
  });
});
