/**
 * Limits: the proxy's own concurrency limit (queue, queue timeout, clients that leave the queue) and
 * the plan's (limits.block_overage refuses requests that would be billed as extra usage until the
 * window resets, and lifts the moment it does; an upstream 429 leaves no cooldown behind).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { bodyFor, errorOf, FORMATS, PATHS, typeFor } from '../helpers/formats.ts';
import { reply } from '../support/fake-upstream.ts';
import { activeResources, assertNoLeaks, type Bench, nextId, startBench, until } from './harness.ts';

/** A gate the fake's answers wait behind, and how many requests it holds at once (and at most). */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  const g = { waiting: 0, peak: 0, open, opened };
  return g;
}

describe('resilience: upstream.max_concurrency', () => {
  let resources: Map<string, number>;
  let bench: Bench;

  before(async () => {
    resources = activeResources();
    bench = await startBench({ upstream: { max_concurrency: 2, queue_timeout_s: 30 } });
  });
  after(async () => {
    await bench?.close();
  });

  it('beyond the limit requests wait in line; the upstream never sees more than the limit', async () => {
    const g = gate();
    let active = 0;
    bench.fake.handle(async (r) => {
      active++;
      g.peak = Math.max(g.peak, active);
      void r.ended.then(() => active--);
      await g.opened;
      return reply.text('in turn', { deltas: 2 });
    });
    const runs = [...FORMATS, ...FORMATS].map((format, i) =>
      bench.post(format, bodyFor(format, i % 2 === 0)),
    );
    const status = await until('two in flight and four queued', async () => {
      const s = (await bench.get('/api/status')).json;
      return s.concurrency.in_flight === 2 && s.concurrency.queued === 4 && s;
    });
    assert.deepEqual(status.concurrency, { max: 2, in_flight: 2, queued: 4 });
    assert.equal(bench.fake.messages().length, 2);
    g.open();
    const answers = await Promise.all(runs);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200, 200, 200, 200],
    );
    assert.equal(g.peak, 2);
    assert.equal(bench.fake.messages().length, 6);
    await until(
      'slots released',
      async () => (await bench.get('/api/status')).json.concurrency.in_flight === 0,
    );
    bench.fake.handle(undefined);
  });

  it('a client that hangs up while queued leaves the queue and never reaches the upstream', async () => {
    const g = gate();
    bench.fake.handle(async () => {
      await g.opened;
      return reply.text('held', { deltas: 1 });
    });
    const held = [
      bench.post('openai', bodyFor('openai', true)),
      bench.post('anthropic', bodyFor('anthropic', false)),
    ];
    const ac = new AbortController();
    const leaving = request(`${bench.proxy.url}${PATHS.openai}`, {
      method: 'POST',
      dispatcher: bench.agent,
      headers: { 'content-type': 'application/json', 'x-request-id': nextId('leaver') },
      body: JSON.stringify(bodyFor('openai', true, 'I will leave')),
      signal: ac.signal,
    }).catch(() => undefined);
    await until('one queued', async () => (await bench.get('/api/status')).json.concurrency.queued === 1);
    ac.abort();
    await leaving;
    await until(
      'the queue empty again',
      async () => (await bench.get('/api/status')).json.concurrency.queued === 0,
    );
    g.open();
    assert.deepEqual(
      (await Promise.all(held)).map((a) => a.status),
      [200, 200],
    );
    assert.equal(
      bench.fake.messages().filter((m) => JSON.stringify(m.body).includes('I will leave')).length,
      0,
    );
    bench.fake.handle(undefined);
  });

  it('a wait beyond upstream.queue_timeout_s → 429 with retry-after, in each client format', async () => {
    const tight = await startBench({ upstream: { max_concurrency: 1, queue_timeout_s: 0.2 } });
    try {
      const g = gate();
      tight.fake.handle(async () => {
        await g.opened;
        return reply.text('slow', { deltas: 1 });
      });
      const holder = tight.post('anthropic', bodyFor('anthropic', true));
      await until(
        'the slot taken',
        async () => (await tight.get('/api/status')).json.concurrency.in_flight === 1,
      );
      const ids = FORMATS.map(() => nextId('queue-timeout'));
      const refused = await Promise.all(
        FORMATS.map((format, i) => tight.post(format, bodyFor(format, true), { id: ids[i] })),
      );
      for (const [i, format] of FORMATS.entries()) {
        const a = refused[i]!;
        assert.equal(a.status, 429, format);
        assert.equal(a.headers['retry-after'], '1', format);
        const e = errorOf(format, a)!;
        assert.equal(e.type, typeFor('rate_limited', format), format);
        assert.match(e.message, /upstream\.max_concurrency.*upstream\.queue_timeout_s/);
      }
      g.open();
      assert.equal((await holder).status, 200);
      assert.equal(tight.fake.messages().length, 1, 'the refused requests never reached the upstream');
      const rows = await tight.rows(ids);
      for (const id of ids) {
        assert.equal(rows.get(id)!.status, 429);
        assert.equal(rows.get(id)!.error_kind, 'rate_limited');
      }
    } finally {
      await tight.close();
    }
  });

  it('leaves nothing open', async () => {
    await bench.close();
    await assertNoLeaks(resources);
  });
});

