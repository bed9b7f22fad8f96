/**
 * Memory back when traffic stops. V8 returns memory to the system after a full collection, but an
 * idle server allocates nothing, so no collection comes: after a burst, ccproxy's RSS stayed where
 * the burst left it for as long as it sat idle (126 MB for 80 s and more, 88–93 MB after one full
 * collection; docs/performance.md). So once no request has been in flight for `idleMs`, one full
 * collection runs — once per idle spell, never while a request is in flight.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Lifecycle } from '../observability/lifecycle.ts';

export interface IdleCollectOptions {
  lifecycle: Lifecycle;
  /** How long without a request in flight before collecting. */
  idleMs: number;
  /** The collection; V8's own full GC by default. */
  gc?: () => void;
}

/**
 * V8's `gc()`, without starting node with --expose-gc: the flag is read when a context is made, so it
 * is on for the making of one context only.
 */
export function v8Gc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  try {
    return vm.runInNewContext('gc') as () => void;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}

/**
 * Start watching; the returned function stops it. A request costs a counter increment; a timer looks
 * every `idleMs`, so the collection comes between one and two `idleMs` after the last request.
 */
export function collectWhenIdle(opts: IdleCollectOptions): () => void {
  const gc = opts.gc ?? v8Gc();
  let inFlight = 0;
  let started = 0;
  let startedAtLastLook = 0;
  let startedAtLastGc = 0;
  const unsubscribe = opts.lifecycle.subscribe((event) => {
    if (event === 'start') {
      inFlight++;
      started++;
    } else if (event === 'end') inFlight = Math.max(0, inFlight - 1);
  });
  const timer = setInterval(() => {
    const quiet = inFlight === 0 && started === startedAtLastLook;
    if (quiet && started !== startedAtLastGc) {
      gc();
      startedAtLastGc = started;
    }
    startedAtLastLook = started;
  }, opts.idleMs);
  // Never what keeps the process alive.
  timer.unref();
  return () => {
    unsubscribe();
    clearInterval(timer);
  };
}
