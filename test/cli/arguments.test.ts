/**
 * A stray word on a command line is an error that names it, never silently dropped: `ccproxy
 * accounts pause work home` paused `work` alone and said nothing of `home`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../security/cli.ts';

describe('command-line arguments', () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-args-'));
  const env = { PATH: process.env.PATH, HOME: cwd, XDG_CONFIG_HOME: path.join(cwd, 'xdg') };
  after(() => fs.rmSync(cwd, { recursive: true, force: true }));

  it('more arguments than a command takes: exit 1, naming the command', async () => {
    for (const [args, command, expected] of [
      [['accounts', 'pause', 'work', 'home'], 'pause', '1 argument but got 2'],
      [['config', 'show', 'server.port'], 'show', '0 arguments but got 1'],
      [['serve', 'now'], 'serve', '0 arguments but got 1'],
      [['status', 'x'], 'status', '0 arguments but got 1'],
    ] as const) {
      const r = await runCli([...args], { cwd, env });
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, new RegExp(`too many arguments for '${command}'\\. Expected ${expected}`));
      assert.equal(r.stdout, '', `${args.join(' ')} did nothing`);
    }
  });

  it('a mistyped command is still named as one', async () => {
    const r = await runCli(['sevre'], { cwd, env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown command 'sevre'/);
  });
});
