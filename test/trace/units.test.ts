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

describe('the stored document', () => {
  const SECRET = 'opaque-secret-value-42';
  const sse = (...events: string[]) => events.map((e) => Buffer.from(e));
  const store = (c: RequestCapture, secrets: string[] = []) => {
    const stored = toStoredCapture({ id: 's', ts: 0, mode: 'api', format: 'anthropic', capture: c }, secrets);
    return { raw: JSON.parse(stored.doc) as Record<string, any>, served: fromStoredDoc(stored.doc) };
  };
  const client = () => ({ method: 'POST', url: '/api/v1/messages', headers: {}, body: Buffer.from('{}') });

  test('text that holds nothing secret comes back as it was; what does is scrubbed', () => {
    const r = new Redactor([SECRET]);
    const plain = 'event: ping\ndata: {"type":"ping"}\n\n';
    assert.equal(r.text(plain), plain);
    assert.equal(r.text(`{"k":"${JSON.stringify(`a"${SECRET}`).slice(1, -1)}"}`), '{"k":"a\\"[REDACTED]"}');
    assert.equal(r.text(`see ${encodeURIComponent(`${SECRET}/x`)}`), 'see [REDACTED]%2Fx');
    assert.equal(r.text('postgres://me:hunter22@db/x'), 'postgres://me:****@db/x');
    assert.equal(r.text('sk-ant-api03-AAAAAAAAAAAA'), 'sk-ant-api03-A[REDACTED]');
  });

  test('a pass-through answer (the same chunks) is stored once and served under both parts', () => {
    const c = new RequestCapture(0, 1 << 20, client());
    c.upstreamAnswered(200, { 'content-type': 'text/event-stream' });
    for (const chunk of sse('event: message_start\ndata: {"a":1}\n\n', 'event: ping\ndata: {}\n\n'))
      c.passthrough(chunk);
    c.responseHead = { status: 200, headers: { 'content-type': 'text/event-stream' } };
    c.sealed = true;
    const { raw, served } = store(c);
    assert.equal(raw.response.body.same_as_upstream, true);
    assert.equal(raw.response.body.sse, undefined, 'the events are stored once, under the upstream response');
    assert.deepEqual(served.response!.body, served.upstream_response!.body);
    assert.deepEqual(served.response!.events, served.upstream_response!.events);
    assert.deepEqual(
      served.response!.events!.map((e) => e.event),
      ['message_start', 'ping'],
    );
  });

  test('an answer that differs from the upstream (an error event added) is stored on its own', () => {
    const c = new RequestCapture(0, 1 << 20, client());
    c.upstreamAnswered(200, { 'content-type': 'text/event-stream' });
    c.passthrough(Buffer.from('event: message_start\ndata: {"a":1}\n\n'));
    c.responseData('\n\nevent: error\ndata: {"type":"error"}\n\n');
    c.responseHead = { status: 200, headers: { 'content-type': 'text/event-stream' } };
    c.sealed = true;
    const { raw, served } = store(c);
    assert.equal(raw.response.body.same_as_upstream, undefined);
    assert.deepEqual(
      served.response!.events!.map((e) => e.event),
      ['message_start', 'error'],
    );
    assert.deepEqual(
      served.upstream_response!.events!.map((e) => e.event),
      ['message_start'],
    );
  });

  test('events split on LF and on CRLF, each with the time of the chunk that ended it', () => {
    for (const nl of ['\n', '\r\n']) {
      const c = new RequestCapture(0, 1 << 20, client());
      c.upstreamAnswered(200, { 'content-type': 'text/event-stream' });
      const ev = (name: string) => `event: ${name}${nl}data: {}${nl}${nl}`;
      // Two events in one chunk, then one split across two chunks.
      const [a, b] = [ev('two'), ev('three')];
      c.upstreamData(Buffer.from(ev('one') + a));
      c.upstreamData(Buffer.from(b.slice(0, 5)));
      c.upstreamData(Buffer.from(b.slice(5)));
      c.upstreamResponse!.body.times.splice(0, 3, 1, 2, 3);
      c.sealed = true;
      const { served } = store(c);
      assert.deepEqual(
        served.upstream_response!.events!.map((e) => [e.event, e.t]),
        [
          ['one', 1],
          ['two', 1],
          ['three', 3],
        ],
        JSON.stringify(nl),
      );
    }
  });

  test("a stream is redacted event by event only where a secret is, and a cut one loses a secret's start", () => {
    const first = `event: a\ndata: {"t":"${SECRET}"}\n\n`;
    const second = 'event: b\ndata: {}\n\n';
    const third = `event: c\ndata: "${SECRET}"\n\n`;
    // The cap falls 8 characters into the third event's secret.
    const cap = first.length + second.length + 'event: c\ndata: "'.length + 8;
    const c = new RequestCapture(0, cap, client());
    c.upstreamAnswered(200, { 'content-type': 'text/event-stream' });
    for (const chunk of [first, second, third]) c.upstreamData(Buffer.from(chunk));
    c.sealed = true;
    const { raw, served } = store(c, [SECRET]);
    assert.ok(!JSON.stringify(raw).includes(SECRET.slice(0, 8)));
    assert.deepEqual(
      served.upstream_response!.events!.map((e) => e.data),
      ['{"t":"[REDACTED]"}', '{}', '"[REDACTED]'],
    );
    assert.equal(served.upstream_response!.body!.truncated, true);
    assert.equal(served.truncated, true);
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
