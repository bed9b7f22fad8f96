/**
 * The process logger (pino). Whatever a log line carries, tokens never leave the process: Claude
 * OAuth tokens are recognised by shape, and the proxy's own token and any other secret handed to
 * `createLogger` are replaced before the line is written; so is a password written into a URL.
 */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
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
  const dest = opts.destination ?? process.stderr;
  const stream = opts.format === 'pretty' ? prettyStream(dest) : dest;
  return pino(
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
    stream as pino.DestinationStream,
  );
}

/** Readable one-line logs (pino-pretty, in-process so lines keep their order with other output). */
function prettyStream(dest: NodeJS.WritableStream): NodeJS.WritableStream {
  return pretty({
    destination: dest,
    colorize: (dest as { isTTY?: boolean }).isTTY === true && !process.env.NO_COLOR,
    // Local HH:MM:ss, worked out once a second: pino-pretty's own translateTime formats every
    // line through dateformat (~1% of a small request's CPU).
    translateTime: false,
    customPrettifiers: { time: (t) => `[${clockTime(Number(t))}]` },
    ignore: 'pid,hostname',
    singleLine: true,
    sync: true,
  }) as unknown as NodeJS.WritableStream;
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
