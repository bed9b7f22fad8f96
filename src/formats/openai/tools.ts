/**
 * OpenAI `tools` / `tool_choice` / `parallel_tool_calls` (and the legacy `functions` /
 * `function_call`) → Anthropic `tools` / `tool_choice`.
 * https://platform.openai.com/docs/api-reference/chat/create#chat-create-tools
 * https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use
 */
import type { Tool, ToolChoice } from '../anthropic/types.ts';
import { supportsStructuredOutput } from '../models.ts';
import {
  invalid,
  isObject,
  isSet,
  type Obj,
  objectAt,
  optionalArray,
  optionalBoolean,
  stringAt,
} from './fields.ts';
import { strictSchema } from './strict-schema.ts';

export interface ToolConfig {
  tools: Tool[];
  choice?: ToolChoice;
  /** The client spoke the legacy functions API. */
  legacyFunctions: boolean;
}

export function convertTools(body: Obj, model: string, notes: string[]): ToolConfig {
  const tools: Tool[] = [];
  const names = new Set<string>();
  const strictOk = supportsStructuredOutput(model);
  const add = (fn: Obj, param: string) => {
    const name = stringAt(fn.name, `${param}.name`);
    if (names.has(name)) throw invalid(`${param}.name`, `tool name '${name}' is used twice.`);
    names.add(name);
    const tool: Tool = { name, input_schema: inputSchema(fn.parameters, `${param}.parameters`) };
    if (typeof fn.description === 'string' && fn.description !== '') tool.description = fn.description;
    if (fn.strict === true) {
      // OpenAI's strict mode is Anthropic's strict tool use, on models that have it.
      const strict = strictOk ? strictSchema(tool.input_schema as Record<string, unknown>) : undefined;
      if (strict) {
        tool.input_schema = strict;
        tool.strict = true;
      } else notes.push(`${param}.strict: not available here, sent without it`);
    }
    tools.push(tool);
  };

  const openaiTools = optionalArray(body.tools, 'tools') ?? [];
  for (let i = 0; i < openaiTools.length; i++) {
    const t = objectAt(openaiTools[i], `tools[${i}]`);
    if (t.type !== 'function') {
      throw invalid(`tools[${i}].type`, `'${String(t.type)}' tools are not supported, only 'function'.`);
    }
    add(objectAt(t.function, `tools[${i}].function`), `tools[${i}].function`);
  }
  const functions = optionalArray(body.functions, 'functions') ?? [];
  for (let i = 0; i < functions.length; i++)
    add(objectAt(functions[i], `functions[${i}]`), `functions[${i}]`);
  const legacyFunctions = functions.length > 0 && openaiTools.length === 0;

  let choice = isSet(body.tool_choice)
    ? toolChoice(body.tool_choice, 'tool_choice', names, tools)
    : isSet(body.function_call)
      ? functionCall(body.function_call, names)
      : undefined;
  if (tools.length === 0) {
    if (choice) notes.push('tool_choice without tools: ignored');
    return { tools, legacyFunctions };
  }

  // Legacy function calling returns at most one call per answer.
  const parallel = legacyFunctions ? false : optionalBoolean(body.parallel_tool_calls, 'parallel_tool_calls');
  if (parallel === false && choice?.type !== 'none') {
    choice = { ...(choice ?? { type: 'auto' }), disable_parallel_tool_use: true } as ToolChoice;
  }
  return { tools, choice, legacyFunctions };
}

/** OpenAI allows omitting `parameters` (no arguments); Anthropic wants an object schema. */
function inputSchema(parameters: unknown, param: string): Record<string, unknown> {
  if (!isSet(parameters)) return { type: 'object', properties: {} };
  if (!isObject(parameters)) throw invalid(param, 'must be a JSON schema object.');
  return parameters.type === undefined ? { type: 'object', ...parameters } : parameters;
}

function toolChoice(v: unknown, param: string, names: Set<string>, tools: Tool[]): ToolChoice {
  if (v === 'none') return { type: 'none' };
  if (v === 'auto') return { type: 'auto' };
  if (v === 'required') return { type: 'any' };
  if (typeof v === 'string') throw invalid(param, `'${v}' is not one of none, auto, required.`);
  const c = objectAt(v, param);
  if (c.type === 'function') {
    const fn = objectAt(c.function, `${param}.function`);
    return named(stringAt(fn.name, `${param}.function.name`), `${param}.function.name`, names);
  }
  if (c.type === 'allowed_tools') {
    // Restrict the offered tools to the allowed ones; `mode` says whether one must be called.
    const allowed = objectAt(c.allowed_tools, `${param}.allowed_tools`);
    const list = optionalArray(allowed.tools, `${param}.allowed_tools.tools`) ?? [];
    const keep = new Set<string>();
    for (let i = 0; i < list.length; i++) {
      const p = `${param}.allowed_tools.tools[${i}]`;
      const t = objectAt(list[i], p);
      const fn = isObject(t.function) ? t.function : t;
      const name = stringAt(fn.name, `${p}.function.name`);
      if (!names.has(name)) throw invalid(`${p}.function.name`, `no tool named '${name}' is in tools.`);
      keep.add(name);
    }
    for (let i = tools.length - 1; i >= 0; i--) if (!keep.has(tools[i].name)) tools.splice(i, 1);
    if (allowed.mode === 'required') return { type: 'any' };
    if (allowed.mode === undefined || allowed.mode === 'auto') return { type: 'auto' };
    throw invalid(`${param}.allowed_tools.mode`, `'${String(allowed.mode)}' is not one of auto, required.`);
  }
  throw invalid(
    `${param}.type`,
    `'${String(c.type)}' is not supported, only 'function' and 'allowed_tools'.`,
  );
}

function functionCall(v: unknown, names: Set<string>): ToolChoice {
  if (v === 'none') return { type: 'none' };
  if (v === 'auto') return { type: 'auto' };
  const fc = objectAt(v, 'function_call');
  return named(stringAt(fc.name, 'function_call.name'), 'function_call.name', names);
}

function named(name: string, param: string, names: Set<string>): ToolChoice {
  if (!names.has(name)) throw invalid(param, `no tool named '${name}' is in tools.`);
  return { type: 'tool', name };
}
