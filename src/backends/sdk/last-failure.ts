/**
 * The SDK backend's last failed request, for `/health` (a warning until a request succeeds again)
 * and `/sdk/status`: a proxy whose agents cannot reach the API must not keep reporting "pass".
 * Failures that are the client's doing (a bad request, a hang-up) do not count.
 */
import type { ErrorKind } from '../../errors.ts';
import { ProxyError } from '../../errors.ts';
import type { Reply } from '../backend.ts';

export interface FailureRecord {
  /** ISO time. */
  at: string;
  kind: ErrorKind;
  status: number;
  message: string;
}

const CLIENTS_DOING = new Set<ErrorKind>(['invalid_request', 'not_found', 'method_not_allowed', 'too_large']);

export class LastFailure {
  private last?: FailureRecord;

  constructor(private readonly now: () => number = Date.now) {}

  get current(): FailureRecord | undefined {
    return this.last;
  }

  failed(err: unknown): void {
    if (!(err instanceof ProxyError) || CLIENTS_DOING.has(err.kind)) return;
    this.last = {
      at: new Date(this.now()).toISOString(),
      kind: err.kind,
      status: err.status,
      message: err.message,
    };
  }

  succeeded(): void {
    this.last = undefined;
  }

  /** Note how a reply ends: a message has succeeded; a stream is known once it has run out. */
  watch(reply: Reply): Reply {
    if (reply.type !== 'stream') {
      this.succeeded();
      return reply;
    }
    const events = reply.events;
    const self = this;
    async function* watched() {
      try {
        yield* events;
      } catch (err) {
        self.failed(err);
        throw err;
      }
      self.succeeded();
    }
    return { ...reply, events: watched() };
  }
}
