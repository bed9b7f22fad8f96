/**
 * The skeleton of a stream translator (frontend.ts `StreamRenderer`): one Anthropic event in, the
 * client's frames out. This dispatches each event to the translator's own handlers and keeps what
 * every translator tracks — the usage so far and whether the stream is closed.
 * https://docs.anthropic.com/en/docs/build-with-claude/streaming
 */
import { kindForAnthropicType, ProxyError } from '../errors.ts';
import { mergeUsage } from './anthropic/accumulate.ts';
import type { ContentDelta, ResponseBlock, StreamEvent, Usage } from './anthropic/types.ts';
import type { StreamRenderer } from './frontend.ts';

export type MessageDelta = Extract<StreamEvent, { type: 'message_delta' }>['delta'];

export abstract class EventRenderer implements StreamRenderer {
  /** message_start's usage, updated by each message_delta. */
  protected readonly usage: Usage = { input_tokens: 0, output_tokens: 0 };
  /** After `end` or `fail`: nothing more is written. */
  protected closed = false;

  push(event: StreamEvent): string {
    if (this.closed) return '';
    switch (event.type) {
      case 'content_block_delta':
        return this.delta(event.index, event.delta);
      case 'content_block_start':
        return this.blockStart(event.index, event.content_block);
      case 'content_block_stop':
        return this.blockStop(event.index);
      case 'message_start':
        if (event.message.usage) mergeUsage(this.usage, event.message.usage);
        return this.start();
      case 'message_delta':
        if (event.usage) mergeUsage(this.usage, event.usage);
        return this.messageDelta(event.delta);
      case 'error':
        return this.fail(new ProxyError(kindForAnthropicType(event.error.type), event.error.message));
      default:
        // ping, message_stop: nothing for the client.
        return '';
    }
  }

  abstract end(): string;
  abstract fail(err: ProxyError): string;
  protected abstract start(): string;
  protected abstract blockStart(index: number, block: ResponseBlock): string;
  protected abstract delta(index: number, delta: ContentDelta): string;
  protected abstract blockStop(index: number): string;
  protected abstract messageDelta(delta: MessageDelta): string;
}
