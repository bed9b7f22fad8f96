/**
 * The OpenAI Responses shapes ccproxy writes, and what parsing keeps for rendering.
 * https://platform.openai.com/docs/api-reference/responses/object
 * Requests are read field by field from `unknown` (request.ts, input.ts, tools.ts), so they have no
 * type here.
 */

/** A Claude tool that stands for a client tool of another name, or one inside a `namespace` group. */
export interface ClientTool {
  name: string;
  namespace?: string;
  /** A `custom` (free-form) tool: Claude's input is `{"input": "<text>"}`, the client's the text. */
  custom?: boolean;
}

/** What `parseRequest` leaves for the renderers. */
export interface ResponsesHints {
  /** `include` has `reasoning.encrypted_content`: reasoning items carry the thinking signature. */
  encryptedReasoning: boolean;
  /** The forced tool standing in for `text.format`: its input is the answer's text. */
  jsonTool?: string;
  /** Claude tool name → the client's tool, for tools whose name or kind differs (namespaces, custom). */
  clientTools: ReadonlyMap<string, ClientTool>;
  /** The request settings a response object repeats (instructions, tools, reasoning, text…). */
  echo: Record<string, unknown>;
}

/** https://platform.openai.com/docs/api-reference/responses/object#responses/object-usage */
export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export interface OutputText {
  type: 'output_text';
  text: string;
  annotations: unknown[];
  logprobs: unknown[];
}

export interface Refusal {
  type: 'refusal';
  refusal: string;
}

export interface MessageItem {
  id: string;
  type: 'message';
  status: 'in_progress' | 'completed';
  role: 'assistant';
  content: Array<OutputText | Refusal>;
}

export interface FunctionCallItem {
  id: string;
  type: 'function_call';
  status: 'in_progress' | 'completed';
  arguments: string;
  call_id: string;
  name: string;
  namespace?: string;
}

export interface CustomToolCallItem {
  id: string;
  type: 'custom_tool_call';
  status?: 'completed';
  call_id: string;
  name: string;
  input: string;
  namespace?: string;
}

export interface ReasoningItem {
  id: string;
  type: 'reasoning';
  summary: Array<{ type: 'summary_text'; text: string }>;
  encrypted_content?: string;
}

export type OutputItem = MessageItem | FunctionCallItem | CustomToolCallItem | ReasoningItem;

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/** https://platform.openai.com/docs/api-reference/responses/object */
export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  status: ResponseStatus;
  background: false;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: 'max_output_tokens' | 'content_filter' } | null;
  model: string;
  output: OutputItem[];
  usage: ResponseUsage | null;
  [echoed: string]: unknown;
}

/** The response id: one per answer, from the proxy's request id. */
export function responseId(requestId: string): string {
  return `resp_${requestId}`;
}

/** Output item ids (`msg_…`, `fc_…`, `rs_…`, `ctc_…`): from the request id and the item's place. */
export function itemId(prefix: string, requestId: string, outputIndex: number): string {
  return `${prefix}_${requestId}_${outputIndex}`;
}

/**
 * A redacted thinking block travels in a reasoning item's `encrypted_content` behind this marker;
 * a plain thinking block's `encrypted_content` is its signature.
 */
export const REDACTED_PREFIX = 'ccproxy-redacted:';
