/**
 * The request settings Chat Completions and Responses share, applied once the conversation, tools
 * and structured output are in place: reasoning effort and the max tokens that go with it
 * (reasoning.ts), sampling (sampling.ts), the end user, streaming — and the debug line that lists
 * what a request set that has no Anthropic meaning.
 */
import type { MessagesRequest } from '../anthropic/types.ts';
import { isSet, type Obj, optionalString } from '../fields.ts';
import type { FormatOptions } from '../frontend.ts';
import { defaultMaxTokens } from '../models.ts';
import { applyReasoning } from './reasoning.ts';
import { applySampling } from './sampling.ts';

export interface Settings {
  /** The reasoning effort and the field it came from (`reasoning_effort`, `reasoning.effort`). */
  effort: unknown;
  effortParam: string;
  /** The client's max output tokens, when it set them. */
  clientMaxTokens: number | undefined;
  /** The request continues a tool loop without the signed thinking of the turn that made the calls. */
  toolLoopWithoutThinking: boolean;
  stream: boolean;
}

export function applySettings(
  body: Obj,
  request: MessagesRequest,
  s: Settings,
  opts: FormatOptions,
  notes: string[],
): void {
  applyReasoning(
    s.effort,
    request,
    {
      clientMaxTokens: s.clientMaxTokens,
      defaultMaxTokens: defaultMaxTokens(request.model, opts.defaultMaxTokens),
      forcedTool: request.tool_choice?.type === 'any' || request.tool_choice?.type === 'tool',
      toolLoopWithoutThinking: s.toolLoopWithoutThinking,
      param: s.effortParam,
    },
    notes,
  );
  applySampling(body, request, notes);
  const user =
    optionalString(body.user, 'user') || optionalString(body.safety_identifier, 'safety_identifier');
  if (user) request.metadata = { user_id: user };
  if (s.stream) request.stream = true;
}

/** Logs, at debug, the fields set outside `handled` (names only, never values) and the notes. */
export function reportNotes(
  label: string,
  body: Obj,
  handled: ReadonlySet<string>,
  notes: string[],
  opts: FormatOptions,
): void {
  const ignored = Object.keys(body).filter((k) => !handled.has(k) && isSet(body[k]));
  if (ignored.length) notes.unshift(`ignored fields: ${ignored.join(', ')}`);
  if (notes.length) opts.debug?.(`${label}: ${notes.join('; ')}`);
}
