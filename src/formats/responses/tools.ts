/**
 * Responses `tools` / `tool_choice` / `parallel_tool_calls` → Anthropic `tools` / `tool_choice`.
 * https://platform.openai.com/docs/api-reference/responses/create#responses-create-tools
 * https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use
 *
 * - `function` tools are Anthropic tools, as in Chat Completions (tool-set.ts).
 * - `namespace` groups (Codex sends one for its sub-agent tools) are flattened into their functions.
 *   A function keeps its own name unless another tool has it; then it becomes `<namespace>__<name>`.
 *   Calls come back with `name` and `namespace` as the client defined them.
 * - `custom` (free-form) tools (Codex's `apply_patch`) become tools taking one string, `input`; the
 *   format (a grammar) goes into the description. Calls come back as `custom_tool_call` items.
 * - Hosted tools (`web_search`, `file_search`, `tool_search`, `code_interpreter`, …) have no Claude
 *   equivalent the client could use: they are dropped with a debug note, never refused — Codex sends
 *   them on every turn.
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
  optionalString,
  stringAt,
} from '../fields.ts';
import { allowedMode, ToolSet, withParallel } from '../tool-set.ts';
import type { ClientTool } from './types.ts';

export interface ToolConfig {
  tools: Tool[];
  choice?: ToolChoice;
  /** Claude tool name → the client's tool, where they differ (see ClientTool). */
  clientTools: Map<string, ClientTool>;
  /** The client's tool (namespace and name) → the Claude tool name, for replayed calls. */
  claudeName(name: string, namespace: string | undefined): string;
}

/** Claude tool names: `^[a-zA-Z0-9_-]{1,64}$`. */
const MAX_NAME = 64;

export function convertTools(body: Obj, model: string, notes: string[]): ToolConfig {
  const set = new ToolSet(model, notes);
  const clientTools = new Map<string, ClientTool>();
  const byClient = new Map<string, string>();
  const list = optionalArray(body.tools, 'tools') ?? [];
  const dropped: string[] = [];

  // Top-level names first: a namespaced function never takes a name a top-level tool has.
  const topLevel = new Set<string>();
  for (const t of list)
    if (isObject(t) && typeof t.name === 'string' && t.type !== 'namespace') topLevel.add(t.name);

  const addCustom = (t: Obj, param: string, name: string, namespace?: string) => {
    const clientName = stringAt(t.name, `${param}.name`);
    set.add(customTool(t, param, name), `${param}.name`);
    clientTools.set(name, { name: clientName, namespace, custom: true });
  };

  for (let i = 0; i < list.length; i++) {
    const param = `tools[${i}]`;
    const t = objectAt(list[i], param);
    switch (t.type) {
      case 'function':
        set.addFunction(t, param);
        break;
      case 'custom':
        addCustom(t, param, stringAt(t.name, `${param}.name`));
        break;
      case 'namespace': {
        const namespace = stringAt(t.name, `${param}.name`);
        const inner = optionalArray(t.tools, `${param}.tools`) ?? [];
        const about = optionalString(t.description, `${param}.description`);
        for (let j = 0; j < inner.length; j++) {
          const p = `${param}.tools[${j}]`;
          const fn = objectAt(inner[j], p);
          const own = stringAt(fn.name, `${p}.name`);
          const name =
            topLevel.has(own) || set.names.has(own) ? `${namespace}__${own}`.slice(0, MAX_NAME) : own;
          byClient.set(`${namespace}\u0000${own}`, name);
          if (fn.type === 'custom') {
            addCustom(fn, p, name, namespace);
          } else if (fn.type === 'function' || fn.type === undefined) {
            const tool = set.addFunction(fn, p, name);
            clientTools.set(name, { name: own, namespace });
            if (about) tool.description = `${tool.description ?? ''}\n\n(${namespace}: ${about})`.trim();
          } else {
            dropped.push(`${namespace}.${own} (${String(fn.type)})`);
          }
        }
        break;
      }
      default:
        dropped.push(String(t.type));
    }
  }
  if (dropped.length)
    notes.push(`tools: dropped hosted tools without a Claude equivalent: ${dropped.join(', ')}`);

  const claudeName = (name: string, namespace: string | undefined) =>
    (namespace && byClient.get(`${namespace}\u0000${name}`)) || name;
  let choice = isSet(body.tool_choice) ? toolChoice(body.tool_choice, set, claudeName, notes) : undefined;
  if (set.tools.length === 0) {
    if (choice && choice.type !== 'auto') notes.push('tool_choice without tools: ignored');
    return { tools: [], clientTools, claudeName };
  }
  choice = withParallel(choice, optionalBoolean(body.parallel_tool_calls, 'parallel_tool_calls'));
  return { tools: set.tools, choice, clientTools, claudeName };
}

/** A free-form tool as an Anthropic tool taking one string; its format goes into the description. */
function customTool(t: Obj, param: string, name: string): Tool {
  const about = optionalString(t.description, `${param}.description`);
  const format = isObject(t.format) ? t.format : undefined;
  let how = 'Put the raw input in `input` as plain text, not JSON.';
  if (format?.type === 'grammar' && typeof format.definition === 'string') {
    const syntax = typeof format.syntax === 'string' ? format.syntax : 'lark';
    how += ` It must match this ${syntax} grammar:\n${format.definition}`;
  }
  return {
    name,
    description: about ? `${about}\n\n${how}` : how,
    input_schema: {
      type: 'object',
      properties: { input: { type: 'string', description: 'The raw input for the tool.' } },
      required: ['input'],
      additionalProperties: false,
    },
  };
}

type NameOf = (name: string, namespace: string | undefined) => string;

function toolChoice(v: unknown, set: ToolSet, claudeName: NameOf, notes: string[]): ToolChoice {
  const param = 'tool_choice';
  if (v === 'none') return { type: 'none' };
  if (v === 'auto') return { type: 'auto' };
  if (v === 'required') return { type: 'any' };
  if (typeof v === 'string') throw invalid(param, `'${v}' is not one of none, auto, required.`);
  const c = objectAt(v, param);
  switch (c.type) {
    case 'function':
    case 'custom': {
      const name = stringAt(c.name, `${param}.name`);
      const ns = optionalString(c.namespace, `${param}.namespace`);
      return set.named(claudeName(name, ns), `${param}.name`);
    }
    case 'allowed_tools': {
      // Offer only the allowed tools; `mode` says whether one must be called.
      const list = optionalArray(c.tools, `${param}.tools`) ?? [];
      const keep = new Set<string>();
      for (let i = 0; i < list.length; i++) {
        const p = `${param}.tools[${i}]`;
        const t = objectAt(list[i], p);
        if (t.type !== 'function' && t.type !== 'custom') continue; // hosted tools are not offered
        const name = claudeName(stringAt(t.name, `${p}.name`), optionalString(t.namespace, `${p}.namespace`));
        set.named(name, `${p}.name`);
        keep.add(name);
      }
      set.keepOnly(keep);
      return allowedMode(c.mode, `${param}.mode`);
    }
    default:
      // A hosted tool (web_search, file_search, mcp…) was dropped: let the model choose.
      notes.push(`tool_choice: '${String(c.type)}' is a hosted tool, using auto`);
      return { type: 'auto' };
  }
}
