/**
 * ccproxy in a child process for benchmarks, on a quiet logger, pointed at BENCH_UPSTREAM. It runs
 * the built proxy (dist/, as `ccproxy serve` does), not the TypeScript sources through tsx: tsx's
 * loader would add its own memory and start-up to every figure. `npm run bench` builds first.
 */
import { settingsSchema } from '../dist/config/schema.js';
import { createLogger } from '../dist/logging.js';
import { buildApp } from '../dist/server/app.js';

const extra = JSON.parse(process.env.BENCH_SETTINGS ?? '{}');
const settings = settingsSchema.parse({
  ...extra,
  server: { port: 0, log_level: 'warn', ...extra.server },
  upstream: { base_url: process.env.BENCH_UPSTREAM, ...extra.upstream },
});
const log = createLogger({ level: settings.server.log_level, format: 'json' });
const proxy = await buildApp({ settings, log, env: { CLAUDE_CODE_OAUTH_TOKEN: process.env.BENCH_TOKEN } });
const url = await proxy.listen();
process.send?.({ ready: true, port: Number(new URL(url).port) });
process.on('message', async (m) => {
  if (m?.cmd !== 'usage') return;
  if (m.gc) globalThis.gc?.();
  const mem = process.memoryUsage();
  process.send?.({
    cpu: process.cpuUsage(),
    rss: mem.rss,
    heap: mem.heapUsed,
    handles: process.getActiveResourcesInfo().length,
  });
});
