/**
 * An SDK-mode request captured: the real Claude Code binary (the Agent SDK's) answering from the
 * fake upstream, through the proxy with capture on. The capture holds the client's request, the
 * agent's messages of the run (with times) and the answer; nothing under "upstream" (the agent
 * talks to the API itself).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { ProxyClient } from '../../src/cli/proxy-client.ts';
import { traceReplay } from '../../src/cli/trace.ts';
import { settingsSchema } from '../../src/config/schema.ts';
import type { RequestDetail } from '../../src/observability/capture/types.ts';
import { type Harness, startHarness } from '../backends/sdk/harness.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { reply } from '../support/fake-upstream.ts';
import { sink } from './helpers.ts';

let h: Harness;
let proxy: TestProxy;

before(async () => {
  h = await startHarness();
  proxy = await startProxy({
    settings: { claude: { cwd: h.cwd }, observability: { capture: 'all', flush_interval_ms: 20 } },
    app: { backends: { sdk: h.backend } },
    logLevel: 'warn',
  });
});
after(async () => {
  await proxy?.close();
  await h?.close();
});

test('SDK mode: the client request, the agent messages and the answer', async () => {
  h.fake.enqueue(reply.text('Hi from the agent.', { deltas: 2 }));
  const anthropic = new Anthropic({ baseURL: `${proxy.url}/sdk`, apiKey: 'unused', maxRetries: 0 });
  const stream = anthropic.messages.stream(
    { model: 'claude-sonnet-5-5', max_tokens: 256, messages: [{ role: 'user', content: 'hello agent' }] },
    { headers: { 'x-request-id': 'sdk_capture' } },
  );
  const final = await stream.finalMessage();
  assert.equal((final.content[0] as Anthropic.TextBlock).text, 'Hi from the agent.');

  const res = await fetch(`${proxy.url}/logs/requests/sdk_capture`);
  assert.equal(res.status, 200);
  const { row, capture } = (await res.json()) as RequestDetail;
  assert.equal(row?.mode, 'sdk');
  const c = capture!;
  assert.equal(c.mode, 'sdk');
  assert.equal(c.client_request.url, '/sdk/v1/messages');
  assert.match(c.client_request.body!.text, /hello agent/);
  assert.equal(c.upstream_request, null);
  assert.equal(c.upstream_response, null);
  const types = c.agent!.messages.map((m) => (m.message as { type: string }).type);
  assert.ok(types.includes('assistant') || types.includes('stream_event'), types.join(','));
  assert.equal(types.at(-1), 'result');
  const ts = c.agent!.messages.map((m) => m.t);
  assert.ok(ts.every((t, i) => i === 0 || t >= ts[i - 1]!));
  // The answer as the client got it: the rendered Anthropic stream.
  const events = c.response!.events!.map((e) => e.event).filter((e) => e !== 'ping');
  assert.equal(events[0], 'message_start');
  assert.equal(events.at(-1), 'message_stop');
  assert.match(c.response!.body!.text, /"text":"Hi from "[\s\S]*"text":"the agent."/);
});

test('replay in SDK mode, as a whole answer this time: Claude Code answers the captured request again', async () => {
  h.fake.enqueue(reply.text('Hi again from the agent.', { deltas: 2 }));
  const client = new ProxyClient(settingsSchema.parse({}), proxy.url);
  const out = sink();
  const err = sink();
  const code = await traceReplay(
    client,
    'sdk_capture',
    { mode: 'sdk', stream: false, diff: true },
    out.stream,
    err.stream,
  );
  assert.equal(code, 0, err.text());
  assert.match(err.text(), /^POST \/sdk\/v1\/messages → HTTP 200 \(replayed as req_\w+\)/);
  const again = JSON.parse(out.text()) as Anthropic.Message;
  assert.equal(again.type, 'message');
  assert.equal((again.content[0] as Anthropic.TextBlock).text, 'Hi again from the agent.');
  // A whole answer is not compared with the captured stream field by field.
  assert.match(err.text(), /The captured answer was a stream and this one is whole: replay with --stream/);
  // Claude Code was asked the same question.
  assert.ok(JSON.stringify(h.fake.messages().at(-1)!.body).includes('hello agent'));
});
