/**
 * Talking to the proxy from the page. With `security.auth_token` set every call needs the token;
 * the page asks for it when a call answers 401, keeps it in sessionStorage (gone when the tab
 * closes) and sends it as `Authorization: Bearer` — never in a URL. The live stream is read with
 * fetch() and a stream reader, because EventSource cannot send headers.
 */
import { EventSourceParserStream } from 'eventsource-parser/stream';

const TOKEN_KEY = 'ccproxy.token';

export class Unauthorized extends Error {
  constructor() {
    super('unauthorized');
  }
}

type Listener = () => void;
const authListeners = new Set<Listener>();

/** Called when a call was refused for want of a (valid) token. */
export function onUnauthorized(fn: Listener): () => void {
  authListeners.add(fn);
  return () => authListeners.delete(fn);
}

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

function headers(): HeadersInit {
  const token = getToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

function refused(): never {
  for (const fn of authListeners) fn();
  throw new Unauthorized();
}

export async function getJson<T>(
  path: string,
  params: Record<string, string | number | undefined> = {},
): Promise<T> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') qs.set(k, String(v));
  const url = qs.size ? `${path}?${qs}` : path;
  const res = await fetch(url, { headers: headers(), cache: 'no-store' });
  if (res.status === 401) refused();
  const body = await res.json().catch(() => undefined);
  if (!res.ok) throw new Error(body?.error?.message ?? `${res.status} ${res.statusText}`);
  return body as T;
}

export interface SseEvent {
  event: string;
  data: unknown;
}

/**
 * Follow `/logs/stream` until `signal` aborts, reconnecting with backoff. `onState` reports
 * whether the stream is live.
 */
export async function followStream(
  params: Record<string, string>,
  onEvent: (e: SseEvent) => void,
  onState: (live: boolean) => void,
  signal: AbortSignal,
): Promise<void> {
  let delay = 1000;
  while (!signal.aborted) {
    try {
      const qs = new URLSearchParams(params);
      const res = await fetch(`/logs/stream${qs.size ? `?${qs}` : ''}`, { headers: headers(), signal });
      if (res.status === 401) refused();
      if (!res.ok || !res.body) throw new Error(`stream: ${res.status}`);
      onState(true);
      delay = 1000;
      await readFrames(res.body, onEvent);
    } catch (err) {
      if (err instanceof Unauthorized || signal.aborted) {
        onState(false);
        return;
      }
    }
    onState(false);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 15_000);
  }
}

/** Reads events off the live body with eventsource-parser, the parser the proxy itself uses. */
async function readFrames(body: ReadableStream<Uint8Array>, onEvent: (e: SseEvent) => void): Promise<void> {
  const reader = body
    .pipeThrough(new TextDecoderStream() as ReadableWritablePair<string, Uint8Array>)
    .pipeThrough(new EventSourceParserStream())
    .getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    try {
      onEvent({ event: value.event ?? 'message', data: JSON.parse(value.data) });
    } catch {
      // one bad frame is skipped, the stream goes on
    }
  }
}
