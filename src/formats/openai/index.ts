/**
 * The OpenAI Chat Completions frontend (`/v1/chat/completions`).
 * https://platform.openai.com/docs/api-reference/chat
 */
import type { Frontend } from '../frontend.ts';
import { renderOpenAIError } from './errors.ts';
import { parseChatRequest } from './request.ts';
import { renderChatCompletion } from './response.ts';
import { ChatStreamRenderer } from './stream.ts';
import type { OpenAIHints } from './types.ts';

export const openaiFrontend: Frontend<OpenAIHints> = {
  format: 'openai',
  path: '/v1/chat/completions',
  parseRequest: parseChatRequest,
  renderMessage: renderChatCompletion,
  streamRenderer: (parsed, meta, opts) => new ChatStreamRenderer(parsed, meta, opts),
  renderError: renderOpenAIError,
};

export { renderOpenAIError } from './errors.ts';
export { findOpenAIModel, renderOpenAIModels } from './models-list.ts';
export { parseChatRequest } from './request.ts';
export { renderChatCompletion } from './response.ts';
export { ChatStreamRenderer } from './stream.ts';
export type { OpenAIHints } from './types.ts';
