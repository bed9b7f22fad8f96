/**
 * What choosing an account costs a request, in CPU: everything the API backend does per request
 * for its account — the conversation key (with several accounts), the lease, the rate-limit
 * headers it reads off the answer, the outcome and the end — with no accounts configured, one, and
 * ten (priority, round_robin and least_used). In-process and synchronous: no network, no upstream,
 * so the figure is the accounts layer's own. Goal (issue 11): ≤ 0.02 ms with one account, ≤ 0.05 ms
 * with ten.
 *
 *   node --import tsx bench/accounts.ts [--quick]      (or npm run bench -- --only=accounts)
 */
import pino from 'pino';
import { Accounts, conversationKey } from '../src/accounts/index.ts';
import { TokenManager } from '../src/auth/token-manager.ts';
import { settingsSchema } from '../src/config/schema.ts';
import type { MessagesRequest } from '../src/formats/anthropic/types.ts';
import { MemorySharedState } from '../src/storage/shared-state.ts';
import { DEFAULT_RATE_LIMIT, rateLimitHeaders } from '../test/support/headers.ts';

const QUICK = process.argv.includes('--quick');
const N = QUICK ? 20_000 : 100_000;
const ROUNDS = QUICK ? 1 : 5;
const log = pino({ level: 'silent' });
const TOKEN = 'sk-ant-oat01-bench-token-000000000000000000';

async function setup(count: number, strategy: string): Promise<Accounts> {
  const list = Array.from({ length: count }, (_, i) => ({ name: `acct-${i}`, oauth_token: `${TOKEN}-${i}` }));
  const settings = settingsSchema.parse({ accounts: { list, strategy } });
  const env = { CLAUDE_CODE_OAUTH_TOKEN: TOKEN };
  const tokens = new TokenManager({ settings, env, log });
  return Accounts.create({ settings, env, log, tokens, shared: new MemorySharedState() });
}

/** A conversation's turn as clients send it: a system prompt and some history. */
function request(i: number): MessagesRequest {
  return {
    model: 'claude-sonnet-5-5',
    max_tokens: 1024,
    system: `You are a helpful assistant for project ${i % 50}. ${'Be brief. '.repeat(40)}`,
    messages: [
      { role: 'user', content: `Conversation ${i % 50}: ${'some context '.repeat(60)}` },
      { role: 'assistant', content: 'Sure.' },
      { role: 'user', content: 'Go on.' },
    ],
  } as MessagesRequest;
}

/** CPU ms per request over N requests, the median of ROUNDS. */
function measure(accounts: Accounts): number {
  const reqs = Array.from({ length: 100 }, (_, i) => request(i));
  const headers = rateLimitHeaders(DEFAULT_RATE_LIMIT);
  const clientHeaders = { 'user-agent': 'bench' };
  const one = (i: number) => {
    const req = reqs[i % reqs.length]!;
    const key = accounts.several ? conversationKey(req, clientHeaders, undefined) : undefined;
    const lease = accounts.lease(key, new Set())!;
    lease.onHeaders(headers);
    lease.succeeded();
    lease.end();
  };
  for (let i = 0; i < N / 10; i++) one(i); // warm up
  const out: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const a = process.cpuUsage();
    for (let i = 0; i < N; i++) one(i);
    const b = process.cpuUsage(a);
    out.push((b.user + b.system) / 1000 / N);
  }
  return out.sort((x, y) => x - y)[Math.floor(out.length / 2)]!;
}

const cases: Array<[string, number, string]> = [
  ['none configured', 0, 'priority'],
  ['1 account', 1, 'priority'],
  ['10 accounts, priority', 10, 'priority'],
  ['10 accounts, round_robin', 10, 'round_robin'],
  ['10 accounts, least_used', 10, 'least_used'],
];
console.log(`\nAccount selection: CPU per request (${N} requests, median of ${ROUNDS})\n`);
console.log('| accounts | CPU ms/req |\n|---|---:|');
for (const [name, count, strategy] of cases) {
  const accounts = await setup(count, strategy);
  console.log(`| ${name} | ${measure(accounts).toFixed(4)} |`);
  accounts.close();
}
