/**
 * Preloaded (`node --import`) into every benchmark child: answers `usage` requests over the IPC
 * channel with the process's CPU time, RSS, heap and open handles, after a full garbage collection
 * when asked (the child runs with `--expose-gc`). Nothing of the bench lives in ccproxy itself: the
 * proxy runs as `ccproxy serve` does, with this beside it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

const settle = () => new Promise((resolve) => setImmediate(resolve));
// How long a ready callback waited for the event loop: what every request in flight feels when
// something holds the loop (a sync flush, a GC pause). Reset at each reading.
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();

process.on('message', async (m) => {
  if (m?.cmd !== 'usage') return;
  if (m.gc && globalThis.gc) {
    // Twice, 6 s apart: weak callbacks and finalizers of the first free more for the second, and V8
    // shrinks the young generation only when a collection finds the allocation rate of the last ~5 s
    // low (two back to back, or 2 s apart, right after a load left it at its peak: 118 against 87 MB
    // for ccproxy). Any process idle for a while gets there on its next collection; ccproxy makes
    // that collection itself (server.idle_gc_s).
    globalThis.gc();
    await settle();
    await new Promise((resolve) => setTimeout(resolve, 6000));
    globalThis.gc();
    await settle();
    // V8 hands freed pages back on a background thread after a collection: read RSS once it has.
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const mem = process.memoryUsage();
  process.send?.({
    usage: true,
    cpu: process.cpuUsage(),
    rss: mem.rss,
    heap: mem.heapUsed,
    heapTotal: mem.heapTotal,
    external: mem.external,
    arrayBuffers: mem.arrayBuffers,
    handles: process.getActiveResourcesInfo().length,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    loopDelayMaxMs: loopDelay.max / 1e6,
  });
  loopDelay.reset();
});
// The IPC channel must not keep a child alive on its own.
process.channel?.unref();
