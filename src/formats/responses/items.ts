/**
 * Output items and the response object, built the same way for a whole answer (response.ts) and
 * for a stream (stream.ts), so the two agree by construction.
 * https://platform.openai.com/docs/api-reference/responses/object#responses/object-output
 */
import type { Parsed, RenderMeta } from '../frontend.ts';
import type { Outcome } from './status.ts';
import {
  type ClientTool,
  type CustomToolCallItem,
  type FunctionCallItem,
  type MessageItem,
  type OutputItem,
  type OutputText,
  type ReasoningItem,
  type ResponseObject,
  type ResponsesHints,
  type ResponseUsage,
  responseId,
} from './types.ts';

export function outputText(text: string): OutputText {
  return { type: 'output_text', annotations: [], logprobs: [], text };
}

export function messageItem(id: string, status: MessageItem['status']): MessageItem {
  return { id, type: 'message', status, role: 'assistant', content: [] };
}

/** A thinking block: its text as the summary, its signature as `encrypted_content` when asked for. */
export function reasoningItem(id: string, thinking: string, sealed: string | undefined): ReasoningItem {
  const item: ReasoningItem = {
    id,
    type: 'reasoning',
    summary: thinking ? [{ type: 'summary_text', text: thinking }] : [],
  };
  if (sealed !== undefined) item.encrypted_content = sealed;
  return item;
}

export function functionCallItem(
  id: string,
  status: FunctionCallItem['status'],
  callId: string,
  tool: string,
  args: string,
  client: ClientTool | undefined,
): FunctionCallItem {
  const item: FunctionCallItem = {
    id,
    type: 'function_call',
    status,
    arguments: args,
    call_id: callId,
    name: client?.name ?? tool,
  };
  if (client?.namespace) item.namespace = client.namespace;
  return item;
}

export function customToolCallItem(
  id: string,
  callId: string,
  client: ClientTool,
  input: string,
  done: boolean,
): CustomToolCallItem {
  const item: CustomToolCallItem = {
    id,
    type: 'custom_tool_call',
    call_id: callId,
    name: client.name,
    input,
  };
  if (client.namespace) item.namespace = client.namespace;
  if (done) item.status = 'completed';
  return item;
}

/** A custom tool's text from Claude's tool input `{"input": "…"}`. */
export function customInput(input: unknown): string {
  const text = (input as { input?: unknown } | null)?.input;
  return typeof text === 'string' ? text : JSON.stringify(input ?? {});
}

export function responseObject(
  parsed: Parsed<ResponsesHints>,
  meta: RenderMeta,
  outcome: Outcome | { status: 'in_progress' | 'failed'; incomplete_details: null },
  output: OutputItem[],
  usage: ResponseUsage | null,
  error: ResponseObject['error'] = null,
): ResponseObject {
  return {
    id: responseId(meta.requestId),
    object: 'response',
    created_at: meta.created,
    status: outcome.status,
    background: false,
    error,
    incomplete_details: outcome.incomplete_details,
    model: parsed.clientModel,
    output,
    usage,
    ...parsed.hints.echo,
  };
}
