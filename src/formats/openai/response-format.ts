/**
 * OpenAI `response_format` → Anthropic structured output (structured-output.ts).
 * https://platform.openai.com/docs/api-reference/chat/create#chat-create-response_format
 */
import type { MessagesRequest } from '../anthropic/types.ts';
import { isSet, objectAt } from '../fields.ts';
import { applyStructuredOutput, readOutputFormat } from '../structured-output.ts';

/** Applies `response_format` to the request; returns the forced tool's name when one stands in for it. */
export function applyResponseFormat(
  format: unknown,
  request: MessagesRequest,
  notes: string[],
): string | undefined {
  if (!isSet(format)) return undefined;
  const wanted = readOutputFormat(objectAt(format, 'response_format'), 'response_format', (rf) => [
    objectAt(rf.json_schema, 'response_format.json_schema'),
    'response_format.json_schema',
  ]);
  return wanted && applyStructuredOutput(wanted, request, notes);
}
