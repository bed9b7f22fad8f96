/**
 * Host and Origin, parsed strictly (issue 18, item 6). A Host value that a lenient split reads as
 * localhost — `[::1]evil.example`, `localhost:1@evil.example` — is refused, and so never reaches the
 * login's redirect_uri. A same-origin Origin must match this server's scheme, host and port exactly.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { settingsSchema } from '../../src/config/schema.ts';
import { parseHost, servedOrigin } from '../../src/host-header.ts';
import { createGuard } from '../../src/server/guard.ts';
import { fakeUrls } from '../auth/helpers.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

const TOKEN = 'ccp_host-origin-test-token-0123456789abcdefghijk';

/** Values that name something other than this server, however leniently one reads them. */
const HOSTILE_HOSTS = [
  '[::1]evil.example',
  '[::1]:8000evil.example',
  '[::1].evil.example:8000',
  'localhost:1@evil.example',
  'localhost@evil.example',
  'user:pass@127.0.0.1:8000',
  '127.0.0.1:8000:8000',
  'localhost:80:evil.example',
  '::1',
  '::1:8000',
  'localhost:0',
  'localhost:65536',
  'localhost:99999',
  'localhost:-1',
  'localhost:8000x',
  'localhost:',
  'localhost/evil',
  'localhost#evil',
  'localhost evil.example',
  '[::1',
  '[evil.example]:8000',
  '[127.0.0.1]:8000',
];

describe('Host header: strict parsing', () => {
  it('reads plain names, IPv4 and bracketed IPv6, each with an optional port', () => {
    assert.deepEqual(parseHost('localhost'), { host: 'localhost', port: undefined });
    assert.deepEqual(parseHost('LocalHost:8000'), { host: 'localhost', port: 8000 });
    assert.deepEqual(parseHost('127.0.0.1:65535'), { host: '127.0.0.1', port: 65535 });
    assert.deepEqual(parseHost('[::1]:8000'), { host: '::1', port: 8000 });
    assert.deepEqual(parseHost('[::ffff:127.0.0.1]'), { host: '::ffff:127.0.0.1', port: undefined });
    assert.deepEqual(parseHost('proxy.lan'), { host: 'proxy.lan', port: undefined });
  });

  for (const host of HOSTILE_HOSTS) {
    it(`refuses ${JSON.stringify(host)}`, () => {
      assert.equal(parseHost(host), undefined);
      const g = createGuard({ settings: settingsSchema.parse({}) });
      assert.throws(
        () => g.check('GET', '/api/status', { host }),
        (e: unknown) => (e as { kind?: string }).kind === 'permission',
      );
    });
  }

  it('the served origin is rebuilt from the parts: default port dropped, IPv6 bracketed', () => {
    assert.equal(servedOrigin('localhost:8000'), 'http://localhost:8000');
    assert.equal(servedOrigin('LOCALHOST:80'), 'http://localhost');
    assert.equal(servedOrigin('[::1]:8000'), 'http://[::1]:8000');
    assert.equal(servedOrigin('localhost:1@evil.example'), undefined);
  });

  it('server.allowed_hosts entries are parsed the same way (IPv6 with or without brackets)', () => {
    const g = createGuard({
      settings: settingsSchema.parse({
        server: { allowed_hosts: ['proxy.lan:8000', 'fd00::7', '[fd00::8]'] },
      }),
    });
    g.check('GET', '/api/status', { host: 'proxy.lan:9000' });
    g.check('GET', '/api/status', { host: '[fd00::7]:8000' });
    g.check('GET', '/api/status', { host: '[fd00::8]' });
    assert.throws(() => g.check('GET', '/api/status', { host: 'proxy.lan@evil.example' }));
  });
});

describe('Host and Origin against a running proxy', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;
  let port: string;

  before(async () => {
    fake = await startFakeUpstream();
    proxy = await startProxy({
      settings: { ...fakeUrls(fake), security: { auth_token: TOKEN } },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
    });
    port = new URL(proxy.url).port;
  });
  after(async () => {
    await proxy?.close();
    await fake?.close();
  });

  async function send(method: 'GET' | 'POST', path: string, headers: Record<string, string>) {
    const r = await request(`${proxy.url}${path}`, {
      method,
      headers: { 'x-api-key': TOKEN, ...headers },
    });
    const text = await r.body.text();
    return { status: r.statusCode, text, json: text ? JSON.parse(text) : undefined };
  }

  it('a hostile Host never starts a login, so never lands in a redirect_uri', async () => {
    for (const host of ['[::1]evil.example', `localhost:${port}@evil.example`, `[::1]:${port}evil.example`]) {
      const r = await send('POST', '/oauth/login', { host });
      assert.equal(r.status, 403, `${host}: ${r.text}`);
      assert.doesNotMatch(r.text, /evil\.example.*oauth\/callback/);
    }
  });

  it('a proper Host gets a redirect_uri rebuilt from its parts', async () => {
    const r = await send('POST', '/oauth/login', { host: `LOCALHOST:${port}` });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.redirect_uri, `http://localhost:${port}/oauth/callback`);
    assert.equal(new URL(r.json.authorize_url).searchParams.get('redirect_uri'), r.json.redirect_uri);
  });

  it('same origin means the same scheme, host and port, and nothing else in the Origin', async () => {
    const ok = await send('GET', '/api/status', { origin: `http://127.0.0.1:${port}` });
    assert.equal(ok.status, 200, ok.text);
    for (const origin of [
      `https://127.0.0.1:${port}`,
      `ftp://127.0.0.1:${port}`,
      `ws://127.0.0.1:${port}`,
      `http://user@127.0.0.1:${port}`,
      `http://127.0.0.1:${port}@evil.example`,
      `http://127.0.0.1:${port}/path`,
      `http://127.0.0.1:${Number(port) + 1}`,
      'http://127.0.0.1',
      'http://localhost.evil.example',
    ]) {
      const r = await send('POST', '/api/v1/messages', { origin, 'content-type': 'application/json' });
      assert.equal(r.status, 403, `${origin}: ${r.text}`);
      assert.match(r.json.error.message, /Cross-origin request/);
    }
    assert.equal(fake.messages().length, 0);
  });
});
