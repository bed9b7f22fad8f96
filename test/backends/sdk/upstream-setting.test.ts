/**
 * `upstream.base_url` and `upstream.proxy_url` are the agents' too (the real Claude Code binary
 * against the fake upstream): with ccproxy's environment pointing Claude Code at a closed port, an
 * SDK-mode request still reaches the upstream the setting names; with an upstream only a proxy can
 * reach, it goes through the proxy the setting names, as API mode's requests do.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ConnectProxy, startConnectProxy } from '../../helpers/connect-proxy.ts';
import { freePort } from '../../helpers/net.ts';
import { reply, TEST_ACCESS_TOKEN } from '../../support/fake-upstream.ts';
import { type Harness, messageOf, request, startHarness, textOf } from './harness.ts';

describe('SDK mode calls upstream.base_url', () => {
  let h: Harness;
  before(async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    h = await startHarness({ env: { ANTHROPIC_BASE_URL: closed }, upstream: (url) => ({ base_url: url }) });
  });
  after(async () => {
    await h.close();
  });

  it('answers through the upstream the setting names, not the environment’s', async () => {
    h.fake.reset();
    h.fake.enqueue(reply.text('Reached through the setting.'));
    const answer = messageOf(await h.backend.send(request([{ role: 'user', content: 'hi' }]), h.ctx()));
    assert.equal(textOf(answer.content), 'Reached through the setting.');
    const [call] = h.fake.messages();
    assert.equal(call?.headers.authorization, `Bearer ${TEST_ACCESS_TOKEN}`);
  });
});

describe('SDK mode behind a proxy (upstream.proxy_url)', () => {
  let h: Harness;
  let proxy: ConnectProxy;
  before(async () => {
    proxy = await startConnectProxy(() => h.fake.port);
    h = await startHarness({
      // `api.example.invalid` cannot resolve: only the proxy reaches the fake upstream.
      upstream: (url) => ({
        base_url: `http://api.example.invalid:${new URL(url).port}`,
        proxy_url: proxy.url,
      }),
    });
  });
  after(async () => {
    await h.close();
    await proxy?.close();
  });

  it('the agents reach the upstream through the proxy', async () => {
    h.fake.reset();
    h.fake.enqueue(reply.text('Reached through the proxy.'));
    const answer = messageOf(await h.backend.send(request([{ role: 'user', content: 'hi' }]), h.ctx()));
    assert.equal(textOf(answer.content), 'Reached through the proxy.');
    assert.ok(proxy.tunnels.includes(`api.example.invalid:${h.fake.port}`), proxy.tunnels.join(' '));
  });
});
