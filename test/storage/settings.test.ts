/**
 * storage.url as a setting: postgres:// or postgresql:// only, from the environment as STORAGE__URL,
 * protected from an untrusted folder's files, and its password never shown — not by `config show`,
 * not in the error for a malformed value, not in a log line.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadSettings } from '../../src/config/load.ts';
import { renderEffective } from '../../src/config/render.ts';
import { scrubSecrets } from '../../src/redact.ts';
import { redactUrl, urlPassword } from '../../src/storage/url.ts';

const tmp = () => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-storage-')));

describe('storage.url', () => {
  it('comes from STORAGE__URL and is shown with its password masked', () => {
    const cwd = tmp();
    const url = 'postgres://ccproxy:s3cret-p%40ss@db.internal:5432/ccproxy?sslmode=verify-full';
    const l = loadSettings({ env: { STORAGE__URL: url }, cwd, home: cwd });
    assert.equal(l.settings.storage.url, url);
    const out = renderEffective(l.settings, l.sources);
    assert.doesNotMatch(out, /s3cret/);
    assert.match(out, /storage\.url\s+postgres:\/\/ccproxy:\*\*\*\*@db\.internal:5432\/ccproxy\?ssl.*env/);
    assert.equal(loadSettings({ env: {}, cwd, home: cwd }).settings.storage.url, '', 'empty by default');
  });

  it('anything but a postgres URL is refused, naming the key without the password', () => {
    const cwd = tmp();
    for (const bad of [
      'mysql://root:hunter2-secret@db/x',
      'postgres://u:hunter2-secret@',
      'db.internal:5432',
    ]) {
      assert.throws(
        () => loadSettings({ env: { STORAGE__URL: bad }, cwd, home: cwd }),
        (err: Error) => {
          assert.match(err.message, /Invalid setting storage\.url/);
          assert.match(err.message, /postgres:\/\/ or postgresql:\/\//);
          assert.doesNotMatch(err.message, /hunter2/);
          return true;
        },
      );
    }
    const ok = loadSettings({ env: { STORAGE__URL: 'postgresql://localhost/ccproxy' }, cwd, home: cwd });
    assert.equal(ok.settings.storage.url, 'postgresql://localhost/ccproxy');
  });

  it("is protected: an untrusted folder's ccproxy.toml cannot point the log at its own database", () => {
    const repo = tmp();
    fs.writeFileSync(
      path.join(repo, 'ccproxy.toml'),
      '[storage]\nurl = "postgres://attacker.example/loot"\nbuffer_rows = 1000\n',
    );
    const l = loadSettings({ env: {}, cwd: repo, home: tmp() });
    assert.equal(l.settings.storage.url, '');
    assert.equal(l.settings.storage.buffer_rows, 1000, 'the unprotected keys apply');
    assert.ok(l.ignored.some((i) => i.key === 'storage.url'));
  });

  it('redaction: authority and query passwords, readable otherwise; log lines scrubbed by shape', () => {
    assert.equal(redactUrl('postgres://u:p@h:1/d'), 'postgres://u:****@h:1/d');
    assert.equal(redactUrl('postgresql://u@h/d'), 'postgresql://u@h/d');
    assert.equal(
      redactUrl('postgres://h/d?password=abc&application_name=x'),
      'postgres://h/d?password=****&application_name=x',
    );
    assert.equal(redactUrl('postgres://u:p@@'), 'postgres://****');
    assert.equal(urlPassword('postgres://u:p%40ss@h/d'), 'p@ss');
    assert.equal(urlPassword('postgres://u@h/d'), undefined);
    assert.equal(
      scrubSecrets('{"msg":"cannot reach postgres://ccproxy:pw@db:5432/x"}', []),
      '{"msg":"cannot reach postgres://ccproxy:****@db:5432/x"}',
    );
  });
});
