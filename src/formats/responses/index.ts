/**
 * The OpenAI Responses frontend (`/v1/responses`): Codex CLI, the openai SDKs' `responses.*`, and
 * other Responses clients on the subscription. Stateless: see request.ts.
 * https://platform.openai.com/docs/api-reference/responses
 */
import type { Frontend } from '../frontend.ts';
import { renderResponsesError } from './errors.ts';
import { parseResponsesRequest } from './request.ts';
import { renderResponse } from './response.ts';
import { ResponsesStreamRenderer } from './stream.ts';
import type { ResponsesHints } from './types.ts';

export const responsesFrontend: Frontend<ResponsesHints> = {
  format: 'responses',
  path: '/v1/responses',
  parseRequest: parseResponsesRequest,
  renderMessage: renderResponse,
  streamRenderer: (parsed, meta, opts) => new ResponsesStreamRenderer(parsed, meta, opts),
  renderError: renderResponsesError,
};
