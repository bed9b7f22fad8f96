import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fastify from 'fastify';
import { registerDashboard } from '../../src/observability/dashboard-routes.ts';
import { isPublicDashboardPath, PUBLIC_DASHBOARD_PATHS } from '../../src/observability/index.ts';
import { silent, tempDir } from './helpers.ts';

function bundle(dir: string): string {
  const out = path.join(dir, 'bundle');
  fs.mkdirSync(out);
  fs.writeFileSync(
    path.join(out, 'index.html'),
    '<!doctype html><script type="module" src="/dashboard/main-ABCD2345.js"></script>',
  );
  fs.writeFileSync(path.join(out, 'main-ABCD2345.js'), 'console.log(1)');
  fs.writeFileSync(path.join(out, 'notes.txt'), 'not served: unknown type');
  fs.writeFileSync(path.join(dir, 'secret.json'), '{"token":"x"}');
  return out;
}

test('the page and its assets are served with a strict CSP; nothing else is', async (t) => {
  const dir = tempDir(t);
  const app = fastify({ routerOptions: { ignoreTrailingSlash: true } });
  registerDashboard(app, { dir: bundle(dir), log: silent });
  t.after(() => app.close());

  for (const url of ['/dashboard', '/dashboard/']) {
    const page = await app.inject({ url });
    assert.equal(page.statusCode, 200, url);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
  }
  const js = await app.inject({ url: '/dashboard/main-ABCD2345.js' });
  assert.equal(js.statusCode, 200);
  assert.match(String(js.headers['content-type']), /^text\/javascript/);
  assert.match(String(js.headers['cache-control']), /immutable/);

  for (const url of [
    '/dashboard/notes.txt',
    '/dashboard/missing.js',
    '/dashboard/../secret.json',
    '/dashboard/%2e%2e/secret.json',
    '/dashboard/..%2fsecret.json',
  ]) {
    assert.equal((await app.inject({ url })).statusCode, 404, url);
  }
});

test('without a bundle the page says how to build it', async (t) => {
  const app = fastify();
  registerDashboard(app, { dir: path.join(tempDir(t), 'nothing-here'), log: silent });
  t.after(() => app.close());
  const res = await app.inject({ url: '/dashboard' });
  assert.equal(res.statusCode, 503);
  assert.match(res.body, /npm run build/);
});

test('public paths: the dashboard and its assets, nothing that merely starts the same', () => {
  assert.deepEqual(PUBLIC_DASHBOARD_PATHS, ['/dashboard']);
  assert.ok(isPublicDashboardPath('/dashboard'));
  assert.ok(isPublicDashboardPath('/dashboard/'));
  assert.ok(isPublicDashboardPath('/dashboard/main-ABCD2345.js?v=1'));
  assert.ok(!isPublicDashboardPath('/dashboards'));
  assert.ok(!isPublicDashboardPath('/dashboard-data'));
  assert.ok(!isPublicDashboardPath('/logs/query'));
  assert.ok(!isPublicDashboardPath('/api/v1/messages?x=/dashboard'));
});
