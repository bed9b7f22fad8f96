/** The runnable examples in examples/ work against a real proxy (with the fake upstream behind it). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, reply, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

const run = promisify(execFile);
const root = path.join(import.meta.dirname, '..', '..');
const CITY = { name: 'Tokyo', country: 'Japan', population: 14_000_000 };

describe('examples', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;
  before(async () => {
    fake = await startFakeUpstream();
    // Structured-output requests get JSON back (natively or through the forced tool), the rest text.
    fake.handle((req) => {
      const body = req.body as {
        output_config?: { format?: unknown };
        tool_choice?: { type: string; name?: string };
      };
      if (body.tool_choice?.type === 'tool' && body.tool_choice.name) {
        return reply.toolUse({ name: body.tool_choice.name, input: CITY, id: 'toolu_01Example' });
      }
      if (body.output_config?.format) return reply.text(JSON.stringify(CITY));
      return undefined;
    });
    proxy = await startProxy({
      settings: { upstream: { base_url: fake.url } },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
      logLevel: 'warn',
    });
  });
  after(async () => {
    await proxy.close();
    await fake.close();
  });

  const env = () => ({
    ...process.env,
    ANTHROPIC_BASE_URL: `${proxy.url}/api`,
    OPENAI_BASE_URL: `${proxy.url}/api/v1`,
    CCPROXY_URL: proxy.url,
  });

  for (const file of ['anthropic-sdk.ts', 'openai-sdk.ts', 'openai-tools.ts']) {
    it(`${file} runs to the end`, async () => {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join('examples', file)], {
        cwd: root,
        timeout: 60_000,
        env: env(),
      });
      assert.ok(stdout.length > 0);
      if (file === 'openai-sdk.ts') assert.match(stdout, /Tokyo/);
    });
  }

  it('curl.sh runs its API-mode calls', async () => {
    // SDK mode needs a logged-in Claude Code; the script's API-mode half is what runs here.
    const { stdout } = await run('bash', [path.join(root, 'examples', 'curl.sh'), '--api-only'], {
      timeout: 60_000,
      env: env(),
    });
    assert.match(stdout, /"type":"message"/);
    assert.match(stdout, /chat\.completion/);
    assert.match(stdout, /"status"/);
  });
});
