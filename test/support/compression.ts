/**
 * Response compression as the API's edge does it: a client that sends `accept-encoding: gzip` gets
 * `content-encoding: gzip` bodies — JSON, errors, and event streams alike (each event flushed, so
 * streaming still streams). Proxies that forward these bytes must decompress or pass the header on.
 */
import zlib from 'node:zlib';

export function acceptsGzip(acceptEncoding: string | string[] | undefined): boolean {
  const value = Array.isArray(acceptEncoding) ? acceptEncoding.join(',') : (acceptEncoding ?? '');
  return value
    .split(',')
    .map((part) => part.trim().split(';'))
    .some(([coding, q]) => coding.toLowerCase() === 'gzip' && q?.trim() !== 'q=0');
}

/** Gzip a stream of units into one gzip member, flushing after each unit so none waits for the next. */
export async function* gzipUnits(units: Iterable<Buffer> | AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const gz = zlib.createGzip();
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const take = (): Buffer => {
    const b = Buffer.concat(out);
    out.length = 0;
    return b;
  };
  try {
    for await (const unit of units) {
      gz.write(unit);
      await new Promise<void>((resolve) => gz.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
      const chunk = take();
      if (chunk.length) yield chunk;
    }
    await new Promise<void>((resolve) => gz.end(() => resolve()));
    await new Promise<void>((resolve) => (gz.readableEnded ? resolve() : gz.once('end', () => resolve())));
    const tail = take();
    if (tail.length) yield tail;
  } finally {
    gz.destroy();
  }
}
