/**
 * An OpenAI Chat Completions request → an Anthropic Messages request.
 * https://platform.openai.com/docs/api-reference/chat/create
 * https://docs.anthropic.com/en/api/messages
 *
 * Each group of fields has its own file; this one reads the body top to bottom in the order the
 * parts depend on each other (tools before response_format before reasoning before sampling).
 */
import { ProxyError } from '../../errors.ts';
import type { MessagesRequest } from '../anthropic/types.ts';
import {
  hasText,
  invalid,
  isObject,
  isSet,
  objectAt,
  optionalBoolean,
  optionalPositiveInt,
  stringAt,
} from '../fields.ts';
import type { FormatOptions, Parsed } from '../frontend.ts';
import { resolveModel } from '../models.ts';
import { convertMessages } from './messages.ts';
import { applyResponseFormat } from './response-format.ts';
import { applySettings, reportNotes } from './settings.ts';
import { convertTools } from './tools.ts';
import type { OpenAIHints } from './types.ts';

/** Fields this translation reads; any other field a client sets is listed in the debug log. */
const HANDLED = new Set([
  'model',
  'messages',
  'stream',
  'stream_options',
  'n',
  'max_tokens',
  'max_completion_tokens',
  'tools',
  'functions',
  'tool_choice',
  'function_call',
  'parallel_tool_calls',
  'response_format',
  'reasoning_effort',
  'temperature',
  'top_p',
  'stop',
  'user',
  'safety_identifier',
]);

export function parseChatRequest(body: unknown, opts: FormatOptions): Parsed<OpenAIHints> {
  if (!isObject(body)) throw ProxyError.invalid('The request body must be a JSON object.');
  const clientModel = stringAt(body.model, 'model');
  if (!Array.isArray(body.messages)) throw invalid('messages', 'must be an array of messages.');
  if (body.messages.length === 0) throw invalid('messages', 'must contain at least one message.');
  if (isSet(body.n) && body.n !== 1) throw invalid('n', 'only 1 choice per request is supported.');
  const stream = optionalBoolean(body.stream, 'stream') ?? false;

  const notes: string[] = [];
  const model = resolveModel(clientModel, opts.modelRules);
  const conversation = convertMessages(body.messages, notes);
  const request: MessagesRequest = { model, messages: conversation.messages, max_tokens: 0 };
  if (conversation.system.length) request.system = conversation.system;

  const tools = convertTools(body, model, notes);
  if (tools.tools.length) request.tools = tools.tools;
  if (tools.choice) request.tool_choice = tools.choice;
  const jsonTool = applyResponseFormat(body.response_format, request, notes);

  const clientMaxTokens =
    optionalPositiveInt(body.max_completion_tokens, 'max_completion_tokens') ??
    optionalPositiveInt(body.max_tokens, 'max_tokens');
  applySettings(
    body,
    request,
    {
      effort: body.reasoning_effort,
      effortParam: 'reasoning_effort',
      clientMaxTokens,
      toolLoopWithoutThinking: conversation.endsWithToolResults,
      stream,
    },
    opts,
    notes,
  );
  const stop = stopSequences(body.stop, notes);
  if (stop.length) request.stop_sequences = stop;

  const includeUsage = (readStreamOptions(body.stream_options) && stream) || false;
  reportNotes('openai request', body, HANDLED, notes, opts);

  return {
    request,
    clientModel,
    stream,
    hints: { includeUsage, jsonTool, legacyFunctions: tools.legacyFunctions },
  };
}

/** `stream_options.include_usage`, checked as OpenAI does (the options themselves are ignored without `stream`). */
function readStreamOptions(options: unknown): boolean {
  if (!isSet(options)) return false;
  return (
    optionalBoolean(objectAt(options, 'stream_options').include_usage, 'stream_options.include_usage') ??
    false
  );
}

/** `stop`: a string or up to four; the API refuses empty and whitespace-only sequences. */
function stopSequences(stop: unknown, notes: string[]): string[] {
  if (!isSet(stop)) return [];
  const list = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) {
    throw invalid('stop', 'must be a string or an array of strings.');
  }
  const kept = (list as string[]).filter(hasText);
  if (kept.length < list.length) notes.push('stop: whitespace-only sequences dropped');
  return kept;
}
