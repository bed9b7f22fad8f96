/**
 * The young generation's ceiling. V8's flags are per process, so each case runs in a node
 * of its own: objects that survive collections make V8 grow the young generation, in one long turn
 * (as a burst's accept phase does, requests starting and ending all along) and then over many turns.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { youngGenerationSizedByFlags } from '../../src/server/young-generation.ts';
import { runModule } from '../support/run-module.ts';

const MB = 1024 * 1024;

/** The largest young generation seen while a child allocates, under a ceiling of `maxMb` (0: none). */
function largestYoungGeneration(maxMb: number): number {
  const script = `
    import { Lifecycle } from './src/observability/lifecycle.ts';
    import { capYoungGeneration, youngGenerationBytes } from './src/server/young-generation.ts';
    const lifecycle = new Lifecycle();
    if (${maxMb} > 0) capYoungGeneration({ lifecycle, maxMb: ${maxMb} });
    let largest = youngGenerationBytes();
    const kept = [];
    const allocate = (n) => {
      for (let i = 0; i < n; i++) {
        kept.push({ i, s: 'item ' + i, a: [i, i + 1] });
        if (kept.length > 60000) kept.splice(0, 30000);
        if (i % 500 === 0) {
          lifecycle.emit('start', {});
          lifecycle.emit('end', {});
          largest = Math.max(largest, youngGenerationBytes());
        }
      }
    };
    allocate(1_500_000); // one long turn
    for (let t = 0; t < 300; t++) {
      allocate(5000);
      await new Promise((r) => setImmediate(r));
    }
    process.stdout.write(String(Math.max(largest, youngGenerationBytes())));`;
  const r = runModule(script);
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout);
}

test('the young generation stays at or under its ceiling, in a long turn and over many', () => {
  const capped = largestYoungGeneration(4);
  assert.ok(capped <= 4 * MB, `the ceiling holds (${capped / MB} MB)`);
  assert.ok(largestYoungGeneration(0) > 4 * MB, 'without it, V8 grows the space past it here');
});

test("node's own flags for the young generation win over the setting", () => {
  assert.equal(youngGenerationSizedByFlags([], {}), false);
  assert.equal(youngGenerationSizedByFlags(['--max-semi-space-size=4'], {}), true);
  assert.equal(youngGenerationSizedByFlags([], { NODE_OPTIONS: '--max_semi_space_size=8' }), true);
  assert.equal(youngGenerationSizedByFlags([], { NODE_OPTIONS: '--semi-space-growth-factor=1' }), true);
  assert.equal(youngGenerationSizedByFlags(['--max-old-space-size=512'], { NODE_OPTIONS: '' }), false);
});
