/**
 * A small closed-loop load generator on undici: `concurrency` workers send requests back to back
 * for `durationMs` (or `count` requests in all) and record latency, time to first byte and whether
 * each streamed answer arrived whole.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface LoadSpec {
  origin: string;
  path: string;
  body: string;
  headers?: Record<string, string>;
  concurrency: number;
  durationMs?: number;
  /** Total requests instead of a duration. */
  count?: number;
  /** How a complete streamed answer ends (e.g. `event: message_stop` or `data: [DONE]`). */
  streamEnd?: string;
  /** Frames a complete answer must contain (counted by `frameMarker`). */
  expectFrames?: number;
  frameMarker?: string;
}

export interface LoadResult {
  requests: number;
  errors: number;
  incomplete: number;
  seconds: number;
  rps: number;
  frames: number;
  latencyMs: number[];
  ttfbMs: number[];
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

function countOf(hay: string, needle: string): number {
  let n = 0;
  for (let i = hay.indexOf(needle); i !== -1; i = hay.indexOf(needle, i + needle.length)) n++;
  return n;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const pool = new Pool(spec.origin, {
    connections: spec.concurrency,
    pipelining: 1,
    keepAliveTimeout: 60_000,
  });
  const latencyMs: number[] = [];
  const ttfbMs: number[] = [];
  let requests = 0;
  let errors = 0;
  let incomplete = 0;
  let frames = 0;
  let issued = 0;
  const start = performance.now();
  const deadline = spec.durationMs ? start + spec.durationMs : Number.POSITIVE_INFINITY;
  const headers = { 'content-type': 'application/json', ...spec.headers };

  const worker = async () => {
    while (performance.now() < deadline && (spec.count === undefined || issued < spec.count)) {
      issued++;
      const t0 = performance.now();
      try {
        const res = await pool.request({ method: 'POST', path: spec.path, headers, body: spec.body });
        let first = true;
        let text = '';
        for await (const chunk of res.body) {
          if (first) {
            ttfbMs.push(performance.now() - t0);
            first = false;
          }
          if (spec.streamEnd) text += chunk.toString();
        }
        latencyMs.push(performance.now() - t0);
        requests++;
        if (res.statusCode !== 200) errors++;
        else if (spec.streamEnd) {
          const n = spec.frameMarker ? countOf(text, spec.frameMarker) : 0;
          frames += n;
          if (!text.includes(spec.streamEnd) || (spec.expectFrames !== undefined && n !== spec.expectFrames))
            incomplete++;
        }
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  await pool.close();
  return { requests, errors, incomplete, seconds, rps: requests / seconds, frames, latencyMs, ttfbMs };
}
