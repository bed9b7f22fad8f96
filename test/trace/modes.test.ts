/**
 * What each capture mode keeps: `errors` keeps failed requests only (an upstream error answer, a
 * stream that failed mid-way) and lets successful ones go; `off` records nothing; a body past
 * `capture_max_bytes` is cut and marked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { renderDetail } from '../../src/cli/trace/render.ts';
import { reply } from '../support/fake-upstream.ts';
import { type CaptureRig, json, PROXY_TOKEN, startCaptureRig } from './helpers.ts';

const post = (rig: CaptureRig, id: string, body: Record<string, unknown>) =>
  fetch(`${rig.proxy.url}/api/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': PROXY_TOKEN, 'x-request-id': id },
    body: JSON.stringify({
      model: 'claude-sonnet-5-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
      ...body,
    }),
  }).then(async (r) => ({ status: r.status, text: await r.text() }));

describe('capture = errors', () => {
  let rig: CaptureRig;
  before(async () => {
    rig = await startCaptureRig({ observability: { capture: 'errors' } });
  });
  after(() => rig.close());

  test('a successful request has its row but no capture', async () => {
    rig.fake.enqueue(reply.text('Fine.'));
    assert.equal((await post(rig, 'errors_ok', {})).status, 200);
    const { status, body } = await rig.detail('errors_ok');
    assert.equal(status, 200);
    assert.equal(body.row?.status, 200);
    assert.equal(body.capture, null);
    assert.equal(body.capture_mode, 'errors');
  });

  test('an upstream error: its status, headers and body as the upstream sent them, and what the client got', async () => {
    rig.fake.enqueue(reply.overloaded());
    const answer = await post(rig, 'errors_529', {});
    assert.equal(answer.status, 529);
    const c = (await rig.detail('errors_529')).body.capture!;
    assert.equal(c.upstream_response!.status, 529);
    assert.ok(c.upstream_response!.headers['request-id']);
    assert.equal(
      (json(c.upstream_response!.body!.text) as { error: { type: string } }).error.type,
      'overloaded_error',
    );
    assert.equal(c.response!.status, 529);
    assert.equal(c.response!.body!.text, answer.text);
    assert.ok(c.upstream_request, 'the request that failed is there');
  });

  test('a stream that fails mid-way: the events up to the error', async () => {
    rig.fake.enqueue(reply.streamError({ afterEvents: 4 }));
    const answer = await post(rig, 'errors_midstream', { stream: true });
    assert.equal(answer.status, 200);
    const { body } = await rig.detail('errors_midstream');
    assert.equal(body.row?.error_kind, 'overloaded');
    const events = body.capture!.upstream_response!.events!.map((e) => e.event);
    assert.equal(events.at(-1), 'error');
    assert.ok(events.includes('content_block_delta'));
    assert.equal(body.capture!.response!.body!.text, answer.text);
  });

  test('a request refused before it went upstream (bad input): the client request and the answer', async () => {
    const answer = await post(rig, 'errors_invalid', { max_tokens: 'many' });
    assert.equal(answer.status, 400);
    const c = (await rig.detail('errors_invalid')).body.capture!;
    assert.equal(c.upstream_request, null);
    assert.equal((json(c.client_request.body!.text) as { max_tokens: string }).max_tokens, 'many');
    assert.equal(c.response!.status, 400);
    assert.match(c.response!.body!.text, /max_tokens/);
  });
  test('a client that hangs up before its answer began: kept, with what went upstream', async () => {
    rig.fake.enqueue(reply.stall());
    const ac = new AbortController();
    const sent = fetch(`${rig.proxy.url}/api/v1/messages`, {
      method: 'POST',
      signal: ac.signal,
      headers: {
        'content-type': 'application/json',
        'x-api-key': PROXY_TOKEN,
        'x-request-id': 'errors_hangup',
      },
      body: JSON.stringify({
        model: 'claude-sonnet-5-5',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'hang-up marker' }],
      }),
    });
    // Once the proxy has asked the upstream (which never answers), the client goes.
    await rig.fake.waitForRequest((r) => r.rawBody.includes('hang-up marker'));
    ac.abort();
    await sent.catch(() => {});
    // The proxy hears the hang-up on its own time: ask until the request has its row.
    let found = await rig.detail('errors_hangup');
    while (found.status === 404) found = await rig.detail('errors_hangup');
    const { body } = found;
    assert.equal(body.row?.status, 499);
    assert.equal(body.row?.client_aborted, true);
    const c = body.capture!;
    assert.ok(c, 'kept');
    assert.ok(c.upstream_request, 'what went upstream');
    assert.equal(c.response, null, 'nothing reached the client');
  });

  test('a body that is not JSON, or not UTF-8, refused before its handler ran: kept as it came, shown as text', async () => {
    const send = (id: string, path: string, body: string | Blob) =>
      fetch(`${rig.proxy.url}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${PROXY_TOKEN}`,
          'x-request-id': id,
        },
        body,
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error: { message: string } } }));

    const notJson = '{"model": "gpt-4o", "messages": [';
    const a = await send('errors_not_json', '/api/v1/chat/completions', notJson);
    assert.equal(a.status, 400);
    const da = (await rig.detail('errors_not_json')).body;
    assert.equal(da.row?.status, 400);
    assert.equal(da.row?.format, 'openai');
    const ca = da.capture!;
    assert.deepEqual(ca.client_request.body, {
      text: notJson,
      encoding: 'utf8',
      size: notJson.length,
      truncated: false,
    });
    assert.equal(ca.client_request.headers.authorization, 'Bearer [REDACTED]');
    assert.equal(ca.upstream_request, null);
    assert.equal(ca.response!.status, 400);
    assert.equal((json(ca.response!.body!.text) as typeof a.body).error.message, a.body.error.message);
    assert.ok(renderDetail(da, { color: false }).includes(notJson), 'trace show prints it as it came');

    const latin1 = Buffer.from('{"model":"caf\xe9"}', 'latin1');
    const b = await send('errors_not_utf8', '/api/v1/messages', new Blob([latin1]));
    assert.equal(b.status, 400);
    const cb = (await rig.detail('errors_not_utf8')).body.capture!;
    assert.equal(cb.client_request.body!.encoding, 'base64');
    assert.deepEqual(Buffer.from(cb.client_request.body!.text, 'base64'), latin1);
    assert.equal(cb.response!.status, 400);
  });
});

test('a captured request is listed at once, however long the writer would wait', async () => {
  const rig = await startCaptureRig({ observability: { capture: 'all', flush_interval_ms: 3_600_000 } });
  try {
    rig.fake.enqueue(reply.text('Listed.'));
    assert.equal((await post(rig, 'listed_at_once', {})).status, 200);
    const res = await fetch(`${rig.proxy.url}/logs/query?captured=true`, {
      headers: { authorization: `Bearer ${PROXY_TOKEN}` },
    });
    const page = (await res.json()) as { rows: Array<{ id: string }> };
    assert.deepEqual(
      page.rows.map((r) => r.id),
      ['listed_at_once'],
    );
  } finally {
    await rig.close();
  }
});

describe('capture = off, and the cap', () => {
  test('off: rows, never a capture', async () => {
    const rig = await startCaptureRig({ observability: { capture: 'off', access_log: true } });
    try {
      rig.fake.enqueue(reply.overloaded());
      assert.equal((await post(rig, 'off_529', {})).status, 529);
      const { body } = await rig.detail('off_529');
      assert.equal(body.row?.status, 529);
      assert.equal(body.capture, null);
      assert.equal(body.capture_mode, 'off');
    } finally {
      await rig.close();
    }
  });

  test('bodies past capture_max_bytes are cut (on a character boundary) and marked', async () => {
    const rig = await startCaptureRig({ observability: { capture: 'all', capture_max_bytes: 300 } });
    try {
      const long = 'é'.repeat(400);
      rig.fake.enqueue(reply.text(`Answer: ${'ü'.repeat(500)}`, { deltas: 5 }));
      assert.equal(
        (await post(rig, 'cap_cut', { stream: true, messages: [{ role: 'user', content: long }] })).status,
        200,
      );
      const c = (await rig.detail('cap_cut')).body.capture!;
      assert.equal(c.truncated, true);
      const client = c.client_request.body!;
      assert.equal(client.truncated, true);
      assert.ok(client.size > 800);
      assert.equal(client.encoding, 'utf8', 'cut between characters, still text');
      assert.ok(Buffer.byteLength(client.text) <= 300);
      const answer = c.upstream_response!.body!;
      assert.equal(answer.truncated, true);
      assert.ok(Buffer.byteLength(answer.text) <= 300);
      assert.ok(answer.size > 1000);
      assert.equal(c.response!.body!.truncated, true);
    } finally {
      await rig.close();
    }
  });
});