describe('resilience: limits.block_overage', () => {
  let resources: Map<string, number>;

  before(() => {
    resources = activeResources();
  });

  /** A fresh proxy (readings are the proxy's own state) with block_overage on, closed afterwards. */
  async function withBench(
    fn: (b: Bench) => Promise<void>,
    blockOverage = true,
    clock?: () => number,
  ): Promise<void> {
    const b = await startBench({ limits: { block_overage: blockOverage } }, {}, { clock });
    try {
      await fn(b);
    } finally {
      await b.close();
    }
  }

  /** The plan's 5-hour window used up, extra usage open and drawn on (as the API reports it on a 200). */
  const onOverage = (b: Bench, resetIn: number) =>
    b.fake.setRateLimit({
      status: 'rejected',
      fiveHourUtilization: 1,
      fiveHourResetIn: resetIn,
      overageStatus: 'allowed',
      overageDisabledReason: undefined,
      overageInUse: true,
    });

  it('once the readings say the next request would be billed as extra usage, requests are refused until the reset', () =>
    withBench(async (bench) => {
      onOverage(bench, 3600);
      // This answer was already paid as overage: the proxy learns it from its headers.
      assert.equal((await bench.post('anthropic', bodyFor('anthropic', false))).status, 200);
      const ids = FORMATS.flatMap((f) => [nextId(`blocked-${f}`), nextId(`blocked-${f}`)]);
      const answers = await Promise.all(
        FORMATS.flatMap((format, i) =>
          [false, true].map((stream, j) =>
            bench.post(format, bodyFor(format, stream), { id: ids[i * 2 + j] }),
          ),
        ),
      );
      for (const [i, a] of answers.entries()) {
        const format = FORMATS[Math.floor(i / 2)]!;
        assert.equal(a.status, 429, format);
        const retryAfter = Number(a.headers['retry-after']);
        assert.ok(retryAfter > 3500 && retryAfter <= 3600, `retry-after ${retryAfter}`);
        assert.equal(a.headers['x-ccproxy-refused'], 'overage');
        const e = errorOf(format, a)!;
        assert.equal(e.type, typeFor('rate_limited', format));
        assert.match(
          e.message,
          /5-hour window is used up until it resets at \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in (59m|1h)\)/,
        );
        assert.match(e.message, /limits\.block_overage/);
      }
      assert.equal(bench.fake.messages().length, 1, 'nothing more was spent');
      const rows = await bench.rows(ids);
      for (const id of ids) {
        assert.equal(rows.get(id)!.status, 429);
        assert.equal(rows.get(id)!.error_kind, 'rate_limited');
      }
      const status = (await bench.get('/api/status')).json;
      assert.ok(status.limits.overage_blocked_until);
      assert.equal(status.rate_limits.overage.inUse, true);
    }));

  it('the moment the window resets, requests flow again (no restart, no stale state)', () => {
    // The proxy's clock stands still until the test moves it across the reset: no waiting, and no
    // race between a slow request and the window.
    let now = Date.now();
    return withBench(
      async (bench) => {
        onOverage(bench, 3600);
        assert.equal((await bench.post('openai', bodyFor('openai', false))).status, 200);
        const reset = Number((await bench.get('/api/status')).json.rate_limits.resetAt);
        now = reset * 1000 - 1;
        const blocked = await bench.post('openai', bodyFor('openai', false));
        assert.equal(blocked.status, 429, 'blocked until the last millisecond before the reset');
        assert.equal(blocked.headers['retry-after'], '1');
        now = reset * 1000;
        bench.fake.setRateLimit({ status: 'allowed', fiveHourUtilization: 0, overageInUse: false });
        const after = await bench.post('openai', bodyFor('openai', true));
        assert.equal(after.status, 200, 'the very first request at the reset goes through');
        assert.equal((await bench.get('/api/status')).json.limits.overage_blocked_until, null);
        assert.equal(bench.fake.messages().length, 2, 'the blocked request never reached the upstream');
      },
      true,
      () => now,
    );
  });

  it('readings whose reset is already past block nothing', () =>
    withBench(async (bench) => {
      onOverage(bench, -60);
      for (let i = 0; i < 3; i++)
        assert.equal((await bench.post('anthropic', bodyFor('anthropic', true))).status, 200);
      assert.equal(bench.fake.messages().length, 3);
    }));

  it('an upstream 429 (window used up, extra usage off) is passed on and leaves no cooldown', () =>
    withBench(async (bench) => {
      bench.fake.enqueue(reply.rateLimited({ exhausted: true }));
      const refused = await bench.post('openai', bodyFor('openai', false));
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers['retry-after']) > 3600, "the upstream's retry-after, passed on");
      assert.equal(bench.fake.messages().length, 1, 'a retry-after beyond max_wait_s is not waited for');
      // The proxy holds no cooldown of its own: the next request asks the upstream, which now says yes.
      const next = await bench.post('openai', bodyFor('openai', false));
      assert.equal(next.status, 200);
      assert.equal(bench.fake.messages().length, 2);
    }));

  it('with block_overage off, the same readings refuse nothing', () =>
    withBench(async (bench) => {
      onOverage(bench, 3600);
      for (let i = 0; i < 3; i++)
        assert.equal((await bench.post('anthropic', bodyFor('anthropic', false))).status, 200);
      assert.equal(bench.fake.messages().length, 3);
      assert.equal((await bench.get('/api/status')).json.limits.overage_blocked_until, null);
    }, false));

  it('leaves nothing open', async () => {
    await assertNoLeaks(resources);
  });
});
