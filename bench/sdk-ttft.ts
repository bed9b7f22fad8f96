/**
 * Time to first token through `/sdk` (the Claude Code agent) against API mode, same fake upstream,
 * same server: cold start, a pre-warmed spare claimed at the request or ahead of it, a session's
 * running process, a stateless conversation's next turn (its agent kept running), and a stateless
 * request with history (a cold start that resumes a transcript). Rounds are interleaved; medians
 * and p90 are reported, with the difference to API mode. Loopback only.
 *
 *   node --import tsx bench/sdk-ttft.ts            10 rounds
 *   node --import tsx bench/sdk-ttft.ts --quick    3 rounds
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Accounts } from '../src/accounts/index.ts';
import { TokenManager } from '../src/auth/token-manager.ts';
import { createApiBackend } from '../src/backends/api/backend.ts';
import { createSdkBackend, type SdkBackend } from '../src/backends/sdk/index.ts';
import { settingsSchema } from '../src/config/schema.ts';
import { buildApp, type ProxyApp } from '../src/server/app.ts';
import { MemorySharedState } from '../src/storage/shared-state.ts';
import { reply, startFakeUpstream, TEST_ACCESS_TOKEN } from '../test/support/fake-upstream.ts';

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 3 : 10;

const fake = await startFakeUpstream();
fake.handle(() => reply.text('The quick brown fox jumps over the lazy dog.', { deltas: 6 }));
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-bench-home-'));
const cwd = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-bench-cwd-')));
const env = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: home,
  CLAUDE_CONFIG_DIR: path.join(home, '.claude'),
  ANTHROPIC_BASE_URL: fake.url,
  CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN,
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  DISABLE_AUTOUPDATER: '1',
};
const log = pino({ level: 'silent' });

function settingsFor(poolSize: number) {
  return settingsSchema.parse({
    server: { port: 0, log_level: 'silent' },
    upstream: { base_url: fake.url },
    // A session and two spares at once: more than the default cap of min(4, cores) on a 2-core machine.
    claude: { cwd, pool_size: poolSize, pool_idle_s: 0, max_concurrent_agents: 4 },
  });
}

async function app(
  poolSize: number,
  withApi: boolean,
): Promise<{ proxy: ProxyApp; url: string; sdk: SdkBackend }> {
  const settings = settingsFor(poolSize);
  const sdk = createSdkBackend({ settings, log, env });
  const tokens = new TokenManager({ settings, env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN }, log });
  const accounts = await Accounts.create({ settings, env: {}, log, tokens, shared: new MemorySharedState() });
  const backends = withApi ? { api: createApiBackend({ settings, accounts, log }), sdk } : { sdk };
  const proxy = await buildApp({ settings, log, tokens, backends });
  return { proxy, url: await proxy.listen(), sdk };
}

/** Milliseconds from sending the request to the first text delta of the answer. */
async function ttft(url: string, messages: unknown[], headers: Record<string, string> = {}): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
      'x-api-key': 'x',
      ...headers,
    },
    body: JSON.stringify({ model: 'claude-sonnet-5-5', max_tokens: 256, stream: true, messages }),
  });
  if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  const decoder = new TextDecoder();
  let seen = '';
  let first: number | undefined;
  for await (const chunk of res.body) {
    seen += decoder.decode(chunk as Uint8Array, { stream: true });
    if (first === undefined && seen.includes('"text_delta"')) first = performance.now() - t0;
  }
  if (first === undefined) throw new Error(`${url}: no text delta in ${seen.slice(0, 300)}`);
  return first;
}

const hi = [{ role: 'user', content: 'Say something.' }];
const history = [
  { role: 'user', content: 'My name is Ada.' },
  { role: 'assistant', content: 'Nice to meet you, Ada.' },
  { role: 'user', content: 'Say something.' },
];

const warm = await app(1, true);
const preclaimed = await app(2, false);
const cold = await app(0, false);
await warm.sdk.warmUp(60_000);

/** Wait until the pool of two has its spare claimed ahead for requests like the last one. */
async function preclaimedReady(): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const pool = (await preclaimed.sdk.status()).pool as { spares_ready: number; spares_preclaimed: number };
    if (pool.spares_ready === 2 && pool.spares_preclaimed === 1) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the pre-claimed spare never got ready: ${JSON.stringify(await preclaimed.sdk.status())}`);
}
// One throwaway request each: module loads, connection pools, the session's first turn.
await ttft(`${warm.url}/api/v1/messages`, hi);
await ttft(`${cold.url}/sdk/v1/messages`, hi);
await ttft(`${warm.url}/sdk/bench-session/v1/messages`, hi);
await preclaimed.sdk.warmUp(60_000);
await ttft(`${preclaimed.url}/sdk/v1/messages`, hi);

const results: Record<string, number[]> = {
  'api mode': [],
  'sdk warm (spare claimed ahead)': [],
  'sdk warm (spare claimed at request)': [],
  'sdk session (running process)': [],
  'sdk stateless next turn (kept)': [],
  'sdk cold start': [],
  'sdk cold + history transcript': [],
};
for (let i = 0; i < ROUNDS; i++) {
  results['api mode'].push(await ttft(`${warm.url}/api/v1/messages`, hi));
  await preclaimedReady();
  results['sdk warm (spare claimed ahead)'].push(await ttft(`${preclaimed.url}/sdk/v1/messages`, hi));
  await warm.sdk.warmUp(60_000);
  results['sdk warm (spare claimed at request)'].push(await ttft(`${warm.url}/sdk/v1/messages`, hi));
  results['sdk session (running process)'].push(await ttft(`${warm.url}/sdk/bench-session/v1/messages`, hi));
  results['sdk cold start'].push(await ttft(`${cold.url}/sdk/v1/messages`, hi));
  // The same client, next turn, no session id: the agent that answered is still running.
  const opening = [{ role: 'user', content: `Round ${i}: say something.` }];
  await ttft(`${cold.url}/sdk/v1/messages`, opening);
  results['sdk stateless next turn (kept)'].push(
    await ttft(`${cold.url}/sdk/v1/messages`, [
      ...opening,
      { role: 'assistant', content: 'The quick brown fox jumps over the lazy dog.' },
      { role: 'user', content: 'And again?' },
    ]),
  );
  results['sdk cold + history transcript'].push(await ttft(`${cold.url}/sdk/v1/messages`, history));
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) => sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))];
const api = median(results['api mode']);
console.log(`time to first token, ${ROUNDS} rounds (ms)`);
console.log('scenario'.padEnd(34), 'median'.padStart(8), 'p90'.padStart(8), 'vs api'.padStart(9));
for (const [name, xs] of Object.entries(results)) {
  const m = median(xs);
  const delta = name === 'api mode' ? '' : `+${(m - api).toFixed(0)}`;
  console.log(name.padEnd(34), m.toFixed(0).padStart(8), p90(xs).toFixed(0).padStart(8), delta.padStart(9));
}

await warm.proxy.close();
await preclaimed.proxy.close();
await cold.proxy.close();
await fake.close();
fs.rmSync(home, { recursive: true, force: true });
fs.rmSync(cwd, { recursive: true, force: true });
