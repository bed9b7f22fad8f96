/**
 * The old generation's step. V8's flags are per process, so each case runs in a node of its own:
 * bursts of objects that live long enough to reach the old generation and then die, as a burst of
 * streams leaves behind, over a live set that stays.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { oldGenerationGrowthSetByFlags } from '../../src/server/old-generation.ts';
import { runModule } from '../support/run-module.ts';

const MB = 1024 * 1024;

/** The largest old generation seen over bursts of garbage that reaches it, with a step of `percent` (0: V8's). */
function largestOldGeneration(percent: number): number {
  const script = `
    import v8 from 'node:v8';
    import { limitOldGenerationGrowth } from './src/server/old-generation.ts';
    if (${percent} > 0) limitOldGenerationGrowth(${percent});
    const oldSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;
    globalThis.live = Array.from({ length: 150_000 }, (_, i) => ({ i, s: 'live ' + i })); // stays
    let largest = 0;
    for (let burst = 0; burst < 12; burst++) {
      let streams = [];
      for (let i = 0; i < 150_000; i++) {
        streams.push({ i, s: 'stream ' + burst + ' ' + i, a: [i, burst] });
        if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
      }
      streams = undefined;
      for (let t = 0; t < 20; t++) {
        for (let i = 0; i < 20_000; i++) ({ t, i });
        largest = Math.max(largest, oldSpace());
        await new Promise((r) => setImmediate(r));
      }
    }
    process.stdout.write(String(largest));`;
  const r = runModule(script);
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout);
}

test('a smaller step keeps the old generation lower over bursts of garbage that reaches it', () => {
  const stepped = largestOldGeneration(50);
  const own = largestOldGeneration(0);
  assert.ok(stepped < own * 0.8, `${stepped / MB} MB with the step against ${own / MB} MB without`);
});

test("node's own flag for the old generation's growth wins over the setting", () => {
  assert.equal(oldGenerationGrowthSetByFlags([]), false);
  assert.equal(oldGenerationGrowthSetByFlags(['--heap-growing-percent=20']), true);
  assert.equal(oldGenerationGrowthSetByFlags(['--heap_growing_percent=80']), true);
  assert.equal(oldGenerationGrowthSetByFlags(['--max-old-space-size=512']), false);
});
