import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { RequestSignal, toAbortSignal } from '../../src/abort.ts';
import { sleep } from '../../src/backends/api/retry.ts';

describe('RequestSignal', () => {
  it('calls each listener once, in order, with the reason set; none after the abort', () => {
    const s = new RequestSignal();
    const calls: string[] = [];
    const a = () => calls.push(`a:${String(s.reason)}`);
    const b = () => calls.push(`b:${s.aborted}`);
    s.addEventListener('abort', a);
    s.addEventListener('abort', a); // a listener is added once, as on an AbortSignal
    s.addEventListener('abort', b, { once: true });
    s.abort('gone');
    s.abort('again');
    s.addEventListener('abort', () => calls.push('late'));
    assert.deepEqual(calls, ['a:gone', 'b:true']);
    assert.equal(s.reason, 'gone');
  });

  it('forgets a removed listener', () => {
    const s = new RequestSignal();
    let called = false;
    const f = () => {
      called = true;
    };
    s.addEventListener('abort', f);
    s.removeEventListener('abort', f);
    s.removeEventListener('abort', f);
    s.abort(new Error('x'));
    assert.equal(called, false);
  });

  it('runs the other listeners when one throws, and reports the error as uncaught', async () => {
    const s = new RequestSignal();
    const boom = new Error('listener failed');
    let second = false;
    const seen = new Promise<unknown>((resolve) => {
      const listeners = process.listeners('uncaughtException');
      process.removeAllListeners('uncaughtException');
      process.once('uncaughtException', (err) => {
        for (const l of listeners) process.on('uncaughtException', l);
        resolve(err);
      });
    });
    s.addEventListener('abort', () => {
      throw boom;
    });
    s.addEventListener('abort', () => {
      second = true;
    });
    s.abort('x');
    assert.equal(second, true);
    assert.equal(await seen, boom);
  });

  it('has a real AbortSignal twin, made on demand, whether asked before or after the abort', async () => {
    const before = new RequestSignal();
    const native = toAbortSignal(before);
    assert.ok(native instanceof AbortSignal);
    assert.equal(toAbortSignal(before), native);
    const fired = once(native, 'abort');
    before.abort('bye');
    await fired;
    assert.equal(native.reason, 'bye');

    const after = new RequestSignal();
    after.abort('late');
    assert.equal(toAbortSignal(after).aborted, true);
    assert.equal(toAbortSignal(after).reason, 'late');

    const plain = AbortSignal.timeout(1000);
    assert.equal(toAbortSignal(plain), plain);
  });

  it('ends a wait that listens to it (a retry pause)', async () => {
    const s = new RequestSignal();
    const wait = sleep(60_000, s);
    s.abort(new Error('client left'));
    await assert.rejects(wait, /client left/);
  });
});
