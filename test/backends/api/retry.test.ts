import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRetryableStatus, nextDelayMs, retryAfterMs, sleep } from '../../../src/backends/api/retry.ts';

const policy = { maxAttempts: 3, maxWaitMs: 10_000, baseDelayMs: 500 };

describe('retry policy', () => {
  it('retries overloaded and server errors, and a first 429 only', () => {
    for (const s of [500, 502, 503, 504, 529]) assert.equal(isRetryableStatus(s, 0), true, String(s));
    for (const s of [400, 401, 403, 404, 413, 501]) assert.equal(isRetryableStatus(s, 0), false, String(s));
    assert.equal(isRetryableStatus(429, 0), true);
    assert.equal(isRetryableStatus(429, 1), false);
  });

  it('honours retry-after-ms, then retry-after seconds or date', () => {
    assert.equal(retryAfterMs({ 'retry-after-ms': '250', 'retry-after': '9' }), 250);
    assert.equal(retryAfterMs({ 'retry-after': '2' }), 2000);
    assert.equal(retryAfterMs({ 'retry-after': new Date(10_000).toUTCString() }, 7_000), 3000);
    assert.equal(retryAfterMs({}), undefined);
    assert.equal(retryAfterMs({ 'retry-after': 'soon' }), undefined);
  });

  it('backs off exponentially with jitter, within attempts and total wait', () => {
    assert.equal(
      nextDelayMs(policy, 1, 0, undefined, () => 0),
      250,
    );
    assert.equal(
      nextDelayMs(policy, 1, 0, undefined, () => 1),
      500,
    );
    assert.equal(
      nextDelayMs(policy, 2, 0, undefined, () => 1),
      1000,
    );
    assert.equal(nextDelayMs(policy, 3, 0, undefined), undefined, 'attempts exhausted');
    assert.equal(nextDelayMs(policy, 1, 0, 20_000), undefined, 'hint beyond the wait budget');
    assert.equal(
      nextDelayMs(policy, 1, 9_900, undefined, () => 1),
      undefined,
      'budget spent',
    );
    assert.equal(nextDelayMs(policy, 1, 0, 1234), 1234);
  });

  it('sleep ends early on abort', async () => {
    const c = new AbortController();
    const p = sleep(60_000, c.signal);
    c.abort(new Error('gone'));
    await assert.rejects(p, /gone/);
  });
});
