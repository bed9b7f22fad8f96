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
  fc.constantFrom('api', 'claude-sonnet-5-5', 'é✓ 中文 🙂'),
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
    const rows = fc.sample(row, { numRuns: 300, seed: 17 }).map((r, i) => ({ ...r, id: `r${i}` }));
    await store.insertBatch(rows);
    const back = (await store.query({ order: 'asc', limit: 1000 })).rows;
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
});
