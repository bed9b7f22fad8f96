/**
 * The process logger (pino). Whatever a log line carries, tokens never leave the process: Claude
 * OAuth tokens are recognised by shape, and the proxy's own token and any other secret handed to
 * `createLogger` are replaced before the line is written; so is a password written into a URL.
 */
import pino, { type Logger } from 'pino';
import { scrubSecrets } from './redact.ts';

export interface LoggerOptions {
  level: string;
  format: 'pretty' | 'json';
  /** Exact strings to redact wherever they appear (the proxy's auth token…). */
  secrets?: () => readonly string[];
  /** Where lines go; stderr by default, so stdout stays for command output. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const secrets = opts.secrets ?? (() => []);
  const out = opts.destination ?? process.stderr;
  const color = (out as { isTTY?: boolean }).isTTY === true && !process.env.NO_COLOR;
  const sink = opts.destination ?? stderr();
  const stream = opts.format === 'pretty' ? prettyStream(sink, color) : sink;
  const logger = pino(
    {
      level: opts.level,
      base: undefined,
      redact: {
        paths: [
          'authorization',
          'headers.authorization',
          'headers["x-api-key"]',
          'accessToken',
          'refreshToken',
          'token',
          'auth_token',
        ],
        censor: '[REDACTED]',
      },
      hooks: {
        streamWrite: (line) => scrubSecrets(line, secrets()),
      },
    },
    stream,
  );
  const pretty = opts.format === 'pretty';
  const [infoLabel, infoAnsi] = LEVELS[30]!;
  infoLines.set(logger, (fields, msg) => {
    if (!logger.isLevelEnabled('info')) return;
    const time = Date.now();
    const json = JSON.stringify(fields);
    const line = pretty
      ? `[${clockTime(time)}] ${paint(color, infoAnsi, infoLabel)}: ${paint(color, '36', msg.replace(CONTROL, escapeControl))}${json === '{}' ? '' : ` ${paint(color, '90', json)}`}\n`
      : `{"level":30,"time":${time}${json === '{}' ? '' : `,${json.slice(1, -1)}`},"msg":${JSON.stringify(msg)}}\n`;
    sink.write(scrubSecrets(line, secrets()));
  });
  return logger;
}

/**
 * Fields of primitive values (the ones undefined are left out), and a message. pino's `redact` paths
 * are not applied (the scrub is): no field may hold a credential by name.
 */
export type InfoLine = (fields: Record<string, string | number | boolean | undefined>, msg: string) => void;

const infoLines = new WeakMap<Logger, InfoLine>();

/**
 * `log.info(fields, msg)` for a line written once a request, made straight from its fields: the
 * same text as pino's line (pretty or JSON), scrubbed the same way, without pino's serialising and,
 * for the pretty format, the JSON parsed back (a tenth of a small request's CPU, docs/performance.md).
 * A logger not made by createLogger gets plain `log.info`.
 */
export function infoLine(log: Logger): InfoLine {
  return infoLines.get(log) ?? ((fields, msg) => log.info(fields, msg));
}

/** Every logger's lines to stderr share one sink, so they keep their order. */
let stderrSink: (pino.DestinationStream & { flushSync(): void }) | undefined;
function stderr(): pino.DestinationStream {
  if (!stderrSink) stderrSink = gathered(process.stderr);
  return stderrSink;
}

/**
 * Write what log lines wait now: before text written straight to stderr (a failure's message), which
 * would otherwise come first.
 */
export function flushLogs(): void {
  stderrSink?.flushSync();
}

/** Under load, how long a line may wait for others to share its write; and how much may wait. */
const GATHER_MS = 50;
const GATHER_BYTES = 64 * 1024;

/**
 * Lines to a file descriptor, gathered and written together: a write costs a system call and a trip
 * through node's stream (~40 µs to a file, most of a line's cost) whatever its length. A line after
 * a quiet spell leaves at the end of its turn of the event loop, with the others of that turn; while
 * lines keep coming (a write less than windowMs ago) they wait up to windowMs, so that under load
 * one write carries hundreds. Still written on the event loop (a thread-pool write per line measured
 * worse: docs/performance.md); what is pending is written at exit, and at once past GATHER_BYTES.
 */
export function gathered(
  dest: Pick<NodeJS.WritableStream, 'write'>,
  windowMs = GATHER_MS,
): pino.DestinationStream & { flushSync(): void } {
  let pending = '';
  let scheduled = false;
  let lastWrite = Number.NEGATIVE_INFINITY;
  const flushSync = () => {
    scheduled = false;
    if (!pending) return;
    const out = pending;
    pending = '';
    lastWrite = performance.now();
    dest.write(out);
  };
  process.once('exit', flushSync);
  return {
    write(line: string) {
      pending += line;
      if (pending.length > GATHER_BYTES) flushSync();
      else if (!scheduled) {
        scheduled = true;
        // Unref'd: waiting lines never keep the process alive; exit writes them.
        if (performance.now() - lastWrite < windowMs) setTimeout(flushSync, windowMs).unref();
        else setImmediate(flushSync);
      }
    },
    flushSync,
  };
}

/**
 * Readable logs: `[HH:MM:ss] LEVEL: message {fields}`, one line per entry; an error's stack, when
 * one was logged, follows on indented lines. In-process, so lines keep their order with other
 * output. Written here rather than by pino-pretty, whose generic path (a safe JSON parse, every key
 * through a prettifier, a stream library) cost 15 µs a line against 9 (docs/performance.md).
 */
function prettyStream(dest: pino.DestinationStream, color: boolean): pino.DestinationStream {
  return { write: (line: string) => dest.write(prettyLine(line, color)) };
}

const LEVELS: Record<number, [label: string, ansi: string]> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '34'],
  30: ['INFO', '32'],
  40: ['WARN', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '41'],
};
const paint = (on: boolean, code: string, text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text);
const CONTROL = /[\u0000-\u001f\u007f]/g;
/** The same less the newline: a stack keeps its lines. */
const CONTROL_BUT_LF = /[\u0000-\u0009\u000b-\u001f\u007f]/g;

