/**
 * Reading fields of a request body that arrives as `unknown` (Chat Completions, Responses). Every
 * failure is a 400 that names the field (OpenAI's `param`), so a client sees what to fix instead of a
 * crash.
 */
import { ProxyError } from '../errors.ts';

export type Obj = Record<string, unknown>;

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

export function optionalString(v: unknown, param: string): string | undefined {
  if (!isSet(v)) return undefined;
  if (typeof v !== 'string') throw invalid(param, 'must be a string.');
  return v;
}

export function optionalNumber(v: unknown, param: string): number | undefined {
  if (!isSet(v)) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(param, 'must be a number.');
  return v;
}

export function optionalBoolean(v: unknown, param: string): boolean | undefined {
  if (!isSet(v)) return undefined;
  if (typeof v !== 'boolean') throw invalid(param, 'must be a boolean.');
  return v;
}

export function optionalPositiveInt(v: unknown, param: string): number | undefined {
  if (!isSet(v)) return undefined;
  if (!Number.isInteger(v) || (v as number) < 1) throw invalid(param, 'must be a positive integer.');
  return v as number;
}

export function optionalArray(v: unknown, param: string): unknown[] | undefined {
  if (!isSet(v)) return undefined;
  if (!Array.isArray(v)) throw invalid(param, 'must be an array.');
  return v;
}

/** Anthropic rejects text blocks that are empty or only whitespace. */
export function hasText(s: string): boolean {
  return s.trim() !== '';
}
