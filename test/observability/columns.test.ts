/**
 * Access-log rows as columns (src/observability/access-log/duckdb/columns.ts), what a batch crosses
 * to the DuckDB thread as: every value comes back as it was — nulls, empty and non-ASCII strings,
 * booleans, fractions, the largest counts — encoded whole or a part at a time, and stored in DuckDB
 * that way it reads back as the rows.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  columnValue,
  encodeRows,
  RowColumnsBuilder,
} from '../../src/observability/access-log/duckdb/columns.ts';
import { DuckDbStore } from '../../src/observability/access-log/duckdb/store.ts';
import { type AccessLogRow, ROW_COLUMNS } from '../../src/observability/access-log/row.ts';
import { tempDir } from './helpers.ts';

const text = fc.oneof(
  // Up to 12 bytes a text is stored inline in DuckDB, past them in its string heap (chunk.ts).
  fc.constantFrom('api', 'twelve bytes', 'thirteen byte', 'claude-sonnet-5-5', 'é✓ 中文 🙂', 'ééééé'),
  fc.string({ maxLength: 12 }),
);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
const int = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const ms = maybe(fc.integer({ min: 0, max: 10_000_000 }).map((n) => n / 1000));

const row: fc.Arbitrary<AccessLogRow> = fc
  .record({
    id: fc.string({ minLength: 1, maxLength: 40 }),
    ts: fc.integer({ min: Date.parse('2020-01-01'), max: Date.parse('2040-01-01') }),
    mode: fc.constantFrom('api', 'sdk'),
    format: fc.constantFrom('anthropic', 'openai', 'responses'),
    method: fc.constantFrom('GET', 'POST'),
    path: text,
    client_model: maybe(text),
    upstream_model: maybe(text),
    stream: fc.boolean(),
    status: maybe(fc.integer({ min: 100, max: 599 })),
    error_kind: maybe(text),
    duration_ms: ms,
    ttft_ms: ms,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int,
    cache_write_tokens: int,
    cache_write_1h_tokens: int,
    cost_usd: maybe(fc.double({ min: 0, max: 1000, noNaN: true })),
    stop_reason: maybe(text),
    retries: fc.integer({ min: 0, max: 30 }),
    sdk_turns: maybe(int),
    sdk_cost_usd: maybe(fc.double({ min: 0, max: 1000, noNaN: true })),
    user_agent: maybe(text),
    upstream_request_id: maybe(text),
    client_aborted: fc.boolean(),
    account: maybe(text),
    billing: maybe(fc.constantFrom('subscription' as const, 'api_key' as const)),
  })
  .map((r) => ({ ...r }));

const decoded = (cols: ReturnType<typeof encodeRows>) =>
  Array.from({ length: cols.count }, (_, i) =>
    Object.fromEntries(ROW_COLUMNS.map((c, k) => [c, columnValue(cols, k, i)])),
  );

describe('access-log rows as columns', () => {
  it('give back every value, encoded whole or a part at a time', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 30 }), fc.nat(), (rows, at) => {
        const whole = encodeRows(rows);
        assert.deepEqual(decoded(whole), rows);
        const split = at % (rows.length + 1);
        const parts = new RowColumnsBuilder(rows.length).add(rows, 0, split).add(rows, split).done();
        assert.deepEqual(decoded(parts), rows);
        // Each distinct string once.
        assert.equal(new Set(whole.strings).size, whole.strings.length);
      }),
    );
  });

  it('stored in DuckDB, read back as the rows', async (t) => {
    const store = await DuckDbStore.open(path.join(tempDir(t), 'log.duckdb'));
    t.after(() => store.close());
    // More than one data chunk (2,048 rows), ids short and long.
    const rows = fc
      .sample(row, { numRuns: 2500, seed: 17 })
      .map((r, i) => ({ ...r, id: i % 2 ? `r${i}` : `req_011CVabcdefghijklmnopq${i}` }));
    await store.insertBatch(rows);
    const back = (await store.query({ order: 'asc', limit: 3000 })).rows;
    assert.equal(back.length, rows.length);
    const byId = new Map(back.map((r) => [r.id, r]));
    for (const r of rows) {
      const b = byId.get(r.id) as unknown as Record<string, unknown>;
      assert.ok(b, r.id);
      for (const c of ROW_COLUMNS) {
        const expected = (r as unknown as Record<string, unknown>)[c];
        if (typeof expected === 'number' && !Number.isInteger(expected))
          assert.ok(
            Math.abs((b[c] as number) - expected) < 1e-9,
            `${r.id}.${c}: ${b[c]} against ${expected}`,
          );
        else assert.equal(b[c], expected, `${r.id}.${c}`);
      }
    }
  });

  it('written batch after batch into one reused chunk, keep nothing of the batch before', async (t) => {
    const store = await DuckDbStore.open(path.join(tempDir(t), 'log.duckdb'));
    t.after(() => store.close());
    const [base] = fc.sample(row, { numRuns: 1, seed: 3 });
    const long = 'a text longer than twelve bytes';
    // First nulls where the second batch has values, then the other way round.
    const first = Array.from({ length: 50 }, (_, i) => ({
      ...base!,
      id: `a${i}`,
      client_model: null,
      ttft_ms: null,
      user_agent: long,
    }));
    const second = Array.from({ length: 20 }, (_, i) => ({
      ...base!,
      id: `b${i}`,
      client_model: 'm',
      ttft_ms: 1.5,
      user_agent: null,
    }));
    await store.insertBatch(first);
    await store.insertBatch(second);
    const back = new Map((await store.query({ order: 'asc', limit: 100 })).rows.map((r) => [r.id, r]));
    for (const r of [...first, ...second]) {
      const b = back.get(r.id)!;
      assert.deepEqual(
        [b.client_model, b.ttft_ms, b.user_agent],
        [r.client_model, r.ttft_ms, r.user_agent],
        r.id,
      );
    }
  });
});
