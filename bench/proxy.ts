/** ccproxy in a child process for benchmarks, on a silent logger, pointed at BENCH_UPSTREAM. */
import { settingsSchema } from '../src/config/schema.ts';
import { createLogger } from '../src/logging.ts';
import { buildApp } from '../src/server/app.ts';

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
process.on('message', async (m: { cmd?: string }) => {
  if (m?.cmd === 'usage') {
    if (m && (globalThis as { gc?: () => void }).gc && (m as { gc?: boolean }).gc)
      (globalThis as { gc?: () => void }).gc!();
    const mem = process.memoryUsage();
    process.send?.({
      cpu: process.cpuUsage(),
      rss: mem.rss,
      heap: mem.heapUsed,
      handles: process.getActiveResourcesInfo().length,
    });
  }
});
