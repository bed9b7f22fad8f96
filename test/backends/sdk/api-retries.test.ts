/**
 * RetryWatch (when to give up on the agent's own API retries) and LastFailure (what /health and
 * /sdk/status say), fed by hand with a clock the test moves.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { RetryWatch, retryReason } from '../../../src/backends/sdk/api-retries.ts';
import { LastFailure } from '../../../src/backends/sdk/last-failure.ts';
import { ProxyError } from '../../../src/errors.ts';
import { streamEvent } from './sdk-messages.ts';

const URL = 'https://api.anthropic.com';

function retry(attempt: number, delayMs: number, over: Record<string, unknown> = {}): SDKMessage {
  return {
    type: 'system',
    subtype: 'api_retry',
    attempt,
    max_retries: 10,
    retry_delay_ms: delayMs,
    error_status: null,
    error: 'unknown',
    uuid: 'u',
    session_id: 's',
    ...over,
  } as unknown as SDKMessage;
}

const status = { type: 'system', subtype: 'status', status: 'requesting' } as unknown as SDKMessage;

describe('RetryWatch', () => {
  it("connection errors: gives up at the first retry that would land past the budget, with the agent's count", () => {
    // Claude Code's schedule against a closed port: 0.6, 1.2, 2.1, 4.7, 9.3, 17 s…
    const w = new RetryWatch(30_000, URL, 0);
    const schedule: Array<[number, number]> = [
      [200, 609],
      [800, 1176],
      [2000, 2108],
      [4200, 4667],
      [8900, 9292],
      [18_200, 17_272],
    ];
    let err: ProxyError | undefined;
    for (const [i, [at, delay]] of schedule.entries()) {
      err = w.note(retry(i + 1, delay), at);
      if (i < schedule.length - 1) assert.equal(err, undefined, `attempt ${i + 1}`);
    }
    assert.ok(err instanceof ProxyError);
    assert.equal(err.kind, 'upstream');
    assert.equal(err.status, 502);
    assert.equal(
      err.message,
      "Claude Code cannot reach the Anthropic API at https://api.anthropic.com (6 attempts in 18 s, each a connection error); ccproxy stopped the agent (claude.api_retry_max_s = 30). Check this machine's network connection, and upstream.base_url / upstream.proxy_url (or ANTHROPIC_BASE_URL / HTTPS_PROXY in ccproxy's environment).",
    );
  });

  it('progress (model output, tool results) starts the count again; status reports do not', () => {
    const w = new RetryWatch(10_000, URL, 0);
    assert.equal(w.note(retry(1, 5000), 4000), undefined);
    assert.equal(w.note(status, 8000), undefined);
    assert.ok(w.note(retry(2, 5000), 8000), 'status is not progress: 8 + 5 > 10');
    const v = new RetryWatch(10_000, URL, 0);
    assert.equal(v.note(retry(1, 5000), 4000), undefined);
    assert.equal(v.note(streamEvent({ type: 'message_start' }), 8000), undefined);
    assert.equal(v.note(retry(1, 5000), 12_000), undefined, 'counted from the last progress');
  });

  it('a budget of 0 never gives up (the agent and claude.timeout_s decide)', () => {
    const w = new RetryWatch(0, URL, 0);
    for (let i = 1; i <= 10; i++) assert.equal(w.note(retry(i, 35_000), i * 35_000), undefined);
  });

  it('HTTP errors keep their kind and status; no answer at all is a timeout', () => {
    const overloaded = new RetryWatch(1000, URL, 0).note(
      retry(3, 4000, { error_status: 529, error: 'overloaded' }),
      0,
    )!;
    assert.equal(overloaded.kind, 'overloaded');
    assert.equal(overloaded.retryAfter, 4);
    assert.match(
      overloaded.message,
      /kept answering HTTP 529 \(overloaded\) to Claude Code \(1 attempt in 1 s\)/,
    );
    const limited = new RetryWatch(1000, URL, 0).note(
      retry(1, 9000, { error_status: 429, error: 'rate_limit' }),
      0,
    )!;
    assert.equal(limited.status, 429);
    assert.equal(
      new RetryWatch(1000, URL, 0).note(retry(1, 9000, { error_status: 500, error: 'server_error' }), 0)!
        .status,
      502,
    );
    const silent = new RetryWatch(1000, 'http://127.0.0.1:1', 0).note(
      retry(1, 0, { no_response: { waited_ms: 15_000, retry_wait_ms: 15_000 } }),
      15_000,
    )!;
    assert.equal(silent.kind, 'timeout');
    assert.match(silent.message, /no answer from the Anthropic API at http:\/\/127\.0\.0\.1:1 .*within 15 s/);
  });

  it('retry reasons as the access log names them', () => {
    assert.equal(retryReason(retry(1, 0) as never), 'connection');
    assert.equal(retryReason(retry(1, 0, { error_status: 529 }) as never), 'overloaded');
    assert.equal(retryReason(retry(1, 0, { error_status: 429 }) as never), 'rate_limited');
    assert.equal(retryReason(retry(1, 0, { error_status: 503 }) as never), 'server_error');
    assert.equal(
      retryReason(retry(1, 0, { no_response: { waited_ms: 1, retry_wait_ms: 1 } }) as never),
      'timeout',
    );
  });
});

describe('LastFailure', () => {
  it('remembers the last failure that was not the client’s doing, until a request succeeds', async () => {
    const f = new LastFailure(() => Date.UTC(2026, 4, 1, 12));
    // Read through a function: assert.equal narrows a property it has seen undefined.
    const current = () => f.current;
    f.failed(ProxyError.invalid('bad request'));
    f.failed(new ProxyError('invalid_request', 'The client closed the request.', { status: 499 }));
    assert.equal(f.current, undefined);
    f.failed(new ProxyError('upstream', 'cannot reach'));
    assert.deepEqual(f.current, {
      at: '2026-05-01T12:00:00.000Z',
      kind: 'upstream',
      status: 502,
      message: 'cannot reach',
    });

    // A stream is judged when it ends: an error thrown mid-way counts, running out is a success.
    async function* failing() {
      yield { type: 'ping' } as const;
      throw new ProxyError('timeout', 'too slow');
    }
    const watched = f.watch({ type: 'stream', events: failing() });
    assert.equal(watched.type, 'stream');
    await assert.rejects(async () => {
      for await (const _ of (watched as { events: AsyncIterable<unknown> }).events);
    });
    assert.equal(current()?.kind, 'timeout');
    async function* fine() {
      yield { type: 'ping' } as const;
    }
    const ok = f.watch({ type: 'stream', events: fine() }) as { events: AsyncIterable<unknown> };
    assert.equal(current()?.kind, 'timeout', 'not before the stream has run');
    for await (const _ of ok.events);
    assert.equal(current(), undefined);
  });
});
