/**
 * A batch's columns (columns.ts) written into DuckDB data chunks, in DuckDB's own layout. The node
 * API's vectors take one value at a time — a timestamp as an object holding a BigInt, a null through
 * a mask of BigInts, every text through a native call — which cost the access log's thread ~4 µs a
 * row (docs/performance.md, nineteenth session). Here each column is written into one buffer as
 * `duckdb.h` lays a vector out (fixed-width values; 16-byte `duckdb_string_t`s, a text of up to 12
 * bytes inline; a validity mask of 64-bit words, a bit set for a value) and copied into its vector in
 * one call. Only a text longer than 12 bytes takes a native call each, to go in the vector's string
 * heap. Little-endian, as DuckDB's builds for node are (x64 and arm64): a big-endian machine is refused.
 */
import os from 'node:os';

import { DuckDBDataChunk, type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { COLUMN_TYPES, type ColumnType, ROW_COLUMNS, SMALLINT_MAX } from '../row.ts';
import type { RowColumns } from './columns.ts';

const TYPES: readonly ColumnType[] = ROW_COLUMNS.map((c) => COLUMN_TYPES[c]);

/** Each column type's DuckDB type, and the bytes a value takes in a vector. */
const LAYOUT: Record<ColumnType, { id: DuckDBTypeId; width: number }> = {
  text: { id: DuckDBTypeId.VARCHAR, width: 16 },
  timestamp: { id: DuckDBTypeId.TIMESTAMP, width: 8 },
  double: { id: DuckDBTypeId.DOUBLE, width: 8 },
  integer: { id: DuckDBTypeId.INTEGER, width: 4 },
  smallint: { id: DuckDBTypeId.SMALLINT, width: 2 },
  boolean: { id: DuckDBTypeId.BOOLEAN, width: 1 },
};

/** The longest text a `duckdb_string_t` holds inline. */
const INLINE = 12;
const TWO_32 = 2 ** 32;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const encoder = new TextEncoder();

/** Rows a data chunk holds: DuckDB's vector size (2,048). */
export const CHUNK_ROWS = duckdb.vector_size();

/**
 * Refuses a table whose columns are not the types this writes: a value written in the wrong layout
 * would be read as garbage, or crash the process.
 */
function checkTypes(types: readonly DuckDBType[]): void {
  if (types.length !== TYPES.length)
    throw new Error(
      `The access log's table has ${types.length} columns where this ccproxy writes ${TYPES.length}.`,
    );
  types.forEach((t, c) => {
    if (t.typeId !== LAYOUT[TYPES[c]!].id)
      throw new Error(
        `The access log's column ${ROW_COLUMNS[c]} is ${t} where this ccproxy writes ${TYPES[c]}.`,
      );
  });
}

/**
 * Writes batches' rows into one data chunk, reused: a new chunk a batch (~0.6 MB of vectors, freed
 * only when the collector gets to it) touched fresh memory each time, and its page faults cost more
 * than writing the values. A range of up to CHUNK_ROWS rows at a time; the chunk is appended before
 * the next range is written.
 */
export class ChunkWriter {
  private readonly chunk: DuckDBDataChunk;
  /** The current batch, and its distinct strings' bytes when they fit inline (null when not). */
  private cols: RowColumns | undefined;
  private inline: (Uint8Array | null)[] = [];
  private readonly buffer: ArrayBuffer;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly validity: Uint32Array;

  /** For a table with these (checked) types. */
  constructor(types: readonly DuckDBType[]) {
    if (os.endianness() !== 'LE') throw new Error('The DuckDB access log is written little-endian only.');
    checkTypes(types);
    this.chunk = DuckDBDataChunk.create(types);
    this.buffer = new ArrayBuffer(16 * CHUNK_ROWS);
    this.bytes = new Uint8Array(this.buffer);
    this.view = new DataView(this.buffer);
    this.validity = new Uint32Array(Math.ceil(CHUNK_ROWS / 64) * 2);
  }

  /** Rows from..to of the batch in the chunk, until the next call. */
  write(cols: RowColumns, from: number, to: number): DuckDBDataChunk {
    if (cols !== this.cols) {
      this.cols = cols;
      this.inline = [];
    }
    // Reset drops the last range's strings and nulls.
    this.chunk.reset();
    this.chunk.rowCount = to - from;
    for (let c = 0; c < TYPES.length; c++)
      this.column(duckdb.data_chunk_get_vector(this.chunk.chunk, c), cols, c, from, to);
    if (to === cols.count) {
      // The batch's last range: hold nothing of it until the next.
      this.cols = undefined;
      this.inline = [];
    }
    return this.chunk;
  }

  private column(vector: duckdb.Vector, cols: RowColumns, c: number, from: number, to: number): void {
    const { bytes, view, validity } = this;
    const type = TYPES[c]!;
    const { width } = LAYOUT[type];
    const n = to - from;
    const values = cols.values;
    const base = c * cols.count;
    /** Rows whose text goes in the string heap. */
    const heap: number[] = [];
    let nulls = false;
    if (type === 'text') bytes.fill(0, 0, 16 * n);
    validity.fill(0xffffffff);
    for (let i = 0; i < n; i++) {
      const v = values[base + from + i]!;
      if (type === 'text' ? v === 0 : Number.isNaN(v)) {
        nulls = true;
        validity[i >>> 5]! &= ~(1 << (i & 31));
        continue;
      }
      switch (type) {
        case 'text': {
          const b = this.inlineBytes(cols, v - 1);
          if (b === null) heap.push(i);
          else {
            view.setUint32(i * 16, b.length, true);
            bytes.set(b, i * 16 + 4);
          }
          break;
        }
        case 'timestamp': {
          // Microseconds since the epoch, an int64 written as two halves (no BigInt a row).
          const micros = Math.trunc(v) * 1000;
          const high = Math.floor(micros / TWO_32);
          view.setUint32(i * 8, micros - high * TWO_32, true);
          view.setInt32(i * 8 + 4, high, true);
          break;
        }
        case 'double':
          view.setFloat64(i * 8, v, true);
          break;
        case 'integer':
          view.setInt32(i * 4, Math.max(INT32_MIN, Math.min(v, INT32_MAX)), true);
          break;
        case 'smallint':
          // A count past the bound (retries) is stored at it rather than refusing the batch.
          view.setInt16(i * 2, Math.max(-SMALLINT_MAX - 1, Math.min(v, SMALLINT_MAX)), true);
          break;
        case 'boolean':
          bytes[i] = v;
          break;
      }
    }
    duckdb.copy_data_to_vector(vector, 0, this.buffer, 0, width * n);
    if (nulls) {
      duckdb.vector_ensure_validity_writable(vector);
      duckdb.copy_data_to_vector_validity(
        vector,
        0,
        validity.buffer as ArrayBuffer,
        0,
        Math.ceil(n / 64) * 8,
      );
    }
    // After the copy, which would overwrite them.
    for (const i of heap)
      duckdb.vector_assign_string_element(vector, i, cols.strings[values[base + from + i]! - 1]!);
  }

  private inlineBytes(cols: RowColumns, k: number): Uint8Array | null {
    let b = this.inline[k];
    if (b === undefined) {
      const s = cols.strings[k]!;
      // A UTF-8 text is at least as many bytes as its UTF-16 length: only a short one can fit.
      b = s.length > INLINE ? null : encoder.encode(s);
      if (b !== null && b.length > INLINE) b = null;
      this.inline[k] = b;
    }
    return b;
  }
}
