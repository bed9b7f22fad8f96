/**
 * The recorded responses in test/fixtures (formats: test/fixtures/README.md), for the fake upstream
 * and for every test that reads them: the one loader. `<dir>/<name>.chunks.txt` holds one stream
 * event's JSON per line; `<dir>/<name>.json` one response body.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SseEvent } from './types.ts';

export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures');
export const FIXTURE_DIR = path.join(FIXTURES, 'anthropic');

export type FixtureSuffix = '.chunks.txt' | '.json';

/** Names (file names without the suffix) of the fixtures in `dir`, of one kind or both, sorted. */
export function fixtureNames(dir = 'anthropic', suffix?: FixtureSuffix): string[] {
  const names = new Set<string>();
  for (const file of fs.readdirSync(path.join(FIXTURES, dir))) {
    const m = /^(.*?)(\.chunks\.txt|\.json)$/.exec(file);
    if (m && (!suffix || m[2] === suffix)) names.add(m[1]);
  }
  return [...names].sort();
}

/**
 * The event lines of a `.chunks.txt`, each the JSON of one event as recorded: trimmed (upstream
 * files pad some lines with spaces), inner spacing untouched.
 */
export function chunkLines(dir: string, name: string): string[] {
  return fs
    .readFileSync(path.join(FIXTURES, dir, `${name}.chunks.txt`), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

/** The events of a `.chunks.txt`, parsed. */
export function readChunks<T = any>(dir: string, name: string): T[] {
  return chunkLines(dir, name).map((line) => JSON.parse(line) as T);
}

/** A `.json` fixture, parsed. */
export function readJsonFixture<T = any>(dir: string, name: string): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, dir, `${name}.json`), 'utf8')) as T;
}

/** A recorded Anthropic stream as the exact SSE bytes the API sends (compact JSON, as the API writes it). */
export function anthropicSse(name: string): string {
  return readChunks<{ type: string }>('anthropic', name)
    .map((ev) => `event: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`)
    .join('');
}

export interface Fixture {
  name: string;
  /** Stream events, `data` kept as recorded (lines trimmed, inner spacing untouched). */
  events?: SseEvent[];
  /** The non-streamed body: a Message, or an error body (`type: "error"`). */
  json?: Record<string, unknown>;
}

const cache = new Map<string, Fixture>();

/** An Anthropic recording as the fake upstream replays it (`reply.fixture(name)`). */
export function loadFixture(name: string): Fixture {
  const hit = cache.get(name);
  if (hit) return hit;
  const fixture: Fixture = { name };
  if (fs.existsSync(path.join(FIXTURE_DIR, `${name}.chunks.txt`))) {
    fixture.events = chunkLines('anthropic', name).map((data) => ({
      event: String((JSON.parse(data) as { type?: unknown }).type),
      data,
    }));
  }
  if (fs.existsSync(path.join(FIXTURE_DIR, `${name}.json`)))
    fixture.json = readJsonFixture('anthropic', name);
  if (!fixture.events && !fixture.json) {
    throw new Error(`No fixture "${name}" in ${FIXTURE_DIR} (have: ${fixtureNames().join(', ')})`);
  }
  cache.set(name, fixture);
  return fixture;
}
