/**
 * A ceiling on V8's young generation, kept from inside. Under load V8 doubles the young generation
 * up to 2 × 16 MB; in a burst of 1,000 streams that space, and the garbage it passes on to the old
 * generation, are most of what separates ccproxy's peak from the pass-through floor's
 * (docs/performance.md, eighteenth session). node's `--max-semi-space-size` caps it, but V8 reads that
 * flag only when the heap is made, so it can be neither a setting nor set by `ccproxy serve` itself.
 * V8 does read `--semi-space-growth-factor` each time it grows the space: at 1 the space keeps its
 * size. So the factor stays at V8's 2 while one more doubling fits under the ceiling, and goes to 1
 * once it does not (back to 2 when V8 shrinks the space, as it does when traffic stops).
 *
 * The size is looked at after collections (as node reports them, once the turn of the event loop
 * ends) and at every 16th request's start: a burst's accept phase can run several collections in one
 * turn, and each could double the space before the first report arrives. A look costs ~0.5 µs and
 * ~1 KB of garbage (V8's statistics of every space), 3% of what a small request allocates, so not
 * every request looks; 16 small requests allocate ~0.8 MB, far less than a semi-space under the
 * default ceiling, so no collection passes between two looks unseen. Only while many requests are in flight was
 * tried: a burst's first few hundred requests then grew the space before the ceiling held, and its
 * peak came out no lower.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import type { Lifecycle } from '../observability/lifecycle.ts';

const MB = 1024 * 1024;
/** V8's own growth factor (`node --v8-options`). */
const V8_GROWTH_FACTOR = 2;
/** Requests started between two looks at the size. */
const LOOK_EVERY = 16;

export interface YoungGenerationOptions {
  lifecycle: Lifecycle;
  /** The most the young generation (both semi-spaces) may take, in MB. */
  maxMb: number;
}

/**
 * The young generation's capacity (both semi-spaces), in bytes: what one semi-space holds, used and
 * available, twice. Not `space_size`, which is the memory committed: V8 gives the second semi-space
 * back when idle, so that reads half the capacity then.
 */
export function youngGenerationBytes(): number {
  for (const s of v8.getHeapSpaceStatistics())
    if (s.space_name === 'new_space') return 2 * (s.space_used_size + s.space_available_size);
  return 0;
}

/**
 * Whether node's flags (or NODE_OPTIONS) already decide the young generation's size or growth: then
 * the user's choice stands and no ceiling is kept.
 */
export function youngGenerationSizedByFlags(execArgv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  const given = [...execArgv, env.NODE_OPTIONS ?? ''].join(' ');
  return /--(max|min)[-_]semi[-_]space[-_]size|--semi[-_]space[-_]growth[-_]factor/.test(given);
}

/** Keep the young generation at or under `maxMb`; the returned function stops and lets V8 grow it again. */
export function capYoungGeneration(opts: YoungGenerationOptions): () => void {
  const max = opts.maxMb * MB;
  let growing = true;
  const look = () => {
    const grow = youngGenerationBytes() * V8_GROWTH_FACTOR <= max;
    if (grow === growing) return;
    growing = grow;
    v8.setFlagsFromString(`--semi-space-growth-factor=${grow ? V8_GROWTH_FACTOR : 1}`);
  };
  look();
  const collections = new PerformanceObserver(look);
  collections.observe({ entryTypes: ['gc'] });
  let starts = 0;
  const unsubscribe = opts.lifecycle.subscribe((event) => {
    if (event === 'start' && ++starts % LOOK_EVERY === 0) look();
  });
  return () => {
    unsubscribe();
    collections.disconnect();
    if (!growing) v8.setFlagsFromString(`--semi-space-growth-factor=${V8_GROWTH_FACTOR}`);
  };
}
