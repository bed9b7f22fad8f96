/** Shared pieces for the observability tests: temp dirs, settings, synthetic requests. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { type Settings, settingsSchema } from '../../src/config/schema.ts';
import {
  emptyUsage,
  type Lifecycle,
  type RequestRecord,
  type TokenUsage,
} from '../../src/observability/lifecycle.ts';

export const silent = pino({ level: 'silent' });

export function tempDir(t: { after(fn: () => unknown): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-obs-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function settingsWith(
  observability: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Settings {
  return settingsSchema.parse({ observability, ...extra });
}

let seq = 0;

export interface FakeRequest extends Partial<Omit<RequestRecord, 'usage'>> {
  usage?: Partial<TokenUsage>;
}

export function record(over: FakeRequest = {}): RequestRecord {
  seq++;
  const { usage, ...rest } = over;
  return {
    id: `req_${String(seq).padStart(6, '0')}`,
    startedAt: Date.now(),
    t0: performance.now(),
    mode: 'api',
    format: 'anthropic',
    route: '/api/v1/messages',
    method: 'POST',
    clientModel: 'claude-sonnet-5-5',
    upstreamModel: 'claude-sonnet-5-5',
    stream: true,
    status: 200,
    retries: 0,
    ttfbMs: 120,
    durationMs: 900,
    userAgent: 'test-agent/1.0',
    ...rest,
    usage: usage ? { ...emptyUsage(), ...usage } : undefined,
  };
}

/** Drive one request through the lifecycle the way the server does. */
export function emitRequest(lifecycle: Lifecycle, over: FakeRequest = {}): RequestRecord {
  const r = record(over);
  lifecycle.emit('start', r);
  if (r.ttfbMs !== undefined) lifecycle.emit('first_byte', r);
  if (r.usage) lifecycle.emit('usage', r);
  lifecycle.emit('end', r);
  return r;
}

export async function waitFor<T>(
  fn: () => T | Promise<T>,
  what: string,
  deadlineMs = 30_000,
): Promise<NonNullable<T>> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
