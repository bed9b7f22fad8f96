/**
 * Nothing secret reaches the capture store: the proxy's own token and the subscription's real OAuth
 * access and refresh tokens (opaque here, so only redaction by value can catch them), put in the
 * client's headers and body and echoed back in the answer, are gone from what the logs API serves,
 * from the stored documents and from the bytes of the DuckDB file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { reply } from '../support/fake-upstream.ts';
import { OAUTH_ACCESS, OAUTH_REFRESH, PROXY_TOKEN, startCaptureRig } from './helpers.ts';

const SHAPED = 'sk-ant-oat01-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
const SECRETS = [PROXY_TOKEN, OAUTH_ACCESS, OAUTH_REFRESH, SHAPED];
const leaks = (text: string) => SECRETS.filter((s) => text.includes(s));

test('the real tokens in headers and bodies never reach the store', async () => {
  const rig = await startCaptureRig();
  const file = path.join(rig.proxy.dir, 'access-log.duckdb');
  try {
    const prompt = `my proxy token is ${PROXY_TOKEN}, the OAuth pair ${OAUTH_ACCESS} / ${OAUTH_REFRESH}, a key ${SHAPED}`;
    for (const [i, stream] of [false, true].entries()) {
      // The answer repeats them too (in one delta: a secret cut across two deltas is not one string).
      rig.fake.enqueue(
        reply.text(`You said ${OAUTH_ACCESS} and ${PROXY_TOKEN} and ${OAUTH_REFRESH}.`, { deltas: 1 }),
      );
      const res = await fetch(`${rig.proxy.url}/api/v1/messages`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-api-key': PROXY_TOKEN,
          'x-request-id': `redact_${i}`,
          'x-session-token': OAUTH_ACCESS,
          'x-note': `forwarded for ${OAUTH_REFRESH}`,
          cookie: `session=${PROXY_TOKEN}`,
          // The access-log row keeps the user agent: a client that puts a key in it must not leak it.
          'user-agent': `my-app/1.0 key=${PROXY_TOKEN} oauth=${OAUTH_ACCESS} ${SHAPED}`,
        },
        body: JSON.stringify({
          model: 'claude-sonnet-5-5',
          max_tokens: 64,
          stream,
          system: `Never reveal ${OAUTH_REFRESH}.`,
          messages: [{ role: 'user', content: prompt }],
        }),
      });
      assert.equal(res.status, 200);
      assert.ok((await res.text()).includes(OAUTH_ACCESS), 'the client itself got the answer as it was');
    }
    // The same secrets went upstream in the body: the fake saw them (redaction is for the store only).
    assert.ok(JSON.stringify(rig.fake.messages().at(-1)!.body).includes(PROXY_TOKEN));
    // A request id that holds a credential is not taken (ids are stored and shown as they are).
    for (const id of [SHAPED, `id-${PROXY_TOKEN}`]) {
      const res = await fetch(`${rig.proxy.url}/api/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': PROXY_TOKEN, 'x-request-id': id },
        body: JSON.stringify({
          model: 'claude-sonnet-5-5',
          max_tokens: 8,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      assert.match(res.headers.get('x-request-id')!, /^req_[0-9a-f]{32}$/);
    }

    for (const id of ['redact_0', 'redact_1']) {
      const { status, body } = await rig.detail(id);
      assert.equal(status, 200);
      const served = JSON.stringify(body);
      assert.deepEqual(leaks(served), [], `${id}: the logs API serves no secret`);
      assert.match(
        body.row!.user_agent!,
        /^my-app\/1\.0 key=\[REDACTED\] oauth=\[REDACTED\] sk-ant-oat01-A\[REDACTED\]$/,
      );
      const c = body.capture!;
      assert.equal(c.client_request.headers['x-api-key'], '[REDACTED]');
      assert.equal(c.client_request.headers['x-session-token'], '[REDACTED]');
      assert.equal(c.client_request.headers.cookie, '[REDACTED]');
      assert.equal(c.client_request.headers['x-note'], 'forwarded for [REDACTED]');
      assert.equal(c.upstream_request!.headers.authorization, 'Bearer [REDACTED]');
      assert.match(
        c.client_request.body!.text,
        /my proxy token is \[REDACTED\], the OAuth pair \[REDACTED\] \/ \[REDACTED\], a key sk-ant-oat01-A\[REDACTED\]/,
      );
      assert.match(c.response!.body!.text, /You said \[REDACTED\] and \[REDACTED\] and \[REDACTED\]\./);
    }

    // Stopped (the file checkpointed), its folder still there.
    await rig.proxy.proxy.close();
    // The stored documents, read back from the file…
    const db = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
    const conn = await db.connect();
    const docs = (await conn.runAndReadAll('SELECT doc FROM captures'))
      .getRowObjectsJS()
      .map((r) => String(r.doc));
    conn.closeSync();
    db.closeSync();
    assert.equal(docs.length, 4);
    assert.deepEqual(leaks(docs.join('\n')), []);
    assert.ok(docs.join('').includes('[REDACTED]'));
    // …and the file's own bytes (with its write-ahead log, if one is left).
    for (const f of [file, `${file}.wal`]) {
      if (!fs.existsSync(f)) continue;
      const bytes = fs.readFileSync(f);
      for (const s of SECRETS)
        assert.equal(bytes.indexOf(s), -1, `${path.basename(f)} holds ${s.slice(0, 12)}…`);
      assert.equal(fs.statSync(f).mode & 0o077, 0, `${path.basename(f)} is private`);
    }
  } finally {
    await rig.close();
  }
});

test('with several accounts, every account’s token and key is kept out of the store', async () => {
  const WORK = 'opaque-work-token-Pm4Qn6Ro8Sp0';
  const SPARE = 'opaque-spare-token-Tq1Ur3Vs5Wt7';
  const KEY = 'opaque-payg-key-Xu2Yv4Zw6Ax8';
  const rig = await startCaptureRig(
    {
      accounts: {
        list: [
          { name: 'work', oauth_token: WORK },
          { name: 'spare', oauth_token: SPARE },
          { name: 'payg', api_key: KEY },
        ],
      },
    } as never,
    {},
    { accessTokens: [WORK, SPARE], apiKeys: [KEY] },
  );
  try {
    rig.fake.enqueue(reply.text(`Keys: ${WORK} ${SPARE} ${KEY}.`, { deltas: 1 }));
    const res = await fetch(`${rig.proxy.url}/api/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': PROXY_TOKEN, 'x-request-id': 'accts' },
      body: JSON.stringify({
        model: 'claude-sonnet-5-5',
        max_tokens: 64,
        messages: [{ role: 'user', content: `remember ${WORK}, ${SPARE} and ${KEY}` }],
      }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const { status, body } = await rig.detail('accts');
    assert.equal(status, 200);
    const served = JSON.stringify(body);
    for (const s of [WORK, SPARE, KEY])
      assert.ok(!served.includes(s), `the capture holds ${s.slice(0, 12)}…`);
    assert.equal(body.capture!.upstream_request!.headers.authorization, 'Bearer [REDACTED]');
  } finally {
    await rig.close();
  }
});
