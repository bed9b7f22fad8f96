import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientHeaders, mergeBetas, upstreamHeaders } from '../../../src/backends/api/headers.ts';

const id = { userAgent: 'claude-cli/2.1.332 (external, cli)', xApp: 'cli', anthropicVersion: '2023-06-01' };

describe('upstream headers', () => {
  it("swaps the client's key for the subscription's Bearer token and drops hop-by-hop headers", () => {
    const h = upstreamHeaders(
      {
        'x-api-key': 'client-key',
        authorization: 'Bearer client',
        host: 'localhost:8000',
        'content-length': '10',
        connection: 'keep-alive',
        'transfer-encoding': 'chunked',
        'accept-encoding': 'gzip',
        'content-encoding': 'gzip',
        'x-request-id': 'abc',
        'x-ccproxy-session-id': 's1',
        'x-stainless-lang': 'js',
      },
      'sk-ant-oat01-token',
      id,
    );
    assert.equal(h.authorization, 'Bearer sk-ant-oat01-token');
    for (const k of [
      'x-api-key',
      'host',
      'content-length',
      'connection',
      'transfer-encoding',
      'accept-encoding',
      'content-encoding',
      'x-request-id',
      'x-ccproxy-session-id',
    ]) {
      assert.equal(h[k], undefined, k);
    }
    assert.equal(h['x-stainless-lang'], 'js');
    assert.equal(h['content-type'], 'application/json');
  });

  it("keeps the client's anthropic-version, or sets the default", () => {
    assert.equal(
      upstreamHeaders({ 'anthropic-version': '2024-01-01' }, 't', id)['anthropic-version'],
      '2024-01-01',
    );
    assert.equal(upstreamHeaders({}, 't', id)['anthropic-version'], '2023-06-01');
  });

  it("merges betas: the client's in order, then oauth and claude-code, no duplicates", () => {
    assert.equal(upstreamHeaders({}, 't', id)['anthropic-beta'], 'oauth-2025-04-20,claude-code-20250219');
    assert.equal(
      upstreamHeaders({ 'anthropic-beta': 'b2,oauth-2025-04-20, b1' }, 't', id)['anthropic-beta'],
      'b2,oauth-2025-04-20,b1,claude-code-20250219',
    );
    assert.equal(mergeBetas(['a,b', 'a'], ['c']), 'a,b,c');
  });

  it("adds Claude Code's identity headers only when the client is not Claude Code", () => {
    const other = upstreamHeaders({ 'user-agent': 'Anthropic/JS 1.14.0' }, 't', id);
    assert.equal(other['user-agent'], id.userAgent);
    assert.equal(other['x-app'], 'cli');
    const cc = upstreamHeaders(
      { 'user-agent': 'claude-cli/2.1.400 (external, cli)', 'x-app': 'cli-x' },
      't',
      id,
    );
    assert.equal(cc['user-agent'], 'claude-cli/2.1.400 (external, cli)');
    assert.equal(cc['x-app'], 'cli-x');
  });

  it('response headers: hop-by-hop, length and encoding dropped; request-id and rate limits kept', () => {
    const h = clientHeaders({
      'content-type': 'text/event-stream',
      'content-length': '5',
      'content-encoding': 'gzip',
      connection: 'keep-alive',
      'transfer-encoding': 'chunked',
      'request-id': 'req_1',
      'anthropic-ratelimit-unified-status': 'allowed',
    });
    assert.deepEqual(h, {
      'content-type': 'text/event-stream',
      'request-id': 'req_1',
      'anthropic-ratelimit-unified-status': 'allowed',
    });
  });
});
