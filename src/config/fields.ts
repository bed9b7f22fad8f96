/**
 * A flat view of the settings schema: one entry per leaf key (`server.port`), with its type,
 * default and description. The loader, `config show|init` and the docs generator all read this.
 */
import { z } from 'zod';
import { PROTECTED, settingsSchema } from './schema.ts';

export type LeafType = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'list' | 'json';

export interface Field {
  key: string;
  type: LeafType;
  description: string;
  default: unknown;
  options?: readonly string[];
  min?: number;
  max?: number;
  /** Protected (see PROTECTED in schema.ts): not taken from an untrusted working directory's files. */
  protected: boolean;
  schema: z.ZodType;
}

export interface Group {
  key: string;
  description: string;
}

/** The wrappers a setting's schema may have around its type (a default, optional…). */
type Wrapper = z.ZodDefault | z.ZodPrefault | z.ZodOptional | z.ZodNullable;
const isWrapper = (s: z.ZodType): s is Wrapper =>
  s instanceof z.ZodDefault ||
  s instanceof z.ZodPrefault ||
  s instanceof z.ZodOptional ||
  s instanceof z.ZodNullable;

function unwrap(s: z.ZodType): z.ZodType {
  let cur = s;
  while (isWrapper(cur)) cur = cur.unwrap() as z.ZodType;
  return cur;
}

function leafOf(s: z.ZodType): Pick<Field, 'type' | 'options' | 'min' | 'max'> {
  const inner = unwrap(s);
  if (inner instanceof z.ZodString) return { type: 'string' };
  if (inner instanceof z.ZodBoolean) return { type: 'boolean' };
  if (inner instanceof z.ZodEnum) return { type: 'enum', options: inner.options.map(String) };
  if (inner instanceof z.ZodNumber) {
    const js = z.toJSONSchema(inner) as {
      type?: string;
      minimum?: number;
      maximum?: number;
      exclusiveMinimum?: number;
    };
    const max = js.maximum !== undefined && js.maximum < Number.MAX_SAFE_INTEGER ? js.maximum : undefined;
    // .positive() is an exclusive minimum of 0: for integers that is "≥ 1".
    const min =
      js.minimum ??
      (js.exclusiveMinimum !== undefined ? js.exclusiveMinimum + (js.type === 'integer' ? 1 : 0) : undefined);
    return {
      type: js.type === 'integer' ? 'integer' : 'number',
      min: min !== undefined && min > Number.MIN_SAFE_INTEGER ? min : undefined,
      max,
    };
  }
  if (inner instanceof z.ZodArray) {
    const el = unwrap(inner.element as z.ZodType);
    return el instanceof z.ZodString || el instanceof z.ZodEnum ? { type: 'list' } : { type: 'json' };
  }
  return { type: 'json' };
}

/** The default the outermost `.default()`/`.prefault()` gives, looking through optional and nullable. */
function defaultOf(s: z.ZodType): unknown {
  let cur = s;
  while (isWrapper(cur)) {
    if (cur instanceof z.ZodDefault || cur instanceof z.ZodPrefault) return cur.def.defaultValue;
    cur = cur.unwrap() as z.ZodType;
  }
  return undefined;
}

/** Marked protected itself, or inside a protected group. */
const isProtected = (s: z.ZodType, inGroup: boolean) =>
  inGroup || z.globalRegistry.get(s)?.protected === PROTECTED.protected;

function walk(
  schema: z.ZodType,
  prefix: string,
  fields: Field[],
  groups: Group[],
  inProtected = false,
): void {
  const { shape } = unwrap(schema) as z.ZodObject;
  for (const [name, child] of Object.entries(shape) as Array<[string, z.ZodType]>) {
    const key = prefix ? `${prefix}.${name}` : name;
    const inner = unwrap(child);
    const guarded = isProtected(child, inProtected);
    // A group is an object with keys of its own; records and free-form objects are one value.
    if (inner instanceof z.ZodObject && Object.keys(inner.shape).length > 0) {
      groups.push({ key, description: child.description ?? '' });
      walk(child, key, fields, groups, guarded);
    } else {
      fields.push({
        key,
        description: child.description ?? '',
        default: defaultOf(child),
        protected: guarded,
        schema: child,
        ...leafOf(child),
      });
    }
  }
}

const fields: Field[] = [];
const groups: Group[] = [];
walk(settingsSchema, '', fields, groups);

export const FIELDS: readonly Field[] = fields;
export const GROUPS: readonly Group[] = groups;
export const FIELD_BY_KEY: ReadonlyMap<string, Field> = new Map(fields.map((f) => [f.key, f]));
/** The protected keys, derived from the marks in the schema. */
export const PROTECTED_KEYS: ReadonlySet<string> = new Set(
  fields.filter((f) => f.protected).map((f) => f.key),
);

/** Human description of what a key accepts, for error messages and docs. */
export function expectedForm(f: Field): string {
  switch (f.type) {
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${f.options!.join(', ')}`;
    case 'integer':
    case 'number': {
      const noun = f.type === 'integer' ? 'an integer' : 'a number';
      if (f.min !== undefined && f.max !== undefined) return `${noun} from ${f.min} to ${f.max}`;
      if (f.min !== undefined) return `${noun} ≥ ${f.min}`;
      return noun;
    }
    case 'list':
      return 'a list of strings (comma-separated or a JSON array in env)';
    case 'json':
      return 'a JSON value (see docs/configuration.md)';
    default:
      return 'a string';
  }
}

/** The environment variable for a key: `server.port` → `SERVER__PORT`. */
export function envName(key: string): string {
  return key.toUpperCase().replaceAll('.', '__');
}
