/**
 * The concurrency limit on upstream requests (`upstream.max_concurrency`): at most `max` in flight;
 * the rest wait in a first-come, first-served queue for up to `queueTimeoutMs`, then give up. A
 * waiter whose signal fires (the client hung up) leaves the queue at once. No I/O; one timer per
 * waiter, cleared however the wait ends.
 */

import type { Abortable } from '../../abort.ts';

/** Gives the slot back. Safe to call more than once. */
export type Release = () => void;

/** The wait for a slot outlasted the queue timeout. */
export class QueueTimeout extends Error {
  constructor(readonly waitedMs: number) {
    super(`No upstream slot became free within ${waitedMs} ms.`);
    this.name = 'QueueTimeout';
  }
}

interface Waiter {
  grant(): void;
}

export class Limiter {
  private active = 0;
  /** Insertion order is queue order; deleting a waiter that leaves is O(1). */
  private readonly waiting = new Set<Waiter>();

  /** `max` 0 means no limit. */
  constructor(
    readonly max: number,
    readonly queueTimeoutMs: number,
  ) {}

  /** Requests holding a slot now. */
  get inFlight(): number {
    return this.active;
  }

  /** Requests waiting for a slot now. */
  get queued(): number {
    return this.waiting.size;
  }

  /** A slot only when one is free now and nobody waits for one; never queues. */
  tryAcquire(): Release | undefined {
    if (this.waiting.size > 0 || (this.max !== 0 && this.active >= this.max)) return undefined;
    this.active++;
    return this.releaser();
  }

  /**
   * A slot: at once when one is free, else after waiting in line (for `timeoutMs`, by default the
   * queue timeout). Rejects with `QueueTimeout`, or with the signal's reason when it fires first.
   */
  acquire(signal?: Abortable, timeoutMs = this.queueTimeoutMs): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.max === 0 || this.active < this.max) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (timeoutMs <= 0) return Promise.reject(new QueueTimeout(0));
    return new Promise<Release>((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiting.delete(waiter);
      };
      const waiter: Waiter = {
        // The slot passes straight from the releasing request to this one: `active` is unchanged.
        grant: () => {
          leave();
          resolve(this.releaser());
        },
      };
      const onAbort = () => {
        leave();
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        leave();
        reject(new QueueTimeout(timeoutMs));
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.add(waiter);
    });
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.values().next();
      if (next.done) this.active--;
      else next.value.grant();
    };
  }
}
