/**
 * Several accounts end to end: the real @anthropic-ai/sdk and openai clients → ccproxy → the fake
 * upstream answering per credential (one account's window used up while another's works). Time is
 * the proxy's injected clock: nothing waits for a real reset.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { AccountView } from '../../src/accounts/index.ts';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import {
  type FakeUpstream,
  type ReceivedRequest,
  reply,
  startFakeUpstream,
} from '../support/fake-upstream.ts';
import { API_KEY, accountOf, gate, TOKEN_A, TOKEN_B, TOKEN_C, until } from './helpers.ts';

const IDENTITY = "You are Claude Code, Anthropic's official CLI for Claude.";

describe('several accounts: failover, probes, affinity', () => {
  let fake: FakeUpstream;
  let proxy: TestProxy;
  let client: Anthropic;
  let openai: OpenAI;
  let clock = Date.now();
  /** Accounts whose window is used up right now. */
  const exhausted = new Set<string>();

  before(async () => {
    fake = await startFakeUpstream({ accessTokens: [TOKEN_A, TOKEN_B, TOKEN_C] });
    proxy = await startProxy({
      settings: {
        upstream: { base_url: fake.url },
        accounts: {
          list: [
            { name: 'a', oauth_token: '${TOKEN_A}' },
            { name: 'b', oauth_token: '${TOKEN_B}' },
            { name: 'c', oauth_token: TOKEN_C, priority: -1 },
          ] as never,
        },
        observability: { access_log: true, flush_interval_ms: 20 },
      },
      env: { TOKEN_A, TOKEN_B },
      app: { clock: () => clock },
    });
    client = new Anthropic({ baseURL: `${proxy.url}/api`, apiKey: 'dummy', maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${proxy.url}/api/v1`, apiKey: 'dummy', maxRetries: 0 });
  });
  after(async () => {
    await proxy?.close();
    await fake?.close();
  });
  beforeEach(async () => {
    fake.reset();
    exhausted.clear();
    fake.handle((r) => (exhausted.has(accountOf(r)) ? reply.rateLimited({ exhausted: true }) : undefined));
    // Every account back to ok, whatever the last test left.
    clock += 7 * 24 * 3600_000;
    for (const name of ['a', 'b', 'c']) proxy.proxy.accounts.get(name)!.recovered();
  });

  const ask = (text = 'Hello', opts: Partial<Anthropic.MessageCreateParamsNonStreaming> = {}) =>
    client.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: text }],
      ...opts,
    });
  const used = () => fake.messages().map(accountOf);
  const views = async (): Promise<AccountView[]> =>
    ((await (await fetch(`${proxy.url}/api/status`)).json()) as { accounts: AccountView[] }).accounts;

  it('one account used up: every request is answered by the next, the used-up one tried once, then back after its reset', async () => {
    exhausted.add('a');
    for (let i = 0; i < 6; i++) {
      const msg = await (i % 2
        ? ask(`q${i}`)
        : client.messages
            .stream({
              model: 'claude-sonnet-5-5',
              max_tokens: 64,
              messages: [{ role: 'user', content: `q${i}` }],
            })
            .finalMessage());
      assert.equal(msg.content[0]?.type, 'text');
    }
    assert.deepEqual(used(), ['a', 'b', 'b', 'b', 'b', 'b', 'b']);
    const a = (await views()).find((v) => v.name === 'a')!;
    assert.equal(a.state, 'cooling');
    assert.ok(a.until && Date.parse(a.until) > clock, 'cooling until the reset the upstream gave');
    assert.match(a.reason!, /usage window exhausted/);
    assert.equal(a.status, 'rejected');

    // Past the reset the upstream gave (the fake says 3 h): a is taken again by itself.
    exhausted.delete('a');
    clock += 3 * 3600_000 + 60_000;
    fake.reset();
    fake.handle(() => undefined);
    await ask('after the reset');
    await ask('and again');
    assert.deepEqual(used(), ['a', 'a']);
    assert.equal((await views()).find((v) => v.name === 'a')?.state, 'ok');
  });

  it('a burst after recovery goes through one probe first', async () => {
    exhausted.add('a');
    await ask('first');
    assert.deepEqual(used(), ['a', 'b']);
    exhausted.delete('a');
    clock += 4 * 3600_000;
    fake.reset();
    // The probe waits at the upstream until the test lets it go.
    const held = gate();
    let probed = false;
    fake.handle(async (r) => {
      if (accountOf(r) === 'a' && !probed) {
        probed = true;
        await held.promise;
      }
      return undefined;
    });
    const probe = ask('probe');
    await fake.waitForRequest((r) => accountOf(r) === 'a');
    const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => ask(`burst ${i}`)));
    assert.equal(burst.length, 8);
    assert.deepEqual(used().sort(), ['a', ...Array(8).fill('b')]);
    held.open();
    await probe;
    await Promise.all(Array.from({ length: 4 }, (_, i) => ask(`after ${i}`)));
    assert.deepEqual(used().slice(9), ['a', 'a', 'a', 'a']);
  });

  it('a transient 429 is retried on the same account, not failed over', async () => {
    fake.enqueue(reply.rateLimited({ retryAfter: 0 }));
    await ask();
    assert.deepEqual(used(), ['a', 'a']);
  });

  it('a rejected credential (401) marks the account invalid with the reason; a 403 cools it; the others answer', async () => {
    fake.credentials.accessTokens.delete(TOKEN_A);
    try {
      await ask();
      assert.deepEqual(used(), ['a', 'b']);
      const a = (await views()).find((v) => v.name === 'a')!;
      assert.equal(a.state, 'invalid');
      assert.equal(
        a.reason,
        'The upstream rejected the credential ccproxy sent (Invalid bearer token). Replace it (environment variable TOKEN_A) with a new token from `claude setup-token`.',
      );
      await ask();
      assert.deepEqual(used(), ['a', 'b', 'b']);
    } finally {
      fake.credentials.accessTokens.add(TOKEN_A);
    }
    proxy.proxy.accounts.get('a')!.recovered();
    fake.reset();
    fake.enqueue(reply.error(403, 'permission_error', 'This organization has been disabled.'));
    await ask('a new conversation');
    assert.deepEqual(used(), ['a', 'b']);
    const a = (await views()).find((v) => v.name === 'a')!;
    assert.deepEqual(
      [a.state, a.reason],
      ['cooling', 'permission error: This organization has been disabled.'],
    );
  });

  it('every subscription used up and no spill-over: the plan-limit error, as with one account', async () => {
    exhausted.add('a').add('b').add('c');
    const err = await ask().then(
      () => assert.fail('expected a 429'),
      (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
    );
    assert.equal(err.status, 429);
    assert.equal((err.error as { error: { type: string } }).error.type, 'rate_limit_error');
    assert.deepEqual(used(), ['a', 'b', 'c']);
    // Now all are cooling: the one whose cooldown ends first answers for itself, once.
    fake.reset();
    fake.handle((r) => (exhausted.has(accountOf(r)) ? reply.rateLimited({ exhausted: true }) : undefined));
    await assert.rejects(ask(), (e: { status?: number }) => e.status === 429);
    assert.equal(used().length, 1);
  });

  /**
   * Conversation one starts on a; a cools, so conversation two starts on b; when a is back, each
   * conversation stays on its account. `convo(first, turns)` sends a conversation's next turns.
   */
  const eachStaysOnItsAccount = async (convo: (first: string, turns: number) => Promise<void>) => {
    await convo('conversation one', 1);
    assert.deepEqual(used(), ['a']);
    exhausted.add('a');
    await convo('conversation two', 1);
    exhausted.delete('a');
    clock += 4 * 3600_000;
    fake.reset();
    fake.handle(() => undefined);
    await convo('conversation two', 3);
    await convo('conversation one', 2);
    assert.deepEqual(used(), ['b', 'b', 'b', 'a', 'a']);
  };

  it('a conversation stays on its account while it can answer, also once its first choice is back', async () => {
    const convo = async (first: string, turns: number) => {
      const messages: OpenAI.ChatCompletionMessageParam[] = [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: first },
      ];
      for (let i = 0; i < turns; i++) {
        const c = await openai.chat.completions.create({ model: 'claude-sonnet-5-5', messages });
        messages.push(
          { role: 'assistant', content: c.choices[0]!.message.content ?? '' },
          { role: 'user', content: `more ${i}` },
        );
      }
    };
    await eachStaysOnItsAccount(convo);
  });

  it('an agent-sized conversation keeps its account too, its turns read only up to the first question', async () => {
    // Large enough to be left unread (body-bytes.ts): the key reads the first user message item by
    // item; the conversation goes upstream as the client sent it.
    const bulk = 'code();\n'.repeat(5000);
    const convo = async (first: string, turns: number) => {
      const messages: Anthropic.MessageParam[] = [{ role: 'user', content: `${first}\n${bulk}` }];
      for (let i = 0; i < turns; i++) {
        const m = await ask('', { messages });
        const sent = fake.messages().at(-1)!.rawBody;
        assert.ok(sent.length > 32 * 1024, `${sent.length} bytes`);
        assert.ok(sent.includes(JSON.stringify(messages)), 'the conversation as sent');
        messages.push(
          { role: 'assistant', content: (m.content[0] as Anthropic.TextBlock).text },
          { role: 'user', content: `more ${i} ${bulk}` },
        );
      }
    };
    await eachStaysOnItsAccount(convo);
  });

  it('a conversation that must move drops the thinking signed by its old account, and succeeds', async () => {
    // The fake, like the API, refuses thinking another account signed.
    const signedBy = new Map<string, string>();
    const handler = (r: ReceivedRequest) => {
      const who = accountOf(r);
      const body = r.body as { messages: Array<{ content: unknown }> };
      for (const m of body.messages) {
        if (!Array.isArray(m.content)) continue;
        for (const b of m.content as Array<{ type: string; signature?: string }>) {
          if (b.type === 'thinking' && signedBy.get(b.signature ?? '') !== who)
            return reply.invalidRequest('messages.1.content.0: Invalid `signature` in `thinking` block');
        }
      }
      if (exhausted.has(who)) return reply.rateLimited({ exhausted: true });
      const signature = `sig-${who}-${r.seq}`;
      signedBy.set(signature, who);
      return reply.thinking('Let me think.', `Answer from ${who}.`, { signature });
    };
    fake.handle(handler);
    const thinking = { type: 'enabled' as const, budget_tokens: 1024 };
    const first = await client.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 2048,
      thinking,
      messages: [{ role: 'user', content: 'Think about it.' }],
    });
    assert.equal(first.content[0]?.type, 'thinking');
    exhausted.add('a');
    const second = await client.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 2048,
      thinking,
      messages: [
        { role: 'user', content: 'Think about it.' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: 'And now?' },
      ],
    });
    assert.equal((second.content[1] as { text: string }).text, 'Answer from b.');
    assert.deepEqual(used(), ['a', 'a', 'b']);
    const toB = fake.messages()[2]!.body as { messages: Array<{ role: string; content: unknown }> };
    // b got the whole conversation but a's thinking: the earlier answer and the new question.
    assert.deepEqual(
      toB.messages.map((m) => [m.role, JSON.stringify(m.content).includes('"thinking"')]),
      [
        ['user', false],
        ['assistant', false],
        ['user', false],
      ],
    );
    assert.match(JSON.stringify(toB.messages[1]), /Answer from a\./);

    // A history this proxy never saw begin (another instance, a restart): refused once, then sent without it.
    fake.reset();
    fake.handle(handler);
    signedBy.clear();
    exhausted.clear();
    const fresh = await client.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 2048,
      thinking,
      messages: [
        { role: 'user', content: 'Somewhere else.' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'x', signature: 'sig-elsewhere' },
            { type: 'text', text: 'hi' },
          ],
        },
        { role: 'user', content: 'Go on.' },
      ],
    });
    assert.equal(fresh.content[0]?.type, 'thinking');
    assert.equal(fake.messages().length, 2);
    assert.equal(fake.messages()[0]!.status, 400);
  });

  it('/api/status lists every account by name and state, never a token', async () => {
    exhausted.add('b');
    proxy.proxy.accounts.get('a')!.cool(clock + 60_000, 'test');
    await ask();
    const res = await fetch(`${proxy.url}/api/status`);
    const text = await res.text();
    assert.doesNotMatch(text, /sk-ant-o/);
    const list = (JSON.parse(text) as { accounts: AccountView[] }).accounts;
    assert.deepEqual(
      list.map((v) => [v.name, v.kind, v.billing, v.state]),
      [
        ['a', 'oauth_token', 'subscription', 'cooling'],
        ['b', 'oauth_token', 'subscription', 'cooling'],
        ['c', 'oauth_token', 'subscription', 'ok'],
      ],
    );
    const c = list.find((v) => v.name === 'c')!;
    assert.equal(c.windows['5h']?.utilization, 0.12);
    assert.ok(c.windows['5h']?.resets_at);
    assert.equal(c.credential?.source, 'accounts.list oauth_token');
    assert.equal(list[0]!.credential?.source, 'environment variable TOKEN_A');
    assert.doesNotMatch(proxy.logs(), /account-a-0000|account-b-0000|account-c-0000/);
  });

  it('every request in the access log names its account and billing', async () => {
    exhausted.add('a');
    await ask('logged');
    const rows = await until(async () => {
      const page = (await (await fetch(`${proxy.url}/logs/query?q=&limit=5`)).json()) as {
        rows: Array<{ account: string; billing: string; status: number }>;
      };
      return page.rows.length > 0;
    }).then(
      async () =>
        (
          (await (await fetch(`${proxy.url}/logs/query?limit=500`)).json()) as {
            rows: Array<{ account: string | null; billing: string | null }>;
          }
        ).rows,
    );
    assert.ok(rows.every((r) => r.account !== null && r.billing === 'subscription'));
    assert.ok(rows.some((r) => r.account === 'b'));
  });
});

describe('spill-over to an API key', () => {
  let fake: FakeUpstream;

  before(async () => {
    fake = await startFakeUpstream({ accessTokens: [TOKEN_A], apiKeys: [API_KEY] });
  });
  after(async () => {
    await fake?.close();
  });

  async function start(spill: boolean, cap = 5): Promise<{ proxy: TestProxy; client: Anthropic }> {
    fake.reset();
    fake.handle((r: ReceivedRequest) =>
      accountOf(r) === 'a'
        ? reply.rateLimited({ exhausted: true })
        : reply.text('Paid for.', { usage: { input_tokens: 1000, output_tokens: 1000 } }),
    );
    const proxy = await startProxy({
      settings: {
        upstream: { base_url: fake.url },
        accounts: {
          spill_over: spill,
          list: [
            { name: 'a', oauth_token: TOKEN_A },
            { name: 'payg', api_key: '${PAYG}' },
          ] as never,
        },
        limits: { spill_over_daily_usd: cap },
        observability: { access_log: true, flush_interval_ms: 20 },
      },
      env: { PAYG: API_KEY },
    });
    return { proxy, client: new Anthropic({ baseURL: `${proxy.url}/api`, apiKey: 'dummy', maxRetries: 0 }) };
  }

  const ask = (client: Anthropic) =>
    client.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 64,
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'Hi' }],
    });

  it('off: the API key is never used; clients get the plan-limit error', async () => {
    const { proxy, client } = await start(false);
    try {
      await assert.rejects(ask(client), (e: { status?: number }) => e.status === 429);
      await assert.rejects(ask(client), (e: { status?: number }) => e.status === 429);
      assert.deepEqual(fake.messages().map(accountOf), ['a', 'a']);
    } finally {
      await proxy.close();
    }
  });

  it('on: the API key answers (x-api-key, no OAuth beta, no identity) until the daily cap, then the plan-limit error', async () => {
    // Each answer costs 1000 × $2 + 1000 × $10 per million = $0.012; a cap of $0.02 allows two.
    const { proxy, client } = await start(true, 0.02);
    try {
      const spent = async () =>
        ((await (await fetch(`${proxy.url}/accounts`)).json()) as { spill_over_spent_usd: number })
          .spill_over_spent_usd;
      assert.equal((await ask(client)).content[0]?.type, 'text');
      await until(async () => (await spent()) > 0.011, 'the first spill-over cost counted');
      assert.equal((await ask(client)).content[0]?.type, 'text');
      await until(async () => (await spent()) > 0.023, 'the second spill-over cost counted');
      await assert.rejects(ask(client), (e: { status?: number }) => e.status === 429);
      assert.deepEqual(fake.messages().map(accountOf), ['a', 'payg', 'payg', 'a']);

      const paid = fake.messages()[1]!;
      assert.equal(paid.headers.authorization, undefined);
      assert.equal(paid.headers['x-api-key'], API_KEY);
      assert.doesNotMatch(String(paid.headers['anthropic-beta'] ?? ''), /oauth/);
      assert.deepEqual((paid.body as { system: unknown }).system, 'Be brief.');
      assert.doesNotMatch(JSON.stringify(paid.body), new RegExp(IDENTITY.slice(0, 20)));

      await until(async () => {
        const r = (await (await fetch(`${proxy.url}/logs/query?account=payg`)).json()) as { rows: unknown[] };
        return r.rows.length === 2;
      }, 'the spill-over rows');
      const rows = (
        (await (await fetch(`${proxy.url}/logs/query?account=payg`)).json()) as {
          rows: Array<{ billing: string; cost_usd: number }>;
        }
      ).rows;
      for (const r of rows) {
        assert.equal(r.billing, 'api_key');
        assert.ok(Math.abs(r.cost_usd - 0.012) < 1e-9);
      }
      assert.doesNotMatch(proxy.logs(), /pay-as-you-go-0000/);
    } finally {
      await proxy.close();
    }
  });
});
