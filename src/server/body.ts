/**
 * Request bodies: JSON only, refused as early as possible. The media type and the declared length are
 * checked before a byte of the body is read; the bytes are counted and their shape scanned as they
 * arrive (json-shape.ts), so an oversized or hostile body is refused mid-upload and never parsed.
 * What the refused client was still sending is the connection's business (connections.ts).
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { FastifyContentTypeParser, FastifyInstance } from 'fastify';
import { rememberBytes } from '../body-bytes.ts';
import { ChunkedBytes } from '../chunked-bytes.ts';
import { ProxyError } from '../errors.ts';
import { LARGE_TEXT, PIECES_FROM, parseInPieces, UNREAD_FROM } from './json-pieces.ts';
import { JsonShapeScanner, MAX_JSON_DEPTH, MAX_JSON_ELEMENTS } from './json-shape.ts';

/**
 * Whether a Content-Type announces JSON: `application/json` or any `application/…+json`, whatever its
 * parameters. No Content-Type at all is read as JSON too (a raw client that sends none means JSON here,
 * and browsers always send one). Form encoding (curl -d without -H) and text/plain are refused: they
 * are not what the client meant, and text/plain is how a web page posts without a CORS preflight.
 */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[\w.!#$&^-]+\+json$/.test(type);
}

export function unsupportedMediaType(contentType: string): ProxyError {
  const shown = contentType.split(';', 1)[0]!.trim().slice(0, 100);
  return new ProxyError(
    'invalid_request',
    `Unsupported Content-Type "${shown}": ccproxy takes JSON, sent with Content-Type: application/json (with curl: -H 'content-type: application/json').`,
    { status: 415 },
  );
}

/** A compressed body: its bytes are not JSON, and ccproxy does not inflate them (neither SDK compresses its requests). */
function unsupportedEncoding(encoding: string): ProxyError {
  const shown = encoding.trim().slice(0, 100);
  return new ProxyError(
    'invalid_request',
    `Unsupported Content-Encoding "${shown}": ccproxy takes the JSON body uncompressed; send it without Content-Encoding.`,
    { status: 415, headers: { 'accept-encoding': 'identity' } },
  );
}

function tooLarge(maxBytes: number, size?: number): ProxyError {
  const what = size === undefined ? 'The request body' : `The request body (${size} bytes)`;
  return new ProxyError(
    'too_large',
    `${what} is larger than this proxy accepts: ${maxBytes} bytes (server.max_body_bytes).`,
  );
}

/** Read, check and parse one JSON body. Rejects with a ProxyError; leaves the stream paused if so. */
export function readJsonBody(
  stream: Readable,
  headers: IncomingHttpHeaders,
  maxBytes: number,
  /** Given the body's bytes as they came (request capture keeps them). */
  keep?: (bytes: Buffer) => void,
  /** The headers are acceptable: the body is wanted (`Expect: 100-continue` is answered now). */
  accepted?: () => void,
): Promise<unknown> {
  const contentType = headers['content-type'];
  if (!isJsonContentType(contentType)) return Promise.reject(unsupportedMediaType(contentType!));
  const encoding = headers['content-encoding'];
  if (encoding && encoding.trim().toLowerCase() !== 'identity')
    return Promise.reject(unsupportedEncoding(encoding));
  const declared = Number(headers['content-length']);
  if (declared > maxBytes) return Promise.reject(tooLarge(maxBytes, declared));
  accepted?.();

  return new Promise((resolve, reject) => {
    const scanner = new JsonShapeScanner();
    const chunks: Buffer[] = [];
    let received = 0;
    const stop = (err: ProxyError) => {
      detach();
      stream.pause();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) return stop(tooLarge(maxBytes));
      const excess = scanner.feed(chunk);
      if (excess === 'depth')
        return stop(
          ProxyError.invalid(
            `The request body nests deeper than ${MAX_JSON_DEPTH} levels; ccproxy refuses it.`,
          ),
        );
      if (excess === 'elements')
        return stop(
          ProxyError.invalid(
            `The request body has more than ${MAX_JSON_ELEMENTS} JSON objects, arrays and members; ccproxy refuses it.`,
          ),
        );
      chunks.push(chunk);
    };
    const onEnd = () => {
      detach();
      try {
        // Not joined: a large body's copy cost more than the copying (chunked-bytes.ts).
        const bytes = new ChunkedBytes(chunks);
        keep?.(bytes.whole());
        // A large body in pieces, its largest members unread until something reads them: one text
        // that large costs more to make than to parse, and most of it is only passed on (json-pieces.ts).
        const value =
          (bytes.length >= PIECES_FROM &&
            parseInPieces(bytes, scanner.topLevel, scanner.nested, LARGE_TEXT, UNREAD_FROM)) ||
          parse(bytes.text(0, bytes.length));
        rememberBytes(value, bytes, scanner.topLevel);
        resolve(value);
      } catch (err) {
        reject(err);
      }
    };
    // The client went away mid-body (or the body deadline ended the connection): nobody will read
    // the answer, but the request must still end as a client error rather than hang.
    const onGone = () => stop(ProxyError.invalid('The request body ended before it was complete.'));
    const detach = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onGone);
      stream.off('close', onGone);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onGone);
    stream.on('close', onGone);
    stream.resume();
  });
}

