/**
 * OpenAI `temperature` / `top_p` → Anthropic's, within what the model accepts.
 * https://docs.anthropic.com/en/api/messages#body-temperature
 * https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#feature-compatibility
 *
 * OpenAI clients set these freely (many send a default temperature on every request); Anthropic
 * answers 400 for combinations it refuses. Rather than fail a request over a sampling hint, the
 * hint is dropped and the reason goes to the debug log.
 */
import type { MessagesRequest } from '../anthropic/types.ts';
import { optionalNumber } from '../fields.ts';
import { acceptsSamplingParameters } from '../models.ts';

export function applySampling(
  body: Record<string, unknown>,
  request: MessagesRequest,
  notes: string[],
): void {
  let temperature = optionalNumber(body.temperature, 'temperature');
  let topP = optionalNumber(body.top_p, 'top_p');
  if (temperature === undefined && topP === undefined) return;
  if (!acceptsSamplingParameters(request.model)) {
    notes.push(`temperature/top_p: ${request.model} does not accept them`);
    return;
  }
  // OpenAI's range is 0..2, Anthropic's 0..1.
  if (temperature !== undefined) temperature = Math.min(1, Math.max(0, temperature));
  if (request.thinking && request.thinking.type !== 'disabled') {
    if (temperature !== undefined && temperature !== 1) {
      notes.push('temperature: only 1 is allowed with thinking');
      temperature = undefined;
    }
    if (topP !== undefined && topP < 0.95) {
      notes.push('top_p: below 0.95 is not allowed with thinking');
      topP = undefined;
    }
  }
  if (temperature !== undefined && topP !== undefined) {
    // Current models refuse both at once.
    notes.push('top_p: dropped, temperature is set too');
    topP = undefined;
  }
  if (temperature !== undefined) request.temperature = temperature;
  if (topP !== undefined) request.top_p = Math.min(1, Math.max(0, topP));
}
