/**
 * The idle collection: one full GC once no request has been in flight for a while, never during a
 * request, once per idle spell. Timers are node:test's mock timers; the GC is counted, not run.
 */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { Lifecycle } from '../../src/observability/lifecycle.ts';
import { collectWhenIdle, v8Gc } from '../../src/server/idle-gc.ts';
import { record } from '../observability/helpers.ts';

function setup(t: { after(fn: () => unknown): void }) {
  mock.timers.enable({ apis: ['setInterval'] });
  const lifecycle = new Lifecycle();
  let collections = 0;
  const stop = collectWhenIdle({ lifecycle, idleMs: 1000, gc: () => collections++ });
  t.after(() => {
    stop();
    mock.timers.reset();
  });
  const r = record();
  return {
    start: () => lifecycle.emit('start', r),
    end: () => lifecycle.emit('end', r),
    tick: (ms: number) => mock.timers.tick(ms),
    collections: () => collections,
  };
}

test('after traffic stops, one collection; none while idle before any traffic or after it', (t) => {
  const s = setup(t);
  s.tick(5000);
  assert.equal(s.collections(), 0, 'a process that never served has nothing to give back');
  s.start();
  s.end();
  s.tick(1000); // the first look sees the request
  assert.equal(s.collections(), 0);
  s.tick(1000); // the second sees none since: idle
  assert.equal(s.collections(), 1);
  s.tick(10_000);
  assert.equal(s.collections(), 1, 'once per idle spell');
  s.start();
  s.end();
  s.tick(2000);
  assert.equal(s.collections(), 2, 'a new spell after new traffic');
});

test('never while a request is in flight, however long it runs', (t) => {
  const s = setup(t);
  s.start();
  s.tick(60_000);
  assert.equal(s.collections(), 0);
  s.end();
  s.tick(2000);
  assert.equal(s.collections(), 1);
});

test('steady traffic: no collection', (t) => {
  const s = setup(t);
  for (let i = 0; i < 50; i++) {
    s.start();
    s.end();
    s.tick(500);
  }
  assert.equal(s.collections(), 0);
});

test("V8's full collection is reachable without --expose-gc on the command line", () => {
  const gc = v8Gc();
  assert.equal(typeof gc, 'function');
  gc();
});
