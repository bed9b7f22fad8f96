/**
 * Access-log rows as CSV (RFC 4180): a header line, then one line per row, CRLF line ends.
 * Text a client chose (model names, user agents) is defused against spreadsheet formula
 * injection by a leading apostrophe when it starts with = + - @ or a control character.
 */
import { type AccessLogRow, ROW_COLUMNS } from '../access-log/row.ts';

export const CSV_HEADER = `${ROW_COLUMNS.join(',')}\r\n`;

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  let s = String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvLine(row: AccessLogRow): string {
  return `${ROW_COLUMNS.map((c) => (c === 'ts' ? new Date(row.ts).toISOString() : cell(row[c]))).join(',')}\r\n`;
}
