/**
 * Reading fields of a request body that arrives as `unknown` (Chat Completions, Responses; the
 * Anthropic frontend's checks use `isObject`). Every failure is a 400 that names the field (OpenAI's
 * `param`), so a client sees what to fix instead of a crash.
 */
import { ProxyError } from '../errors.ts';

export type Obj = Record<string, unknown>;

/** A JSON object: not null, not an array. */
export const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Absent and `null` both mean "not set", as in OpenAI's API. */
export const isSet = (v: unknown): boolean => v !== undefined && v !== null;

export function invalid(param: string, problem: string): ProxyError {
  return ProxyError.invalid(`${param}: ${problem}`, param);
}

export function objectAt(v: unknown, param: string): Obj {
  if (!isObject(v)) throw invalid(param, 'must be an object.');
  return v;
}

export function stringAt(v: unknown, param: string): string {
  if (typeof v !== 'string' || v === '') throw invalid(param, 'must be a non-empty string.');
  return v;
}

/** A reader for an optional field: unset is undefined, a value that fails `is` a 400 saying what it `must be`. */
const optional =
  <T>(is: (v: unknown) => v is T, what: string) =>
  (v: unknown, param: string): T | undefined => {
    if (!isSet(v)) return undefined;
    if (!is(v)) throw invalid(param, `must be ${what}.`);
    return v;
  };

export const optionalString = optional((v): v is string => typeof v === 'string', 'a string');
export const optionalNumber = optional(
  (v): v is number => typeof v === 'number' && Number.isFinite(v),
  'a number',
);
export const optionalBoolean = optional((v): v is boolean => typeof v === 'boolean', 'a boolean');
export const optionalPositiveInt = optional(
  (v): v is number => Number.isInteger(v) && (v as number) >= 1,
  'a positive integer',
);
export const optionalArray = optional((v): v is unknown[] => Array.isArray(v), 'an array');

/** Anthropic rejects text blocks that are empty or only whitespace. */
export function hasText(s: string): boolean {
  return s.trim() !== '';
}
