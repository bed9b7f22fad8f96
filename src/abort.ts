/**
 * Abort signals. `Abortable` is the part of an AbortSignal ccproxy's own code uses; a real
 * AbortSignal is one, and so is a request's `RequestSignal`, which is far cheaper to make: node 20
 * builds every AbortSignal as an EventTarget with its own maps (3–6 µs, and ~1 µs per listener; the
 * switch took 12% off a non-streamed API-mode request's CPU, docs/performance.md). A real one is
 * made only where an API takes nothing else (`toAbortSignal`: AbortSignal.any).
 */

export interface Abortable {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export class RequestSignal implements Abortable {
  aborted = false;
  reason: unknown = undefined;
  private listeners: Array<() => void> | undefined;
  private controller: AbortController | undefined;

  /** As on an AbortSignal: each listener at most once, called once on abort, none after it. */
  addEventListener(_type: 'abort', listener: () => void, _options?: { once?: boolean }): void {
    if (this.aborted) return;
    if (!this.listeners) this.listeners = [listener];
    else if (!this.listeners.includes(listener)) this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const all = this.listeners;
    const i = all ? all.indexOf(listener) : -1;
    if (i >= 0) all!.splice(i, 1);
  }

  /** Fire once with `reason`; later calls do nothing. A listener that throws does not stop the rest. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const all = this.listeners;
    this.listeners = undefined;
    this.controller?.abort(reason);
    for (const listener of all ?? []) {
      try {
        listener();
      } catch (err) {
        // Where an AbortSignal's listener error goes too: an uncaught exception, after the others ran.
        process.nextTick(() => {
          throw err;
        });
      }
    }
  }

  /** A real AbortSignal that fires with this one, for APIs that take nothing else (made once). */
  get native(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }
}

/** A real AbortSignal for `signal`: itself when it is one, a request's native twin otherwise. */
export function toAbortSignal(signal: Abortable): AbortSignal {
  return signal instanceof RequestSignal ? signal.native : (signal as AbortSignal);
}
