/**
 * Structured output (OpenAI's `response_format` / Responses `text.format`) → Anthropic.
 * https://platform.openai.com/docs/guides/structured-outputs
 * https://docs.anthropic.com/en/docs/build-with-claude/structured-outputs
 *
 * A JSON schema on a model with native structured outputs → `output_config.format`, the schema made
 * strict the way Anthropic's SDK does it (unsupported keywords move into descriptions). Otherwise,
 * and for `json_object` (an open object cannot be expressed as a strict schema), a tool whose input
 * is the answer is forced, and the renderers return that input as the answer's text.
 *
 * SDK mode cannot pass `output_config.format` to the agent (it is no per-turn option of Claude
 * Code), so it asks for the stand-in instead (`formatAsAnswerTool`) and answers with the tool's
 * input as text; `answerToolOf` tells it which tool a request's stand-in is.
 */
import type { MessagesRequest, ToolChoice } from './anthropic/types.ts';
import { invalid, isObject, isSet, type Obj } from './fields.ts';
import { supportsStructuredOutput } from './models.ts';
import { strictSchema } from './strict-schema.ts';

/** What the client asked for, read from its own field by its format. */
export type OutputFormat =
  | { type: 'json_object' }
  | { type: 'json_schema'; schema?: Record<string, unknown>; name?: string; description?: string };

/**
 * Reads a client's format `{type: "text" | "json_object" | "json_schema", …}` found at `param`;
 * `schemaAt` says which object holds the schema's `name`, `schema` and `description`, and where.
 * Undefined for plain text.
 */
export function readOutputFormat(
  f: Obj,
  param: string,
  schemaAt: (f: Obj) => [holder: Obj, param: string],
): OutputFormat | undefined {
  switch (f.type) {
    case 'text':
      return undefined;
    case 'json_object':
      return { type: 'json_object' };
    case 'json_schema': {
      const [js, at] = schemaAt(f);
      if (isSet(js.schema) && !isObject(js.schema))
        throw invalid(`${at}.schema`, 'must be a JSON schema object.');
      return {
        type: 'json_schema',
        schema: isObject(js.schema) ? js.schema : undefined,
        name: typeof js.name === 'string' ? js.name : undefined,
        description: typeof js.description === 'string' ? js.description : undefined,
      };
    }
    default:
      throw invalid(`${param}.type`, `'${String(f.type)}' is not one of text, json_object, json_schema.`);
  }
}

const FALLBACK_TOOL = 'json_response';
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** Translated requests → their stand-in tool; kept off the request itself, which goes upstream as is. */
const answerTools = new WeakMap<MessagesRequest, string>();

/** The name of the tool whose input is this request's answer, if one stands in for structured output. */
export function answerToolOf(request: MessagesRequest): string | undefined {
  return answerTools.get(request);
}

/**
 * Replaces a request's `output_config.format` (JSON schema) with the stand-in tool, for a backend that
 * cannot pass the format on. Returns the stand-in's name, also when the request already had one.
 */
export function formatAsAnswerTool(request: MessagesRequest): string | undefined {
  const format = request.output_config?.format;
  if (!isObject(format) || format.type !== 'json_schema' || !isObject(format.schema))
    return answerToolOf(request);
  const { format: _, ...rest } = request.output_config ?? {};
  if (Object.keys(rest).length > 0) request.output_config = rest;
  else delete request.output_config;
  return forceTool(request, format.schema, undefined, undefined);
}

/** Applies the format to the request; returns the forced tool's name when one stands in for it. */
export function applyStructuredOutput(
  format: OutputFormat,
  request: MessagesRequest,
  notes: string[],
): string | undefined {
  if (format.type === 'json_object') return forceTool(request, { type: 'object' }, undefined, undefined);
  const { schema, name, description } = format;
  // Without a schema the answer is an open object, which only the tool can express.
  if (schema && supportsStructuredOutput(request.model)) {
    const strict = strictSchema(schema);
    if (strict) {
      request.output_config = { ...request.output_config, format: { type: 'json_schema', schema: strict } };
      return undefined;
    }
    notes.push('structured output: the schema cannot be made strict, using a forced tool');
  }
  return forceTool(request, schema ?? { type: 'object' }, name, description);
}

function forceTool(
  request: MessagesRequest,
  schema: Record<string, unknown>,
  name: string | undefined,
  description: string | undefined,
): string {
  const tools = [...(request.tools ?? [])];
  const clientTools = tools.length > 0;
  const taken = new Set(tools.map((t) => t.name));
  // The schema's name tells the model what it is writing; avoid clashing with the client's tools.
  let tool = name && TOOL_NAME.test(name) ? name : FALLBACK_TOOL;
  while (taken.has(tool)) tool = `${tool}_`;
  tools.push({
    name: tool,
    description: description ?? 'Give the final answer as this tool call: its input is the answer.',
    input_schema: schema.type === undefined ? { type: 'object', ...schema } : schema,
  });
  request.tools = tools;
  request.tool_choice = answerChoice(
    clientTools ? (request.tool_choice ?? { type: 'auto' }) : undefined,
    tool,
  );
  answerTools.set(request, tool);
  return tool;
}

/**
 * The client's tools stay callable: with tools offered freely, the model must call one of them or
 * the answer tool (`any`); when the client forbade or named tools, the answer tool is forced.
 */
function answerChoice(choice: ToolChoice | undefined, tool: string): ToolChoice {
  const noParallel =
    choice && 'disable_parallel_tool_use' in choice ? choice.disable_parallel_tool_use : undefined;
  const extra = noParallel === undefined ? {} : { disable_parallel_tool_use: noParallel };
  switch (choice?.type) {
    case undefined:
      return { type: 'tool', name: tool, ...extra };
    case 'auto':
    case 'any':
      return { type: 'any', ...extra };
    case 'tool':
      return choice;
    case 'none':
      return { type: 'tool', name: tool };
  }
}
