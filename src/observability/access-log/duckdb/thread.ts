/**
 * The DuckDB access log's own thread, started by thread-store.ts: it owns the database (DuckDbStore)
 * and runs each call the server's thread posts to it, one message per call, one reply per message.
 * Why a thread: DuckDB's appender commits on the thread that calls it — ~20 ms for a batch of 2,000
 * rows, during which no request would move — and a DuckDB file can be open once per process, so reads
 * come here too.
 *
 * For `ccproxy serve` it also runs the access log's writer (writer.ts: batches, retries, pruning):
 * rows arrive a few at a time as requests end (`append`, no reply) and wait here for their batch, not
 * on the server's heap, where rows held for a second outlive two scavenges and are promoted (see
 * docs/performance.md). The writer's stats and log lines go back as messages of their own.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AccessLogRow } from '../row.ts';
import { AccessLogWriter, type WriterLog } from '../writer.ts';
import { DuckDbStore } from './store.ts';
import type { FromThread, StoreCall, ThreadSetup, ToThread } from './thread-store.ts';

const port = parentPort!;
const setup = workerData as ThreadSetup;
const send = (m: FromThread) => port.postMessage(m);
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The writer's log lines, passed to the server's logger (fields that cannot cross are left out). */
const line =
  (level: 'info' | 'warn' | 'error') =>
  (obj: object, msg: string): void => {
    try {
      send({ log: [level, obj, msg] });
    } catch {
      send({ log: [level, {}, msg] });
    }
  };
const log = { info: line('info'), warn: line('warn'), error: line('error') } as WriterLog;

let writer: AccessLogWriter | undefined;
/** Rows appended since the thread started: the server counts what it sent against it. */
let received = 0;
const report = () => writer && send({ report: { stats: writer.stats, received } });

async function run(store: DuckDbStore, { op, args }: StoreCall): Promise<unknown> {
  switch (op) {
    case 'flushWriter': {
      const done = (await writer?.flush(args[0] as number)) ?? true;
      report();
      return done;
    }
    case 'closeWriter':
      await writer?.close();
      report();
      writer = undefined;
      return undefined;
    case 'close':
      // Nothing handed over is lost: the writer writes what it holds before the file closes.
      await writer?.close();
      writer = undefined;
      return store.close();
    default:
      return (store[op] as (...a: unknown[]) => Promise<unknown>).apply(store, args);
  }
}

try {
  const store = await DuckDbStore.open(setup.file);
  if (setup.writer) writer = new AccessLogWriter(store, { ...setup.writer, log, changed: report });
  port.on('message', async (m: ToThread) => {
    if ('rows' in m) {
      received += m.rows.length;
      if (writer) for (const row of m.rows as AccessLogRow[]) writer.push(row);
      return;
    }
    try {
      send({ id: m.id, value: await run(store, m) });
    } catch (err) {
      send({ id: m.id, error: messageOf(err) });
    }
    // Closed: nothing keeps the thread alive any more, so it ends.
    if (m.op === 'close') port.close();
  });
  send({ id: 0, value: 'ready' });
} catch (err) {
  send({ id: 0, error: messageOf(err) });
  port.close();
}
