/**
 * A batch of access-log rows as columns: what crosses to the DuckDB thread and what its data chunks
 * are filled from. Every value is a double in one array, column after column — a number, a boolean
 * as 0 or 1, NaN for null — and a text is the index of the batch's string (1-based; 0 for null), each
 * distinct string kept once. The array crosses by transfer, not copied, and only the distinct
 * strings are cloned: a structured clone of 2,000 row objects cost ~4.7 µs a row on the two threads
 * together, encoding ~0.9 (docs/performance.md, seventeenth session), and the thread builds no
 * objects for its heap to collect.
 */
import { type AccessLogRow, COLUMN_TYPES, ROW_COLUMNS } from '../row.ts';

type Kind = 'text' | 'number' | 'bool';

/** How each column is encoded, in the table's order (ROW_COLUMNS). */
const COLUMN_KINDS: readonly Kind[] = ROW_COLUMNS.map((c) =>
  COLUMN_TYPES[c] === 'text' ? 'text' : COLUMN_TYPES[c] === 'boolean' ? 'bool' : 'number',
);

export interface RowColumns {
  count: number;
  /** Row i's value of column c at `c * count + i`. */
  values: Float64Array;
  /** The batch's distinct strings: a text value k is `strings[k - 1]`. */
  strings: string[];
}

/** Rows encoded a part at a time (so a large batch need not hold the event loop in one turn). */
export class RowColumnsBuilder {
  private readonly values: Float64Array;
  private readonly strings: string[] = [];
  private readonly index = new Map<string, number>();

  constructor(private readonly count: number) {
    this.values = new Float64Array(count * ROW_COLUMNS.length);
  }

  /** Encode rows[from..to) as the batch's rows from..to. */
  add(rows: readonly AccessLogRow[], from = 0, to = rows.length): this {
    const { values, count } = this;
    for (let c = 0; c < ROW_COLUMNS.length; c++) {
      const key = ROW_COLUMNS[c]!;
      const kind = COLUMN_KINDS[c];
      const base = c * count;
      for (let i = from; i < to; i++) {
        const v = rows[i]![key];
        values[base + i] =
          v === null ? (kind === 'text' ? 0 : Number.NaN) : kind === 'text' ? this.text(v as string) : +v;
      }
    }
    return this;
  }

  done(): RowColumns {
    return { count: this.count, values: this.values, strings: this.strings };
  }

  private text(s: string): number {
    let k = this.index.get(s);
    if (k === undefined) {
      k = this.strings.push(s);
      this.index.set(s, k);
    }
    return k;
  }
}

export function encodeRows(rows: readonly AccessLogRow[]): RowColumns {
  return new RowColumnsBuilder(rows.length).add(rows).done();
}

/** Column c of row i as it was in the row (a boolean, a number, a string or null). */
export function columnValue(cols: RowColumns, c: number, i: number): string | number | boolean | null {
  const v = cols.values[c * cols.count + i]!;
  switch (COLUMN_KINDS[c]) {
    case 'text':
      return v === 0 ? null : cols.strings[v - 1]!;
    case 'bool':
      return v === 1;
    default:
      return Number.isNaN(v) ? null : v;
  }
}
