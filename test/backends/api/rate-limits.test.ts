import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  describeReset,
  humanDuration,
  parseRateLimitHeaders,
  RateLimits,
} from '../../../src/backends/api/rate-limits.ts';

const NOW = Date.UTC(2026, 4, 1, 12, 0, 0);
const IN_2H = Math.floor(NOW / 1000) + 2 * 3600;

/** The unified headers as the API sends them with subscription traffic. */
function unified(p: {
  status: string;
  overage?: string;
  inUse?: boolean;
  reset?: number;
  disabledReason?: string;
}): Record<string, string> {
  const h: Record<string, string> = {
    'anthropic-ratelimit-unified-status': p.status,
    'anthropic-ratelimit-unified-5h-utilization': p.status === 'rejected' ? '1.0' : '0.4',
    'anthropic-ratelimit-unified-5h-reset': String(p.reset ?? IN_2H),
    'anthropic-ratelimit-unified-representative-claim': 'five_hour',
  };
  if (p.reset !== -1) h['anthropic-ratelimit-unified-reset'] = String(p.reset ?? IN_2H);
  if (p.overage) h['anthropic-ratelimit-unified-overage-status'] = p.overage;
  if (p.disabledReason) h['anthropic-ratelimit-unified-overage-disabled-reason'] = p.disabledReason;
  if (p.inUse) h['anthropic-ratelimit-unified-overage-in-use'] = 'true';
  return h;
}

function limitsAfter(headers: Record<string, string>): RateLimits {
  const r = new RateLimits();
  r.update(headers);
  return r;
}

describe('plan limits from rate-limit headers', () => {
  it('parses the unified window, overage and classic limits', () => {
    const snap = parseRateLimitHeaders(
      {
        ...unified({ status: 'allowed_warning', overage: 'rejected', disabledReason: 'org_level_disabled' }),
        'anthropic-ratelimit-requests-remaining': '42',
        'content-type': 'application/json',
      },
      NOW,
    )!;
    assert.equal(snap.status, 'allowed_warning');
    assert.equal(snap.resetAt, IN_2H);
    assert.equal(snap.representativeClaim, 'five_hour');
    assert.deepEqual(snap.windows['5h'], { utilization: 0.4, resetAt: IN_2H });
    assert.deepEqual(snap.overage, { status: 'rejected', disabledReason: 'org_level_disabled' });
    assert.equal(snap.limits.requests?.remaining, 42);
    assert.equal(parseRateLimitHeaders({ 'content-type': 'text/plain' }), undefined);
  });

  it('overage is drawn on only when the window is used up and extra usage is open', () => {
    // The everyday state: allowed, overage switched off for the org. Informational, blocks nothing.
    assert.equal(
      limitsAfter(unified({ status: 'allowed', overage: 'rejected' })).overageUntil(NOW),
      undefined,
    );
    // Allowed with overage open: the plan still covers requests.
    assert.equal(
      limitsAfter(unified({ status: 'allowed', overage: 'allowed' })).overageUntil(NOW),
      undefined,
    );
    // Used up, overage closed: the upstream refuses by itself (a 429 that costs nothing).
    assert.equal(
      limitsAfter(unified({ status: 'rejected', overage: 'rejected' })).overageUntil(NOW),
      undefined,
    );
    // Used up, overage open or already in use: the next request would be billed.
    for (const h of [
      unified({ status: 'rejected', overage: 'allowed' }),
      unified({ status: 'rejected', overage: 'allowed_warning' }),
      unified({ status: 'rejected', inUse: true }),
      unified({ status: 'allowed', inUse: true }),
    ]) {
      assert.deepEqual(limitsAfter(h).overageUntil(NOW), { resetAt: IN_2H, claim: 'five_hour' });
    }
  });

  it('clears by itself at the reset, and with no reset time known blocks nothing', () => {
    const r = limitsAfter(unified({ status: 'rejected', overage: 'allowed' }));
    assert.ok(r.overageUntil(NOW));
    assert.equal(r.overageUntil(IN_2H * 1000), undefined, 'at the reset');
    assert.equal(r.overageUntil(IN_2H * 1000 + 1), undefined, 'after it');
    assert.equal(r.exhaustedUntil(IN_2H * 1000 + 1), undefined);
    const past = limitsAfter(unified({ status: 'rejected', overage: 'allowed', reset: IN_2H - 3 * 3600 }));
    assert.equal(past.overageUntil(NOW), undefined, 'a reading whose reset is already past');
    const noReset = new RateLimits();
    noReset.update({
      'anthropic-ratelimit-unified-status': 'rejected',
      'anthropic-ratelimit-unified-overage-status': 'allowed',
    });
    assert.equal(noReset.overageUntil(NOW), undefined);
  });

  it('a newer answer replaces the readings (no stale cooldown survives an allowed answer)', () => {
    const r = limitsAfter(unified({ status: 'rejected', overage: 'allowed' }));
    assert.ok(r.overageUntil(NOW));
    r.update(unified({ status: 'allowed', overage: 'allowed' }));
    assert.equal(r.overageUntil(NOW), undefined);
    r.update({ 'content-type': 'application/json' }); // an answer without readings changes nothing
    assert.equal(r.snapshot()?.status, 'allowed');
  });

  it('says durations and reset times the way a person reads them', () => {
    assert.equal(humanDuration(45_000), '45s');
    assert.equal(humanDuration(12 * 60_000), '12m');
    assert.equal(humanDuration((2 * 60 + 13) * 60_000), '2h 13m');
    assert.equal(humanDuration(3 * 3600_000), '3h');
    assert.equal(humanDuration((3 * 24 + 4) * 3600_000), '3d 4h');
    assert.equal(describeReset(IN_2H, NOW), 'at 2026-05-01 14:00 UTC (in 2h)');
  });
});
