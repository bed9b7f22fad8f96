import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Limiter, QueueTimeout } from '../../../src/backends/api/limiter.ts';

/** Settles within a few turns of the event loop, or reports 'pending'. */
async function state<T>(p: Promise<T>): Promise<'pending' | 'resolved' | 'rejected'> {
  let s: 'pending' | 'resolved' | 'rejected' = 'pending';
  p.then(
    () => {
      s = 'resolved';
    },
    () => {
      s = 'rejected';
    },
  );
  await new Promise((r) => setImmediate(r));
  return s;
}

describe('upstream concurrency limiter', () => {
  it('with no limit (0) every request gets a slot at once, and is counted', async () => {
    const l = new Limiter(0, 1000);
    const releases = await Promise.all(Array.from({ length: 50 }, () => l.acquire()));
    assert.equal(l.inFlight, 50);
    assert.equal(l.queued, 0);
    for (const r of releases) r();
    assert.equal(l.inFlight, 0);
  });

  it('beyond the limit requests queue, first come first served; a release hands the slot on', async () => {
    const l = new Limiter(2, 60_000);
    const a = await l.acquire();
    const b = await l.acquire();
    const order: string[] = [];
    const c = l.acquire().then((r) => {
      order.push('c');
      return r;
    });
    const d = l.acquire().then((r) => {
      order.push('d');
      return r;
    });
    assert.equal(await state(c), 'pending');
    assert.equal(l.queued, 2);
    a();
    a(); // a second release of the same slot changes nothing
    const rc = await c;
    assert.equal(await state(d), 'pending');
    assert.equal(l.inFlight, 2);
    b();
    const rd = await d;
    assert.deepEqual(order, ['c', 'd']);
    rc();
    rd();
    assert.equal(l.inFlight, 0);
    assert.equal(l.queued, 0);
  });

  it('a wait longer than the queue timeout ends in QueueTimeout and leaves the queue', async () => {
    const l = new Limiter(1, 20);
    const held = await l.acquire();
    await assert.rejects(l.acquire(), (err: unknown) => err instanceof QueueTimeout && err.waitedMs === 20);
    assert.equal(l.queued, 0);
    held();
    assert.equal(l.inFlight, 0);
  });

  it('with a queue timeout of 0 a full limiter refuses at once', async () => {
    const l = new Limiter(1, 0);
    const held = await l.acquire();
    await assert.rejects(l.acquire(), QueueTimeout);
    held();
  });

  it('a waiter whose client hangs up leaves the queue with the signal reason, and takes no slot', async () => {
    const l = new Limiter(1, 60_000);
    const held = await l.acquire();
    const ac = new AbortController();
    const waiting = l.acquire(ac.signal);
    const next = l.acquire();
    assert.equal(l.queued, 2);
    const reason = new Error('client gone');
    ac.abort(reason);
    await assert.rejects(waiting, (err) => err === reason);
    assert.equal(l.queued, 1);
    held();
    const r = await next; // the slot skipped the one that left
    assert.equal(l.inFlight, 1);
    r();
    assert.equal(l.inFlight, 0);
    await assert.rejects(l.acquire(AbortSignal.abort(reason)), (err) => err === reason);
    assert.equal(l.inFlight, 0);
  });
});
