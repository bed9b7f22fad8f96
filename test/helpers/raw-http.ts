/**
 * An HTTP/1.1 client on a bare socket, for what real clients cannot be made to do on purpose: write a
 * body in measured pieces (and stop halfway), trickle it a byte at a time, or keep writing after the
 * answer came. It reads the answer while it writes, as SDKs do, and reports how the connection ended.
 */
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  json: any;
}

export interface RawClient {
  socket: net.Socket;
  /** The first whole answer (status line, headers, a Content-Length body); rejects if the connection ends first. */
  response: Promise<RawResponse>;
  /** When the connection is gone, and the socket error that ended it, if any (EPIPE, ECONNRESET…). */
  closed: Promise<{ error?: string }>;
  /** Whether the server ended its side (FIN) or the connection is gone. */
  readonly ended: boolean;
  /** Everything received so far, as text. */
  readonly received: string;
  /** Write honouring backpressure; false once the connection is gone. */
  write(data: Buffer | string): Promise<boolean>;
  /** Write `bytes` in `chunk`-sized writes (with chunked framing when asked); false if cut off. */
  writeBody(bytes: Buffer, chunk: number, opts?: { chunked?: boolean }): Promise<boolean>;
}

export function rawClient(port: number, head: string, host = '127.0.0.1'): RawClient {
  const socket = net.connect(port, host);
  let error: string | undefined;
  let ended = false;
  let buf = Buffer.alloc(0);
  let settle!: { resolve: (r: RawResponse) => void; reject: (e: Error) => void };
  const response = new Promise<RawResponse>((resolve, reject) => {
    settle = { resolve, reject };
  });
  response.catch(() => {});
  let answered = false;

  const tryParse = () => {
    if (answered) return;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (buf.length < end + 4 + length) return;
    const body = buf.subarray(end + 4, end + 4 + length).toString('utf8');
    let json: any;
    try {
      json = JSON.parse(body);
    } catch {}
    answered = true;
    settle.resolve({ status, headers, body, json });
  };

  socket.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    tryParse();
  });
  socket.on('end', () => {
    ended = true;
  });
  socket.on('error', (e: NodeJS.ErrnoException) => {
    error ??= e.code ?? e.message;
  });
  const closed = new Promise<{ error?: string }>((resolve) =>
    socket.on('close', () => {
      ended = true;
      if (!answered) settle.reject(new Error(`connection closed without an answer (${error ?? 'no error'})`));
      resolve(error === undefined ? {} : { error });
    }),
  );
  socket.write(head);

  const write = async (data: Buffer | string): Promise<boolean> => {
    if (socket.destroyed || socket.writableEnded) return false;
    if (socket.write(data)) return true;
    await new Promise<void>((resolve) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
    return !socket.destroyed;
  };

  return {
    socket,
    response,
    closed,
    get ended() {
      return ended;
    },
    get received() {
      return buf.toString('latin1');
    },
    write,
    async writeBody(bytes, chunk, opts = {}) {
      for (let o = 0; o < bytes.length; o += chunk) {
        const piece = bytes.subarray(o, o + chunk);
        const framed = opts.chunked
          ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])
          : piece;
        if (!(await write(framed))) return false;
      }
      if (opts.chunked) return write('0\r\n\r\n');
      return true;
    },
  };
}

/** The request head for a POST with a JSON body of `length` bytes (or chunked when `length` is undefined). */
export function postHead(
  path: string,
  length: number | undefined,
  headers: Record<string, string> = {},
  host = '127.0.0.1',
): string {
  const all: Record<string, string> = {
    host,
    'content-type': 'application/json',
    ...(length === undefined ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(length) }),
    ...headers,
  };
  return `POST ${path} HTTP/1.1\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}
