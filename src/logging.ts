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
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname',
    singleLine: true,
    sync: true,
  }) as unknown as NodeJS.WritableStream;
}
