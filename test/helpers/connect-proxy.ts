/**
 * A minimal HTTP CONNECT proxy (what `upstream.proxy_url` / HTTPS_PROXY point at) that sends every
 * tunnel (and each absolute-form request) to one local port, whatever host was asked for; `tunnels`
 * records the hosts asked for. Given
 * `credentials` (`user:password`), a CONNECT without them in `Proxy-Authorization` gets a 407.
 */
import http from 'node:http';
import net from 'node:net';

export interface ConnectProxy {
  url: string;
  /** `host:port` of every tunnel opened, in order. */
  tunnels: string[];
  close(): Promise<void>;
}

/** `target`: the local port everything goes to (or how to find it once the proxy is asked). */
export async function startConnectProxy(
  target: number | (() => number),
  credentials?: string,
): Promise<ConnectProxy> {
  const targetPort = () => (typeof target === 'number' ? target : target());
  const tunnels: string[] = [];
  const sockets = new Set<net.Socket>();
  // A plain-HTTP request in absolute form (`POST http://host/path`), as clients send through a
  // proxy to an http:// origin, is forwarded to the same port; anything else is refused.
  const server = http.createServer((req, res) => {
    if (!req.url?.startsWith('http://')) return void res.writeHead(405).end();
    const asked = new URL(req.url);
    tunnels.push(asked.host);
    const out = http.request(
      {
        host: '127.0.0.1',
        port: targetPort(),
        method: req.method,
        path: asked.pathname + asked.search,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  server.on('connect', (req, client: net.Socket, head) => {
    if (
      credentials &&
      req.headers['proxy-authorization'] !== `Basic ${Buffer.from(credentials).toString('base64')}`
    ) {
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="corp"\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    tunnels.push(req.url ?? '');
    const upstream = net.connect(targetPort(), '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
