/** The pretty log line: local `[HH:MM:ss] LEVEL: message {fields}`, one line, secrets scrubbed. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import pino from 'pino';
import { clockTime, createLogger, gathered, infoLine, prettyLine } from '../../src/logging.ts';
import { scrubSecrets } from '../../src/redact.ts';
import { runModule } from '../support/run-module.ts';

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
    const r = runModule(script, { ...process.env, NO_COLOR: '1' });
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

  it("infoLine writes pino's own line, pretty or JSON, scrubbed, only at info or below", () => {
    const fields = {
      reqId: 'req_1',
      status: 200,
      ms: 3,
      model: 'claude\nx',
      in: undefined,
      note: 's3cret-value',
    };
    for (const format of ['pretty', 'json'] as const) {
      for (const level of ['info', 'debug', 'warn']) {
        const lines: string[] = [];
        const out = new PassThrough();
        out.on('data', (c) => lines.push(String(c)));
        const log = createLogger({ level, format, destination: out, secrets: () => ['s3cret-value'] });
        log.info(fields, 'POST /api/v1/messages "quoted"');
        infoLine(log)(fields, 'POST /api/v1/messages "quoted"');
        infoLine(log)({}, 'no fields');
        log.info({}, 'no fields');
        if (level === 'warn') {
          assert.deepEqual(lines, []);
          continue;
        }
        // The time may differ by a millisecond (JSON) or a second (pretty): compare without it.
        const timeless = lines.map((l) => l.replace(/"time":\d+/, '"time":0').replace(/^\[[\d:]+\]/, '[t]'));
        assert.equal(timeless.length, 4);
        assert.equal(timeless[1], timeless[0], format);
        assert.equal(timeless[2], timeless[3], format);
        assert.doesNotMatch(lines.join(''), /s3cret-value/);
      }
    }
    // A logger of someone else's making gets log.info.
    const lines: string[] = [];
    const other = pino({ base: undefined }, { write: (l: string) => lines.push(l) });
    infoLine(other)({ status: 200 }, 'hello');
    assert.match(lines[0]!, /"status":200,"msg":"hello"/);
  });

  it('gathered lines: one write per turn after a quiet spell, one per window while they keep coming', async () => {
    const writes: string[] = [];
    const sink = gathered({ write: (s: string) => writes.push(s) > 0 }, 1000);
    const turn = () => new Promise((r) => setImmediate(r));
    sink.write('0');
    sink.write('1');
    await turn();
    assert.deepEqual(writes, ['01'], 'the first lines leave at the end of their turn');
    sink.write('2');
    await turn();
    sink.write('3');
    await turn();
    assert.deepEqual(writes, ['01'], 'lines right after a write wait for more');
    await delay(1100);
    assert.deepEqual(writes, ['01', '23'], 'and leave together within the window');
    await delay(1100);
    sink.write('4');
    await turn();
    assert.deepEqual(writes, ['01', '23', '4'], 'after a quiet spell, at the end of the turn again');
    sink.write('x'.repeat(70_000));
    assert.equal(writes.length, 4, 'past 64 KB at once');
  });

  it('flushLogs writes the waiting lines before a message written straight to stderr', () => {
    const script = `
      import { createLogger, flushLogs } from './src/logging.ts';
      const log = createLogger({ level: 'info', format: 'json' });
      log.warn('first');
      flushLogs();
      process.stderr.write('second\\n');
      log.warn('third');
      process.stderr.write('fourth, before the waiting line\\n');
      process.exit(1);`;
    const r = runModule(script);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(
      r.stderr
        .trimEnd()
        .split('\n')
        .map((l) => /first|second|third|fourth/.exec(l)?.[0]),
      ['first', 'second', 'fourth', 'third'],
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
