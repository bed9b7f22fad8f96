/**
 * The three client formats as the end-to-end tests see them: each one's route, a minimal request,
 * how its answers end and carry text, the exact shape of its errors (Anthropic
 * `{type:"error",error:{type,message}}`, OpenAI `{error:{message,type,param,code}}`, the Responses
 * API's OpenAI body or, mid-stream, an `error` event then `response.failed`), and its real client
 * library (`@anthropic-ai/sdk`, `openai` chat completions, `openai` responses).
 */
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { sseEvents } from './sse.ts';

export type ClientFormat = 'anthropic' | 'openai' | 'responses';
export const FORMATS: readonly ClientFormat[] = ['anthropic', 'openai', 'responses'];

export const PATHS: Record<ClientFormat, string> = {
  anthropic: '/api/v1/messages',
  openai: '/api/v1/chat/completions',
  responses: '/api/v1/responses',
};

/** A minimal valid request body in each format. */
export function bodyFor(format: ClientFormat, stream: boolean, prompt = 'hi'): Record<string, unknown> {
  switch (format) {
    case 'anthropic':
      return {
        model: 'claude-sonnet-4-5',
        max_tokens: 64,
        stream,
        messages: [{ role: 'user', content: prompt }],
      };
    case 'openai':
      return { model: 'gpt-4o', stream, messages: [{ role: 'user', content: prompt }] };
    case 'responses':
      return { model: 'gpt-4o', stream, input: prompt, store: false };
  }
}

/** An HTTP answer as a test reads it: `json` is set when the body is not an event stream. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** The answer's text, assembled from a stream in any of the three formats (or from a JSON answer). */
export function assembledText(format: ClientFormat, a: Answer): string {
  if (a.json) {
    if (format === 'anthropic') return a.json.content.map((b: { text?: string }) => b.text ?? '').join('');
    if (format === 'openai') return a.json.choices[0].message.content ?? '';
    return a.json.output
      .flatMap((o: { content?: Array<{ text?: string }> }) => o.content ?? [])
      .map((c: { text?: string }) => c.text ?? '')
      .join('');
  }
  let text = '';
  for (const f of sseEvents(a.text)) {
    const d = f.data;
    if (format === 'anthropic' && d?.type === 'content_block_delta' && d.delta.type === 'text_delta')
      text += d.delta.text;
    if (format === 'openai' && d?.choices?.[0]?.delta?.content) text += d.choices[0].delta.content;
    if (format === 'responses' && d?.type === 'response.output_text.delta') text += d.delta;
  }
  return text;
}

/** Whether a streamed answer began the way one does in its format. */
export function streamBegan(format: ClientFormat, text: string): boolean {
  const first = sseEvents(text)[0]?.data;
  if (format === 'anthropic') return first?.type === 'message_start';
  if (format === 'openai') return first?.choices?.[0]?.delta?.role === 'assistant';
  return first?.type === 'response.created';
}

/** Whether a streamed answer ended the way a complete one does in its format. */
export function streamComplete(format: ClientFormat, text: string): boolean {
  const last = sseEvents(text).at(-1);
  if (format === 'anthropic') return last?.data?.type === 'message_stop';
  if (format === 'openai') return last?.data === '[DONE]';
  return last?.data?.type === 'response.completed';
}

/** An error as a client learns of it. `code` and `param` exist in the OpenAI shapes only. */
export interface WireError {
  type: string;
  message: string;
  code?: string | null;
  param?: string | null;
}

const OPENAI_KEYS = ['code', 'message', 'param', 'type'];

/** An OpenAI error object: exactly `{message, type, param, code}`, strings or null. */
function openaiError(e: any, what: string): WireError {
  assert.ok(e && typeof e === 'object', `${what}: an error object`);
  assert.deepEqual(Object.keys(e).sort(), OPENAI_KEYS, `${what}: exactly message, type, param, code`);
  assert.equal(typeof e.message, 'string', what);
  assert.equal(typeof e.type, 'string', what);
  return { type: e.type, message: e.message, code: e.code, param: e.param };
}

/** An Anthropic error body: `{type:"error", error:{type, message}}` (the upstream's `request_id` may ride along). */
function anthropicError(body: any, what: string): WireError {
  assert.equal(
    body?.type,
    'error',
    `${what}: an Anthropic error body: ${JSON.stringify(body)?.slice(0, 300)}`,
  );
  assert.ok(
    Object.keys(body).every((k) => ['type', 'error', 'request_id'].includes(k)),
    `${what}: ${Object.keys(body)}`,
  );
  assert.equal(typeof body.error.type, 'string', what);
  assert.equal(typeof body.error.message, 'string', what);
  return { type: body.error.type, message: body.error.message };
}

/**
 * The error a client learns about, in its own format, with the shape checked exactly: from an error
 * status's JSON body (OpenAI formats: with `x-request-id`), or from the event that ends a stream
 * (Anthropic: `event: error`; Chat Completions: a `data: {"error":…}` frame, no `[DONE]` and no
 * `finish_reason`; Responses: an `error` event, then `response.failed` carrying the same message).
 * Undefined when there is none.
 */
