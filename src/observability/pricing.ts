/**
 * What a request would cost on the Anthropic API, in USD: a price table for current Claude models
 * (per million tokens), overridable by `observability.pricing`. A subscription is not billed per
 * token; this is the API-equivalent value of what was used.
 *
 * Prices: https://platform.claude.com/docs/en/about-claude/pricing and each model's overview page
 * (checked 2026-11). Cache writes are 1.25× input (5-minute TTL) and 2× input (1-hour TTL); cache
 * reads differ per model, so every row spells all five rates out.
 */
import type { Settings } from '../config/schema.ts';
import type { TokenUsage } from './lifecycle.ts';

/** USD per million tokens. */
export interface Rates {
  input: number;
  output: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
}

export interface Price extends Rates {
  /**
   * Prompt-length tier: a request whose prompt (input + cache reads + cache writes) is longer than
   * `aboveTokens` pays these rates on every token, output included.
   */
  longPrompt?: Rates & { aboveTokens: number };
}

const rates = (
  input: number,
  output: number,
  cacheRead: number,
  cacheWrite5m = input * 1.25,
  cacheWrite1h = input * 2,
): Rates => ({
  input,
  output,
  cacheWrite5m,
  cacheWrite1h,
  cacheRead,
});

const OPUS_4_5 = rates(5, 25, 0.5);
const OPUS_4 = rates(15, 75, 1.5);
const SONNET_4 = rates(3, 15, 0.3);
/** Sonnet 4 and 4.5 with the 1M-context window bill prompts over 200K tokens at the long-context rates. */
const SONNET_4_LONG = { ...rates(6, 22.5, 0.6), aboveTokens: 200_000 };

/** Built-in prices by base model id (no date suffix). */
export const BUILTIN_PRICES: Readonly<Record<string, Price>> = {
  'claude-fable-5-2': rates(8, 40, 0.2),
  'claude-mythos-5-2': rates(8, 40, 0.2),
  'claude-fable-5-1': rates(10, 50, 0.25),
  'claude-mythos-5-1': rates(10, 50, 0.25),
  'claude-fable-5': rates(10, 50, 1),
  'claude-mythos-5': rates(10, 50, 1),
  'claude-opus-5-5': rates(4, 20, 0.2),
  'claude-opus-5': OPUS_4_5,
  'claude-opus-4-8': OPUS_4_5,
  'claude-opus-4-7': OPUS_4_5,
  'claude-opus-4-6': OPUS_4_5,
  'claude-opus-4-5': OPUS_4_5,
  'claude-opus-4-1': OPUS_4,
  'claude-opus-4': OPUS_4,
  // Sonnet 5.5 cache reads were cut from $0.20 to $0.10 on 2026-10-07.
  'claude-sonnet-5-5': rates(2, 10, 0.1),
  'claude-sonnet-5': rates(2, 10, 0.2),
  'claude-sonnet-4-6': SONNET_4,
  'claude-sonnet-4-5': { ...SONNET_4, longPrompt: SONNET_4_LONG },
  'claude-sonnet-4': { ...SONNET_4, longPrompt: SONNET_4_LONG },
  'claude-haiku-5-5': {
    ...rates(0.1, 0.5, 0.01),
    longPrompt: { ...rates(0.5, 2.5, 0.05), aboveTokens: 100_000 },
  },
  'claude-haiku-4-5': rates(1, 5, 0.1),
};

/**
 * The id a model is priced and labelled by: dated snapshots (`claude-sonnet-4-5-20250929`), the
 * `-latest` and `-0` aliases and Claude Code's `[1m]` marker all map to their base model.
 */
export function baseModel(model: string): string {
  return model
    .trim()
    .toLowerCase()
    .replace(/\[1m\]$/, '')
    .replace(/-(\d{8}|latest)$/, '')
    .replace(/^(claude-[a-z]+-\d+)-0$/, '$1');
}

type PriceOverrides = Settings['observability']['pricing'];

export interface Pricing {
  /** The price row for a model id, or undefined when the model is unknown. */
  price(model: string): Price | undefined;
  /** USD for one request's usage; null when the model has no price (unknown is not free). */
  costUsd(model: string | undefined, usage: TokenUsage | undefined): number | null;
  /** Every priced base id (for bounded metric labels). */
  models(): string[];
}

/** The built-in table with the user's overrides on top (an override replaces the whole row, tiers included). */
export function createPricing(overrides: PriceOverrides = {}): Pricing {
  const table = new Map<string, Price>(Object.entries(BUILTIN_PRICES));
  for (const [model, p] of Object.entries(overrides)) {
    table.set(
      baseModel(model),
      rates(p.input, p.output, p.cache_read ?? p.input * 0.1, p.cache_write_5m, p.cache_write_1h),
    );
  }
  const price = (model: string) => table.get(model) ?? table.get(baseModel(model));
  return {
    price,
    costUsd: (model, usage) => {
      if (!model || !usage) return null;
      const p = price(model);
      return p ? costOf(p, usage) : null;
    },
    models: () => [...table.keys()],
  };
}

/** USD for a usage at a price row. */
export function costOf(price: Price, usage: TokenUsage): number {
  const prompt = usage.input + usage.cacheRead + usage.cacheWrite;
  const r = price.longPrompt && prompt > price.longPrompt.aboveTokens ? price.longPrompt : price;
  const write1h = Math.min(usage.cacheWrite1h, usage.cacheWrite);
  const micro =
    usage.input * r.input +
    usage.output * r.output +
    usage.cacheRead * r.cacheRead +
    (usage.cacheWrite - write1h) * r.cacheWrite5m +
    write1h * r.cacheWrite1h;
  return micro / 1_000_000;
}
