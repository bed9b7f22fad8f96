/**
 * `/health` follows the health-check draft: the body's `status` says pass, warn or fail, and the HTTP
 * status carries the verdict for load balancers and container checks (fail = 503, warn stays 200).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startProxy } from '../helpers/proxy.ts';

async function health(url: string) {
  const res = await fetch(`${url}/health`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/health\+json/);
  return {
    code: res.status,
    body: (await res.json()) as { status: string; checks: Record<string, unknown> },
  };
}

describe('/health', () => {
  it('pass: 200', async () => {
    const p = await startProxy({ env: { CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-health' } });
    try {
      // SDK mode's check depends on the Claude Code binary; the verdict comes from every check.
      const h = await health(p.url);
      assert.equal(h.code, 200);
      assert.ok(['pass', 'warn'].includes(h.body.status));
    } finally {
      await p.close();
    }
  });

  it('warn (SDK mode cannot run its agent): still 200, the proxy serves API mode', async () => {
    const p = await startProxy({
      env: { CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-health' },
      settings: { claude: { cli_path: '/nonexistent/claude' } },
    });
    try {
      const h = await health(p.url);
      assert.equal(h.body.status, 'warn');
      assert.equal(h.code, 200);
      assert.match(JSON.stringify(h.body.checks['sdk:backend']), /nonexistent/);
    } finally {
      await p.close();
    }
  });

  it('fail (no subscription credentials): 503 with the same body; live stays 200', async () => {
    const p = await startProxy();
    try {
      const h = await health(p.url);
      assert.equal(h.body.status, 'fail');
      assert.equal(h.code, 503);
      assert.match(JSON.stringify(h.body.checks['credentials:login']), /ccproxy auth login/);
      assert.equal((await fetch(`${p.url}/health/live`)).status, 200);
      assert.equal((await fetch(`${p.url}/health/ready`)).status, 503);
      // An uptime monitor's HEAD gets the same verdict, without a body.
      const head = (path: string) => fetch(`${p.url}${path}`, { method: 'HEAD' });
      assert.equal((await head('/health')).status, 503);
      assert.equal((await head('/health/live')).status, 200);
      assert.equal((await head('/health/ready')).status, 503);
    } finally {
      await p.close();
    }
  });

  it('HEAD: the health checks and `/` without a token, the model list with one, 405 where only POST is', async () => {
    const p = await startProxy({
      env: { CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-health' },
      settings: { security: { auth_token: 'sk-proxy-head-test-token-0123456789' } },
    });
    try {
      const head = (path: string, headers: Record<string, string> = {}) =>
        fetch(`${p.url}${path}`, { method: 'HEAD', headers });
      const ok = await head('/health');
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), '');
      assert.equal((await head('/health/live')).status, 200);
      const auth = { authorization: 'Bearer sk-proxy-head-test-token-0123456789' };
      assert.equal((await head('/', auth)).status, 200);
      assert.equal((await head('/api/v1/models')).status, 401, 'the token is still asked for');
      assert.equal((await head('/api/v1/models', auth)).status, 200);
      const post = await head('/api/v1/messages', auth);
      assert.equal(post.status, 405);
      assert.equal(post.headers.get('allow'), 'POST');
    } finally {
      await p.close();
    }
  });
});
