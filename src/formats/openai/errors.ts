/**
 * ProxyError → OpenAI's error shape `{"error":{"message","type","param","code"}}`.
 * https://platform.openai.com/docs/guides/error-codes
 *
 * The status is the ProxyError's own (the upstream's when there was one): the openai SDKs pick
 * their typed error (`RateLimitError`, `NotFoundError`, …) and their retry policy from it.
 */
import type { ErrorKind, ProxyError } from '../../errors.ts';
import type { RenderedError } from '../frontend.ts';
import type { OpenAIErrorBody } from './types.ts';

function errorType(kind: ErrorKind): string {
  switch (kind) {
    case 'invalid_request':
    case 'method_not_allowed':
    case 'too_large':
      return 'invalid_request_error';
    case 'authentication':
      return 'authentication_error';
    case 'permission':
      return 'permission_error';
    case 'not_found':
      return 'not_found_error';
    case 'rate_limited':
      return 'rate_limit_error';
    case 'overloaded':
    case 'upstream':
    case 'timeout':
    case 'unavailable':
    case 'internal':
      return 'server_error';
  }
}

function errorCode(kind: ErrorKind): string | null {
  switch (kind) {
    case 'authentication':
      return 'invalid_api_key';
    case 'rate_limited':
      return 'rate_limit_exceeded';
    case 'too_large':
      return 'request_too_large';
    case 'overloaded':
      return 'overloaded';
    case 'timeout':
      return 'timeout';
    case 'invalid_request':
    case 'method_not_allowed':
    case 'permission':
    case 'not_found':
    case 'upstream':
    case 'unavailable':
    case 'internal':
      return null;
  }
}

export function errorBody(err: ProxyError): OpenAIErrorBody {
  return {
    error: {
      message: err.message,
      type: errorType(err.kind),
      param: err.param ?? null,
      // OpenAI's own code for a model that does not exist, which clients look for.
      code: err.kind === 'not_found' && err.param === 'model' ? 'model_not_found' : errorCode(err.kind),
    },
  };
}

export function renderOpenAIError(err: ProxyError): RenderedError {
  const headers: Record<string, string> = { ...err.headers };
  if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
  return { status: err.status, body: errorBody(err), headers };
}
