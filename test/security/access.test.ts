/**
 * The proxy's own access control, route by route: with `security.auth_token` set, every route the
 * app serves (enumerated from the app itself, observability on) refuses a missing or wrong token
 * with a 401 in the endpoint's own format and a WWW-Authenticate header, and accepts the right
 * token in either header. Public paths stay open. Host and Origin attacks get 403 whatever the token.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { settingsSchema } from '../../src/config/schema.ts';
import { ProxyError } from '../../src/errors.ts';
import { createGuard, PUBLIC_PATHS } from '../../src/server/guard.ts';
import { fakeUrls } from '../auth/helpers.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

const TOKEN = 'ccp_access-test-token-0123456789abcdefghijklmnopq';
const WRONG = 'ccp_access-test-token-0123456789abcdefghijklmnopX';

/** Routes from `printRoutes` (a tree of path segments, each with its methods). */
export function routesOf(tree: string): Array<{ method: string; path: string }> {
  const out: Array<{ method: string; path: string }> = [];
  const stack: Array<{ depth: number; path: string }> = [];
  for (const line of tree.split('\n')) {
    const m = /^(.*?)(?:└── |├── )(.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1].length;
    while (stack.length && stack[stack.length - 1].depth >= depth) stack.pop();
    const parent = stack.at(-1)?.path ?? '';
    const seg = m[2];
    const full = parent.endsWith('/') && seg.startsWith('/') ? parent + seg.slice(1) : parent + seg;
    stack.push({ depth, path: full });
    for (const method of (m[3] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean))
      out.push({ method, path: full });
  }
  return out;
}

/** Paths every deployment must protect even if the app did not (yet) register them. */
const MUST_PROTECT = [
  'POST /api/v1/messages',
  'POST /api/v1/messages/count_tokens',
  'POST /api/v1/chat/completions',
  'GET /api/v1/models',
  'GET /api/status',
  'POST /sdk/v1/messages',
  'POST /sdk/v1/chat/completions',
  'GET /sdk/v1/models',
  'GET /metrics',
  'GET /logs/status',
  'GET /logs/query',
  'GET /logs/stream',
  'POST /oauth/login',
];

/** OpenAI-format endpoints; `/models` (and `/models/{id}`) answer OpenAI's shape unless the client sends anthropic-version. */
const isOpenAI = (path: string) => /\/chat\/completions$|\/responses$|\/models(\/x)?$/.test(path);
const isDashboard = (path: string) => path === '/dashboard' || path.startsWith('/dashboard/');

