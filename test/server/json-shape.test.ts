/**
 * The pre-parse scan of a JSON body (src/server/json-shape.ts): depth and element counts read from
 * raw bytes, fed in arbitrary chunks, never fooled by brackets, quotes or escapes inside strings.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isJsonContentType } from '../../src/server/body.ts';
import { JsonShapeScanner, MAX_JSON_DEPTH, type ShapeExcess } from '../../src/server/json-shape.ts';
import { cut } from '../helpers/cut.ts';

/** Feed `text` cut at `cuts` (byte offsets); the first excess reported, if any. */
function scan(text: string, limits: { maxDepth: number; maxElements: number }, cuts: number[] = []) {
  const bytes = Buffer.from(text);
  const scanner = new JsonShapeScanner(limits);
  for (const chunk of cut(bytes, cuts)) {
    const excess = scanner.feed(chunk);
    if (excess) return excess;
  }
  return undefined;
}

function depthOf(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + Math.max(0, ...children.map(depthOf));
}

/** `{`, `[`, `,` and `:` of the serialised value, as the scanner counts them. */
function elementsOf(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  if (Array.isArray(v)) return 1 + Math.max(0, v.length - 1) + v.reduce((n, c) => n + elementsOf(c), 0);
  const entries = Object.values(v);
  return (
    1 + Math.max(0, entries.length - 1) + entries.length + entries.reduce((n, c) => n + elementsOf(c), 0)
  );
}

const loose = { maxDepth: 1e9, maxElements: 1e9 };

describe('JSON shape scan', () => {
  it('refuses one level past the limit, not at it', () => {
    const at = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
    assert.equal(scan(at, { maxDepth: MAX_JSON_DEPTH, maxElements: 1e9 }), undefined);
    assert.equal(scan(`[${at}]`, { maxDepth: MAX_JSON_DEPTH, maxElements: 1e9 }), 'depth');
    // Refused as soon as the limit is crossed: the rest need never arrive.
    assert.equal(
      scan('['.repeat(MAX_JSON_DEPTH + 1), { maxDepth: MAX_JSON_DEPTH, maxElements: 1e9 }),
      'depth',
    );
  });

  it('brackets, quotes and escapes inside strings are text', () => {
    const tricky = JSON.stringify({
      a: '[[[{{{',
      b: 'say \\"[[[\\" \\\\',
      c: ['"]]]"', '\\'],
      d: '\u{1F600}[',
    });
    assert.equal(scan(tricky, { maxDepth: 2, maxElements: 1e9 }), undefined);
    // An escaped backslash ends before the quote: the string closes there, and the bracket after counts.
    assert.equal(scan('["\\\\",[[]]]', { maxDepth: 2, maxElements: 1e9 }), 'depth');
  });

  it('an escape cut between two chunks is still an escape', () => {
    const text = '["a\\"[[[[", [[]]]';
    for (let cut = 0; cut <= Buffer.byteLength(text); cut++) {
      assert.equal(scan(text, { maxDepth: 3, maxElements: 1e9 }, [cut]), undefined, `cut at ${cut}`);
      assert.equal(scan(text, { maxDepth: 2, maxElements: 1e9 }, [cut]), 'depth', `cut at ${cut}`);
    }
  });

  it('counts objects, arrays and members', () => {
    assert.equal(scan('[1,2,3]', { maxDepth: 9, maxElements: 3 }), undefined);
    assert.equal(scan('[1,2,3,4]', { maxDepth: 9, maxElements: 3 }), 'elements');
    assert.equal(scan(`[${'{},'.repeat(99)}{}]`, { maxDepth: 9, maxElements: 1000 }), undefined);
    assert.equal(scan(`[${'{},'.repeat(999)}{}]`, { maxDepth: 9, maxElements: 1000 }), 'elements');
  });

  it('any JSON, cut anywhere: the depth and element limits hold exactly', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (v, cuts) => {
        const text = JSON.stringify(v);
        const depth = depthOf(v);
        const elements = elementsOf(v);
        assert.equal(scan(text, loose, cuts), undefined);
        assert.equal(scan(text, { maxDepth: depth, maxElements: elements }, cuts), undefined);
        if (depth > 0) {
          const excess: ShapeExcess | undefined = scan(text, { maxDepth: depth - 1, maxElements: 1e9 }, cuts);
          assert.equal(excess, 'depth');
          assert.equal(scan(text, { maxDepth: 1e9, maxElements: elements - 1 }, cuts), 'elements');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('long strings of quotes, backslashes and brackets, cut anywhere: still text (the jumps past 32 bytes)', () => {
    // Long strings are searched with indexOf rather than byte by byte: escapes dense or sparse,
    // a cut inside an escape or a run of backslashes, must end the string where JSON.parse does.
    const piece = fc.constantFrom('"', '\\', '\\"', '[', ']', '{', '}', ',', ':', 'x', 'é', '\n', ' ');
    const long = fc.array(piece, { maxLength: 200 }).map((p) => p.join(''));
    const run = fc.tuple(long, fc.nat({ max: 120 })).map(([s, pad]) => `${'a'.repeat(pad)}${s}`);
    fc.assert(
      fc.property(
        fc.array(run, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (strings, cuts) => {
          const v = { a: strings, b: [[strings[0]]], c: 1 };
          const text = JSON.stringify(v);
          assert.equal(scan(text, { maxDepth: 3, maxElements: elementsOf(v) }, cuts), undefined);
          assert.equal(scan(text, { maxDepth: 2, maxElements: 1e9 }, cuts), 'depth');
          assert.equal(scan(text, { maxDepth: 9, maxElements: elementsOf(v) - 1 }, cuts), 'elements');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('reads where a top-level object’s members are: its brace, each colon and comma, its closing brace', () => {
    const text = ' { "a" : "x,y:{}" , "b":[1,{"c":2}],"d\\"":{} } ';
    const at = (c: string, from = 0) => Buffer.from(text).indexOf(c, from);
    const expected = [
      at('{'),
      at(':'),
      at(',', at('"x,y') + 8),
      at(':', at('"b"')),
      at(',', at(']')),
      at(':', at('"d')),
      text.lastIndexOf('}'),
    ];
    for (let cut = 0; cut <= text.length; cut++) {
      const scanner = new JsonShapeScanner(loose);
      scanner.feed(Buffer.from(text).subarray(0, cut));
      scanner.feed(Buffer.from(text).subarray(cut));
      assert.deepEqual(scanner.topLevel, expected, `cut at ${cut}`);
    }
    const array = new JsonShapeScanner(loose);
    array.feed(Buffer.from('[{"a":1},{"b":2}]'));
    assert.deepEqual(array.topLevel, [], 'not an object: nothing to patch');
  });
});

describe('JSON media types', () => {
  it('application/json, any +json type, any parameters, or none at all', () => {
    for (const t of [
      undefined,
      'application/json',
      'APPLICATION/JSON',
      'application/json; charset=utf-8',
      'application/json;charset=UTF-8',
      'application/vnd.api+json',
      'application/merge-patch+json; charset=utf-8',
    ])
      assert.equal(isJsonContentType(t), true, String(t));
  });

  it('everything else, forms and text/plain included', () => {
    for (const t of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'text/json',
      'application/jsonp',
      'application/json-seq',
      'application/xml',
      'application/+json',
      '',
      '*/*',
    ])
      assert.equal(isJsonContentType(t), false, t);
  });
});