export function errorOf(format: ClientFormat, a: Answer): WireError | undefined {
  if (a.status >= 400) {
    if (!a.json?.error) return undefined;
    if (format === 'anthropic') return anthropicError(a.json, `${format} ${a.status}`);
    assert.deepEqual(Object.keys(a.json), ['error'], 'an OpenAI error body holds only `error`');
    assert.ok(a.headers['x-request-id'], 'x-request-id on every error');
    return openaiError(a.json.error, `${format} ${a.status}`);
  }
  const events = sseEvents(a.text);
  const last = events.at(-1);
  if (format === 'anthropic') {
    const f = events.find((x) => x.event === 'error');
    if (!f) return undefined;
    assert.equal(f, last, 'the error event ends the stream');
    return anthropicError(f.data, 'anthropic error event');
  }
  if (format === 'openai') {
    const f = events.find((x) => x.data?.error);
    if (!f) return undefined;
    assert.equal(f, last, 'the error frame ends the stream (no [DONE])');
    assert.deepEqual(Object.keys(f.data), ['error']);
    assert.ok(
      events.every((x) => !x.data?.choices?.some((c: { finish_reason?: unknown }) => c.finish_reason)),
      'no finish_reason for a broken answer',
    );
    return openaiError(f.data.error, 'openai error frame');
  }
  const i = events.findIndex((x) => x.data?.type === 'error');
  if (i < 0) return undefined;
  const f = events[i]!.data;
  assert.equal(
    events[i + 1]?.data?.type,
    'response.failed',
    'the error event is followed by response.failed',
  );
  assert.equal(events[i + 1], last, 'response.failed ends the stream');
  assert.ok(!events.some((x) => x.data?.type === 'response.completed'), 'never completed');
  const e = openaiError(f.error, 'responses error event');
  // The documented event is flat; the API nests the same fields under `error`: both agree.
  assert.deepEqual([f.code, f.message, f.param], [e.code, e.message, e.param], 'flat and nested agree');
  const failed = last!.data.response;
  assert.equal(failed.status, 'failed');
  assert.equal(failed.error.message, e.message);
  assert.equal(failed.error.code, e.code ?? e.type);
  return e;
}

/** What a proxy error kind looks like in each format: Anthropic's type, OpenAI's type and code. */
export const ERROR_SHAPES = {
  invalid_request: { anthropic: 'invalid_request_error', openai: 'invalid_request_error', code: null },
  method_not_allowed: { anthropic: 'invalid_request_error', openai: 'invalid_request_error', code: null },
  too_large: { anthropic: 'request_too_large', openai: 'invalid_request_error', code: 'request_too_large' },
  not_found: { anthropic: 'not_found_error', openai: 'not_found_error', code: null },
  authentication: {
    anthropic: 'authentication_error',
    openai: 'authentication_error',
    code: 'invalid_api_key',
  },
  rate_limited: { anthropic: 'rate_limit_error', openai: 'rate_limit_error', code: 'rate_limit_exceeded' },
  overloaded: { anthropic: 'overloaded_error', openai: 'server_error', code: 'overloaded' },
  upstream: { anthropic: 'api_error', openai: 'server_error', code: null },
  timeout: { anthropic: 'timeout_error', openai: 'server_error', code: 'timeout' },
} as const;

export type ErrorKind = keyof typeof ERROR_SHAPES;

export function typeFor(kind: ErrorKind, format: ClientFormat): string {
  return ERROR_SHAPES[kind][format === 'anthropic' ? 'anthropic' : 'openai'];
}

export function codeFor(kind: ErrorKind): string | null {
  return ERROR_SHAPES[kind].code;
}

// --- The real clients --------------------------------------------------------------------------

/** What a client library made of an answer: the text, or the error it threw (typed fields read out). */
export type ClientOutcome =
  | { ok: true; text: string }
  | {
      ok: false;
      /** The SDK's own APIError (status errors and error events), or anything else it threw. */
      apiError: boolean;
      status?: number;
      type?: string | null;
      code?: string | null;
      param?: string | null;
      message: string;
      headers?: Headers;
      error: unknown;
    };

export interface ClientCall {
  /** The proxy's base URL. */
  url: string;
  format: ClientFormat;
  stream: boolean;
  prompt: string;
  headers?: Record<string, string>;
}

/**
 * One request through the format's real client library, with retries off, streamed with the SDK's
 * stream helper (which assembles the answer and throws on an error event) or not.
 */
export async function viaClient(c: ClientCall): Promise<ClientOutcome> {
  const options = { headers: c.headers };
  try {
    if (c.format === 'anthropic') {
      const client = new Anthropic({ baseURL: `${c.url}/api`, apiKey: 'client-key', maxRetries: 0 });
      const body = {
        model: 'claude-sonnet-5-5',
        max_tokens: 64,
        messages: [{ role: 'user' as const, content: c.prompt }],
      };
      const msg = c.stream
        ? await client.messages.stream(body, options).finalMessage()
        : await client.messages.create(body, options);
      return { ok: true, text: msg.content.map((b) => (b.type === 'text' ? b.text : '')).join('') };
    }
    const client = new OpenAI({ baseURL: `${c.url}/api/v1`, apiKey: 'client-key', maxRetries: 0 });
    if (c.format === 'openai') {
      const body = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: c.prompt }] };
      const done = c.stream
        ? await client.chat.completions.stream(body, options).finalChatCompletion()
        : await client.chat.completions.create(body, options);
      return { ok: true, text: done.choices[0]?.message.content ?? '' };
    }
    const body = { model: 'gpt-4o', input: c.prompt, store: false };
    const done = c.stream
      ? await client.responses.stream(body, options).finalResponse()
      : await client.responses.create(body, options);
    return { ok: true, text: done.output_text };
  } catch (error) {
    if (error instanceof Anthropic.APIError) {
      return {
        ok: false,
        apiError: true,
        status: error.status,
        type: error.type,
        message: error.apiMessage ?? error.message,
        headers: error.headers ?? undefined,
        error,
      };
    }
    if (error instanceof OpenAI.APIError) {
      return {
        ok: false,
        apiError: true,
        status: error.status,
        type: error.type,
        code: error.code,
        param: error.param,
        message: (error.error as { message?: string } | undefined)?.message ?? error.message,
        headers: error.headers,
        error,
      };
    }
    return { ok: false, apiError: false, message: String((error as Error)?.message ?? error), error };
  }
}
