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
    } finally {
      await p.close();
    }
  });
});
