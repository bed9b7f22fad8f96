/**
 * Tool calls a client replays in its history (Chat Completions `tool_calls`, Responses
 * `function_call` items): their ids made valid for Anthropic, and their arguments parsed.
 * https://docs.anthropic.com/en/api/messages#body-messages-content-tool-use-id
 */
import { invalid, isObject, isSet } from './fields.ts';

/** Anthropic tool_use ids: `^[a-zA-Z0-9_-]+$`. */
const VALID_ID = /^[a-zA-Z0-9_-]+$/;

/**
 * Client tool-call ids → Anthropic tool_use ids, for one request. An id the API accepts is kept
 * (Claude's own `toolu_…` come back unchanged); other characters become `_`. The same client id maps
 * to the same Anthropic id every time, so a call and its result still match, and two different ids
 * never collide.
 */
export class ToolIds {
  private readonly byClient = new Map<string, string>();
  private readonly used = new Set<string>();

  /** The Anthropic id for a client's id (the same one on every call). */
  of(clientId: string): string {
    const known = this.byClient.get(clientId);
    if (known) return known;
    const id = this.unused(VALID_ID.test(clientId) ? clientId : clientId.replace(/[^a-zA-Z0-9_-]/g, '_'));
    this.byClient.set(clientId, id);
    return id;
  }

  /** The Anthropic id a client's id was given, if it has been seen. */
  known(clientId: string): string | undefined {
    return this.byClient.get(clientId);
  }

  /** `base`, or `base` with `_` appended until no id handed out so far has it. */
  unused(base: string): string {
    let id = base;
    while (this.used.has(id)) id += '_';
    this.used.add(id);
    return id;
  }
}

/** A call the client replayed, waiting for its result. */
export interface OpenCall {
  id: string;
  answered: boolean;
  /** Where the call is, and how to name it, in a 400. */
  param: string;
  label: string;
}

/**
 * The calls of the latest assistant turn: the only ones results may answer (Anthropic wants every
 * tool_result in the user turn right after the tool_use). A call left unanswered when the next
 * assistant turn starts, or at the end, is a 400 at the call, worded by `unanswered`.
 */
export class OpenCalls<C extends OpenCall> {
  list: C[] = [];

  constructor(private readonly unanswered: (call: C) => string) {}

  /** A new assistant turn starts. */
  nextTurn(): void {
    this.checkAnswered();
    this.list = [];
  }

  checkAnswered(): void {
    const open = this.list.find((c) => !c.answered);
    if (open) throw invalid(open.param, this.unanswered(open));
  }
}

/** Tool-call arguments: a JSON object as a string (an object is accepted as is); empty means `{}`. */
export function parseArguments(args: unknown, param: string, what: string): Record<string, unknown> {
  if (!isSet(args)) return {};
  if (isObject(args)) return args;
  if (typeof args !== 'string') throw invalid(param, `${what} has arguments that are not a JSON string.`);
  if (args.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw invalid(param, `${what} has arguments that are not valid JSON.`);
  }
  if (!isObject(parsed)) throw invalid(param, `${what} has arguments that are not a JSON object.`);
  return parsed;
}
