import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUILTIN_MODELS } from '../../src/formats/models.ts';
import { emptyUsage } from '../../src/observability/lifecycle.ts';
import { baseModel, createPricing } from '../../src/observability/pricing.ts';

const usage = (u: Partial<ReturnType<typeof emptyUsage>>) => ({ ...emptyUsage(), ...u });
const close = (a: number | null, b: number) => {
  assert.ok(a !== null, 'expected a cost');
  assert.ok(Math.abs(a - b) < 1e-12, `${a} ≠ ${b}`);
};

test('every built-in model has a price', () => {
  const pricing = createPricing();
  for (const m of BUILTIN_MODELS) assert.ok(pricing.price(m.id), `${m.id} has no price`);
});

test('cost = tokens × rate per million, per token type', () => {
  const p = createPricing();
  // Sonnet 5.5: $2 in, $10 out, $2.50 5m write, $4 1h write, $0.10 read.
  close(p.costUsd('claude-sonnet-5-5', usage({ input: 1_000_000 })), 2);
  close(p.costUsd('claude-sonnet-5-5', usage({ output: 1_000_000 })), 10);
  close(p.costUsd('claude-sonnet-5-5', usage({ cacheRead: 1_000_000 })), 0.1);
  close(p.costUsd('claude-sonnet-5-5', usage({ cacheWrite: 1_000_000 })), 2.5);
  close(p.costUsd('claude-sonnet-5-5', usage({ cacheWrite: 1_000_000, cacheWrite1h: 1_000_000 })), 4);
  close(p.costUsd('claude-opus-5-5', usage({ input: 1000, output: 500 })), (1000 * 4 + 500 * 20) / 1e6);
  close(p.costUsd('claude-fable-5-2', usage({ input: 1_000_000, output: 1_000_000 })), 48);
  close(p.costUsd('claude-haiku-4-5', usage({ input: 1_000_000, output: 1_000_000 })), 6);
});

test('Haiku 5.5 is priced by prompt size: over 100K prompt tokens every token pays the higher rate', () => {
  const p = createPricing();
  close(
    p.costUsd('claude-haiku-5-5', usage({ input: 100_000, output: 1000 })),
    (100_000 * 0.1 + 1000 * 0.5) / 1e6,
  );
  // The prompt counts cache reads and writes too.
  close(
    p.costUsd('claude-haiku-5-5', usage({ input: 50_000, cacheRead: 60_000, output: 1000 })),
    (50_000 * 0.5 + 60_000 * 0.05 + 1000 * 2.5) / 1e6,
  );
});

test('dated ids and aliases price as their base model', () => {
  assert.equal(baseModel('claude-sonnet-4-5-20250929'), 'claude-sonnet-4-5');
  assert.equal(baseModel('claude-opus-4-0'), 'claude-opus-4');
  assert.equal(baseModel('claude-sonnet-4-5[1m]'), 'claude-sonnet-4-5');
  assert.equal(baseModel('claude-opus-5-5-latest'), 'claude-opus-5-5');
  const p = createPricing();
  assert.equal(
    p.costUsd('claude-sonnet-4-5-20250929', usage({ input: 1000 })),
    p.costUsd('claude-sonnet-4-5', usage({ input: 1000 })),
  );
});

test('an unknown model costs null, not zero; no usage costs null', () => {
  const p = createPricing();
  assert.equal(p.costUsd('gpt-4o', usage({ input: 1000 })), null);
  assert.equal(p.costUsd('claude-unknown-9', usage({ input: 1000 })), null);
  assert.equal(p.costUsd(undefined, usage({ input: 1000 })), null);
  assert.equal(p.costUsd('claude-sonnet-5-5', undefined), null);
  assert.equal(p.costUsd('claude-sonnet-5-5', usage({})), 0);
});

test('settings override a price, or add one; missing cache rates follow input', () => {
  const p = createPricing({
    'claude-sonnet-5-5': { input: 1, output: 2, cache_read: 0.5 },
    'my-model-20250101': { input: 10, output: 20 },
  });
  close(
    p.costUsd('claude-sonnet-5-5', usage({ input: 1_000_000, output: 1_000_000, cacheRead: 1_000_000 })),
    3.5,
  );
  close(
    p.costUsd('my-model', usage({ input: 1_000_000, cacheRead: 1_000_000, cacheWrite: 1_000_000 })),
    10 + 1 + 12.5,
  );
  // Overrides replace the row, tiers included.
  const h = createPricing({ 'claude-haiku-5-5': { input: 1, output: 1 } });
  close(h.costUsd('claude-haiku-5-5', usage({ input: 200_000 })), 0.2);
});
