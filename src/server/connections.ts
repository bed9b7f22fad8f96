/**
 * No connection outlives its welcome. A client that sends its request slowly is cut at the body
 * deadline; a request refused before its body was read ends its connection (after the refusal has
 * reached the client); the number of connections is capped, in total and per client address.
 * Answers are never limited here: the deadline covers receiving the request only, and long streams
 * and agent runs are bounded by the proxy's own upstream and agent timeouts instead.
 */
import {
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { ProxyError } from '../errors.ts';
import type { RenderedError } from '../formats/frontend.ts';
import { isLoopback } from '../loopback.ts';

export interface ConnectionLimits {
  /** Open connections at most; more are dropped on arrival. */
  maxConnections: number;
  /** Open connections per client address at most (0 = no cap); loopback clients are not counted. */
  maxPerClient: number;
}

/**
 * What a refused client may still send before its connection is cut: enough for an SDK that writes a
 * whole oversized upload before it reads the answer to finish writing and read its 413.
 */
export const DISCARD_MAX_BYTES = 64 * 1024 * 1024;
/** How long a refused upload may go on when there is no body deadline. */
const DISCARD_MAX_MS = 30_000;

/**
 * Node's own request timeouts: `requestTimeout` covers receiving the request (it stops once the body
 * has arrived, so it never cuts an answer), `headersTimeout` the headers within it. Node checks them
 * every `connectionsCheckingInterval` (30 s by default): check often enough for the limit to mean it.
 */
export function timeoutOptions(bodyTimeoutMs: number): ServerOptions & { requestTimeout: number } {
  if (bodyTimeoutMs <= 0) return { requestTimeout: 0 };
  return {
    requestTimeout: bodyTimeoutMs,
    headersTimeout: bodyTimeoutMs,
    connectionsCheckingInterval: Math.min(5000, Math.max(50, Math.floor(bodyTimeoutMs / 4))),
  };
}

/** Cap connections on `server`: in total (Node drops the ones over) and per non-loopback client. */
export function capConnections(server: Server, limits: ConnectionLimits, log: Logger): void {
  server.maxConnections = limits.maxConnections;
  // One warning a minute at most: a flood must not become a flood of log lines.
  let warnedAt = Number.NEGATIVE_INFINITY;
  const warn = (msg: string) => {
    const now = Date.now();
    if (now - warnedAt < 60_000) return;
    warnedAt = now;
    log.warn(msg);
  };
  server.on('drop', () =>
    warn(`Connection refused: ${limits.maxConnections} connections are open (server.max_connections).`),
  );
  if (limits.maxPerClient <= 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (!address || isLoopback(address)) return;
    const n = (open.get(address) ?? 0) + 1;
    if (n > limits.maxPerClient) {
      warn(
        `Connection from ${address} refused: it has ${limits.maxPerClient} open (server.max_connections_per_client).`,
      );
      socket.destroy();
      return;
    }
    open.set(address, n);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}

export interface Connections {
  /** Remember which answer a connection is giving, so a timeout can tell what the client was asking for. */
  track(req: IncomingMessage, res: ServerResponse): void;
  /**
   * Call before answering a request early (a refusal, most often): when its body has not all arrived,
   * the answer says `Connection: close` and the connection ends after it, instead of Node draining
   * the body to reuse the connection.
   *
   * Ending it at once would be no better: with the client's body still arriving, closing sends a
   * reset that can destroy the answer before the client reads it, so the client sees EPIPE or
   * ECONNRESET and retries the upload. So the rest of the body is read and thrown away — until it has
   * all arrived, or DISCARD_MAX_BYTES, or the body deadline — and the connection closed after that.
   */
  closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void;
  /** Node's `clientError` handler (a malformed request, or one not received within the deadline). */
  onClientError(err: NodeJS.ErrnoException, socket: Socket): void;
  /** On shutdown: connections kept only to take in the rest of a refused body go at once. */
  dropRefused(): void;
  /** An `Expect` other than 100-continue: 417 in the route's format (node's own is bare). */
  refuseExpectation(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * The target of a request whose head node could not parse (headers too large, a doubled length):
 * node hands its bytes over as `rawPacket`, so the answer can still be in the route's format.
 */
function requestTarget(err: NodeJS.ErrnoException & { rawPacket?: unknown }): string | undefined {
  if (!Buffer.isBuffer(err.rawPacket)) return undefined;
  const line = err.rawPacket.subarray(0, 2048).toString('latin1');
  return /^[A-Z]+ (\/\S*) HTTP\/1\.[01]\r?\n/.exec(line)?.[1];
}

export function createConnections(
  bodyTimeoutMs: number,
  render: (err: ProxyError, url: string | undefined) => RenderedError,
): Connections {
  const answering = new WeakMap<Socket, ServerResponse>();
  const refused = new Set<Socket>();

  return {
    track(req, res) {
      answering.set(req.socket, res);
    },

    closeAfterAnswer(req, res) {
      if (req.complete || res.headersSent) return;
      res.setHeader('connection', 'close');
      const socket = req.socket;
      refused.add(socket);
      socket.once('close', () => refused.delete(socket));
      let discarded = 0;
      req.on('data', (chunk: Buffer) => {
        discarded += chunk.length;
        if (discarded > DISCARD_MAX_BYTES) socket.destroy();
      });
      req.resume();
      // Node ends a `Connection: close` answer with `destroySoon()`: end our side, and destroy as soon
      // as that is written. Wait for the body first — even our FIN would be too early, as a client
      // socket ends its own side on one and its next write fails.
      const destroySoon = socket.destroySoon.bind(socket);
      socket.destroySoon = () => {
        if (req.complete) return destroySoon();
        const timer = setTimeout(() => socket.destroy(), bodyTimeoutMs || DISCARD_MAX_MS).unref();
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          destroySoon();
        };
        req.once('end', finish);
        req.once('close', finish);
      };
    },

    // Answered in the client's own format when the request line was read (a 408 timeout, which SDKs
    // retry; a head node could not parse), in Anthropic's otherwise; then the connection is closed.
    onClientError(err, socket) {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const res = answering.get(socket);
      const inProgress = res !== undefined && !res.writableFinished;
      // Unless something was already written for this request (a refusal, an answer under way).
      if (socket.writable && !refused.has(socket) && !(inProgress && res.headersSent)) {
        const pe =
          err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? new ProxyError(
                'timeout',
                `The request was not received within ${bodyTimeoutMs / 1000}s (server.body_timeout_s); send it faster or raise the limit.`,
                { status: 408 },
              )
            : err.code === 'HPE_HEADER_OVERFLOW'
              ? new ProxyError('too_large', 'The request headers are too large.', { status: 431 })
              : ProxyError.invalid('Malformed HTTP request.');
        const rendered = render(pe, inProgress ? res.req.url : requestTarget(err));
        const text = JSON.stringify(rendered.body);
        socket.write(
          `HTTP/1.1 ${rendered.status} ${STATUS_CODES[rendered.status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
        );
      }
      socket.destroy();
    },

    dropRefused() {
      for (const socket of refused) socket.destroy();
    },

    refuseExpectation(req, res) {
      const pe = new ProxyError(
        'invalid_request',
        `Expect: ${String(req.headers.expect).slice(0, 64)} is not supported; send the request without it (or with Expect: 100-continue).`,
        { status: 417 },
      );
      const rendered = render(pe, req.url);
      const text = JSON.stringify(rendered.body);
      res.writeHead(rendered.status, {
        ...rendered.headers,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        connection: 'close',
      });
      res.end(text);
    },
  };
}
