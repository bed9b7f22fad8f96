/**
 * A body read in place from the chunks it arrived in (src/chunked-bytes.ts): every byte, range and
 * text as the joined buffer gives them, wherever the chunks were cut (inside a character too).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ChunkedBytes } from '../../src/chunked-bytes.ts';
import { cut } from '../helpers/cut.ts';

describe('a body as the chunks it came in', () => {
  it('reads as the joined bytes: bytes, views, text and searches, cut anywhere', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.nat(),
        fc.nat(),
        (text, cuts, a, b) => {
          const whole = Buffer.from(text);
          const bytes = new ChunkedBytes(cut(whole, cuts));
          assert.equal(bytes.length, whole.length);
          assert.deepEqual(bytes.whole(), whole);
          for (let i = -1; i <= whole.length; i++) assert.equal(bytes.at(i), whole[i], `byte ${i}`);
          // Backwards too: the lookup remembers its last chunk.
          for (let i = whole.length - 1; i >= 0; i--) assert.equal(bytes.at(i), whole[i]);
          // Ranges between characters (as JSON's structure is): the text of the joined bytes.
          const starts = [0];
          for (const ch of text) starts.push(starts.at(-1)! + Buffer.byteLength(ch));
          const [x, y] = [starts[a % starts.length]!, starts[b % starts.length]!].sort((p, q) => p - q);
          assert.equal(bytes.text(x!, y!), whole.toString('utf8', x, y));
          assert.deepEqual(Buffer.concat(bytes.slices(x!, y!)), whole.subarray(x, y));
          // A needle from the body itself, across cuts or not, searched within the range.
          const needle = whole.subarray(x, Math.min(whole.length, x! + 1 + (b % 5)));
          if (needle.length > 0) {
            const expected = whole.subarray(0, y).indexOf(needle, a % (whole.length + 1));
            assert.equal(bytes.indexOf(needle, a % (whole.length + 1), y!), expected);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('one chunk is used as it is', () => {
    const only = Buffer.from('{"a": 1}');
    const bytes = new ChunkedBytes([only]);
    assert.equal(bytes.whole(), only);
    assert.equal(bytes.slices(0, only.length)[0]!.buffer, only.buffer);
    assert.equal(new ChunkedBytes([]).text(0, 0), '');
  });
});
