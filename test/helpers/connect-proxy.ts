/**
 * A minimal HTTP CONNECT proxy (what `upstream.proxy_url` / HTTPS_PROXY point at) that sends every
 * tunnel to one local port, whatever host was asked for; `tunnels` records the hosts asked for. Given
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

export async function startConnectProxy(targetPort: number, credentials?: string): Promise<ConnectProxy> {
  const tunnels: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => res.writeHead(405).end());
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
    const upstream = net.connect(targetPort, '127.0.0.1', () => {
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
