/**
 * A file a command cannot read or write is one line naming the file and why (exit 1; a settings
 * file, exit 2), never node's stack trace: a `.env` that is a folder (what a bind mount of a missing
 * file leaves), `config init --path` into a file or onto a folder, a folder without write permission.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileErrorLine } from '../../src/cli/main.ts';
import { runCli } from '../security/cli.ts';

describe('files a command cannot use', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-file-errors-'));
  const env = { PATH: process.env.PATH, HOME: dir, NO_COLOR: '1' };
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at /m, stderr);

  it('a .env that is a folder: a settings error naming it', async () => {
    const cwd = path.join(dir, 'project');
    fs.mkdirSync(path.join(cwd, '.env'), { recursive: true });
    for (const args of [
      ['config', 'show'],
      ['serve', '--port', '0'],
    ]) {
      const r = await runCli(args, { cwd, env });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(
        r.stderr,
        `ccproxy: Cannot read ${path.join(cwd, '.env')}: it is a folder, not a file. Fix or remove it, or start ccproxy in another folder.\n`,
      );
    }
  });

  it('config init --path into a file, or onto a folder', async () => {
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, '');
    const into = await runCli(['config', 'init', '--path', path.join(file, 'x.toml')], { cwd: dir, env });
    assert.equal(into.code, 1);
    assert.equal(
      into.stderr,
      `ccproxy: cannot create the folder ${file}: a file of that name is in the way.\n`,
    );
    const onto = await runCli(['config', 'init', '--path', dir, '--force'], { cwd: dir, env });
    assert.equal(onto.code, 1);
    assert.equal(onto.stderr, `ccproxy: cannot open ${dir}: it is a folder.\n`);
    noStack(into.stderr + onto.stderr);
  });

  it('permission denied reads as such (the tests may run as root, where no folder refuses)', () => {
    const denied = Object.assign(
      new Error("EACCES: permission denied, open '/home/ann/.config/ccproxy/.tmp'"),
      {
        code: 'EACCES',
        syscall: 'open',
        path: '/home/ann/.config/ccproxy/.tmp',
      },
    );
    assert.equal(fileErrorLine(denied), 'cannot open /home/ann/.config/ccproxy/.tmp: permission denied.');
    assert.equal(fileErrorLine(new Error('something else')), undefined, 'any other error is not dressed up');
  });
});
