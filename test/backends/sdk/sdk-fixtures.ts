/**
 * The Agent SDK message sequences recorded from the real Claude Code binary against the fake
 * upstream (test/fixtures/sdk/, written by scripts/record-sdk-fixtures.ts), one SDK message a line.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';

const DIR = path.resolve(import.meta.dirname, '..', '..', 'fixtures', 'sdk');

/** A recording by name (its file name without `.jsonl`). */
export function sdkFixture(name: string): SDKMessage[] {
  const text = fs.readFileSync(path.join(DIR, `${name}.jsonl`), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as SDKMessage);
}

/** Every recording's name. */
export function sdkFixtureNames(): string[] {
  return fs
    .readdirSync(DIR)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => f.slice(0, -'.jsonl'.length))
    .sort();
}
