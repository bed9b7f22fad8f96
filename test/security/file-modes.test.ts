/**
 * The access log is its owner's only (issue 18, item 6): DuckDB creates its file and write-ahead log
 * with the process umask (0644 in a 0755 folder), so ccproxy makes the folder 0700 and the files 0600
 * — through a real proxy writing real rows, and across a checkpoint (which re-creates the WAL).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { DuckDbStore } from '../../src/observability/access-log/duckdb/store.ts';
import type { AccessLogRow } from '../../src/observability/access-log/row.ts';
import { startProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

const mode = (p: string) => fs.statSync(p).mode & 0o777;
const skip = process.platform === 'win32' ? 'POSIX file modes' : false;

function row(id: string): AccessLogRow {
  return {
    id,
    ts: Date.now(),
    mode: 'api',
    format: 'anthropic',
    method: 'POST',
    path: '/api/v1/messages',
    client_model: 'claude-sonnet-4-5',
    upstream_model: 'claude-sonnet-4-5',
    stream: false,
    status: 200,
    error_kind: null,
    duration_ms: 1,
    ttft_ms: null,
    input_tokens: 1,
    output_tokens: 1,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    cache_write_1h_tokens: 0,
    cost_usd: 0,
    stop_reason: 'end_turn',
    retries: 0,
    sdk_turns: null,
    sdk_cost_usd: null,
    user_agent: null,
    upstream_request_id: null,
    client_aborted: false,
    account: null,
    billing: null,
  };
}

describe('access-log file modes', { skip }, () => {
  let dir: string;
  let umask: number;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-modes-'));
    // The usual umask, whatever the test runner's: the point is what DuckDB would make of it.
    umask = process.umask(0o022);
  });
  after(() => {
    process.umask(umask);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a proxy writing rows: folder 0700, database and WAL 0600', async () => {
    const fake: FakeUpstream = await startFakeUpstream();
    const db = path.join(dir, 'data', 'ccproxy', 'access-log.duckdb');
    const proxy = await startProxy({
      settings: {
        upstream: { base_url: fake.url },
        observability: { access_log: true, duckdb_path: db, flush_interval_ms: 10 },
      },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
    });
    try {
      const r = await request(`${proxy.url}/api/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({
          model: 'claude-sonnet-4-5',
          max_tokens: 8,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });
      assert.equal(r.statusCode, 200);
      await r.body.text();
      for (let i = 0; ; i++) {
        const s = await request(`${proxy.url}/logs/status`);
        const body = (await s.body.json()) as { writer: { written: number } };
        if (body.writer.written >= 1) break;
        assert.ok(i < 500, 'the row is written');
        await new Promise((res) => setTimeout(res, 20));
      }
      assert.equal(mode(path.dirname(db)), 0o700, 'the folder ccproxy created');
      assert.equal(mode(db), 0o600);
      assert.ok(fs.existsSync(`${db}.wal`), 'rows not yet checkpointed sit in the WAL');
      assert.equal(mode(`${db}.wal`), 0o600);
    } finally {
      await proxy.close();
      await fake.close();
    }
    assert.equal(mode(db), 0o600, 'after the closing checkpoint');
  });

  it('the WAL stays 0600 when a checkpoint deletes it and a write re-creates it', async () => {
    const file = path.join(dir, 'wal', 'log.duckdb');
    const store = await DuckDbStore.open(file);
    try {
      await store.insertBatch([row('a')]);
      await store.close();
      assert.equal(fs.existsSync(`${file}.wal`), false, 'checkpointed away on close');
      const again = await DuckDbStore.open(file);
      await again.insertBatch([row('b')]);
      assert.equal(mode(`${file}.wal`), 0o600);
      assert.equal(mode(file), 0o600);
      await again.close();
    } finally {
      await store.close();
    }
  });

  it("an existing 0755 folder holding only the log is tightened; a folder with the user's files is not", async () => {
    const own = path.join(dir, 'old-install');
    fs.mkdirSync(own, { mode: 0o755 });
    fs.chmodSync(own, 0o755);
    const s1 = await DuckDbStore.open(path.join(own, 'access-log.duckdb'));
    await s1.close();
    assert.equal(mode(own), 0o700);

    const shared = path.join(dir, 'project');
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o755);
    fs.writeFileSync(path.join(shared, 'README.md'), 'mine');
    const s2 = await DuckDbStore.open(path.join(shared, 'access-log.duckdb'));
    await s2.close();
    assert.equal(mode(shared), 0o755, 'a folder with other files keeps its mode');
    assert.equal(mode(path.join(shared, 'access-log.duckdb')), 0o600, 'the log itself is still private');
  });
});
