/**
 * The floor: a bare node:http pass-through that only swaps the auth header, no parsing, no checks.
 * What any proxy costs beyond this is the price of its features.
 */
import http from 'node:http';

const target = new URL(process.env.BENCH_UPSTREAM!);
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

const server = http.createServer((req, res) => {
  const headers: http.OutgoingHttpHeaders = {
    ...req.headers,
    host: target.host,
    authorization: `Bearer ${process.env.BENCH_TOKEN}`,
  };
  delete headers['x-api-key'];
  const up = http.request(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url?.replace(/^\/api/, ''),
      headers,
      agent,
    },
    (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    },
  );
  up.on('error', () => {
    res.writeHead(502);
    res.end();
  });
  res.on('close', () => up.destroy());
  req.pipe(up);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const addr = server.address() as { port: number };
  process.send?.({ ready: true, port: addr.port });
});
process.on('message', (m: { cmd?: string }) => {
  if (m?.cmd === 'usage') process.send?.({ cpu: process.cpuUsage(), rss: process.memoryUsage().rss });
});
