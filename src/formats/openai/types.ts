/**
 * The OpenAI Chat Completions shapes ccproxy writes, and what parsing keeps for rendering.
 * https://platform.openai.com/docs/api-reference/chat/object
 * Requests are read field by field from `unknown` (see request.ts), so they have no type here.
 */

/** What `parseRequest` leaves for the renderers. */
export interface OpenAIHints {
  /** `stream_options.include_usage`: end the stream with a usage chunk (and `usage: null` on the others). */
  includeUsage: boolean;
  /** The forced tool standing in for `response_format`: its input is the answer's content. */
  jsonTool?: string;
  /** The client used the legacy `functions` API: answer with `function_call`, not `tool_calls`. */
  legacyFunctions: boolean;
}

/** https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

export interface ToolCall {
  /** Anthropic's `toolu_…` id, kept so a tool message maps back to the same tool_use. */
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatCompletionMessage {
  role: 'assistant';
  content: string | null;
  refusal: string | null;
  tool_calls?: ToolCall[];
  function_call?: { name: string; arguments: string };
  /** Thinking, as DeepSeek, xAI and most OpenAI-compatible servers name it. */
  reasoning_content?: string;
}

/** https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage */
export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details?: { reasoning_tokens: number };
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: ChatCompletionMessage;
    logprobs: null;
    finish_reason: FinishReason;
  }>;
  usage: CompletionUsage;
}

/** https://platform.openai.com/docs/guides/error-codes */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** `chat.completion` and chunk ids: one per answer, from the proxy's request id. */
export function completionId(requestId: string): string {
  return `chatcmpl-${requestId}`;
}
