/**
 * A large body parsed a piece at a time (src/server/json-pieces.ts) gives what JSON.parse of the
 * whole gives, or nothing (then the whole is parsed, and a body that is not JSON gets its error).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { unreadFirstByte, unreadItems } from '../../src/body-bytes.ts';
import { ChunkedBytes } from '../../src/chunked-bytes.ts';
import { ProxyError } from '../../src/errors.ts';
import { parseInPieces } from '../../src/server/json-pieces.ts';
import { JsonShapeScanner } from '../../src/server/json-shape.ts';
import { cut } from '../helpers/cut.ts';

/** As the body reader does: scanned as it arrives (cut at `cuts`), then parsed in pieces from those chunks. */
function pieces(text: string, cuts: number[] = [], largeArray = 0, unreadFrom = Number.POSITIVE_INFINITY) {
  const bytes = Buffer.from(text);
  const scanner = new JsonShapeScanner({ maxDepth: 1e9, maxElements: 1e9 });
  const chunks = cut(bytes, cuts);
  for (const chunk of chunks) scanner.feed(chunk);
  return parseInPieces(new ChunkedBytes(chunks), scanner.topLevel, scanner.nested, largeArray, unreadFrom);
}

describe('a large body parsed in pieces', () => {
  it('any object, formatted any way, cut anywhere: what JSON.parse gives, key order included', () => {
    const space = fc.constantFrom('', ' ', '\n', '\t ', '  \r\n');
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }),
        space,
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 6 }),
        (object, ws, indent, cuts) => {
          const text = `${ws}${JSON.stringify(object, null, indent % 3 === 0 ? undefined : ws.length || 1)}${ws}`;
          const got = pieces(text, cuts);
          if (got === undefined) return assert.ok(Object.hasOwn(object, '__proto__'), text);
          const whole = JSON.parse(text) as object;
          assert.deepEqual(got, whole);
          assert.deepEqual(Object.keys(got), Object.keys(whole));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('an array member item by item, only when it is large', () => {
    const text =
      '{"model": "m", "messages": [ {"role": "user", "content": "a,b]"} , [1, [2]], "x", 3 ], "n": [] }';
    assert.deepEqual(pieces(text), JSON.parse(text));
    assert.deepEqual(pieces(text, [], 1e9), JSON.parse(text));
    assert.deepEqual(pieces('{"a": [ ], "b": [1]}'), { a: [], b: [1] });
  });

  it('a repeated key keeps its first place and its last value, as JSON.parse does', () => {
    assert.deepEqual(pieces('{"a": 1, "b": 2, "a": 3}'), JSON.parse('{"a": 1, "b": 2, "a": 3}'));
    assert.deepEqual(Object.keys(pieces('{"a": 1, "b": 2, "a": 3}')!), ['a', 'b']);
  });

  it('anything JSON.parse would refuse, or word differently, is left to it', () => {
    for (const text of [
      '{"a": 1} x',
      'x {"a": 1}',
      '\uFEFF{"a": 1}',
      '{"a": 1 "b": 2}',
      '{"a": 1,}',
      '{"a": [1,]}',
      '{"a": [1}',
      '{"a": [1] 2}',
      '{"a" 1}',
      '{a: 1}',
      '{"a": tru}',
      '{"__proto__": {"x": 1}}',
      `{${Array.from({ length: 300 }, (_, i) => `"k${i}": ${i}`).join(',')}}`, // more members than a request has
      '[1, 2]',
      '"text"',
      '',
      '{',
    ])
      assert.equal(pieces(text), undefined, text);
  });

  it('members left unread: any object, cut anywhere, reads as JSON.parse gives, each parsed once', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }),
        fc.nat({ max: 40 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 6 }),
        (object, unreadFrom, spaced, cuts) => {
          const text = JSON.stringify(object, null, spaced ? 1 : undefined);
          const got = pieces(text, cuts, 0, unreadFrom);
          if (got === undefined) return assert.ok(Object.hasOwn(object, '__proto__'), text);
          const whole = JSON.parse(text) as Record<string, unknown>;
          assert.deepEqual(Object.keys(got), Object.keys(whole));
          for (const key of Object.keys(whole)) {
            const first = unreadFirstByte(got, key);
            if (first !== undefined) assert.equal(String.fromCharCode(first), JSON.stringify(whole[key])[0]);
            // An unread array gives its items one at a time, and stays unread.
            const items = unreadItems(got, key);
            assert.equal(items !== undefined, first !== undefined && Array.isArray(whole[key]), key);
            if (items) {
              assert.deepEqual([...items], whole[key]);
              assert.equal(unreadFirstByte(got, key), first);
            }
          }
          assert.deepEqual(got, whole);
          // Read once: the same object on every read, nothing left unread.
          for (const key of Object.keys(whole)) {
            assert.equal(got[key], got[key]);
            assert.equal(unreadFirstByte(got, key), undefined);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('an unread member that is not JSON inside is a 400 when read; a broken structure is refused at once', () => {
    // (Two items without a comma between are one item that is not JSON, found when read.)
    const got = pieces(
      '{"model": "m", "messages": [{"role": "user"} {"content": 1}], "tools": {"a": tru}}',
      [],
      0,
      10,
    )!;
    assert.equal(got.model, 'm');
    assert.equal(unreadFirstByte(got, 'messages'), '['.charCodeAt(0));
    assert.equal(unreadFirstByte(got, 'tools'), '{'.charCodeAt(0));
    // Item by item: an item that is not JSON is the error when reached, not before.
    assert.throws(() => [...unreadItems(got, 'messages')!], SyntaxError);
    assert.equal(unreadItems(got, 'tools'), undefined, 'not an array');
    const items = unreadItems(
      pieces('{"messages": [{"role": "user"}, {"content": tru}]}', [], 0, 10)!,
      'messages',
    )![Symbol.iterator]();
    assert.deepEqual(items.next().value, { role: 'user' });
    assert.throws(() => items.next(), SyntaxError);
    for (const key of ['messages', 'tools'])
      assert.throws(
        () => got[key],
        (err) =>
          err instanceof ProxyError &&
          err.status === 400 &&
          err.message.startsWith(`The request body is not valid JSON: in "${key}", `),
      );
    // Replaced, it is what was assigned.
    got.messages = [];
    assert.deepEqual(got.messages, []);
    assert.equal(unreadFirstByte(got, 'messages'), undefined);
    // Commas, brackets and empty items are checked before anything is left unread.
    for (const text of [
      '{"messages": [{"a": 1},]}',
      '{"messages": [ , {"a": 1}]}',
      '{"messages": [{"a": 1}] x}',
      '{"messages":          }',
    ])
      assert.equal(pieces(text, [], 0, 10), undefined, text);
  });
});
