/**
 * ProxyError → the Responses error shape, which is OpenAI's `{"error":{message,type,param,code}}`
 * (openai/errors.ts), with one addition: a prompt longer than the model's context window gets
 * `code: "context_length_exceeded"`, the code Codex answers by compacting its history.
 * https://platform.openai.com/docs/guides/error-codes
 * https://platform.openai.com/docs/api-reference/responses-streaming/error
 */
import type { ProxyError } from '../../errors.ts';
import type { RenderedError } from '../frontend.ts';
import { errorBody, renderOpenAIError } from '../openai/errors.ts';
import type { OpenAIErrorBody } from '../openai/types.ts';

/** The upstream's wording for a prompt over the context window ("prompt is too long: N tokens > M maximum"). */
const TOO_LONG = /prompt is too long|context window/i;

export function responsesErrorBody(err: ProxyError): OpenAIErrorBody {
  const body = errorBody(err);
  if (err.kind === 'invalid_request' && TOO_LONG.test(err.message))
    body.error.code = 'context_length_exceeded';
  return body;
}

export function renderResponsesError(err: ProxyError): RenderedError {
  return { ...renderOpenAIError(err), body: responsesErrorBody(err) };
}
