/**
 * An OpenAI Responses request → an Anthropic Messages request.
 * https://platform.openai.com/docs/api-reference/responses/create
 * https://docs.anthropic.com/en/api/messages
 *
 * Read top to bottom in the order the parts depend on each other: tools (their names) before input
 * (replayed calls use them), text.format before reasoning (a forced tool keeps thinking off), then
 * sampling. ccproxy keeps no state: `store` is accepted and ignored, and whatever would need a stored
 * response (`previous_response_id`, `conversation`, `background`, stored prompts) is a 400 that says
 * to send the whole input instead.
 */
import { ProxyError } from '../../errors.ts';
import type { MessagesRequest } from '../anthropic/types.ts';
import {
  invalid,
  isObject,
  isSet,
  objectAt,
  optionalArray,
  optionalBoolean,
  optionalPositiveInt,
  optionalString,
  stringAt,
} from '../fields.ts';
import type { FormatOptions, Parsed } from '../frontend.ts';
import { resolveModel } from '../models.ts';
import { applySettings, reportNotes } from '../openai/settings.ts';
import { markCacheBreakpoints } from './caching.ts';
import { convertInput } from './input.ts';
import { applyTextFormat } from './text-format.ts';
import { convertTools } from './tools.ts';
import type { ResponsesHints } from './types.ts';

/** Fields this translation reads; any other field a client sets is listed in the debug log. */
const HANDLED = new Set([
  'model',
  'input',
  'instructions',
  'stream',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'max_output_tokens',
  'reasoning',
  'text',
  'include',
  'temperature',
  'top_p',
  'metadata',
  'user',
  'safety_identifier',
  'store',
  'previous_response_id',
  'conversation',
  'background',
  'prompt',
  // Prompt caching is automatic here (caching.ts), as it is at OpenAI.
  'prompt_cache_key',
]);

const STATELESS =
  'ccproxy is stateless: it keeps no responses or conversations. Send the whole conversation in `input` (Codex and the openai SDK do with `store: false`).';

export function parseResponsesRequest(body: unknown, opts: FormatOptions): Parsed<ResponsesHints> {
  if (!isObject(body)) throw ProxyError.invalid('The request body must be a JSON object.');
  const clientModel = stringAt(body.model, 'model');
  if (isSet(body.previous_response_id)) {
    throw invalid(
      'previous_response_id',
      `cannot continue '${String(body.previous_response_id)}': ${STATELESS}`,
    );
  }
  if (isSet(body.conversation)) throw invalid('conversation', STATELESS);
  if (body.background === true)
    throw invalid('background', `background responses need storage. ${STATELESS}`);
  if (isSet(body.prompt))
    throw invalid('prompt', 'stored prompt templates are not available: send instructions and input.');
  if (!isSet(body.input)) throw invalid('input', 'is required: a string or an array of input items.');
  const stream = optionalBoolean(body.stream, 'stream') ?? false;
  optionalBoolean(body.store, 'store');

  const notes: string[] = [];
  const model = resolveModel(clientModel, opts.modelRules);
  const tools = convertTools(body, model, notes);
  const input = convertInput(
    optionalString(body.instructions, 'instructions'),
    body.input,
    tools.claudeName,
    notes,
  );
  const request: MessagesRequest = { model, messages: input.messages, max_tokens: 0 };
  if (input.system.length) request.system = input.system;
  if (tools.tools.length) request.tools = tools.tools;
  if (tools.choice) request.tool_choice = tools.choice;
  const jsonTool = applyTextFormat(body.text, request, notes);

  const reasoning = isSet(body.reasoning) ? objectAt(body.reasoning, 'reasoning') : {};
  applySettings(
    body,
    request,
    {
      effort: reasoning.effort,
      effortParam: 'reasoning.effort',
      clientMaxTokens: optionalPositiveInt(body.max_output_tokens, 'max_output_tokens'),
      toolLoopWithoutThinking: input.endsWithToolResults && !input.keptThinking,
      stream,
    },
    opts,
    notes,
  );
  markCacheBreakpoints(request);
  const include = optionalArray(body.include, 'include') ?? [];
  reportNotes('responses request', body, HANDLED, notes, opts);

  return {
    request,
    clientModel,
    stream,
    hints: {
      encryptedReasoning: include.includes('reasoning.encrypted_content'),
      jsonTool,
      clientTools: tools.clientTools,
      echo: echoOf(body, reasoning),
    },
  };
}

/** The request settings a response object repeats, with the API's defaults for those not sent. */
function echoOf(body: Record<string, unknown>, reasoning: Record<string, unknown>): Record<string, unknown> {
  const text = isObject(body.text) ? body.text : {};
  return {
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: { effort: reasoning.effort ?? null, summary: reasoning.summary ?? null },
    // Nothing is stored, whatever the client asked.
    store: false,
    temperature: body.temperature ?? 1,
    text: { format: text.format ?? { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  };
}
