/**
 * Claude models ccproxy knows, the built-in model-name rules (OpenAI names and short aliases →
 * Claude ids), and the lookups every format shares. Pure data and functions.
 * Model ids: https://platform.claude.com/docs/en/about-claude/models/overview
 */
import type { ModelRule } from '../config/schema.ts';

export interface ModelInfo {
  id: string;
  display_name: string;
  /** RFC 3339 release date. */
  created_at: string;
}

/** Current Claude models, newest first: the list served when the upstream's cannot be fetched. */
export const BUILTIN_MODELS: readonly ModelInfo[] = [
  { id: 'claude-fable-5-2', display_name: 'Claude Fable 5.2', created_at: '2026-11-12T00:00:00Z' },
  { id: 'claude-opus-5-5', display_name: 'Claude Opus 5.5', created_at: '2026-10-21T00:00:00Z' },
  { id: 'claude-sonnet-5-5', display_name: 'Claude Sonnet 5.5', created_at: '2026-10-21T00:00:00Z' },
  { id: 'claude-haiku-5-5', display_name: 'Claude Haiku 5.5', created_at: '2026-10-21T00:00:00Z' },
  { id: 'claude-fable-5-1', display_name: 'Claude Fable 5.1', created_at: '2026-09-15T00:00:00Z' },
  { id: 'claude-opus-5', display_name: 'Claude Opus 5', created_at: '2026-07-24T00:00:00Z' },
  { id: 'claude-sonnet-5', display_name: 'Claude Sonnet 5', created_at: '2026-06-30T00:00:00Z' },
  { id: 'claude-opus-4-8', display_name: 'Claude Opus 4.8', created_at: '2026-05-14T00:00:00Z' },
  { id: 'claude-opus-4-7', display_name: 'Claude Opus 4.7', created_at: '2026-04-02T00:00:00Z' },
  { id: 'claude-sonnet-4-6', display_name: 'Claude Sonnet 4.6', created_at: '2026-02-17T00:00:00Z' },
  { id: 'claude-opus-4-6', display_name: 'Claude Opus 4.6', created_at: '2026-02-05T00:00:00Z' },
  { id: 'claude-opus-4-5', display_name: 'Claude Opus 4.5', created_at: '2025-11-24T00:00:00Z' },
  { id: 'claude-haiku-4-5', display_name: 'Claude Haiku 4.5', created_at: '2025-10-15T00:00:00Z' },
  { id: 'claude-sonnet-4-5', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' },
];

export const DEFAULT_OPUS = 'claude-opus-5-5';
export const DEFAULT_SONNET = 'claude-sonnet-5-5';
export const DEFAULT_HAIKU = 'claude-haiku-5-5';

/**
 * Built-in rules, tried after the user's `openai.model_map`. Small OpenAI models go to Haiku,
 * general ones to Sonnet, the flagship reasoning ones to Opus.
 */
export const BUILTIN_MODEL_RULES: readonly ModelRule[] = [
  { match: 'exact', pattern: 'opus', model: DEFAULT_OPUS },
  { match: 'exact', pattern: 'sonnet', model: DEFAULT_SONNET },
  { match: 'exact', pattern: 'haiku', model: DEFAULT_HAIKU },
  { match: 'exact', pattern: 'fable', model: 'claude-fable-5-2' },
  { match: 'regex', pattern: '^gpt-[0-9.]+[a-z]*-(mini|nano)', model: DEFAULT_HAIKU },
  { match: 'prefix', pattern: 'gpt-3.5', model: DEFAULT_HAIKU },
  { match: 'regex', pattern: '^o[0-9]+-mini', model: DEFAULT_SONNET },
  { match: 'regex', pattern: '^o[0-9]+', model: DEFAULT_OPUS },
  { match: 'prefix', pattern: 'gpt-5', model: DEFAULT_OPUS },
  { match: 'prefix', pattern: 'gpt-4', model: DEFAULT_SONNET },
];

/** OpenAI names listed by `/v1/models` beside the Claude ids, so clients with a fixed menu find theirs. */
export const ADVERTISED_OPENAI_MODELS: readonly string[] = [
  'gpt-5',
  'gpt-5-mini',
  'gpt-4.1',
  'gpt-4.1-mini',
  'gpt-4o',
  'gpt-4o-mini',
  'o3',
  'o3-mini',
  'o4-mini',
];

const regexCache = new Map<string, RegExp>();

function matches(rule: ModelRule, name: string): boolean {
  switch (rule.match) {
    case 'exact':
      return name === rule.pattern;
    case 'prefix':
      return name.startsWith(rule.pattern);
    case 'regex': {
      let re = regexCache.get(rule.pattern);
      if (!re) {
        re = new RegExp(rule.pattern);
        regexCache.set(rule.pattern, re);
      }
      return re.test(name);
    }
  }
}

/**
 * The Claude model for a client's model name: the first matching rule wins; Claude ids and
 * names no rule knows pass through (the upstream then says whether it exists).
 */
export function resolveModel(name: string, rules: readonly ModelRule[]): string {
  for (const rule of rules) if (matches(rule, name)) return rule.model;
  return name;
}

/** The user's rules first, then the built-in ones. */
/** By id, or by alias as the API resolves one: `claude-sonnet-4-5` is the newest `claude-sonnet-4-5-YYYYMMDD`. */
export function findModel(models: readonly ModelInfo[], id: string): ModelInfo | undefined {
  const exact = models.find((m) => m.id === id);
  if (exact) return exact;
  const dated = (m: ModelInfo) => m.id.startsWith(`${id}-`) && /^\d{8}$/.test(m.id.slice(id.length + 1));
  return models.filter(dated).sort((a, b) => b.id.localeCompare(a.id))[0];
}

export function modelRules(userRules: readonly ModelRule[]): ModelRule[] {
  return [...userRules, ...BUILTIN_MODEL_RULES];
}

/** max_tokens for a request that sends none. */
export function defaultMaxTokens(model: string, configured = 0): number {
  if (configured > 0) return configured;
  if (/^claude-3-(opus|sonnet|haiku)/.test(model)) return 4096;
  return 16384;
}

const family = (model: string) =>
  /^claude-(opus|sonnet|haiku|fable|mythos)-(\d+)(?:-(\d{1,2}))?(?:-|$)/.exec(model);

/** Major.minor of a Claude model id, e.g. claude-opus-4-6 → 4.6, or undefined. */
export function modelVersion(model: string): number | undefined {
  const m = family(model);
  if (!m) return undefined;
  return Number(m[2]) + (m[3] ? Number(m[3]) / 10 : 0);
}

/** Native structured outputs (`output_config.format`): Claude 4.5 and later. */
export function supportsStructuredOutput(model: string): boolean {
  const v = modelVersion(model);
  return v !== undefined && v >= 4.5;
}

/** Adaptive thinking with an effort level: Opus/Sonnet 4.6 and every Claude 5 model. */
export function usesAdaptiveThinking(model: string): boolean {
  const v = modelVersion(model);
  return v !== undefined && v >= 4.6;
}

/**
 * `temperature`, `top_p` and `top_k`: removed on Opus 4.7 and later and on every Claude 5 model,
 * which answer 400 when a request sets them. Client-format frontends drop them for these models.
 * https://platform.claude.com/docs/en/about-claude/models/migration-guide
 */
export function acceptsSamplingParameters(model: string): boolean {
  const m = family(model);
  if (!m) return true;
  const v = modelVersion(model) ?? 0;
  return v < 5 && !(m[1] === 'opus' && v >= 4.7);
}
