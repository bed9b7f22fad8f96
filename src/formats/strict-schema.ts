/**
 * A JSON schema in the subset Anthropic's constrained decoding takes (structured outputs and
 * strict tools), converted the way Anthropic's own SDK does it: objects closed with
 * `additionalProperties: false`, unsupported keywords moved into the description.
 * https://docs.anthropic.com/en/docs/build-with-claude/structured-outputs
 */
import { transformJSONSchema } from '@anthropic-ai/sdk/lib/transform-json-schema';

/** The strict form of `schema`, or undefined when it cannot have one (e.g. a node without a type). */
export function strictSchema(schema: Record<string, unknown>): Record<string, unknown> | undefined {
  try {
    return transformJSONSchema(schema) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
