/**
 * OpenAI `reasoning_effort` (Responses: `reasoning.effort`) → Anthropic thinking, and the
 * `max_tokens` that goes with it.
 * https://platform.openai.com/docs/api-reference/chat/create#chat-create-reasoning_effort
 * https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking
 * https://docs.anthropic.com/en/docs/build-with-claude/adaptive-thinking
 *
 * Models with adaptive thinking get `thinking: {type: "adaptive"}` and `output_config.effort`; older
 * ones a token budget. Thinking is left off where the API would refuse it: with a forced tool choice,
 * and when the request continues a tool loop without the previous turn's signed thinking blocks
 * (the API wants them back; Chat Completions clients never keep them, Responses clients do when they
 * ask for `reasoning.encrypted_content`).
 */
import type { MessagesRequest } from '../anthropic/types.ts';
import { invalid, isSet } from '../fields.ts';
import { modelVersion, usesAdaptiveThinking } from '../models.ts';

const LEVELS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'] as const;
type Level = (typeof LEVELS)[number];

/** Thinking budgets for models without adaptive thinking (the API's minimum is 1024). */
const BUDGET: Record<Exclude<Level, 'none'>, number> = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 16384,
  xhigh: 24576,
  max: 32000,
};

const MIN_BUDGET = 1024;

export interface ReasoningContext {
  /** `max_completion_tokens ?? max_tokens`, when the client set one. */
  clientMaxTokens: number | undefined;
  /** The model's default answer length. */
  defaultMaxTokens: number;
  /** `tool_choice` is `any` or `tool`: the API refuses thinking with it. */
  forcedTool: boolean;
  /** The request continues a tool loop without the signed thinking of the turn that made the calls. */
  toolLoopWithoutThinking: boolean;
  /** The field the effort came from, for errors and notes (default `reasoning_effort`). */
  param?: string;
}

/** Sets `thinking`, `output_config.effort` and `max_tokens` on the request. */
export function applyReasoning(
  effort: unknown,
  request: MessagesRequest,
  ctx: ReasoningContext,
  notes: string[],
): void {
  const param = ctx.param ?? 'reasoning_effort';
  const level = parseLevel(effort, param);
  request.max_tokens = ctx.clientMaxTokens ?? ctx.defaultMaxTokens;
  if (level === undefined || level === 'none') return;

  const blocked = ctx.forcedTool
    ? 'a forced tool_choice'
    : ctx.toolLoopWithoutThinking
      ? 'a tool loop whose earlier thinking the client did not keep'
      : undefined;

  if (usesAdaptiveThinking(request.model)) {
    // Effort shapes the whole answer, so it applies even when thinking must stay off.
    request.output_config = { ...request.output_config, effort: adaptiveEffort(level, request.model) };
    if (blocked) notes.push(`${param}: thinking left off because of ${blocked}`);
    else request.thinking = { type: 'adaptive' };
    return;
  }

  if (blocked) {
    notes.push(`${param}: thinking left off because of ${blocked}`);
    return;
  }
  let budget = BUDGET[level];
  if (ctx.clientMaxTokens === undefined) {
    // Thinking counts against max_tokens: keep the default room for the answer itself.
    request.max_tokens = ctx.defaultMaxTokens + budget;
  } else {
    // OpenAI's max_completion_tokens includes reasoning too, so the cap holds for both.
    budget = Math.min(budget, ctx.clientMaxTokens - 1);
  }
  if (budget < MIN_BUDGET) {
    notes.push(`${param}: thinking left off, max tokens ${request.max_tokens} leave no room for it`);
    return;
  }
  request.thinking = { type: 'enabled', budget_tokens: budget };
}

function parseLevel(effort: unknown, param: string): Level | undefined {
  if (!isSet(effort)) return undefined;
  if (typeof effort === 'string' && (LEVELS as readonly string[]).includes(effort)) return effort as Level;
  throw invalid(param, `'${String(effort)}' is not one of ${LEVELS.join(', ')}.`);
}

/** Anthropic's levels are low, medium, high, then xhigh and max on the newest models. */
function adaptiveEffort(level: Exclude<Level, 'none'>, model: string): string {
  const newest = (modelVersion(model) ?? 0) >= 4.7;
  switch (level) {
    case 'minimal':
    case 'low':
      return 'low';
    case 'medium':
      return 'medium';
    case 'high':
      return 'high';
    case 'xhigh':
      return newest ? 'xhigh' : 'high';
    case 'max':
      return newest || model.startsWith('claude-opus') ? 'max' : 'high';
  }
}
