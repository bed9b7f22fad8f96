import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kindForAnthropicType, ProxyError } from '../../../src/errors.ts';
import type { ApiErrorBody } from '../../../src/formats/anthropic/types.ts';
import { renderOpenAIError } from '../../../src/formats/openai/errors.ts';
import { openaiFrontend } from '../../../src/formats/openai/index.ts';
import { readJsonFixture } from '../../support/fixtures.ts';
import { shape } from './helpers.ts';

const real = readJsonFixture('openai', 'reasoning-model-legacy-parameter-error');

describe('openai errors', () => {
  it('has the shape of a real OpenAI error body', () => {
    const r = renderOpenAIError(ProxyError.invalid('max_tokens: must be a positive integer.', 'max_tokens'));
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, {
      error: {
        message: 'max_tokens: must be a positive integer.',
        type: 'invalid_request_error',
        param: 'max_tokens',
        code: null,
      },
    });
    const ours = r.body as { error: Record<string, unknown> };
    assert.deepEqual(Object.keys(ours.error).sort(), Object.keys((real as typeof ours).error).sort());
    assert.deepEqual(shape({ ...ours, error: { ...ours.error, code: 'x' } }), shape(real));
  });

  it('maps kinds to OpenAI types and keeps status and retry-after', () => {
    const cases: Array<[ProxyError, number, string, string | null]> = [
      [new ProxyError('authentication', 'bad key'), 401, 'authentication_error', 'invalid_api_key'],
      [new ProxyError('permission', 'no'), 403, 'permission_error', null],
      [new ProxyError('not_found', 'model: x'), 404, 'not_found_error', null],
      [
        new ProxyError('rate_limited', 'slow down', { retryAfter: 7 }),
        429,
        'rate_limit_error',
        'rate_limit_exceeded',
      ],
      [new ProxyError('overloaded', 'busy'), 529, 'server_error', 'overloaded'],
      [new ProxyError('upstream', 'bad gateway'), 502, 'server_error', null],
      [new ProxyError('timeout', 'slow'), 504, 'server_error', 'timeout'],
      [new ProxyError('too_large', 'big'), 413, 'invalid_request_error', 'request_too_large'],
    ];
    for (const [err, status, type, code] of cases) {
      const r = openaiFrontend.renderError(err);
      assert.equal(r.status, status);
      const body = r.body as { error: { type: string; code: string | null; param: unknown } };
      assert.equal(body.error.type, type);
      assert.equal(body.error.code, code);
      assert.equal(body.error.param, null);
    }
    assert.equal(openaiFrontend.renderError(cases[3][0]).headers?.['retry-after'], '7');
  });

  it('renders a recorded upstream error with its message and status', () => {
    const upstream = readJsonFixture<ApiErrorBody>('anthropic', 'anthropic-issue-17366-error');
    const err = new ProxyError(kindForAnthropicType(upstream.error.type, 400), upstream.error.message, {
      upstream: { status: 400, type: upstream.error.type, message: upstream.error.message, body: upstream },
    });
    const r = renderOpenAIError(err);
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, {
      error: { message: upstream.error.message, type: 'invalid_request_error', param: null, code: null },
    });
  });
});
