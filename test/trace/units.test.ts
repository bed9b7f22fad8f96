/** The pure pieces of trace: the JSON diff, redaction at a cut, replay's route and curl's quoting. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeChange, jsonDiff } from '../../src/observability/capture/diff.ts';
import { RequestCapture } from '../../src/observability/capture/recorder.ts';
import { Redactor } from '../../src/observability/capture/redact.ts';
import { curlCommand, routeFor } from '../../src/observability/capture/replay.ts';
import { fromStoredDoc, toStoredCapture } from '../../src/observability/capture/store-doc.ts';
import type { Capture } from '../../src/observability/capture/types.ts';

describe('jsonDiff', () => {
  test('a block put in front is one addition, not every element changed', () => {
    const before = { model: 'm', system: [{ type: 'text', text: 'Be brief.' }], stream: true };
    const after = {
      model: 'm',
      system: [
        { type: 'text', text: 'You are Claude Code.' },
        { type: 'text', text: 'Be brief.' },
      ],
    };
    assert.deepEqual(
      jsonDiff(before, after).map((c) => describeChange(c)),
      ['+ system[0]: {"type":"text","text":"You are Claude Code."}', '- stream: true'],
    );
  });
  test('changed values, odd keys, ignored keys', () => {
    assert.deepEqual(
      jsonDiff(
        { 'anthropic-beta': 'a', id: 1 },
        { 'anthropic-beta': 'a,b', id: 2 },
        { ignore: new Set(['id']) },
      ),
      [{ path: '["anthropic-beta"]', kind: 'changed', from: 'a', to: 'a,b' }],
    );
    assert.deepEqual(jsonDiff([1, 2, 3], [1, 5, 3]), [{ path: '[1]', kind: 'changed', from: 2, to: 5 }]);
    assert.deepEqual(jsonDiff('x', { a: 1 }), [
      { path: '(whole)', kind: 'changed', from: 'x', to: { a: 1 } },
    ]);
  });
});

describe('redaction and the cut', () => {
  test('a secret whose start is all a cut body kept is still removed', () => {
    const r = new Redactor(['my-very-secret-token-123']);
    assert.equal(r.text('prefix my-very-sec', true), 'prefix [REDACTED]');
    assert.equal(r.text('prefix my-very-sec', false), 'prefix my-very-sec');
    assert.equal(r.text('key sk-ant-oat01-Abc', true), 'key sk-ant-[REDACTED]');
    assert.equal(r.header('Authorization', 'Bearer abc'), 'Bearer [REDACTED]');
    assert.equal(r.header('x-goog-api-key', 'abc'), '[REDACTED]');
    assert.equal(r.header('x-other', 'has my-very-secret-token-123 in it'), 'has [REDACTED] in it');
  });

  test('bodies are cut on a character boundary; bytes that are not UTF-8 are kept as base64', () => {
    const c = new RequestCapture(0, 5, { method: 'POST', url: '/x', headers: {}, body: Buffer.from('ééé') });
    c.upstreamAnswered(200, { 'content-type': 'application/octet-stream' });
    c.upstreamData(new Uint8Array([0xff, 0xfe, 0x00, 0x41]));
    c.sealed = true;
    const doc = fromStoredDoc(
      toStoredCapture({ id: 'u', ts: 0, mode: 'api', format: 'anthropic', capture: c }, []).doc,
    );
    assert.deepEqual(doc.client_request.body, { text: 'éé', encoding: 'utf8', size: 6, truncated: true });
    assert.deepEqual(doc.upstream_response!.body, {
      text: Buffer.from([0xff, 0xfe, 0x00, 0x41]).toString('base64'),
      encoding: 'base64',
      size: 4,
      truncated: false,
    });
  });
});

describe('replay and curl', () => {
  test('the route under the other mode', () => {
    assert.equal(routeFor('/api/v1/chat/completions', 'sdk'), '/sdk/v1/chat/completions');
    assert.equal(routeFor('/sdk/trip/v1/messages', 'api'), '/api/v1/messages');
    assert.equal(routeFor('/sdk/trip/v1/messages', 'sdk'), '/sdk/trip/v1/messages');
    assert.equal(routeFor('/api/v1/messages?beta=true'), '/api/v1/messages?beta=true');
  });

  test('curl quotes the body for a shell and leaves the token to $CCPROXY_TOKEN', () => {
    const capture = {
      id: 'c',
      client_request: {
        method: 'POST',
        url: '/api/v1/messages',
        headers: {
          host: 'x',
          'content-type': 'application/json',
          'x-api-key': '[REDACTED]',
          'anthropic-version': '2023-06-01',
        },
        body: { text: `{"q":"it's"}`, encoding: 'utf8', size: 12, truncated: false },
      },
    } as unknown as Capture;
    assert.equal(
      curlCommand(capture, 'http://127.0.0.1:8082/'),
      [
        "curl -sS -N -X POST 'http://127.0.0.1:8082/api/v1/messages'",
        "  -H 'content-type: application/json'",
        "  -H 'anthropic-version: 2023-06-01'",
        '  -H "authorization: Bearer $CCPROXY_TOKEN"',
        `  --data-raw '{"q":"it'\\''s"}'`,
      ].join(' \\\n'),
    );
  });
});
