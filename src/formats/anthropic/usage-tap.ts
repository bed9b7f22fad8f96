/**
 * Reads usage, model and stop reason off an Anthropic response without touching it: the API
 * backend feeds it the same bytes it has just written to the client (SSE or JSON).
 */
import { mergeUsage } from './accumulate.ts';
import { SseReader } from './sse.ts';
import type { Message, Usage } from './types.ts';

export interface TapResult {
  model?: string;
  usage?: Usage;
  stopReason?: string;
  /** An in-stream `error` event's type (e.g. `overloaded_error`). */
  errorType?: string;
}

/** For `text/event-stream` bodies: parses only the events that carry usage. */
export class SseUsageTap {
  private readonly reader = new SseReader();
  readonly result: TapResult = {};

  push(chunk: Uint8Array): void {
    for (const ev of this.reader.push(chunk)) this.take(ev.event, ev.data);
  }

  end(): TapResult {
    for (const ev of this.reader.end()) this.take(ev.event, ev.data);
    return this.result;
  }

  private take(event: string | undefined, data: string): void {
    if (event !== 'message_start' && event !== 'message_delta' && event !== 'error') return;
    let ev: Record<string, any>;
    try {
      ev = JSON.parse(data);
    } catch {
      return; // the client gets the bytes as they are; a broken event just isn't counted
    }
    const r = this.result;
    if (event === 'message_start' && ev.message) {
      r.model = ev.message.model;
      r.usage = { ...ev.message.usage };
    } else if (event === 'message_delta') {
      if (ev.usage) {
        r.usage ??= { input_tokens: 0, output_tokens: 0 };
        mergeUsage(r.usage, ev.usage);
      }
      if (ev.delta?.stop_reason) r.stopReason = ev.delta.stop_reason;
    } else if (event === 'error') {
      r.errorType = ev.error?.type ?? 'api_error';
    }
  }
}

/** For JSON bodies: collects the bytes and parses once at the end. */
export class JsonUsageTap {
  private chunks: Uint8Array[] = [];
  private size = 0;
  /** Non-streaming answers are small; past this we stop collecting rather than hold a huge body. */
  private static readonly LIMIT = 8 * 1024 * 1024;

  push(chunk: Uint8Array): void {
    this.size += chunk.length;
    if (this.size <= JsonUsageTap.LIMIT) this.chunks.push(chunk);
  }

  end(): TapResult {
    if (this.size > JsonUsageTap.LIMIT) return {};
    try {
      const msg = JSON.parse(Buffer.concat(this.chunks).toString('utf8')) as Message;
      return fromMessage(msg);
    } catch {
      return {};
    } finally {
      this.chunks = [];
    }
  }
}

export function fromMessage(msg: Message): TapResult {
  return { model: msg.model, usage: msg.usage, stopReason: msg.stop_reason ?? undefined };
}
