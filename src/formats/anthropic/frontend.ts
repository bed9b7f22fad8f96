/**
 * The Anthropic Messages frontend: the internal language, so parsing is validation plus model
 * mapping, and rendering is identity. In API mode its answers usually bypass `render*` entirely:
 * the upstream's bytes go straight to the client.
 */
import { unreadFirstByte } from '../../body-bytes.ts';
import { anthropicErrorType, ProxyError } from '../../errors.ts';
import { OPEN_BRACKET } from '../../json-bytes.ts';
import { isObject } from '../fields.ts';
import type { Frontend, Parsed, RenderedError } from '../frontend.ts';
import { resolveModel } from '../models.ts';
import { encodeEvent } from './sse.ts';
import type { ApiErrorBody, MessagesRequest } from './types.ts';

/**
 * Checks what the proxy itself relies on, with the upstream's wording (`max_tokens: Field required`).
 * Deeper validation is the upstream's job: it answers 400 in the same shape.
 */
export function validateMessagesRequest(body: unknown, { requireMaxTokens = true } = {}): MessagesRequest {
  if (!isObject(body)) throw ProxyError.invalid('The request body must be a JSON object.');
  if (body.model === undefined) throw ProxyError.invalid('model: Field required', 'model');
  if (typeof body.model !== 'string' || body.model === '')
    throw ProxyError.invalid('model: Input should be a non-empty string', 'model');
  // A large conversation is left unread (server/json-pieces.ts): its first byte says it is a list.
  const unread = unreadFirstByte(body, 'messages');
  if (unread === undefined && body.messages === undefined)
    throw ProxyError.invalid('messages: Field required', 'messages');
  if (unread === undefined ? !Array.isArray(body.messages) : unread !== OPEN_BRACKET)
    throw ProxyError.invalid('messages: Input should be a valid list', 'messages');
  if (requireMaxTokens && body.max_tokens === undefined)
    throw ProxyError.invalid('max_tokens: Field required', 'max_tokens');
  if (
    body.max_tokens !== undefined &&
    (!Number.isInteger(body.max_tokens) || (body.max_tokens as number) < 1)
  ) {
    throw ProxyError.invalid('max_tokens: Input should be a positive integer', 'max_tokens');
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean')
    throw ProxyError.invalid('stream: Input should be a valid boolean', 'stream');
  return body as MessagesRequest;
}

export function renderAnthropicError(err: ProxyError): RenderedError {
  const upstream = err.upstream?.body as ApiErrorBody | undefined;
  // The upstream's own error object passes through unchanged: clients may read fields we don't know.
  const body: ApiErrorBody =
    upstream && upstream.type === 'error' && isObject(upstream.error)
      ? upstream
      : { type: 'error', error: { type: anthropicErrorType(err.kind), message: err.message } };
  const headers: Record<string, string> = { ...err.headers };
  if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
  return { status: err.status, body, headers };
}

export const anthropicFrontend: Frontend<null> = {
  format: 'anthropic',
  path: '/v1/messages',

  parseRequest(body, opts): Parsed<null> {
    const request = validateMessagesRequest(body);
    const clientModel = request.model;
    const model = resolveModel(clientModel, opts.modelRules);
    if (model !== clientModel) request.model = model;
    return { request, clientModel, stream: request.stream === true, hints: null };
  },

  renderMessage(msg) {
    return msg;
  },

  streamRenderer() {
    return {
      push: encodeEvent,
      end: () => '',
      fail: (err) => encodeEvent(renderAnthropicError(err).body as ApiErrorBody),
    };
  },

  renderError: renderAnthropicError,
};
