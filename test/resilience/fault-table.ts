/**
 * The fault matrix's one table: every bad request and every upstream fault the fake offers, each
 * tried in every client format (Anthropic Messages, Chat Completions, Responses), streamed and not
 * where that applies. A row says what a client must see (status, and the error in its own format's
 * shape, or the answer's text), what the upstream must receive, and what the access log records;
 * `formats` says where one format differs, and why. The runner is faults.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  type Answer,
  type ClientFormat,
  type ClientOutcome,
  type ErrorKind,
  errorOf,
} from '../helpers/formats.ts';
import { type FakeResponse, reply } from '../support/fake-upstream.ts';

export const ANSWER = 'The fault is behind us now.';
export const ok = () => reply.text(ANSWER, { deltas: 5 });

/** The proxies a row can be aimed at: the file's main one, or one set up for a credential fault. */
export type ProxyKind = 'main' | 'refused' | 'no-credentials' | 'dead-refresh' | 'expiring';

/** A request other than the minimal valid one (`bodyFor`). */
export interface RequestSpec {
  method?: 'POST' | 'GET' | 'DELETE';
  path?: string;
  /** A body to send as JSON; `raw` sends text as it is. */
  body?: unknown;
  raw?: string;
}

/** What a cell (one format, streamed or not) gets to look at beyond the answer. */
export interface CellContext {
  format: ClientFormat;
  stream: boolean;
  /** Arrival times (epoch ms) of this request's attempts at the fake. */
  arrivals: number[];
  /** GET (or DELETE) a path of the proxy that answered. */
  get(path: string, method?: 'GET' | 'DELETE'): Promise<Answer>;
}

/** What one format expects of a row: the row's own fields, overridden per format in `formats`. */
export interface Expect {
  /** Status the client sees. */
  status: number;
  /** The error the client is told about (error status body or stream error event), in its own shape. */
  error?: { kind: ErrorKind; message: RegExp; param?: string | null };
  /** The answer's text, for rows that end well. */
  text?: string;
  /** Requests the fake receives for one client request. */
  attempts: number;
  /**
   * The access-log row, where it differs from: the status, the error's kind, attempts − 1 retries,
   * the client stayed. `false`: the request has no row (it matched no route).
   */
  row?: { status?: number; kind?: string | null; retries?: number; clientAborted?: boolean } | false;
  /** A header the client must see. */
  header?: string;
  /** More checks on the raw answer. */
  check?: (a: Answer, cell: CellContext) => void | Promise<void>;
  /** What the format's real client makes of it, where that does not follow from `error` or `text`. */
  client?: (o: ClientOutcome) => void;
}

export interface Scenario extends Expect {
  name: string;
  /** Streamed requests, plain ones, or both. */
  streams: boolean[];
  /** The formats the row applies to, when a rule exists in some only (default: all three). */
  only?: ClientFormat[];
  /** The fake's answers to one request's attempts, in order (default none). */
  script?: () => FakeResponse[];
  /** A request that is not a minimal valid one (bad input): sent as raw HTTP, no client library. */
  request?: (format: ClientFormat, stream: boolean, prompt: string) => RequestSpec;
  /** The client hangs up after the first bytes of the answer (raw HTTP, no client library). */
  hangUp?: boolean;
  /** The metrics label of the retries, when there are any. */
  reason?: string;
  /** Which proxy answers (default `main`). */
  proxy?: ProxyKind;
  /** Requests per cell and kind of client (default 1): load on one shared outcome. */
  repeat?: number;
  /** Send one request at a time, when concurrent ones would share an outcome (a token refresh). */
  sequential?: boolean;
  /** Whether that proxy serves normally afterwards (default: yes, checked in every format). */
  serving?: boolean;
  /** A known gap: the row states the right behaviour and runs as a todo until the code has it. */
  todo?: string;
  /** Checks once every cell ran; `refreshes` = token refreshes the fake saw during the row. */
  after?: (ctx: RowContext) => void | Promise<void>;
  formats?: Partial<Record<ClientFormat, Partial<Expect>>>;
}

export interface RowContext {
  refreshes: number;
  /** Requests sent in the row (raw and through clients). */
  requests: number;
  get(path: string, method?: 'GET' | 'DELETE'): Promise<Answer>;
  /** The proxy's temp dir and credential files. */
  proxy: { settings: { auth: { claude_credentials_file: string } } };
  /** Authorization headers the fake received for this row's prompts. */
  tokensUsed: Set<string>;
}

