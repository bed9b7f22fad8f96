/**
 * `ccproxy --show-completion`: generated from the command tree, so the launchers, `env` and
 * `service` (with its subcommands and options) complete in every shell without a hand-kept list.
 */
import assert from 'node:assert/strict';
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

  it('zsh and fish carry the same commands', () => {
    const zsh = completionScript(program, 'zsh');
    assert.match(zsh, /^ +"service install"\) cands=\(.*--no-start/m);
    assert.match(zsh, /^ +""\) cands=\(.*\bclaude codex env service\b/m);
    const fish = completionScript(program, 'fish');
    for (const c of ['claude', 'codex', 'env', 'service'])
      assert.match(fish, new RegExp(`^complete -c ccproxy -n '__fish_use_subcommand' -a ${c}$`, 'm'));
    assert.match(fish, /^complete -c ccproxy -n '__fish_seen_subcommand_from service' -a uninstall$/m);
    assert.match(fish, /^complete -c ccproxy -n '__fish_seen_subcommand_from env' -l shell$/m);
  });
});
