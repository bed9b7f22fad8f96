/**
 * The Responses API in SDK mode: the `openai` client's `responses.create` and `responses.stream`
 * against `/sdk/v1/responses`, answered by the real Claude Code agent, which talks to the fake
 * upstream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { type Harness, startHarness } from '../backends/sdk/harness.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { reply } from '../support/fake-upstream.ts';

describe('Responses API in SDK mode (Claude Code answers)', () => {
  let h: Harness;
  let proxy: TestProxy;
  let client: OpenAI;

  before(async () => {
    h = await startHarness();
    proxy = await startProxy({ settings: { claude: { cwd: h.cwd } }, app: { backends: { sdk: h.backend } } });
    client = new OpenAI({ baseURL: `${proxy.url}/sdk/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await proxy.close();
    await h.close();
  });

  it('create and stream', async () => {
    h.fake.reset();
    h.fake.enqueue(reply.text('Hi from the agent.'), reply.text('One two three.', { deltas: 3 }));
    const whole = await client.responses.create({ model: 'sonnet', input: 'hello' });
    assert.equal(whole.status, 'completed');
    assert.equal(whole.output_text, 'Hi from the agent.');
    assert.ok((whole.usage?.input_tokens ?? 0) > 0);

    const deltas: string[] = [];
    const stream = client.responses.stream({ model: 'sonnet', input: 'count' });
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    assert.equal(final.output_text, 'One two three.');
    assert.equal(deltas.join(''), 'One two three.');
  });
});
