/**
 * Writes a rendered response to the socket as its `Delivery` asks: cut points, pacing, a first-byte
 * delay, and faults (drop or stall after N events or bytes). Honours backpressure, and stops as soon
 * as the client hangs up (`signal`).
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Rendered } from './render.ts';
import { Chunker } from './sse.ts';

/** Hold until the exchange ends (client hang-up or fake shutdown). No timer, so nothing leaks. */
export function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Kill a connection with a FIN (`close`) or a TCP RST (`reset`). */
export function killSocket(socket: Socket | null, how: 'close' | 'reset' = 'close'): void {
  if (!socket || socket.destroyed) return;
  if (how === 'reset' && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

export async function deliver(
  res: ServerResponse,
  out: Rendered,
  signal: AbortSignal,
  /** Told just before the fake itself kills the connection (so it is not mistaken for a client hang-up). */
  onKill: () => void = () => {},
): Promise<void> {
  const d = out.delivery;
  try {
    if (d.firstByteDelayMs) await sleep(d.firstByteDelayMs, undefined, { signal });
    res.socket?.setNoDelay(true);
    res.writeHead(out.status, out.headers);
    // A stream's headers go out at once, before the first event, as the API sends them.
    if (String(out.headers['content-type']).startsWith('text/event-stream')) res.flushHeaders();

    const chunker = new Chunker(d.split);
    let events = 0;
    let bytes = 0;
    let writes = 0;

    // Returns false when a byte limit ended the response.
    const write = async (buf: Buffer): Promise<boolean> => {
      const limit = Math.min(d.dropAfterBytes ?? Infinity, d.stallAfterBytes ?? Infinity);
      const room = limit - bytes;
      const piece = buf.length > room ? buf.subarray(0, Math.max(0, room)) : buf;
      if (piece.length > 0) {
        if (writes > 0 && d.delayMs) await sleep(d.delayMs, undefined, { signal });
        writes++;
        bytes += piece.length;
        if (!res.write(piece)) await once(res, 'drain', { signal });
      }
      return piece.length === buf.length;
    };

    const fault = async (kind: 'drop' | 'stall'): Promise<void> => {
      if (kind === 'drop') {
        // Let the bytes already written reach the client before the connection dies.
        await new Promise<void>((resolve) => res.socket?.write('', () => resolve()) ?? resolve());
        onKill();
        killSocket(res.socket, d.dropWith);
      } else {
        await waitForAbort(signal);
      }
    };

    const limitHit = (): 'drop' | 'stall' | undefined => {
      if (d.dropAfterBytes !== undefined && bytes >= d.dropAfterBytes) return 'drop';
      if (d.stallAfterBytes !== undefined && bytes >= d.stallAfterBytes) return 'stall';
      return undefined;
    };

    for await (const unit of out.units) {
      if (signal.aborted) return;
      if (events === d.pauseAfterEvents && d.resume) {
        for (const w of chunker.flush()) await write(w);
        await Promise.race([d.resume, waitForAbort(signal)]);
        if (signal.aborted) return;
      }
      if (events === d.dropAfterEvents || events === d.stallAfterEvents) {
        for (const w of chunker.flush()) await write(w);
        return fault(events === d.dropAfterEvents ? 'drop' : 'stall');
      }
      for (const w of chunker.push(unit)) {
        if (!(await write(w))) return fault(limitHit() ?? 'drop');
      }
      events++;
    }
    for (const w of chunker.flush()) {
      if (!(await write(w))) return fault(limitHit() ?? 'drop');
    }
    const hit = limitHit();
    if (hit) return fault(hit);
    if (events === d.dropAfterEvents || events === d.stallAfterEvents) {
      return fault(events === d.dropAfterEvents ? 'drop' : 'stall');
    }
    res.end();
  } catch (err) {
    // An abort (client gone, fake closing) ends delivery quietly; anything else is a bug in the fake.
    if (!signal.aborted) throw err;
  }
}
