/**
 * Folds a stream of Anthropic events into the Message the non-streaming API would have returned.
 * A small state machine: `push` one event at a time, `message()` at any point.
 */
import { ProxyError } from '../../errors.ts';
import type { Message, ResponseBlock, StreamEvent, Usage } from './types.ts';

export class MessageAccumulator {
  private msg: Message | undefined;
  /** Partial JSON of tool inputs, by block index. */
  private readonly json = new Map<number, string>();
  done = false;

  push(event: StreamEvent): void {
    switch (event.type) {
      case 'message_start':
        this.msg = {
          ...event.message,
          content: [...event.message.content],
          usage: { ...event.message.usage },
        };
        return;
      case 'content_block_start': {
        const block = { ...event.content_block } as ResponseBlock & Record<string, unknown>;
        if (block.type === 'tool_use' || block.type === 'server_tool_use' || block.type === 'mcp_tool_use')
          this.json.set(event.index, '');
        this.message().content[event.index] = block;
        return;
      }
      case 'content_block_delta': {
        const block = this.message().content[event.index] as Record<string, unknown> | undefined;
        if (!block)
          throw new ProxyError('upstream', `Stream delta for unknown content block ${event.index}.`);
        const d = event.delta;
        if (d.type === 'text_delta') block.text = `${block.text ?? ''}${d.text}`;
        else if (d.type === 'thinking_delta') block.thinking = `${block.thinking ?? ''}${d.thinking}`;
        else if (d.type === 'signature_delta') block.signature = d.signature;
        else if (d.type === 'input_json_delta')
          this.json.set(event.index, (this.json.get(event.index) ?? '') + d.partial_json);
        else if (d.type === 'citations_delta')
          block.citations = [...((block.citations as unknown[]) ?? []), d.citation];
        return;
      }
      case 'content_block_stop': {
        const partial = this.json.get(event.index);
        if (partial !== undefined) {
          const block = this.message().content[event.index] as Record<string, unknown>;
          block.input = parseToolInput(partial);
          this.json.delete(event.index);
        }
        return;
      }
      case 'message_delta': {
        const m = this.message();
        const { type: _t, delta, usage, ...rest } = event;
        m.stop_reason = delta.stop_reason;
        m.stop_sequence = delta.stop_sequence ?? null;
        for (const [k, v] of Object.entries(delta))
          if (k !== 'stop_reason' && k !== 'stop_sequence') m[k] = v;
        for (const [k, v] of Object.entries(rest)) m[k] = v;
        if (usage) mergeUsage(m.usage, usage);
        return;
      }
      case 'message_stop':
        this.done = true;
        return;
      case 'error':
        throw new ProxyError('upstream', event.error.message);
      default:
        return;
    }
  }

  message(): Message {
    if (!this.msg) throw new ProxyError('upstream', 'The upstream stream did not start with message_start.');
    return this.msg;
  }
}

/** Later usage readings win; `null` never erases a number. */
export function mergeUsage(into: Usage, from: Partial<Usage>): void {
  for (const [k, v] of Object.entries(from)) {
    if (v !== null && v !== undefined) into[k] = v;
  }
}

/** Tool input JSON assembled from deltas; empty means no arguments. */
export function parseToolInput(partial: string): unknown {
  if (partial.trim() === '') return {};
  try {
    return JSON.parse(partial);
  } catch {
    throw new ProxyError('upstream', 'The upstream streamed tool input that is not valid JSON.');
  }
}

export async function accumulate(events: AsyncIterable<StreamEvent>): Promise<Message> {
  const acc = new MessageAccumulator();
  for await (const ev of events) acc.push(ev);
  return acc.message();
}
