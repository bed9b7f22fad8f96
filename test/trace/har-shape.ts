/**
 * HAR 1.2's required fields and types (http://www.softwareishard.com/blog/har-12-spec/), checked by
 * hand: the npm validators are unmaintained. Chromium's HAR reader (playwright's routeFromHAR) opens
 * the same files in the dashboard test.
 */
import assert from 'node:assert/strict';

type O = Record<string, unknown>;

function fields(o: unknown, where: string, spec: Record<string, string>) {
  assert.ok(o && typeof o === 'object' && !Array.isArray(o), `${where} is an object`);
  for (const [k, type] of Object.entries(spec)) {
    const v = (o as O)[k];
    const ok =
      type === 'array'
        ? Array.isArray(v)
        : type === 'date'
          ? typeof v === 'string' && !Number.isNaN(Date.parse(v))
          : typeof v === type;
    assert.ok(ok, `${where}.${k} is ${type} (got ${JSON.stringify(v)?.slice(0, 80)})`);
  }
}

function nameValues(list: unknown, where: string) {
  assert.ok(Array.isArray(list), `${where} is a list`);
  for (const [i, h] of (list as unknown[]).entries())
    fields(h, `${where}[${i}]`, { name: 'string', value: 'string' });
}

export function assertHar(har: unknown): void {
  fields(har, 'har', { log: 'object' });
  const log = (har as { log: O }).log;
  fields(log, 'log', { version: 'string', creator: 'object', entries: 'array' });
  assert.equal(log.version, '1.2');
  fields(log.creator, 'log.creator', { name: 'string', version: 'string' });
  for (const [i, e] of (log.entries as O[]).entries()) {
    const at = `entries[${i}]`;
    fields(e, at, {
      startedDateTime: 'date',
      time: 'number',
      request: 'object',
      response: 'object',
      cache: 'object',
      timings: 'object',
    });
    const req = e.request as O;
    fields(req, `${at}.request`, {
      method: 'string',
      url: 'string',
      httpVersion: 'string',
      cookies: 'array',
      headers: 'array',
      queryString: 'array',
      headersSize: 'number',
      bodySize: 'number',
    });
    assert.ok(URL.canParse(req.url as string), `${at}.request.url is absolute`);
    nameValues(req.headers, `${at}.request.headers`);
    nameValues(req.queryString, `${at}.request.queryString`);
    if (req.postData !== undefined)
      fields(req.postData, `${at}.request.postData`, { mimeType: 'string', text: 'string' });
    const res = e.response as O;
    fields(res, `${at}.response`, {
      status: 'number',
      statusText: 'string',
      httpVersion: 'string',
      cookies: 'array',
      headers: 'array',
      content: 'object',
      redirectURL: 'string',
      headersSize: 'number',
      bodySize: 'number',
    });
    nameValues(res.headers, `${at}.response.headers`);
    fields(res.content, `${at}.response.content`, { size: 'number', mimeType: 'string' });
    const t = e.timings as O;
    fields(t, `${at}.timings`, { send: 'number', wait: 'number', receive: 'number' });
    for (const k of ['send', 'wait', 'receive']) assert.ok((t[k] as number) >= 0, `${at}.timings.${k} ≥ 0`);
    const sum = (t.send as number) + (t.wait as number) + (t.receive as number);
    assert.ok(Math.abs(sum - (e.time as number)) < 0.01, `${at}.time is the sum of its timings`);
  }
}