function parse(text: string): unknown {
  if (text.trim() === '') throw ProxyError.invalid('The request body is empty; send a JSON object.');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw ProxyError.invalid(`The request body is not valid JSON: ${(err as Error).message}.`);
  }
}

/** The bytes of a request's body, as the client sent them: kept only when request capture is on. */
const rawBodies = new WeakMap<IncomingMessage, Buffer>();

export function rawBodyOf(req: IncomingMessage): Buffer | undefined {
  return rawBodies.get(req);
}

/**
 * How a request's body is read: `readJsonBody` within `maxBytes`, its bytes remembered for `rawBodyOf`
 * when `keepRaw` (observability.capture).
 */
export function bodyReader(maxBytes: number, keepRaw = false): (req: IncomingMessage) => Promise<unknown> {
  return (req) =>
    readJsonBody(
      req,
      req.headers,
      maxBytes,
      keepRaw ? (bytes) => rawBodies.set(req, bytes) : undefined,
      req.headers.expect === undefined ? undefined : continueOf(req),
    );
}

function continueOf(req: IncomingMessage): (() => void) | undefined {
  const res = awaitingContinue.get(req);
  return res && (() => res.writeContinue());
}

/** Requests that sent `Expect: 100-continue`, and the answer to send `100 Continue` on. */
const awaitingContinue = new WeakMap<IncomingMessage, ServerResponse>();

/**
 * `Expect: 100-continue`: the client waits to be told to send its body. Told once the guard and the
 * body's headers are accepted (bodyReader), so a refused upload (413, 415, 401) is never sent; node
 * would say 100 at once. The server calls this for its `checkContinue` event (server/app.ts).
 */
export function continueWhenWanted(req: IncomingMessage, res: ServerResponse): void {
  awaitingContinue.set(req, res);
}

/** Every body Fastify reads goes through `read`, whatever its Content-Type says. */
export function registerJsonBody(
  app: FastifyInstance,
  read: (req: IncomingMessage) => Promise<unknown>,
): void {
  app.removeAllContentTypeParsers();
  const parse: FastifyContentTypeParser = (req, _payload, done) => {
    // No route: the answer is 404 whatever the body, which need not be read (connections.ts).
    if (req.is404) return done(null, undefined);
    read(req.raw).then(
      (value) => done(null, value),
      (err: Error) => done(err, undefined),
    );
  };
  // Named for JSON as well: Fastify caches the parser it finds for a Content-Type, but not the
  // catch-all, which it reaches only after parsing the header anew on every request.
  app.addContentTypeParser('application/json', parse);
  app.addContentTypeParser('*', parse);
}
