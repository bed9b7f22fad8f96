import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { settingsSchema } from '../../src/config/schema.ts';
import { ProxyError } from '../../src/errors.ts';
import { createGuard, isLoopback } from '../../src/server/guard.ts';

const settings = (over: Record<string, unknown> = {}) => settingsSchema.parse(over);
const rejects = (fn: () => void, kind: string, re?: RegExp) =>
  assert.throws(
    fn,
    (e: unknown) => e instanceof ProxyError && e.kind === kind && (!re || re.test(e.message)),
  );

describe('guard', () => {
  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', 'localhost', '::1', '[::1]', '127.1.2.3'])
      assert.equal(isLoopback(h), true, h);
    for (const h of ['0.0.0.0', '192.168.1.2', 'example.com']) assert.equal(isLoopback(h), false, h);
  });

  it('accepts loopback Host headers and refuses others (DNS rebinding)', () => {
    const g = createGuard({ settings: settings() });
    g.check('GET', '/api/status', { host: '127.0.0.1:8000' });
    g.check('GET', '/api/status', { host: 'localhost:8000' });
    g.check('GET', '/api/status', { host: '[::1]:8000' });
    rejects(
      () => g.check('GET', '/api/status', { host: 'evil.example:8000' }),
      'permission',
      /server\.allowed_hosts/,
    );
    rejects(() => g.check('GET', '/api/status', {}), 'permission');
  });

  it('accepts configured host names', () => {
    const g = createGuard({ settings: settings({ server: { allowed_hosts: ['proxy.lan'] } }) });
    g.check('GET', '/api/status', { host: 'proxy.lan:8000' });
  });

  it('refuses cross-origin browser requests unless the origin is listed; same origin is fine', () => {
    const g = createGuard({ settings: settings({ cors: { origins: ['http://app.test'] } }) });
    rejects(
      () => g.check('POST', '/api/v1/messages', { host: '127.0.0.1:8000', origin: 'http://evil.test' }),
      'permission',
      /cors\.origins/,
    );
    g.check('POST', '/api/v1/messages', { host: '127.0.0.1:8000', origin: 'http://app.test' });
    g.check('GET', '/dashboard', { host: '127.0.0.1:8000', origin: 'http://127.0.0.1:8000' });
    assert.equal(
      g.corsHeaders({ origin: 'http://app.test' })?.['access-control-allow-origin'],
      'http://app.test',
    );
    assert.equal(g.corsHeaders({ origin: 'http://evil.test' }), undefined);
  });

  it('with a token: requires it as x-api-key or Bearer, except on public paths', () => {
    const g = createGuard({
      settings: settings({ security: { auth_token: 'ccp_token_1234567890' } }),
      publicPrefixes: ['/dashboard'],
    });
    const host = '127.0.0.1:8000';
    rejects(
      () => g.check('POST', '/api/v1/messages', { host }),
      'authentication',
      /x-api-key or Authorization/,
    );
    rejects(
      () => g.check('POST', '/api/v1/messages', { host, 'x-api-key': 'wrong' }),
      'authentication',
      /Invalid/,
    );
    rejects(
      () => g.check('POST', '/api/v1/messages', { host, authorization: 'Bearer wrong' }),
      'authentication',
    );
    g.check('POST', '/api/v1/messages', { host, 'x-api-key': 'ccp_token_1234567890' });
    g.check('POST', '/api/v1/messages', { host, authorization: 'Bearer ccp_token_1234567890' });
    g.check('GET', '/health', { host });
    g.check('GET', '/health/ready', { host });
    g.check('GET', '/oauth/callback', { host });
    g.check('GET', '/dashboard/app.js', { host });
    rejects(() => g.check('GET', '/metrics', { host }), 'authentication');
    rejects(() => g.check('GET', '/dashboardx', { host }), 'authentication');
  });

  it('the 401 carries WWW-Authenticate', () => {
    const g = createGuard({ settings: settings({ security: { auth_token: 'ccp_token_1234567890' } }) });
    try {
      g.check('GET', '/api/status', { host: 'localhost' });
      assert.fail('should throw');
    } catch (e) {
      assert.match((e as ProxyError).headers?.['www-authenticate'] ?? '', /^Bearer realm="ccproxy"/);
    }
  });
});
