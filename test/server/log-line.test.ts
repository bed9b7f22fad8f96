/** The pretty log line: local `[HH:MM:ss] LEVEL: message {fields}`, one line, secrets scrubbed. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { clockTime, createLogger } from '../../src/logging.ts';

describe('the pretty log line', () => {
  it('starts with the local time and keeps the fields on the line', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c) => {
      text += c;
    });
    const log = createLogger({
      level: 'info',
      format: 'pretty',
      destination: out,
      secrets: () => ['s3cret-value'],
    });
    log.info({ status: 200, note: 'with s3cret-value inside' }, 'POST /api/v1/messages');
    assert.match(text, /^\[\d\d:\d\d:\d\d\] INFO: POST \/api\/v1\/messages \{.*"status":200.*\}\n$/);
    assert.doesNotMatch(text, /s3cret-value/);
  });

  it('clockTime formats local HH:MM:ss and follows the clock from one second to the next', () => {
    const at = new Date(2026, 11, 6, 9, 5, 7, 250).getTime();
    assert.equal(clockTime(at), '09:05:07');
    assert.equal(clockTime(at + 500), '09:05:07');
    assert.equal(clockTime(at + 800), '09:05:08');
    assert.equal(clockTime(at - 60_000), '09:04:07');
  });
});
