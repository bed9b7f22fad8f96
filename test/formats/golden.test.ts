/**
 * Golden outputs: every recorded Anthropic fixture (test/fixtures/anthropic) rendered by the Chat
 * Completions and Responses renderers, compared byte for byte with test/fixtures/golden/<format>/:
 * `<fixture>.sse` is the stream renderer's output for `<fixture>.chunks.txt`, `<fixture>.json` the
 * non-stream renderer's body for `<fixture>.json` (as `JSON.stringify(body, null, 2)`). Ids and times
 * come from a fixed RenderMeta, so the files only change when a renderer does: a renderer change shows
 * as a diff in review. After an intended change: `UPDATE_GOLDEN=1 npm test -- test/formats/golden`,
 * then read the diff. (test/fixtures/README.md)
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Message, StreamEvent } from '../../src/formats/anthropic/types.ts';
import type { Frontend, Parsed } from '../../src/formats/frontend.ts';
import { openaiFrontend } from '../../src/formats/openai/index.ts';
import { responsesFrontend } from '../../src/formats/responses/index.ts';
import { FIXTURES, fixtureNames, readChunks, readJsonFixture } from '../support/fixtures.ts';
import { META, parsedFor as openaiParsed, options } from './openai/helpers.ts';
import { parsedFor as responsesParsed } from './responses/helpers.ts';

const GOLDEN = path.join(FIXTURES, 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const HOW = 'UPDATE_GOLDEN=1 npm test -- test/formats/golden';

/** Each format with the request it answers: the options a client most often sends. */
const FORMATS: Array<{ name: string; frontend: Frontend; parsed: Parsed }> = [
  {
    name: 'openai',
    frontend: openaiFrontend as Frontend,
    parsed: openaiParsed({ includeUsage: true }) as Parsed,
  },
  {
    name: 'responses',
    frontend: responsesFrontend as Frontend,
    parsed: responsesParsed({ encryptedReasoning: true }) as Parsed,
  },
];

const streams = fixtureNames('anthropic', '.chunks.txt');
const messages = fixtureNames('anthropic', '.json').filter(
  (name) => readJsonFixture<{ type: string }>('anthropic', name).type === 'message',
);

function renderStream(f: (typeof FORMATS)[number], events: StreamEvent[]): string {
  const r = f.frontend.streamRenderer(f.parsed, META, options());
  let out = '';
  for (const ev of events) out += r.push(ev);
  return out + r.end();
}

function renderMessage(f: (typeof FORMATS)[number], msg: Message): string {
  return `${JSON.stringify(f.frontend.renderMessage(msg, f.parsed, META, options()), null, 2)}\n`;
}

/** Compare with the golden file, or (UPDATE_GOLDEN=1) write it. */
function golden(file: string, actual: string): void {
  const rel = path.relative(process.cwd(), file);
  if (UPDATE) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== actual) fs.writeFileSync(file, actual);
    return;
  }
  assert.ok(fs.existsSync(file), `no golden file ${rel}: create it with ${HOW}`);
  assert.equal(actual, fs.readFileSync(file, 'utf8'), `${rel} is not what the renderer writes now (${HOW})`);
}

for (const f of FORMATS) {
  describe(`golden ${f.name} output`, () => {
    const dir = path.join(GOLDEN, f.name);
    const expected = new Set([...streams.map((n) => `${n}.sse`), ...messages.map((n) => `${n}.json`)]);

    for (const name of streams) {
      it(`${name}.chunks.txt → ${name}.sse`, () => {
        golden(path.join(dir, `${name}.sse`), renderStream(f, readChunks<StreamEvent>('anthropic', name)));
      });
    }
    for (const name of messages) {
      it(`${name}.json → ${name}.json`, () => {
        golden(path.join(dir, `${name}.json`), renderMessage(f, readJsonFixture<Message>('anthropic', name)));
      });
    }

    it('has no golden file without its fixture', () => {
      const stale = (fs.existsSync(dir) ? fs.readdirSync(dir) : []).filter((file) => !expected.has(file));
      if (UPDATE) for (const file of stale) fs.rmSync(path.join(dir, file));
      else assert.deepEqual(stale, [], `golden files whose fixture is gone: remove them with ${HOW}`);
    });
  });
}
