/** Identifiers shaped like the real API's: `msg_01…`, `toolu_01…`, `req_011C…` (base58 tails). */
import { randomBytes, randomFillSync, randomUUID } from 'node:crypto';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

// Ids are drawn from a pooled random buffer: one syscall per few hundred ids keeps the fake cheap under load.
const pool = Buffer.alloc(4096);
let offset = pool.length;

function base58(length: number): string {
  if (offset + length > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  let out = '';
  for (let i = 0; i < length; i++) out += BASE58[pool[offset + i] % 58];
  offset += length;
  return out;
}

export const messageId = (): string => `msg_01${base58(22)}`;
export const toolUseId = (): string => `toolu_01${base58(22)}`;
export const requestId = (): string => `req_011C${base58(20)}`;
export const uuid = (): string => randomUUID();
/** Opaque token material, as in `sk-ant-oat01-…` / `sk-ant-ort01-…`. */
export const tokenTail = (): string => randomBytes(48).toString('base64url');
