import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Account, PROBE_STALE_MS } from '../../src/accounts/account.ts';
import { AffinityMap } from '../../src/accounts/affinity.ts';
import { Chooser, type Strategy } from '../../src/accounts/choose.ts';
import { staticCredential } from '../../src/accounts/credential.ts';

let clock = 1_000_000;
const now = () => clock;

function account(name: string, opts: { billing?: 'subscription' | 'api_key'; priority?: number } = {}) {
  const billing = opts.billing ?? 'subscription';
  return new Account({
    name,
    billing,
    priority: opts.priority ?? 0,
    order: 0,
    credential: staticCredential(billing === 'api_key' ? 'api_key' : 'oauth_token', `tok-${name}`, 'test'),
    now,
  });
}

function chooser(
  subs: Account[],
  opts: { strategy?: Strategy; apiKeys?: Account[]; spill?: () => boolean } = {},
): Chooser {
  return new Chooser({
    subscriptions: subs,
    apiKeys: opts.apiKeys ?? [],
    strategy: opts.strategy ?? 'priority',
    spillAllowed: opts.spill ?? (() => false),
    affinity: new AffinityMap(),
  });
}

const none = new Set<Account>();
const pick = (c: Chooser, key?: string, tried: ReadonlySet<Account> = none) =>
  c.choose({ key, tried, now: clock });

describe('choosing an account', () => {
  it('priority: the first that can answer, the next when it cools, back after one probe', () => {
    const [a, b] = [account('a'), account('b')];
    const c = chooser([a, b]);
    assert.equal(pick(c)?.account, a);
    a.cool(clock + 60_000, 'window');
    assert.equal(pick(c)?.account, b);
    assert.equal(pick(c)?.account, b);
    clock += 60_000;
    const probe = pick(c)!;
    assert.deepEqual([probe.account.name, probe.probe], ['a', true]);
    // While the probe is out, everyone else stays where they were: no burst on the recovered account.
    for (let i = 0; i < 5; i++) assert.equal(pick(c)?.account, b);
    assert.equal(a.recovered(), true);
    assert.equal(pick(c)?.account, a);
  });

  it('a probe that never reports is given up, and another request probes', () => {
    const [a, b] = [account('a'), account('b')];
    const c = chooser([a, b]);
    a.cool(clock, 'window');
    assert.equal(pick(c)?.probe, true);
    assert.equal(pick(c)?.account, b);
    clock += PROBE_STALE_MS;
    assert.deepEqual([pick(c)?.account.name, pick(c)?.account.name], ['a', 'b']);
  });

  it('skips what the request already tried, paused and invalid accounts', () => {
    const [a, b, d] = [account('a'), account('b'), account('d')];
    const c = chooser([a, b, d]);
    assert.equal(pick(c, undefined, new Set([a]))?.account, b);
    b.paused = true;
    assert.equal(pick(c, undefined, new Set([a]))?.account, d);
    d.markInvalid('revoked');
    assert.equal(pick(c, undefined, new Set([a])), undefined);
  });

  it('round_robin takes turns; least_used takes the lowest 5-hour utilisation', () => {
    const [a, b, d] = [account('a'), account('b'), account('d')];
    const rr = chooser([a, b, d], { strategy: 'round_robin' });
    assert.deepEqual(
      [1, 2, 3, 4].map(() => pick(rr)?.account.name),
      ['a', 'b', 'd', 'a'],
    );
    const lu = chooser([a, b, d], { strategy: 'least_used' });
    a.limits.update({ 'anthropic-ratelimit-unified-5h-utilization': '0.7' });
    b.limits.update({ 'anthropic-ratelimit-unified-5h-utilization': '0.2' });
    d.limits.update({ 'anthropic-ratelimit-unified-5h-utilization': '0.5' });
    assert.equal(pick(lu)?.account, b);
    b.cool(clock + 1000, 'window');
    assert.equal(pick(lu)?.account, d);
  });

  it('a conversation stays on its account while it can answer, and is marked moved when it cannot', () => {
    const [a, b] = [account('a'), account('b')];
    const c = chooser([a, b], { strategy: 'round_robin' });
    assert.equal(pick(c, 'conv-1')?.account, a);
    assert.equal(pick(c, 'conv-2')?.account, b);
    for (let i = 0; i < 3; i++) {
      const again = pick(c, 'conv-1')!;
      assert.deepEqual([again.account.name, again.moved], ['a', false]);
    }
    a.cool(clock + 1000, 'window');
    const moved = pick(c, 'conv-1')!;
    assert.deepEqual([moved.account.name, moved.moved], ['b', true]);
    // It stays where it moved to, even once its old account is back.
    clock += 1000;
    a.recovered();
    assert.deepEqual([pick(c, 'conv-1')?.account.name, pick(c, 'conv-1')?.moved], ['b', false]);
  });

  it('a request that fails over is moved even without a conversation key', () => {
    const [a, b] = [account('a'), account('b')];
    assert.equal(chooser([a, b]).choose({ tried: new Set([a]), now: clock })?.moved, true);
  });

  it('spill-over: api_key accounts only when every subscription is cooling and spill-over allows', () => {
    const [a, b] = [account('a'), account('b')];
    const key = account('payg', { billing: 'api_key' });
    let allowed = false;
    const c = chooser([a, b], { apiKeys: [key], spill: () => allowed });
    assert.equal(pick(c)?.account, a);
    a.cool(clock + 5000, 'window');
    b.cool(clock + 9000, 'window');
    // Off: the subscription whose cooldown ends first is tried anyway (its own 429 is the answer).
    const last = pick(c)!;
    assert.deepEqual([last.account.name, last.lastResort, last.spill], ['a', true, false]);
    assert.equal(pick(c, undefined, new Set([a])), undefined);
    allowed = true;
    const spill = pick(c)!;
    assert.deepEqual([spill.account.name, spill.spill], ['payg', true]);
    // A conversation is not held on the API key: once a subscription is back, it goes there.
    pick(c, 'conv');
    clock += 5000;
    a.recovered();
    assert.deepEqual([pick(c, 'conv')?.account.name, pick(c, 'conv')?.moved], ['a', false]);
  });
});
