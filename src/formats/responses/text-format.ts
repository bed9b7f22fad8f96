/**
 * Responses `text.format` → Anthropic structured output, as Chat Completions' `response_format`
 * (structured-output.ts). The Responses form is flat: `{type: "json_schema", name, schema, …}`.
 * https://platform.openai.com/docs/api-reference/responses/create#responses-create-text
 */
import type { MessagesRequest } from '../anthropic/types.ts';
import { isSet, objectAt } from '../fields.ts';
import { applyStructuredOutput, readOutputFormat } from '../structured-output.ts';

/** Applies `text.format`; returns the forced tool's name when one stands in for it. */
export function applyTextFormat(
  text: unknown,
  request: MessagesRequest,
  notes: string[],
): string | undefined {
  if (!isSet(text)) return undefined;
  const format = objectAt(text, 'text').format;
  if (!isSet(format)) return undefined;
  const wanted = readOutputFormat(objectAt(format, 'text.format'), 'text.format', (f) => [f, 'text.format']);
  return wanted && applyStructuredOutput(wanted, request, notes);
}
