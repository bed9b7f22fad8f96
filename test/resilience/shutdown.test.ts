/**
 * Shutdown and state, with the real `ccproxy serve` spawned: SIGTERM lets in-flight streams finish
 * within server.shutdown_grace_s and refuses new connections; past the grace the rest end with a
 * proper error event; the access log is flushed; exit 0. A second signal exits at once. A second
 * ccproxy on the same port fails with a message naming the port and --port.
 */
import assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { DuckDbStore } from '../../src/observability/access-log/duckdb/store.ts';
import { assembledText, bodyFor, streamComplete } from '../helpers/formats.ts';
import { sseEvents } from '../helpers/sse.ts';
import { bannerUrl, cliEnv, runCli, spawnCli } from '../security/cli.ts';
import { type FakeUpstream, reply, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';
import { within } from './harness.ts';

interface Served {
  child: ChildProcessWithoutNullStreams;
  url: string;
  exited: Promise<number | null>;
  output(): string;
}

describe('resilience: shutdown', () => {
  let fake: FakeUpstream;
  let dir: string;
  let env: Record<string, string | undefined>;

  before(async () => {
    fake = await startFakeUpstream();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-shutdown-'));
    env = cliEnv(dir, {
      CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN,
      UPSTREAM__BASE_URL: fake.url,
      SERVER__LOG_FORMAT: 'json',
      SERVER__LOG_LEVEL: 'warn',
    });
  });
  const children = new Set<ChildProcessWithoutNullStreams>();
  after(async () => {
    // A failed case may leave its server running: never let it outlive the suite.
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await fake?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function serve(extra: Record<string, string> = {}, port = 0): Promise<Served> {
    const child = spawnCli(['serve', '--port', String(port)], { cwd: dir, env: { ...env, ...extra } });
    child.stdin.end();
    children.add(child);
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      out += c;
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const url = await bannerUrl(child).catch((err: Error) => {
      throw new Error(`${err.message}\n${out}`);
    });
    return { child, url, exited, output: () => out };
  }

  /** A client that keeps its connections open for a minute, as SDK clients do. */
  const agent = new Agent({ keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 });
  after(() => agent.close());

  /** Start a stream; resolves with the whole answer text once it ends (or fails). */
  function stream(url: string, prompt: string) {
    return request(`${url}/api/v1/chat/completions`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', 'x-request-id': prompt.replaceAll(' ', '-') },
      body: JSON.stringify(bodyFor('openai', true, prompt)),
    }).then(async (r) => ({ status: r.statusCode, text: await r.body.text() }));
  }

  it('SIGTERM: in-flight streams finish within the grace, new connections are refused, exit 0', async () => {
    const s = await serve({ SERVER__SHUTDOWN_GRACE_S: '20' });
    fake.enqueue(reply.slow(100, reply.text('one two three four five six seven eight', { deltas: 8 })));
    const answer = stream(s.url, 'graceful');
    await within(
      20_000,
      'the upstream request',
      fake.waitForRequest((r) => JSON.stringify(r.body).includes('graceful')),
    );
    s.child.kill('SIGTERM');
    // Fastify stops listening at once: a new connection is refused (or answered 503 while closing).
    await within(
      20_000,
      'no new connections',
      (async () => {
        for (;;) {
          try {
            const r = await request(`${s.url}/health/live`, { reset: true });
            await r.body.text();
            if (r.statusCode === 503) return;
          } catch {
            return;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      })(),
    );
    const a = await within(10_000, 'the stream', answer);
    assert.equal(a.status, 200);
    assert.ok(streamComplete('openai', a.text), 'the stream finished whole');
    assert.equal(
      assembledText('openai', { status: 200, headers: {}, text: a.text, json: undefined }),
      'one two three four five six seven eight',
    );
    // The client keeps its connection for a minute; the proxy does not wait for it to let go.
    assert.equal(await within(10_000, 'exit', s.exited), 0);
  });

  it('past the grace, the rest end with an error event in their format, and the access log is flushed', async () => {
    const db = path.join(dir, 'grace.duckdb');
    const s = await serve({
      SERVER__SHUTDOWN_GRACE_S: '0.3',
      OBSERVABILITY__ACCESS_LOG: 'true',
      OBSERVABILITY__DUCKDB_PATH: db,
      OBSERVABILITY__FLUSH_INTERVAL_MS: '60000',
    });
    fake.enqueue(reply.slow(200, reply.text('a b c d e f g h i j k l m n o p', { deltas: 16 })));
    const answer = stream(s.url, 'cut short');
    await within(
      20_000,
      'the upstream request',
      fake.waitForRequest((r) => JSON.stringify(r.body).includes('cut short')),
    );
    s.child.kill('SIGTERM');
    const a = await within(10_000, 'the stream', answer);
    assert.equal(a.status, 200);
    const last = sseEvents(a.text).at(-1)!.data;
    assert.equal(last.error.type, 'server_error');
    assert.match(last.error.message, /shutting down/);
    assert.equal(await within(10_000, 'exit', s.exited), 0);
    const store = await DuckDbStore.open(db, { readOnly: true });
    try {
      const page = await store.query({ limit: 10, order: 'asc' });
      const row = page.rows.find((r) => r.id === 'cut-short');
      assert.ok(row, `the row was flushed on exit: ${JSON.stringify(page.rows.map((r) => r.id))}`);
      assert.equal(row.error_kind, 'unavailable');
    } finally {
      await store.close();
    }
  });

  it('a second signal exits at once', async () => {
    const s = await serve({ SERVER__SHUTDOWN_GRACE_S: '60' });
    fake.enqueue(reply.stallMidStream(2));
    const answer = stream(s.url, 'second signal').catch(() => undefined);
    await within(
      20_000,
      'the upstream request',
      fake.waitForRequest((r) => JSON.stringify(r.body).includes('second signal')),
    );
    s.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    s.child.kill('SIGINT');
    assert.equal(await within(20_000, 'exit', s.exited), 130);
    await answer;
  });

  it('a second ccproxy on the same port fails, naming the port and --port', async () => {
    const s = await serve();
    try {
      const port = new URL(s.url).port;
      const r = await runCli(['serve', '--port', port], { cwd: dir, env });
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use.*--port <n>`));
    } finally {
      s.child.kill('SIGTERM');
      await within(10_000, 'exit', s.exited);
    }
  });
});
