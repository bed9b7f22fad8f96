/**
 * The DuckDB access log's own thread, started by thread-store.ts: it owns the database (DuckDbStore)
 * and runs each call the server's thread posts to it, one message per call, one reply per message.
 * Why a thread: DuckDB's appender commits on the thread that calls it — ~20 ms for a batch of 2,000
 * rows, during which no request would move — and a DuckDB file can be open once per process, so reads
 * come here too.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DuckDbStore } from './store.ts';
import type { StoreCall, StoreReply } from './thread-store.ts';

const port = parentPort!;
const reply = (r: StoreReply) => port.postMessage(r);
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

function run(store: DuckDbStore, op: StoreCall['op'], args: unknown[]): unknown {
  return (store[op] as (...a: unknown[]) => Promise<unknown>).apply(store, args);
}

try {
  const store = await DuckDbStore.open((workerData as { file: string }).file);
  port.on('message', async ({ id, op, args }: StoreCall) => {
    try {
      reply({ id, value: await run(store, op, args) });
    } catch (err) {
      reply({ id, error: messageOf(err) });
    }
    // Closed: nothing keeps the thread alive any more, so it ends.
    if (op === 'close') port.close();
  });
  reply({ id: 0, value: 'ready' });
} catch (err) {
  reply({ id: 0, error: messageOf(err) });
  port.close();
}
