/**
 * The floor: a bare node:http pass-through that only swaps the auth header, no parsing, no checks.
 * What any proxy costs beyond this is the price of its features. Plain JavaScript, so that no loader
 * adds to its memory or start-up.
 */
import http from 'node:http';

const target = new URL(process.env.BENCH_UPSTREAM);
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

const server = http.createServer((req, res) => {
  const headers = { ...req.headers, host: target.host, authorization: `Bearer ${process.env.BENCH_TOKEN}` };
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
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  res.on('close', () => up.destroy());
  req.pipe(up);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