/** The expiring credentials of the `expiring` proxy (in the Claude CLI's file). */
export const EXPIRING = {
  accessToken: 'sk-ant-oat01-old-expiring-token-000000',
  refreshToken: 'sk-ant-ort01-expiring-refresh-token-0000',
};

/** A body without one field. */
function without(body: Record<string, unknown>, field: string): Record<string, unknown> {
  const { [field]: _, ...rest } = body;
  return rest;
}

const CONVERSATION: Record<ClientFormat, string> = {
  anthropic: 'messages',
  openai: 'messages',
  responses: 'input',
};

/** A valid body per format (prompt irrelevant: these never reach a script). */
const VALID: Record<ClientFormat, Record<string, unknown>> = {
  anthropic: { model: 'claude-sonnet-5-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
  openai: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] },
  responses: { model: 'gpt-4o', input: 'hi', store: false },
};

/** For Anthropic clients the upstream's bytes pass through unparsed: its SDK meets the fault itself. */
const sdkThrows = (message: RegExp) => (o: ClientOutcome) => {
  assert.equal(o.ok, false, 'the SDK does not take a broken stream for an answer');
  if (!o.ok) assert.match(o.message, message);
};

export const SCENARIOS: Scenario[] = [
  // --- Bad requests: refused before the upstream is asked ---------------------------------------
  {
    name: 'malformed JSON → 400 saying so',
    streams: [false],
    request: () => ({ raw: '{"model": ' }),
    status: 400,
    error: { kind: 'invalid_request', message: /not valid JSON/, param: null },
    attempts: 0,
  },
  {
    name: 'empty body → 400',
    streams: [false],
    request: () => ({ raw: '' }),
    status: 400,
    error: { kind: 'invalid_request', message: /empty/ },
    attempts: 0,
  },
  {
    name: 'a body that is not a JSON object → 400',
    streams: [false],
    request: () => ({ body: [1, 2] }),
    status: 400,
    error: { kind: 'invalid_request', message: /JSON object/ },
    attempts: 0,
  },
  {
    name: 'no model → 400 naming the field',
    streams: [false],
    request: (f) => ({ body: without(VALID[f], 'model') }),
    status: 400,
    error: { kind: 'invalid_request', message: /^model: /, param: 'model' },
    attempts: 0,
    formats: { anthropic: { error: { kind: 'invalid_request', message: /^model: Field required/ } } },
  },
  {
    name: 'no conversation (messages, input) → 400 naming the field',
    streams: [false],
    request: (f) => ({ body: without(VALID[f], CONVERSATION[f]) }),
    status: 400,
    error: { kind: 'invalid_request', message: /^messages: /, param: 'messages' },
    attempts: 0,
    formats: {
      anthropic: { error: { kind: 'invalid_request', message: /^messages: Field required/ } },
      responses: { error: { kind: 'invalid_request', message: /^input: is required/, param: 'input' } },
    },
  },
  {
    name: 'no max_tokens → 400 in the Messages API, where it is required; a default elsewhere',
    streams: [false],
    request: (f) => ({ body: without(VALID[f], 'max_tokens') }),
    script: () => [ok()],
    status: 400,
    error: { kind: 'invalid_request', message: /^max_tokens: Field required/ },
    attempts: 0,
    formats: {
      openai: { status: 200, error: undefined, text: ANSWER, attempts: 1 },
      responses: { status: 200, error: undefined, text: ANSWER, attempts: 1 },
    },
  },
  {
    name: 'an empty conversation → 400 (the upstream says so for Anthropic clients; Responses sends a placeholder turn)',
    streams: [false],
    request: (f) => ({ body: { ...VALID[f], [CONVERSATION[f]]: [] } }),
    script: () => [ok()],
    status: 400,
    error: { kind: 'invalid_request', message: /^messages: must contain at least one/, param: 'messages' },
    attempts: 0,
    formats: {
      anthropic: {
        error: { kind: 'invalid_request', message: /^messages: at least one message is required/ },
        attempts: 1,
      },
      responses: { status: 200, error: undefined, text: ANSWER, attempts: 1 },
    },
  },
  {
    name: 'a message with an unknown role → 400 naming it',
    streams: [false],
    request: (f) => ({ body: { ...VALID[f], [CONVERSATION[f]]: [{ role: 'robot', content: 'x' }] } }),
    script: () => [ok()],
    status: 400,
    error: { kind: 'invalid_request', message: /'robot' is not one of/, param: 'messages[0].role' },
    attempts: 0,
    formats: {
      // The Messages API's own validation answers, passed through.
      anthropic: {
        error: {
          kind: 'invalid_request',
          message: /^messages\.0\.role: Input should be 'user' or 'assistant'/,
        },
        attempts: 1,
      },
      responses: {
        error: { kind: 'invalid_request', message: /'robot' is not one of/, param: 'input[0].role' },
      },
    },
  },
  {
    name: 'a body over server.max_body_bytes → 413',
    streams: [false],
    request: (f) => ({
      body: { ...VALID[f], [CONVERSATION[f]]: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] },
    }),
    status: 413,
    error: { kind: 'too_large', message: /max_body_bytes/ },
    attempts: 0,
  },
  {
    name: 'wrong method → 405 with Allow: POST',
    streams: [false],
    request: () => ({ method: 'GET' }),
    status: 405,
    error: { kind: 'method_not_allowed', message: /Method GET is not allowed.*use POST/ },
    attempts: 0,
    header: 'allow',
    check: async (a, cell) => {
      assert.equal(a.headers.allow, 'POST');
      if (cell.format !== 'openai') return;
      // So is the model list, which OpenAI clients read: GET only, refused in OpenAI's shape.
      const models = await cell.get('/api/v1/models', 'DELETE');
      assert.equal(models.status, 405);
      assert.match(errorOf('openai', models)!.message, /Method DELETE is not allowed.*use GET/);
    },
    // No route for the method: not a request of the access log.
    row: false,
  },
  {
    name: 'unknown path → 404 in the shape its path suggests',
    only: ['anthropic', 'openai'],
    streams: [false],
    request: (f) => ({ path: f === 'anthropic' ? '/api/v1/nothing' : '/api/v1/embeddings' }),
    status: 404,
    error: { kind: 'not_found', message: /No route for POST \/api\/v1\/nothing/ },
    attempts: 0,
    row: false,
    formats: { openai: { error: { kind: 'not_found', message: /No route for POST \/api\/v1\/embeddings/ } } },
  },

  // --- The upstream refuses -------------------------------------------------------------------
  {
    name: 'upstream 400: the message passes on (Anthropic clients: the body unchanged, request_id kept)',
    streams: [false, true],
    script: () => [reply.invalidRequest('messages.0.content: bad')],
    status: 400,
    error: { kind: 'invalid_request', message: /^messages\.0\.content: bad$/ },
    attempts: 1,
    check: (a, cell) => {
      if (cell.format === 'anthropic') assert.ok(a.json.request_id, "the upstream's request_id is kept");
      else assert.ok(a.headers['request-id'], "the upstream's request-id header is passed on");
    },
  },
  {
    // The API quotes bad input back: an error can be larger than the proxy holds (64 kB).
    name: 'a 400 too large to hold whole: still a 400 with its type and the start of its message',
    streams: [false, true],
    script: () => [
      reply.error(
        400,
        'invalid_request_error',
        `messages.0.content.0: Input tag '${'x'.repeat(200_000)}' is not one of`,
      ),
    ],
    status: 400,
    error: {
      kind: 'invalid_request',
      message: /^messages\.0\.content\.0: Input tag 'xxxx.*… \(cut short\)$/,
    },
    attempts: 1,
  },
  {
    name: 'upstream 404 (an unknown model) → 404 not_found_error',
    streams: [false, true],
    script: () => [reply.error(404, 'not_found_error', 'model: claude-nope')],
    status: 404,
    error: { kind: 'not_found', message: /model: claude-nope/ },
    attempts: 1,
  },
  {
    name: 'upstream 401 → one token refresh and a retry, then the answer',
    proxy: 'main',
    sequential: true,
    streams: [false, true],
    script: () => [reply.unauthorized('OAuth token has expired.'), ok()],
    status: 200,
    text: ANSWER,
    attempts: 2,
    // A refreshed token is a new start, not a retry.
    row: { retries: 0 },
    after: ({ refreshes, requests }) => assert.equal(refreshes, requests, 'one refresh per rejected token'),
  },
  {
    name: 'upstream 401 that a fresh token does not cure → 401 authentication_error',
    sequential: true,
    streams: [false, true],
    script: () => [reply.unauthorized(), reply.unauthorized()],
    status: 401,
    error: { kind: 'authentication', message: /Invalid bearer token/ },
    attempts: 2,
    row: { retries: 0 },
    after: ({ refreshes, requests }) => assert.equal(refreshes, requests, 'one refresh each, no loop'),
  },
  {
    name: 'a storm of 500s → every retry made, then the 500',
    streams: [false, true],
    script: () => [reply.apiError(), reply.apiError(), reply.apiError()],
    status: 500,
    error: { kind: 'upstream', message: /Internal server error/ },
    attempts: 3,
    reason: 'server_error',
  },
  {
    name: 'a storm of 529s → every retry made, then the 529',
    streams: [false, true],
    script: () => [reply.overloaded(), reply.overloaded(), reply.overloaded()],
    status: 529,
    error: { kind: 'overloaded', message: /Overloaded/ },
    attempts: 3,
    reason: 'overloaded',
  },
  {
    name: 'two 529s, then an answer',
    streams: [false, true],
    script: () => [reply.overloaded(), reply.overloaded(), ok()],
    status: 200,
    text: ANSWER,
    attempts: 3,
    reason: 'overloaded',
  },
  {
    name: '429 without retry-after: one retry after backoff, then the 429',
    streams: [false, true],
    script: () => [
      reply.rateLimited({ retryAfter: undefined }),
      reply.rateLimited({ retryAfter: undefined }),
    ],
    status: 429,
    error: { kind: 'rate_limited', message: /rate limit/ },
    attempts: 2,
    reason: 'rate_limited',
  },
  {
    name: '429 with retry-after-ms, then an answer',
    streams: [false, true],
    script: () => [reply.rateLimited({ retryAfter: undefined, retryAfterMs: 20 }), ok()],
    status: 200,
    text: ANSWER,
    attempts: 2,
    reason: 'rate_limited',
  },
  {
    name: '429 with retry-after in seconds: the retry waits that long (checked at the fake), then the answer',
    streams: [false],
    script: () => [reply.rateLimited({ retryAfter: 1 }), ok()],
    status: 200,
    text: ANSWER,
    attempts: 2,
    reason: 'rate_limited',
    check: (_a, cell) => {
      const [first, second] = cell.arrivals;
      // A lower bound only: the proxy may not retry sooner than it was told.
      assert.ok(second! - first! >= 950, `waited ${second! - first!} ms`);
    },
  },
  {
    name: '429 whose retry-after is beyond the wait budget: passed on at once, with retry-after',
    streams: [false, true],
    script: () => [reply.rateLimited({ retryAfter: 3600 })],
    status: 429,
    error: { kind: 'rate_limited', message: /rate limit/ },
    attempts: 1,
    header: 'retry-after',
    check: (a) => assert.equal(a.headers['retry-after'], '3600'),
  },
  {
    name: 'an HTML error page (retried as a 502) → 502 quoting its status and a snippet',
    streams: [false, true],
    script: () => [reply.html(502), reply.html(502), reply.html(502)],
    status: 502,
    error: {
      kind: 'upstream',
      message: /answered HTTP 502 with a body that is not an Anthropic error: <html>/,
    },
    attempts: 3,
    reason: 'server_error',
  },
  {
    name: 'an HTML page with status 200 (a captive portal) → 502 quoting it',
    streams: [false, true],
    script: () => [{ ...reply.html(200), status: 200 }],
    status: 502,
    error: {
      kind: 'upstream',
      message: /answered HTTP 200 with text\/html instead of (JSON|an event stream): <html>/,
    },
    attempts: 1,
    check: (a, cell) =>
      assert.match(
        a.text,
        cell.stream ? /instead of an event stream/ : /instead of JSON/,
        'what was expected',
      ),
  },
  {
    name: 'a JSON error that is not the API’s (a gateway’s 503) → 502 quoting it, after the retries',
    streams: [false, true],
    script: () => [1, 2, 3].map(() => reply.json(503, { message: 'no healthy upstream' })),
    status: 502,
    error: {
      kind: 'upstream',
      message:
        /answered HTTP 503 with a body that is not an Anthropic error: \{"message":"no healthy upstream"\}/,
    },
    attempts: 3,
    reason: 'server_error',
  },
  {
    name: 'a 200 JSON body on a streamed request → 502 quoting it',
    streams: [true],
    script: () => [reply.json(200, { hello: 'world' })],
    status: 502,
    error: {
      kind: 'upstream',
      message: /answered HTTP 200 with application\/json instead of an event stream/,
    },
    attempts: 1,
  },
  {
    name: 'a 200 JSON body that is not a Message → 502 quoting it (Anthropic clients: passed through)',
    streams: [false],
    script: () => [reply.json(200, { hello: 'world' })],
    status: 502,
    error: { kind: 'upstream', message: /answered HTTP 200/ },
    attempts: 1,
    formats: {
      anthropic: {
        status: 200,
        error: undefined,
        check: (a) => assert.deepEqual(a.json, { hello: 'world' }),
        client: (o) => assert.ok(!o.ok, 'the SDK finds no content in it'),
      },
    },
  },

  // --- The connection fails -------------------------------------------------------------------
  {
    name: 'reset before headers on every attempt → 502',
    streams: [false, true],
    script: () => [reply.reset(), reply.reset(), reply.reset()],
    status: 502,
    error: { kind: 'upstream', message: /closed unexpectedly/ },
    attempts: 3,
    reason: 'connection',
  },
  {
    name: 'reset before headers once, then an answer',
    streams: [false, true],
    script: () => [reply.reset(), ok()],
    status: 200,
    text: ANSWER,
    attempts: 2,
    reason: 'connection',
  },
  {
    name: 'stall before the first byte → 504 naming the setting',
    streams: [false, true],
    script: () => [reply.stall()],
    status: 504,
    error: { kind: 'timeout', message: /first_byte_s/ },
    attempts: 1,
  },
  {
    name: 'connection refused: every attempt made, then 502 naming the upstream',
    proxy: 'refused',
    streams: [false, true],
    status: 502,
    error: {
      kind: 'upstream',
      message: /Cannot reach the upstream http:\/\/127\.0\.0\.1:\d+: connection refused/,
    },
    // Nothing listens: the fake sees none of them.
    attempts: 0,
    row: { retries: 2 },
    reason: 'connection',
    serving: false,
    after: async ({ get }) => {
      const status = (await get('/api/status')).json;
      assert.match(status.last_upstream_error.message, /connection refused/);
      // The model list still answers, from the built-in list.
      const models = (await get('/api/v1/models')).json;
      assert.equal(models.object, 'list');
      assert.ok(models.data.some((m: { id: string }) => m.id === 'gpt-4o'));
    },
  },

  // --- The stream breaks after it began -------------------------------------------------------
  {
    name: 'connection closed mid-stream → an error event, not a short answer',
    streams: [true],
    script: () => [reply.drop(4, reply.text(ANSWER, { deltas: 6 }))],
    status: 200,
    error: { kind: 'upstream', message: /failed mid-response/ },
    attempts: 1,
  },
  {
    name: 'reset mid-stream (no retry once the stream began) → an error event',
    streams: [true],
    script: () => [reply.drop(4, reply.text(ANSWER, { deltas: 6 }), 'reset')],
    status: 200,
    error: { kind: 'upstream', message: /failed mid-response/ },
    attempts: 1,
  },
  {
    name: 'stall mid-stream → an error event naming idle_s, not a hang',
    streams: [true],
    script: () => [reply.stallMidStream(3)],
    status: 200,
    error: { kind: 'timeout', message: /stalled.*idle_s/ },
    attempts: 1,
  },
  {
    name: 'an error event mid-stream → the same error in the client’s format',
    streams: [true],
    script: () => [
      reply.streamError({ afterEvents: 3, type: 'api_error', message: 'Internal server error' }),
    ],
    status: 200,
    error: { kind: 'upstream', message: /Internal server error/ },
    attempts: 1,
    // Passed through as it came.
    formats: { anthropic: { row: { kind: 'upstream' } } },
  },
  {
    name: 'a stream whose first event is an error (before any answer) → its status',
    streams: [true],
    script: () => [
      reply.events([{ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }]),
    ],
    status: 529,
    error: { kind: 'overloaded', message: /Overloaded/ },
    attempts: 1,
    formats: {
      anthropic: {
        status: 200,
        check: (a) => assert.match(a.text, /^event: error\n/, 'passed through as it came'),
      },
    },
  },
  {
    name: 'malformed SSE: a data line that is not JSON → an error event quoting it',
    streams: [true],
    script: () => [reply.malformed('json')],
    status: 200,
    error: { kind: 'upstream', message: /malformed stream event/ },
    attempts: 1,
    formats: {
      anthropic: {
        error: undefined,
        row: { kind: null },
        check: (a) => assert.match(a.text, /"type":"text_de$/m, 'the upstream bytes, unchanged'),
        client: sdkThrows(/JSON/),
      },
    },
  },
  {
    name: 'malformed SSE: a stream that stops before message_stop → an error event, not a silent stop',
    streams: [true],
    script: () => [reply.malformed('truncated')],
    status: 200,
    error: { kind: 'upstream', message: /ended before the answer was complete/ },
    attempts: 1,
    formats: {
      anthropic: {
        error: undefined,
        row: { kind: null },
        check: (a) => assert.ok(!a.text.includes('message_stop'), 'passed through as it came'),
        client: sdkThrows(/stream ended/),
      },
    },
  },
  {
    name: 'malformed SSE: an event stream with no events at all → 502',
    streams: [true],
    script: () => [reply.malformed('garbage')],
    status: 502,
    error: { kind: 'upstream', message: /holds no events/ },
    attempts: 1,
    formats: {
      anthropic: {
        status: 200,
        error: undefined,
        row: { kind: null },
        check: (a) => assert.match(a.text, /not an event stream/, 'the upstream bytes, unchanged'),
        client: sdkThrows(/without sending any chunks/),
      },
    },
  },

  // --- The client leaves ----------------------------------------------------------------------
  {
    name: 'a client that hangs up mid-stream stops the upstream request',
    streams: [true],
    hangUp: true,
    script: () => [reply.slow(200, reply.text('a b c d e f g h', { deltas: 8 }))],
    status: 200,
    attempts: 1,
    row: { clientAborted: true },
  },

  // --- Credentials ----------------------------------------------------------------------------
  {
    name: 'no credentials → 401 that says what to run; /health fails with 503',
    proxy: 'no-credentials',
    streams: [false, true],
    status: 401,
    error: { kind: 'authentication', message: /ccproxy auth login.*claude \/login.*CLAUDE_CODE_OAUTH_TOKEN/ },
    attempts: 0,
    serving: false,
    after: async ({ get }) => {
      const health = await get('/health');
      assert.equal(health.status, 503, 'a failing check is a 503: load balancers read the status code');
      assert.match(String(health.headers['content-type']), /application\/health\+json/);
      assert.equal(health.json.status, 'fail');
      assert.equal((await get('/health/ready')).status, 503);
      assert.equal((await get('/health/live')).status, 200);
    },
  },
  {
    name: 'a dead refresh token (invalid_grant) → 401 saying to log in again, once refreshed at most',
    proxy: 'dead-refresh',
    streams: [false, true],
    status: 401,
    error: { kind: 'authentication', message: /ccproxy auth login/ },
    attempts: 0,
    serving: false,
    after: async ({ refreshes, get }) => {
      assert.equal(refreshes, 1, 'no retry storm against a dead refresh token');
      const status = (await get('/api/status')).json;
      assert.equal(status.credentials.relogin_required, true);
      assert.match((await get('/health')).text, /Re-login required/);
    },
  },
  {
    name: 'a token about to expire: one refresh for ~100 concurrent requests, the rotated pair saved 0600',
    proxy: 'expiring',
    streams: [false, true],
    repeat: 9,
    status: 200,
    text: ANSWER,
    script: () => [ok()],
    attempts: 1,
    after: ({ refreshes, proxy, tokensUsed }) => {
      assert.equal(refreshes, 1);
      const file = proxy.settings.auth.claude_credentials_file;
      const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
      assert.notEqual(saved.claudeAiOauth.refreshToken, EXPIRING.refreshToken, 'rotated refresh token saved');
      assert.ok(saved.claudeAiOauth.expiresAt > Date.now() + 3600_000);
      assert.equal(saved.claudeAiOauth.subscriptionType, 'max');
      assert.equal(saved.otherKey, 'kept', "the Claude CLI's other keys are kept");
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.deepEqual([...tokensUsed], [`Bearer ${saved.claudeAiOauth.accessToken}`], 'only the new token');
    },
  },
];
