/**
 * One error type for every failure a client can see. Frontends render it in their own wire shape
 * (Anthropic, OpenAI, Responses); nothing else decides what a client is told.
 */

/** Every kind of failure: the one list (the logs API checks `error_kind` against it). */
export const ERROR_KINDS = [
  'invalid_request',
  'authentication',
  'permission',
  'not_found',
  'method_not_allowed',
  'too_large',
  'rate_limited',
  'upstream',
  'overloaded',
  'timeout',
  'unavailable',
  'internal',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

const STATUS: Record<ErrorKind, number> = {
  invalid_request: 400,
  authentication: 401,
  permission: 403,
  not_found: 404,
  method_not_allowed: 405,
  too_large: 413,
  rate_limited: 429,
  upstream: 502,
  overloaded: 529,
  timeout: 504,
  unavailable: 503,
  internal: 500,
};

/** The upstream's own error, when there was one: its status, parsed body and headers worth keeping. */
export interface UpstreamErrorInfo {
  status: number;
  /** Anthropic `error.type` (e.g. `rate_limit_error`), when the body was a proper error object. */
  type?: string;
  message?: string;
  requestId?: string;
  retryAfter?: string;
  /** The raw upstream body when it was JSON in the Anthropic error shape, kept for pass-through. */
  body?: unknown;
}

export interface ProxyErrorOptions {
  status?: number;
  /** The request field or parameter at fault (`messages[2].content[0]`), for OpenAI's `param`. */
  param?: string;
  upstream?: UpstreamErrorInfo;
  /** Seconds a client should wait before retrying (429/503/529). */
  retryAfter?: number | string;
  /** Extra response headers (e.g. `www-authenticate`). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class ProxyError extends Error {
  readonly kind: ErrorKind;
  readonly status: number;
  readonly param?: string;
  readonly upstream?: UpstreamErrorInfo;
  readonly retryAfter?: number | string;
  readonly headers?: Record<string, string>;

  constructor(kind: ErrorKind, message: string, opts: ProxyErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ProxyError';
    this.kind = kind;
    this.status = opts.status ?? STATUS[kind];
    this.param = opts.param;
    this.upstream = opts.upstream;
    this.retryAfter = opts.retryAfter ?? opts.upstream?.retryAfter;
    this.headers = opts.headers;
  }

  static invalid(message: string, param?: string): ProxyError {
    return new ProxyError('invalid_request', message, { param });
  }
}

export function isProxyError(err: unknown): err is ProxyError {
  return err instanceof ProxyError;
}

/** The error kind that matches an HTTP status the upstream returned. */
export function kindForStatus(status: number): ErrorKind {
  if (status === 400 || status === 422) return 'invalid_request';
  if (status === 401) return 'authentication';
  if (status === 403) return 'permission';
  if (status === 404) return 'not_found';
  if (status === 405) return 'method_not_allowed';
  if (status === 413) return 'too_large';
  if (status === 429) return 'rate_limited';
  if (status === 504) return 'timeout';
  if (status === 503) return 'unavailable';
  if (status === 529) return 'overloaded';
  return status >= 500 ? 'upstream' : 'invalid_request';
}

/** Anthropic's `error.type` for a kind (the internal language's vocabulary). */
export function anthropicErrorType(kind: ErrorKind): string {
  switch (kind) {
    case 'invalid_request':
    case 'method_not_allowed':
      return 'invalid_request_error';
    case 'authentication':
      return 'authentication_error';
    case 'permission':
      return 'permission_error';
    case 'not_found':
      return 'not_found_error';
    case 'too_large':
      return 'request_too_large';
    case 'rate_limited':
      return 'rate_limit_error';
    case 'overloaded':
      return 'overloaded_error';
    case 'timeout':
      return 'timeout_error';
    case 'upstream':
    case 'unavailable':
    case 'internal':
      return 'api_error';
  }
}

/** The kind for an Anthropic `error.type` seen in an upstream body or an in-stream error event. */
export function kindForAnthropicType(type: string | undefined, status?: number): ErrorKind {
  switch (type) {
    case 'invalid_request_error':
      return 'invalid_request';
    case 'authentication_error':
      return 'authentication';
    case 'permission_error':
    case 'billing_error':
      return 'permission';
    case 'not_found_error':
      return 'not_found';
    case 'request_too_large':
      return 'too_large';
    case 'rate_limit_error':
      return 'rate_limited';
    case 'overloaded_error':
      return 'overloaded';
    case 'timeout_error':
      return 'timeout';
    default:
      return status ? kindForStatus(status) : 'upstream';
  }
}
