/** Load the recorded upstream responses in test/fixtures (see its README for the formats). */
import fs from 'node:fs';
import path from 'node:path';
import type { Message, StreamEvent } from '../../src/formats/anthropic/types.ts';

export const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures');

export function fixtureNames(dir: string, suffix: string): string[] {
  return fs
    .readdirSync(path.join(FIXTURES, dir))
    .filter((f) => f.endsWith(suffix))
    .map((f) => f.slice(0, -suffix.length))
    .sort();
}

/** One JSON event per line; lines may carry trailing whitespace. */
export function readChunks<T = StreamEvent>(dir: string, name: string): T[] {
  return fs
    .readFileSync(path.join(FIXTURES, dir, `${name}.chunks.txt`), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

export function readJsonFixture<T = Message>(dir: string, name: string): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, dir, `${name}.json`), 'utf8')) as T;
}

/** A recorded Anthropic stream as the exact SSE bytes the API sends. */
export function anthropicSse(name: string): string {
  return readChunks('anthropic', name)
    .map((ev) => `event: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`)
    .join('');
}
