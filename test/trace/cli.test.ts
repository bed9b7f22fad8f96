/**
 * `ccproxy trace` against a real running proxy with capture on: list (filters), show (readable, the
 * changes ccproxy made), replay of the real `openai` client's captured request (the same answer
 * again, `--diff` says so; streamed on request), a refusal to replay a truncated capture, the HAR
 * export (HAR 1.2's required fields), and the command itself through the real CLI.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { ProxyClient } from '../../src/cli/proxy-client.ts';
import { TraceError, traceExport, traceList, traceReplay, traceShow } from '../../src/cli/trace.ts';
import { settingsSchema } from '../../src/config/schema.ts';
import { freePort } from '../helpers/net.ts';
import { runCli } from '../security/cli.ts';
import { reply } from '../support/fake-upstream.ts';
import { assertHar } from './har-shape.ts';
import { type CaptureRig, PROXY_TOKEN, sink, startCaptureRig } from './helpers.ts';

describe('ccproxy trace', () => {
  let rig: CaptureRig;
  let client: ProxyClient;
  let openai: OpenAI;

  before(async () => {
    rig = await startCaptureRig({ observability: { capture: 'all', capture_max_bytes: 4096 } });
    client = new ProxyClient(settingsSchema.parse({ security: { auth_token: PROXY_TOKEN } }), rig.proxy.url);
    openai = new OpenAI({ baseURL: `${rig.proxy.url}/api/v1`, apiKey: PROXY_TOKEN, maxRetries: 0 });
    rig.fake.enqueue(reply.text('The capital of France is Paris.'));
    await openai.chat.completions.create(
      {
        model: 'claude-sonnet-5-5',
        messages: [
          { role: 'system', content: 'Answer in one sentence.' },
          { role: 'user', content: 'What is the capital of France?' },
        ],
      },
      { headers: { 'x-request-id': 'trace_openai' } },
    );
    rig.fake.enqueue(reply.overloaded());
    await openai.chat.completions
      .create(
        { model: 'claude-opus-5-5', messages: [{ role: 'user', content: 'hi' }] },
        { headers: { 'x-request-id': 'trace_failed' } },
      )
      .catch(() => {});
  });
  after(() => rig.close());

  test('list: captured requests, newest first; --errors, --model, --since, --limit', async () => {
    const all = await traceList(client, {});
    assert.match(all, /^time\s+id\s+mode\/format\s+model\s+status/);
    assert.ok(all.indexOf('trace_failed') < all.indexOf('trace_openai'), 'newest first');
    const errors = await traceList(client, { errors: true });
    assert.match(errors, /trace_failed.*529 overloaded/);
    assert.doesNotMatch(errors, /trace_openai/);
    assert.doesNotMatch(await traceList(client, { model: 'claude-sonnet-5-5', since: '1h' }), /trace_failed/);
    assert.equal((await traceList(client, { limit: '1' })).trim().split('\n').length, 2);
    await assert.rejects(traceList(client, { since: 'yesterday' }), /--since takes a time ago like 30m/);
  });

  test('show: the parts, readable, and what ccproxy changed', async () => {
    const text = await traceShow(client, 'trace_openai', false);
    assert.match(text, /^Request trace_openai · .* · api\/openai · claude-sonnet-5-5 · 200/);
    for (const title of [
      'Client request',
      'What ccproxy changed (translated request → upstream request)',
      'Upstream request',
      'Upstream response',
      'Response to the client',
    ])
      assert.ok(text.includes(`── ${title}`), title);
    assert.match(text, /POST \/api\/v1\/chat\/completions/);
    assert.match(text, /\+ system\[0\]: \{"type":"text","text":"You are Claude Code/);
    assert.match(text, /authorization: Bearer \[REDACTED\]/);
    assert.ok(!text.includes('\x1b['), 'no colour unless asked');
    assert.ok((await traceShow(client, 'trace_openai', true)).includes('\x1b['));
    await assert.rejects(
      traceShow(client, 'nope', false),
      (e: Error) => e instanceof TraceError && /No request "nope"/.test(e.message),
    );
  });

  test("replay: the openai client's request again, the same answer; --diff says so; streamed when asked", async () => {
    rig.fake.enqueue(reply.text('The capital of France is Paris.'));
    const out = sink();
    const err = sink();
    assert.equal(await traceReplay(client, 'trace_openai', { diff: true }, out.stream, err.stream), 0);
    const again = JSON.parse(out.text()) as {
      object: string;
      choices: Array<{ message: { content: string } }>;
    };
    assert.equal(again.object, 'chat.completion');
    assert.equal(again.choices[0]!.message.content, 'The capital of France is Paris.');
    assert.match(err.text(), /^POST \/api\/v1\/chat\/completions → HTTP 200 \(replayed as req_\w+\)/);
    assert.match(err.text(), /Same as the captured answer/);
    // The upstream saw the same conversation again.
    const sent = rig.fake.messages().map((m) => m.body as { messages: unknown; system: unknown });
    const [first, second] = [sent[0], sent.at(-1)];
    assert.deepEqual(second!.messages, first!.messages);
    assert.deepEqual(second!.system, first!.system);

    rig.fake.enqueue(reply.text('Paris, streamed.', { deltas: 3 }));
    const streamed = sink();
    const err2 = sink();
    assert.equal(
      await traceReplay(client, 'trace_openai', { stream: true, diff: true }, streamed.stream, err2.stream),
      0,
    );
    assert.match(streamed.text(), /data: \[DONE\]/);
    assert.match(
      err2.text(),
      /The captured answer was whole and this one is a stream: replay with --no-stream/,
    );
  });

  test('replay refuses a capture whose request was cut at the cap, and a request never captured', async () => {
    rig.fake.enqueue(reply.text('ok'));
    await openai.chat.completions.create(
      { model: 'claude-sonnet-5-5', messages: [{ role: 'user', content: 'x'.repeat(10_000) }] },
      { headers: { 'x-request-id': 'trace_big' } },
    );
    const out = sink();
    await assert.rejects(
      traceReplay(client, 'trace_big', {}, out.stream, out.stream),
      (e: Error) =>
        e instanceof TraceError &&
        /cut at the capture cap/.test(e.message) &&
        /capture_max_bytes/.test(e.message),
    );
    await assert.rejects(
      traceReplay(client, 'trace_openai', { mode: 'cloud' }, out.stream, out.stream),
      /--mode must be api or sdk/,
    );
  });

  test('export: a HAR 1.2 file with the client and upstream exchanges', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-har-'));
    try {
      const file = path.join(dir, 'trace.har');
      assert.match(
        await traceExport(client, 'trace_openai', file),
        /Wrote .*trace\.har \(HAR 1\.2, 2 entries\)/,
      );
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      const har = JSON.parse(fs.readFileSync(file, 'utf8'));
      assertHar(har);
      const [clientSide, upstreamSide] = har.log.entries;
      assert.equal(clientSide.request.url, `${rig.proxy.url}/api/v1/chat/completions`);
      assert.equal(clientSide.response.status, 200);
      assert.match(upstreamSide.request.url, /\/v1\/messages$/);
      assert.ok(!fs.readFileSync(file, 'utf8').includes(PROXY_TOKEN));

      // Over a file others could read: it becomes the user's only. Somewhere it cannot go: one line.
      const shared = path.join(dir, 'shared.har');
      fs.writeFileSync(shared, '', { mode: 0o644 });
      await traceExport(client, 'trace_openai', shared);
      assert.equal(fs.statSync(shared).mode & 0o777, 0o600);
      await assert.rejects(
        traceExport(client, 'trace_openai', path.join(dir, 'no-such-folder', 'x.har')),
        (e: Error) => e instanceof TraceError && /^Cannot write .*x\.har: ENOENT/.test(e.message),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the command: trace list and show through the real CLI; completion knows it', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-trace-cli-'));
    const env = { PATH: process.env.PATH, HOME: cwd, SECURITY__AUTH_TOKEN: PROXY_TOKEN, NO_COLOR: '1' };
    try {
      const list = await runCli(['trace', 'list', '--errors', '--url', rig.proxy.url], { cwd, env });
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /trace_failed/);
      // The base URL clients use (…/api) names the same proxy.
      const client = await runCli(['trace', 'list', '--errors', '--url', `${rig.proxy.url}/api`], {
        cwd,
        env,
      });
      assert.equal(client.code, 0, client.stderr);
      assert.match(client.stdout, /trace_failed/);
      const missing = await runCli(['trace', 'show', 'nope', '--url', rig.proxy.url], { cwd, env });
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^ccproxy: No request "nope"/);
      const closed = `http://127.0.0.1:${await freePort()}`;
      const down = await runCli(['trace', 'list', '--url', closed], { cwd, env });
      assert.equal(down.code, 1);
      assert.match(down.stderr, new RegExp(`ccproxy is not running at ${closed.replaceAll('.', '\\.')}`));
      const bash = await runCli(['--show-completion', 'bash'], { cwd, env });
      assert.match(bash.stdout, /"trace"\) words="list show replay export/);
      assert.match(bash.stdout, /"trace replay"\) words="[^"]*--no-stream[^"]*--diff/);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});
