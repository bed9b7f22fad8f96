/**
 * The function tools a client offers (Chat Completions `tools`/`functions`, Responses `tools`) as
 * Anthropic tools, and the `tool_choice` pieces both formats share.
 * https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use
 * https://docs.anthropic.com/en/docs/build-with-claude/structured-outputs#strict-tool-use
 */
import type { Tool, ToolChoice } from './anthropic/types.ts';
import { invalid, isObject, isSet, type Obj, stringAt } from './fields.ts';
import { supportsStructuredOutput } from './models.ts';
import { strictSchema } from './strict-schema.ts';

export class ToolSet {
  readonly tools: Tool[] = [];
  readonly names = new Set<string>();
  private readonly strictOk: boolean;

  constructor(
    model: string,
    private readonly notes: string[],
  ) {
    this.strictOk = supportsStructuredOutput(model);
  }

  /**
   * Adds a function definition (`name`, `description`, `parameters`, `strict`) read at `param`, under
   * `name` when the tool must be offered to Claude under another name than its own.
   */
  addFunction(fn: Obj, param: string, name = stringAt(fn.name, `${param}.name`)): Tool {
    const tool: Tool = { name, input_schema: inputSchema(fn.parameters, `${param}.parameters`) };
    if (typeof fn.description === 'string' && fn.description !== '') tool.description = fn.description;
    if (fn.strict === true) {
      // OpenAI's strict mode is Anthropic's strict tool use, on models that have it.
      const strict = this.strictOk ? strictSchema(tool.input_schema as Obj) : undefined;
      if (strict) {
        tool.input_schema = strict;
        tool.strict = true;
      } else this.notes.push(`${param}.strict: not available here, sent without it`);
    }
    this.add(tool, `${param}.name`);
    return tool;
  }

  /** Adds a tool; a name offered twice is a 400 at `param`. */
  add(tool: Tool, param: string): void {
    if (this.names.has(tool.name)) throw invalid(param, `tool name '${tool.name}' is used twice.`);
    this.names.add(tool.name);
    this.tools.push(tool);
  }

  /** `{type: "tool"}` for a tool the client named, which must be one of these. */
  named(name: string, param: string): ToolChoice {
    if (!this.names.has(name)) throw invalid(param, `no tool named '${name}' is in tools.`);
    return { type: 'tool', name };
  }

  /** Offers only the `keep` tools (OpenAI's `allowed_tools`). */
  keepOnly(keep: ReadonlySet<string>): void {
    for (let i = this.tools.length - 1; i >= 0; i--)
      if (!keep.has(this.tools[i].name)) this.tools.splice(i, 1);
  }
}

/** OpenAI allows omitting `parameters` (no arguments); Anthropic wants an object schema. */
function inputSchema(parameters: unknown, param: string): Obj {
  if (!isSet(parameters)) return { type: 'object', properties: {} };
  if (!isObject(parameters)) throw invalid(param, 'must be a JSON schema object.');
  return parameters.type === undefined ? { type: 'object', ...parameters } : parameters;
}

/** `parallel_tool_calls: false` → `disable_parallel_tool_use: true` on whatever the choice is. */
export function withParallel(
  choice: ToolChoice | undefined,
  parallel: boolean | undefined,
): ToolChoice | undefined {
  if (parallel !== false || choice?.type === 'none') return choice;
  return { ...(choice ?? { type: 'auto' }), disable_parallel_tool_use: true } as ToolChoice;
}

/** `allowed_tools.mode`: `auto` (the default) or `required`. */
export function allowedMode(mode: unknown, param: string): ToolChoice {
  if (mode === 'required') return { type: 'any' };
  if (mode === undefined || mode === 'auto') return { type: 'auto' };
  throw invalid(param, `'${String(mode)}' is not one of auto, required.`);
}
