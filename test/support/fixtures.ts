/**
 * Recorded Anthropic responses in test/fixtures/anthropic (format: test/fixtures/README.md).
 * `<name>.chunks.txt` holds one stream event's JSON per line; `<name>.json` one response body.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SseEvent } from './types.ts';

export const FIXTURE_DIR = path.resolve(import.meta.dirname, '../fixtures/anthropic');

export interface Fixture {
  name: string;
  /** Stream events, `data` kept as recorded (lines trimmed, inner spacing untouched). */
  events?: SseEvent[];
  /** The non-streamed body: a Message, or an error body (`type: "error"`). */
  json?: Record<string, unknown>;
}

const cache = new Map<string, Fixture>();

/** Fixture names (file names without `.chunks.txt` / `.json`), sorted. */
export function fixtureNames(): string[] {
  const names = new Set<string>();
  for (const file of fs.readdirSync(FIXTURE_DIR)) {
    const m = /^(.*?)(\.chunks\.txt|\.json)$/.exec(file);
    if (m) names.add(m[1]);
  }
  return [...names].sort();
}

/** Parse a `.chunks.txt` text: lines may carry trailing whitespace (kept byte-for-byte upstream). */
export function parseChunks(text: string): SseEvent[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => {
      const parsed = JSON.parse(line) as { type?: unknown };
      return { event: String(parsed.type), data: line };
    });
}

export function loadFixture(name: string): Fixture {
  const hit = cache.get(name);
  if (hit) return hit;
  const chunks = path.join(FIXTURE_DIR, `${name}.chunks.txt`);
  const json = path.join(FIXTURE_DIR, `${name}.json`);
  const fixture: Fixture = { name };
  if (fs.existsSync(chunks)) fixture.events = parseChunks(fs.readFileSync(chunks, 'utf8'));
  if (fs.existsSync(json)) fixture.json = JSON.parse(fs.readFileSync(json, 'utf8'));
  if (!fixture.events && !fixture.json) {
    throw new Error(`No fixture "${name}" in ${FIXTURE_DIR} (have: ${fixtureNames().join(', ')})`);
  }
  cache.set(name, fixture);
  return fixture;
}