describe('access control', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;
  let routes: Array<{ method: string; path: string }>;

  before(async () => {
    fake = await startFakeUpstream();
    proxy = await startProxy({
      settings: { ...fakeUrls(fake), security: { auth_token: TOKEN }, observability: { enabled: true } },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
    });
    const seen = new Set<string>();
    routes = [];
    const listed = routesOf(proxy.proxy.app.printRoutes({ commonPrefix: false }));
    for (const r of [
      ...listed,
      ...MUST_PROTECT.map((s) => ({ method: s.split(' ')[0], path: s.split(' ')[1] })),
    ]) {
      const key = `${r.method} ${r.path}`;
      if (seen.has(key)) continue;
      seen.add(key);
      routes.push({ method: r.method, path: r.path.replaceAll(/:\w+/g, 'x').replace('*', 'x') });
    }
    assert.ok(listed.length >= 10, `routes found: ${listed.length}`);
  });
  after(async () => {
    await proxy?.close();
    await fake?.close();
  });

  /** One request; bodies of long streams are not waited for. */
  async function send(method: string, path: string, headers: Record<string, string> = {}) {
    const ac = new AbortController();
    const res = await request(`${proxy.url}${path}`, {
      method: method as 'GET',
      headers: { ...(method === 'POST' ? { 'content-type': 'application/json' } : {}), ...headers },
      body: method === 'POST' || method === 'PUT' || method === 'PATCH' ? '{}' : undefined,
      signal: ac.signal,
    });
    const type = String(res.headers['content-type'] ?? '');
    let text = '';
    if (type.includes('text/event-stream')) ac.abort();
    else text = await res.body.text();
    res.body.on('error', () => {});
    return { status: res.statusCode, headers: res.headers, text, type };
  }

  it('covers the routes the app serves', () => {
    const paths = new Set(routes.map((r) => r.path));
    for (const p of ['/api/v1/messages', '/health', '/oauth/callback', '/api/status'])
      assert.ok(paths.has(p), p);
  });

  it('every protected route × {no token, wrong token, right token as x-api-key, right token as Bearer}', async () => {
    const problems: string[] = [];
    for (const { method, path } of routes) {
      if (method === 'OPTIONS') continue;
      const open = PUBLIC_PATHS.includes(path);
      const label = `${method} ${path}`;
      const variants: Array<[string, Record<string, string>]> = [
        ['none', {}],
        ['wrong x-api-key', { 'x-api-key': WRONG }],
        ['wrong Bearer', { authorization: `Bearer ${WRONG}` }],
        ['Basic', { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` }],
        ['right x-api-key', { 'x-api-key': TOKEN }],
        ['right Bearer', { authorization: `Bearer ${TOKEN}` }],
        ['right bearer (any case)', { authorization: `bearer ${TOKEN}` }],
      ];
      for (const [name, headers] of variants) {
        const r = await send(method, path, headers);
        const right = name.startsWith('right');
        if (open || right) {
          if (r.status === 401 && /ccproxy/i.test(r.text))
            problems.push(`${label} [${name}] → 401 ${r.text.slice(0, 120)}`);
          if (r.status === 403) problems.push(`${label} [${name}] → 403`);
          continue;
        }
        if (isDashboard(path) && r.status !== 401) {
          // The dashboard's static page may be public (it asks for the token itself): never data.
          if (/json/.test(r.type))
            problems.push(`${label} [${name}] → ${r.status} ${r.type} without a token`);
          continue;
        }
        if (method === 'HEAD') {
          if (r.status !== 401) problems.push(`${label} [${name}] → ${r.status}`);
          continue;
        }
        if (r.status !== 401) {
          problems.push(`${label} [${name}] → ${r.status}, expected 401`);
          continue;
        }
        const www = String(r.headers['www-authenticate'] ?? '');
        if (!/^Bearer realm="ccproxy"/.test(www))
          problems.push(`${label} [${name}] → no WWW-Authenticate (${www})`);
        if (name !== 'none' && name !== 'Basic' && !/error="invalid_token"/.test(www))
          problems.push(`${label} [${name}] → WWW-Authenticate without error="invalid_token"`);
        const body = JSON.parse(r.text);
        if (isOpenAI(path)) {
          if (!(body.error && typeof body.error.message === 'string' && body.type === undefined))
            problems.push(`${label} [${name}] → not an OpenAI error: ${r.text.slice(0, 120)}`);
        } else if (!(body.type === 'error' && body.error?.type === 'authentication_error'))
          problems.push(`${label} [${name}] → not an Anthropic error: ${r.text.slice(0, 120)}`);
        if (r.text.includes(TOKEN) || r.text.includes(WRONG))
          problems.push(`${label} [${name}] → echoes a token`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('401 bodies: Anthropic shape on Anthropic endpoints, OpenAI shape on OpenAI ones', async () => {
    const a = await send('POST', '/api/v1/messages');
    assert.equal(a.status, 401);
    const ab = JSON.parse(a.text);
    assert.equal(ab.type, 'error');
    assert.equal(ab.error.type, 'authentication_error');
    assert.match(ab.error.message, /x-api-key or Authorization: Bearer/);
    assert.equal(a.headers['www-authenticate'], 'Bearer realm="ccproxy"');
    const o = await send('POST', '/api/v1/chat/completions', { authorization: `Bearer ${WRONG}` });
    assert.equal(o.status, 401);
    const ob = JSON.parse(o.text);
    assert.equal(typeof ob.error.message, 'string');
    assert.equal(ob.type, undefined);
    assert.equal(o.headers['www-authenticate'], 'Bearer realm="ccproxy", error="invalid_token"');
    // The same path speaks both: /v1/models is OpenAI without anthropic-version.
    const m = JSON.parse((await send('GET', '/api/v1/models')).text);
    assert.equal(m.type, undefined);
  });

  it('the right token gets through to the upstream, which never sees it', async () => {
    fake.reset();
    const r = await send('POST', '/api/v1/messages', { 'x-api-key': TOKEN });
    assert.equal(r.status, 400); // empty body: the request got past the guard
    const ok = await request(`${proxy.url}/api/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    assert.equal(ok.statusCode, 200, await ok.body.text());
    const seen = fake.messages()[0];
    assert.equal(seen.headers.authorization, `Bearer ${TEST_ACCESS_TOKEN}`);
    assert.equal(seen.headers['x-api-key'], undefined);
    assert.ok(!JSON.stringify(seen.headers).includes(TOKEN));
  });

  describe('Host header (DNS rebinding) → 403, even with the right token', () => {
    const hosts = [
      'evil.example',
      'evil.example:8000',
      'localhost.evil.example',
      '127.0.0.1.nip.io',
      '127.0.0.1.evil.example:1234',
      '0.0.0.0',
      '',
    ];
    for (const host of hosts) {
      it(`Host: ${JSON.stringify(host)}`, async () => {
        for (const path of ['/api/v1/messages', '/health', '/oauth/callback', '/api/status']) {
          const r = await send(path === '/api/v1/messages' ? 'POST' : 'GET', path, {
            host,
            'x-api-key': TOKEN,
          });
          assert.equal(r.status, 403, `${path} with Host ${host}: ${r.status} ${r.text}`);
        }
      });
    }

    it('no Host header at all (HTTP/1.0) → 403', async () => {
      const { port } = new URL(proxy.url);
      const answer = await new Promise<string>((resolve, reject) => {
        const s = net.connect(Number(port), '127.0.0.1', () =>
          s.end(`GET /api/status HTTP/1.0\r\nx-api-key: ${TOKEN}\r\n\r\n`),
        );
        let data = '';
        s.on('data', (c) => {
          data += c;
        });
        s.on('end', () => resolve(data));
        s.on('error', reject);
      });
      assert.match(answer, /^HTTP\/1\.[01] 403/);
    });

    it('loopback names in any form are fine', async () => {
      const { port } = new URL(proxy.url);
      for (const host of [
        `127.0.0.1:${port}`,
        `localhost:${port}`,
        `LOCALHOST:${port}`,
        `[::1]:${port}`,
        'localhost',
      ])
        assert.equal((await send('GET', '/api/status', { host, 'x-api-key': TOKEN })).status, 200, host);
    });
  });

  describe('Origin (cross-site browser requests) → 403, even with the right token', () => {
    for (const origin of ['http://evil.example', 'null', 'http://localhost.evil.example', 'file://']) {
      it(`Origin: ${origin}`, async () => {
        const post = await send('POST', '/api/v1/messages', { origin, 'x-api-key': TOKEN });
        assert.equal(post.status, 403, post.text);
        assert.equal(post.headers['access-control-allow-origin'], undefined);
        const pre = await send('OPTIONS', '/api/v1/messages', {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'x-api-key, content-type',
        });
        assert.equal(pre.status, 403);
        assert.equal(pre.headers['access-control-allow-origin'], undefined);
      });
    }

    it('a text/plain "simple" POST from a web page cannot reach the upstream', async () => {
      fake.reset();
      const r = await request(`${proxy.url}/api/v1/messages`, {
        method: 'POST',
        headers: { origin: 'https://evil.example', 'content-type': 'text/plain' },
        body: JSON.stringify({
          model: 'claude-sonnet-4-5',
          max_tokens: 5,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });
      assert.equal(r.statusCode, 403);
      await r.body.text();
      assert.equal(fake.messages().length, 0);
    });

    it('same-origin requests are not cross-origin', async () => {
      const r = await send('GET', '/api/status', { origin: proxy.url, 'x-api-key': TOKEN });
      assert.equal(r.status, 200);
    });
  });

  describe('with cors.origins listed', () => {
    let listed: TestProxy;
    before(async () => {
      listed = await startProxy({
        settings: {
          ...fakeUrls(fake),
          security: { auth_token: TOKEN },
          cors: { origins: ['https://app.example'] },
        },
        env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
      });
    });
    after(() => listed?.close());

    it('answers the listed origin’s preflight without a token, and still wants the token for the request', async () => {
      const pre = await request(`${listed.url}/api/v1/messages`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
      });
      assert.equal(pre.statusCode, 204);
      assert.equal(pre.headers['access-control-allow-origin'], 'https://app.example');
      assert.match(String(pre.headers['access-control-allow-headers']), /x-api-key/);
      await pre.body.text();
      const noToken = await request(`${listed.url}/api/status`, {
        headers: { origin: 'https://app.example' },
      });
      assert.equal(noToken.statusCode, 401);
      assert.equal(
        noToken.headers['access-control-allow-origin'],
        'https://app.example',
        'the browser may read the 401',
      );
      await noToken.body.text();
      const other = await request(`${listed.url}/api/status`, {
        headers: { origin: 'https://app.example.evil', 'x-api-key': TOKEN },
      });
      assert.equal(other.statusCode, 403);
      await other.body.text();
    });
  });

  it('bound to every interface with a token: IP literals are fine, unlisted names are not', () => {
    const settings = settingsSchema.parse({ server: { host: '0.0.0.0' }, security: { auth_token: TOKEN } });
    const g = createGuard({ settings });
    g.check('GET', '/api/status', { host: '192.168.1.20:8000', 'x-api-key': TOKEN });
    g.check('GET', '/api/status', { host: '[fe80::1]:8000', 'x-api-key': TOKEN });
    assert.throws(
      () => g.check('GET', '/api/status', { host: 'evil.example:8000', 'x-api-key': TOKEN }),
      (e: unknown) => e instanceof ProxyError && e.kind === 'permission',
    );
  });
});
