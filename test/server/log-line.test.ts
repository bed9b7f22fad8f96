/** The pretty log line: local `[HH:MM:ss] LEVEL: message {fields}`, one line, secrets scrubbed. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { clockTime, createLogger, prettyLine } from '../../src/logging.ts';
import { scrubSecrets } from '../../src/redact.ts';

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

  it('an error keeps its message on the line and its stack on the lines after', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c) => {
      text += c;
    });
    const log = createLogger({ level: 'info', format: 'pretty', destination: out });
    log.error({ err: new Error('boom') }, 'unexpected error');
    const [first, second, third] = text.split('\n');
    assert.match(
      first,
      /^\[\d\d:\d\d:\d\d\] ERROR: unexpected error \{"err":\{"type":"Error","message":"boom"\}\}$/,
    );
    assert.equal(second, '    err: Error: boom');
    assert.match(third, /^ {6}at /);
  });

  it('a message never breaks the line, colours only for a terminal, anything not JSON passes through', () => {
    const at = new Date(2026, 11, 6, 9, 5, 7).getTime();
    const line = (o: object) => JSON.stringify({ level: 40, time: at, ...o });
    assert.equal(prettyLine(line({ msg: 'a\nb' })), '[09:05:07] WARN: a\\nb\n');
    assert.equal(
      prettyLine(line({ msg: 'hi', n: 1 }), true),
      '[09:05:07] \x1b[33mWARN\x1b[0m: \x1b[36mhi\x1b[0m \x1b[90m{"n":1}\x1b[0m\n',
    );
    assert.equal(prettyLine('not json'), 'not json\n');
    const stack = prettyLine(
      line({ msg: 'x', err: { message: 'm', stack: 'Error: \x1b[2Jgone\n    at f' } }),
    );
    assert.equal(stack.split('\n')[1], '    err: Error: \\u001b[2Jgone');
    assert.equal(stack.split('\n')[2], '      at f');
  });

  it('clockTime formats local HH:MM:ss and follows the clock from one second to the next', () => {
    const at = new Date(2026, 11, 6, 9, 5, 7, 250).getTime();
    assert.equal(clockTime(at), '09:05:07');
    assert.equal(clockTime(at + 500), '09:05:07');
    assert.equal(clockTime(at + 800), '09:05:08');
    assert.equal(clockTime(at - 60_000), '09:04:07');
  });

  it('lines to stderr are gathered per turn and all written, in order, even on process.exit', () => {
    // One turn's lines leave in one write; what is pending when the process exits is written then.
    const script = `
      import { createLogger } from './src/logging.ts';
      for (const format of ['json', 'pretty']) {
        const log = createLogger({ level: 'info', format });
        for (let i = 0; i < 3; i++) log.info({ i }, format + ' line ' + i);
      }
      setImmediate(() => {
        createLogger({ level: 'info', format: 'json' }).info('after a turn');
        process.exit(3);
      });`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    assert.equal(r.status, 3, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.deepEqual(
      lines.map((l) => /(json|pretty) line \d|after a turn/.exec(l)?.[0]),
      [
        'json line 0',
        'json line 1',
        'json line 2',
        'pretty line 0',
        'pretty line 1',
        'pretty line 2',
        'after a turn',
      ],
    );
  });

  it('scrubSecrets: tokens by shape, URL passwords and given secrets; other lines unchanged', () => {
    const line = 'a sk-ant-oat01-abcdefghijklmnop b https://u:pw@proxy:3128 c my-secret-value d';
    assert.equal(
      scrubSecrets(line, ['my-secret-value']),
      'a sk-ant-oat01-a[REDACTED] b https://u:****@proxy:3128 c [REDACTED] d',
    );
    const plain = '{"level":30,"reqId":"req_1","status":200,"msg":"POST /api/v1/messages"}';
    assert.equal(scrubSecrets(plain, ['my-secret-value']), plain);
  });
});
