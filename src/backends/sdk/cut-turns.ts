/**
 * Model turns the API cut short, and the turns Claude Code makes instead.
 *
 * When the API fails in the middle of a streamed answer (an `event: error`, a dropped connection),
 * Claude Code closes the open blocks and the message without a `message_delta` and calls the API
 * again: streamed after an `api_retry` (a dropped connection), or not streamed at all (an error
 * event: its answer arrives only as whole `assistant` messages, one per content block, under a
 * message id no stream event carried). What the agent finally said is that second answer.
 *
 * - `wholeTurn*`: a whole `assistant` message as the stream events it would have streamed, so the
 *   translator handles it like any other turn.
 * - `Replacement`: for a response already streaming, the second answer checked against what the
 *   client saw of the first one: what goes beyond it streams on; an answer that does not continue
 *   it is `diverged` (the client cannot take text back).
 *
 * Pure, no I/O. Recorded with Claude Code 2.1 against test/support's `streamError` and `drop`.
 */
import type { ResponseBlock, StreamEvent } from '../../formats/anthropic/types.ts';

/** What the client has seen of one model turn: the text of each text block, and what else. */
export interface SentTurn {
  texts: string[];
  thinking: boolean;
  /** A tool call (the client's, or the agent's as text): nothing a retry can continue. */
  other: boolean;
}

export function emptySent(): SentTurn {
  return { texts: [], thinking: false, other: false };
}

export function sentAnything(s: SentTurn): boolean {
  return s.texts.length > 0 || s.thinking || s.other;
}

/** A whole model message as the SDK reports it in an `assistant` message. */
export interface WholeMessage {
  id: string;
  model: string;
  content: Array<Record<string, unknown> & { type: string }>;
  stop_reason?: string | null;
  stop_sequence?: string | null;
  stop_details?: unknown;
  usage?: Record<string, unknown>;
}

export function wholeTurnStart(m: WholeMessage): StreamEvent {
  const usage = { input_tokens: 0, output_tokens: 0, ...m.usage };
  return {
    type: 'message_start',
    message: {
      id: m.id,
      type: 'message',
      role: 'assistant',
      model: m.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage,
    },
  };
}

/** One content block as its start, delta(s) and stop. */
export function wholeBlockEvents(block: WholeMessage['content'][number], index: number): StreamEvent[] {
  const start = (content_block: Record<string, unknown>): StreamEvent => ({
    type: 'content_block_start',
    index,
    content_block: content_block as ResponseBlock,
  });
  const delta = (d: Extract<StreamEvent, { type: 'content_block_delta' }>['delta']): StreamEvent => ({
    type: 'content_block_delta',
    index,
    delta: d,
  });
  const out: StreamEvent[] = [];
  switch (block.type) {
    case 'text':
      out.push(start({ type: 'text', text: '' }));
      if (typeof block.text === 'string' && block.text)
        out.push(delta({ type: 'text_delta', text: block.text }));
      break;
    case 'thinking':
      out.push(start({ type: 'thinking', thinking: '', signature: '' }));
      if (typeof block.thinking === 'string' && block.thinking)
        out.push(delta({ type: 'thinking_delta', thinking: block.thinking }));
      if (typeof block.signature === 'string' && block.signature)
        out.push(delta({ type: 'signature_delta', signature: block.signature }));
      break;
    case 'tool_use':
    case 'server_tool_use':
      out.push(start({ ...block, input: {} }));
      out.push(delta({ type: 'input_json_delta', partial_json: JSON.stringify(block.input ?? {}) }));
      break;
    default:
      out.push(start(block));
  }
  out.push({ type: 'content_block_stop', index });
  return out;
}

export function wholeTurnEnd(m: WholeMessage): StreamEvent[] {
  const details = m.stop_details ? { stop_details: m.stop_details } : {};
  const output = m.usage?.output_tokens;
  return [
    {
      type: 'message_delta',
      delta: { stop_reason: m.stop_reason ?? 'end_turn', stop_sequence: m.stop_sequence ?? null, ...details },
      usage: { output_tokens: typeof output === 'number' ? output : 0 },
    },
    { type: 'message_stop' },
  ];
}

/**
 * The raw events of the turn that replaces a cut one, filtered for a client that already saw
 * `sent`: its text blocks must repeat the text sent (the last one may go on: that rest streams as
 * a block that `continues` the text, without a paragraph break), thinking before that text is
 * dropped (the client saw this turn's thinking, or its answer already began), and once past what
 * was sent everything passes. A turn that says something else, or less, is `diverged`.
 */
export class Replacement {
  /** The raw index of the block whose text continues the last text the client saw. */
  continues?: number;
  private matched = 0;
  private passing = false;
  private readonly dropped = new Set<number>();
  private current?: { index: number; sent: string; got: string; last: boolean };

  constructor(private readonly sent: SentTurn) {}

  push(ev: StreamEvent): StreamEvent[] | 'diverged' {
    if (this.passing) return [ev];
    switch (ev.type) {
      case 'content_block_start':
        return this.onStart(ev.index, ev.content_block.type, ev);
      case 'content_block_delta':
        return this.onDelta(ev.index, ev.delta);
      case 'content_block_stop':
        return this.onStop(ev.index);
      case 'message_delta':
        // The turn ended properly without reaching what the client saw.
        return 'diverged';
      default:
        // message_start; message_stop of a replacement cut short in turn (the next one is checked).
        return [ev];
    }
  }

  private onStart(index: number, type: string, ev: StreamEvent): StreamEvent[] | 'diverged' {
    if (this.sent.other) return 'diverged';
    if (type === 'thinking' || type === 'redacted_thinking') {
      this.dropped.add(index);
      return [];
    }
    const texts = this.sent.texts;
    if (this.matched >= texts.length) {
      this.passing = true;
      return [ev];
    }
    if (type !== 'text') return 'diverged';
    this.current = { index, sent: texts[this.matched], got: '', last: this.matched === texts.length - 1 };
    this.matched++;
    return [];
  }

  private onDelta(
    index: number,
    delta: Extract<StreamEvent, { type: 'content_block_delta' }>['delta'],
  ): StreamEvent[] | 'diverged' {
    const cur = this.current;
    if (this.dropped.has(index) || !cur || cur.index !== index || delta.type !== 'text_delta') return [];
    cur.got += delta.text;
    if (cur.got.length <= cur.sent.length) return cur.sent.startsWith(cur.got) ? [] : 'diverged';
    if (!cur.last || !cur.got.startsWith(cur.sent)) return 'diverged';
    this.passing = true;
    this.continues = index;
    return [
      { type: 'content_block_start', index, content_block: { type: 'text', text: '' } },
      {
        type: 'content_block_delta',
        index,
        delta: { type: 'text_delta', text: cur.got.slice(cur.sent.length) },
      },
    ];
  }

  private onStop(index: number): StreamEvent[] | 'diverged' {
    const cur = this.current;
    if (this.dropped.has(index) || !cur || cur.index !== index) return [];
    if (cur.got !== cur.sent) return 'diverged';
    // This block said exactly what was sent; the client's copy is closed already.
    this.current = undefined;
    if (cur.last) this.passing = true;
    return [];
  }
}
