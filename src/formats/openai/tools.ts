/**
 * OpenAI `tools` / `tool_choice` / `parallel_tool_calls` (and the legacy `functions` /
 * `function_call`) → Anthropic `tools` / `tool_choice`.
 * https://platform.openai.com/docs/api-reference/chat/create#chat-create-tools
 * https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use
 */
import type { Tool, ToolChoice } from '../anthropic/types.ts';
import {
  invalid,
  isObject,
  isSet,
  type Obj,
  objectAt,
  optionalArray,
  optionalBoolean,
  stringAt,
} from '../fields.ts';
import { allowedMode, ToolSet, withParallel } from '../tool-set.ts';

export interface ToolConfig {
  tools: Tool[];
  choice?: ToolChoice;
  /** The client spoke the legacy functions API. */
  legacyFunctions: boolean;
}

export function convertTools(body: Obj, model: string, notes: string[]): ToolConfig {
  const set = new ToolSet(model, notes);
  const openaiTools = optionalArray(body.tools, 'tools') ?? [];
  for (let i = 0; i < openaiTools.length; i++) {
    const t = objectAt(openaiTools[i], `tools[${i}]`);
    if (t.type !== 'function') {
      throw invalid(`tools[${i}].type`, `'${String(t.type)}' tools are not supported, only 'function'.`);
    }
    set.addFunction(objectAt(t.function, `tools[${i}].function`), `tools[${i}].function`);
  }
  const functions = optionalArray(body.functions, 'functions') ?? [];
  for (let i = 0; i < functions.length; i++)
    set.addFunction(objectAt(functions[i], `functions[${i}]`), `functions[${i}]`);
  const legacyFunctions = functions.length > 0 && openaiTools.length === 0;

  const choice = isSet(body.tool_choice)
    ? toolChoice(body.tool_choice, 'tool_choice', set)
    : isSet(body.function_call)
      ? functionCall(body.function_call, set)
      : undefined;
  const tools = set.tools;
  if (tools.length === 0) {
    if (choice) notes.push('tool_choice without tools: ignored');
    return { tools, legacyFunctions };
  }

  // Legacy function calling returns at most one call per answer.
  const parallel = legacyFunctions ? false : optionalBoolean(body.parallel_tool_calls, 'parallel_tool_calls');
  return { tools, choice: withParallel(choice, parallel), legacyFunctions };
}

function toolChoice(v: unknown, param: string, set: ToolSet): ToolChoice {
  if (v === 'none') return { type: 'none' };
  if (v === 'auto') return { type: 'auto' };
  if (v === 'required') return { type: 'any' };
  if (typeof v === 'string') throw invalid(param, `'${v}' is not one of none, auto, required.`);
  const c = objectAt(v, param);
  if (c.type === 'function') {
    const fn = objectAt(c.function, `${param}.function`);
    return set.named(stringAt(fn.name, `${param}.function.name`), `${param}.function.name`);
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
      set.named(name, `${p}.function.name`);
      keep.add(name);
    }
    set.keepOnly(keep);
    return allowedMode(allowed.mode, `${param}.allowed_tools.mode`);
  }
  throw invalid(
    `${param}.type`,
    `'${String(c.type)}' is not supported, only 'function' and 'allowed_tools'.`,
  );
}

function functionCall(v: unknown, set: ToolSet): ToolChoice {
  if (v === 'none') return { type: 'none' };
  if (v === 'auto') return { type: 'auto' };
  const fc = objectAt(v, 'function_call');
  return set.named(stringAt(fc.name, 'function_call.name'), 'function_call.name');
}