/** One pino JSON line as the pretty text (ending in a newline). */
export function prettyLine(json: string, color = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json);
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const { level, time, msg, pid: _pid, hostname: _host, ...fields } = entry;
  const [label, ansi] = LEVELS[level as number] ?? [String(level).toUpperCase(), '0'];
  let line = `[${clockTime(typeof time === 'number' ? time : Date.now())}] ${paint(color, ansi, label)}:`;
  if (typeof msg === 'string' && msg) line += ` ${paint(color, '36', msg.replace(CONTROL, escapeControl))}`;
  // An error object's stack reads better on lines of its own than as one escaped JSON string.
  let stack = '';
  for (const key of ['err', 'error']) {
    const e = fields[key] as { stack?: unknown } | undefined;
    if (e && typeof e === 'object' && typeof e.stack === 'string') {
      const { stack: s, ...rest } = e;
      // Escaped like the message: an error's text may come from elsewhere (an upstream) and hold
      // terminal escape codes.
      stack += `\n    ${key}: ${(s as string).replace(CONTROL_BUT_LF, escapeControl).replace(/\n/g, '\n  ')}`;
      fields[key] = rest;
    }
  }
  if (Object.keys(fields).length > 0) line += ` ${paint(color, '90', JSON.stringify(fields))}`;
  return `${line}${stack}\n`;
}

function escapeControl(c: string): string {
  return JSON.stringify(c).slice(1, -1);
}

let clock = { second: -1, text: '' };

/** `HH:MM:ss` in local time for an epoch in ms; the same second's text is reused. */
export function clockTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== clock.second) {
    const d = new Date(second * 1000);
    const two = (n: number) => String(n).padStart(2, '0');
    clock = { second, text: `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}` };
  }
  return clock.text;
}
