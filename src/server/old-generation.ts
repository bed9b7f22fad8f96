/**
 * How far V8 lets the old generation grow before its next full collection. A burst's streams live
 * for seconds, long enough for their objects to reach the old generation, and V8 lets it grow up to
 * 4× what the last full collection kept before marking again: back-to-back bursts of 1,000 streams
 * took ccproxy's RSS up 25 MB a burst to ~250 MB before a collection, where the pass-through floor
 * levels off at ~120–145 (docs/performance.md, twenty-first session). V8 reads
 * `--heap-growing-percent` each time it sets the next limit, so the server can set it as it starts.
 */
import v8 from 'node:v8';

/**
 * Whether node's command line already sets the old generation's growth: the user's choice stands.
 * (node refuses the flag in NODE_OPTIONS.)
 */
export function oldGenerationGrowthSetByFlags(execArgv: readonly string[]): boolean {
  return execArgv.some((a) => /^--heap[-_]growing[-_]percent/.test(a));
}

/** Let the old generation grow `percent` past what a full collection keeps before the next one. */
export function limitOldGenerationGrowth(percent: number): void {
  v8.setFlagsFromString(`--heap-growing-percent=${Math.round(percent)}`);
}
