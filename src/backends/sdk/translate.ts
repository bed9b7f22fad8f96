/**
 * SDK messages → Anthropic stream events, as one coherent message for the client.
 *
 * The agent runs several model turns per request (think, call Read, read the result, answer); the
 * SDK reports each turn's raw Anthropic stream events (`stream_event`, with
 * `includePartialMessages`). This state machine folds them into ONE message: `message_start` once,
 * content-block indexes increasing across turns, and one `message_delta` + `message_stop` at the
 * end with the final stop reason and the usage of the SDK's result message.
 *
 * - Text and thinking stream through delta by delta.
 * - The agent's own tool calls become readable text (`tool_display = text`) or vanish (`hidden`);
 *   never `tool_use` blocks.
 * - Calls of the client's tools (exposed to the agent as `mcp__ccproxy_client__<name>`) become
 *   real `tool_use` blocks with the client's own name; a turn that made one ends the response
 *   with `stop_reason: tool_use` and the phase `suspended` (the run waits for the client).
 * - A model turn the API cut short (Claude Code then calls again, see cut-turns.ts) is replaced by
 *   the agent's second answer: a buffered response drops the cut turn; a streamed one streams what
 *   the second answer adds to the text already sent, or stops with an error when it says another
 *   thing (phase `stopped`: the response is over, the agent still runs and must be stopped).
 * - A refusal is an answer with `stop_reason: refusal` (and the API's `stop_details`), not an error,
 *   although Claude Code reports it as an error result.
 *
 * No I/O, no timers: feed it with `push`, read `phase`, `error`, `usage`.
 * Streaming events: https://docs.anthropic.com/en/api/messages-streaming
 */
import type { SDKAssistantMessageError, SDKMessage, SDKResultMessage } from '@anthropic-ai/claude-agent-sdk';
import type { ProxyError } from '../../errors.ts';
import type { ContentDelta, Message, StreamEvent, Usage } from '../../formats/anthropic/types.ts';
import {
  emptySent,
  Replacement,
  type SentTurn,
  sentAnything,
  type WholeMessage,
  wholeBlockEvents,
  wholeTurnEnd,
  wholeTurnStart,
} from './cut-turns.ts';
import { answerNotContinued, isNotClaimed, resultError } from './errors.ts';
import { runStopReason } from './stop-reason.ts';
import { formatToolCall, formatToolFailure } from './tool-display.ts';
import { addUsage, emptyTurnUsage, subtractUsage, type TurnUsage, usageFrom, wireUsage } from './usage.ts';

/** `stopped`: the response ended with `error` before the run did (the caller stops the agent). */
export type Phase = 'streaming' | 'suspended' | 'stopped' | 'done';

export interface TranslatorOptions {
  /** The id of the message the client sees (stable for this response). */
  messageId: string;
  /** Reported when the agent answers without ever starting a model message. */
  model: string;
  toolDisplay: 'text' | 'hidden';
  /** Agent-side (MCP) name of each client tool → the client's own name. */
  clientTools?: ReadonlyMap<string, string>;
  /** Tokens already reported for this user turn (a continuation after a client tool result). */
  reported?: TurnUsage;
  /** For the max_turns error message. */
  maxTurns?: number;
  /**
   * The client gets the response whole (not streamed): a model turn's events are held until it
   * ends, so that a turn the API cut short can be dropped for the one that replaces it.
   */
  buffered?: boolean;
}

type BlockKind = 'text' | 'thinking' | 'redacted' | 'client_tool' | 'agent_tool' | 'drop';

interface BlockState {
  kind: BlockKind;
  /** Index in the client's message (forwarded kinds only). */
  out: number;
  toolName?: string;
  toolId?: string;
  json?: string;
  /** Text blocks: has any text gone out yet (the separator goes before the first). */
  started?: boolean;
}

export class SdkEventTranslator {
  phase: Phase = 'streaming';
  /** Set with phase `done` when the run failed; the caller throws it. */
  error?: ProxyError;
  /** The spare behind this run refused its claim before doing anything: start it again cold. */
  notClaimed = false;
  /** The model that answered (from the first model message). */
  model?: string;
  /** Tokens of this response: per-turn sums until the result, then the result's. */
  usage: TurnUsage = emptyTurnUsage();
  /** Client tool calls the response ended with, in order (agent-side tool names). */
  readonly clientToolCalls: Array<{ id: string; agentName: string }> = [];
  result?: SDKResultMessage;
  stopReason?: string;

  private readonly opts: TranslatorOptions;
  private started = false;
  private nextIndex = 0;
  private textEmitted = false;
  private blocks = new Map<number, BlockState>();
  private turnUsage: TurnUsage = emptyTurnUsage();
  private turnStop: string | null = null;
  private turnClientTools = 0;
  /** Did this model turn end properly (a message_delta before message_stop)? */
  private turnEnded = false;
  /** What the client saw of this model turn (of the turn it replaces, while replacing one). */
  private turnSent: SentTurn = emptySent();
  /** clientToolCalls.length when this model turn began. */
  private turnCallsBefore = 0;
  private stopDetails?: unknown;
  /** Ids of the model messages seen, streamed or whole. */
  private readonly seenIds = new Set<string>();
  /** A model message that came only whole (`assistant` messages, one per block), being rendered. */
  private whole?: { message: WholeMessage; nextIndex: number };
  /** Buffered responses: this turn's events so far, and the state to return to if it is cut. */
  private held?: StreamEvent[];
  private beforeTurn?: { started: boolean; nextIndex: number; textEmitted: boolean };
  /** Streamed responses: the turn that replaces a cut one, checked against what the client saw. */
  private replacement?: Replacement;
  private assistantError?: SDKAssistantMessageError;
  /** Agent tool calls awaiting their result, for failure display. */
  private readonly agentCalls = new Set<string>();

  constructor(opts: TranslatorOptions) {
    this.opts = opts;
  }

  /** Has the client been sent anything yet (message_start)? */
  get hasStarted(): boolean {
    return this.started;
  }

  push(msg: SDKMessage): StreamEvent[] {
    if (this.phase === 'done' || this.phase === 'stopped') return [];
    // A whole message's blocks come one `assistant` message each: anything else ends it.
    const ended = this.whole && !isBlockOf(msg, this.whole.message.id) ? this.endWhole() : [];
    if (this.phase !== 'streaming') return ended;
    return [...ended, ...this.route(msg)];
  }

  private route(msg: SDKMessage): StreamEvent[] {
    switch (msg.type) {
      case 'stream_event':
        if (msg.parent_tool_use_id !== null) return [];
        return this.onRaw(msg.event as unknown as StreamEvent);
      case 'assistant':
        if (msg.parent_tool_use_id !== null) return [];
        if (msg.error) this.assistantError = msg.error;
        return isModelReply(msg) ? this.onWhole(msg.message as unknown as WholeMessage) : [];
      case 'user':
        // An agent tool's result may come before its turn's message_stop: held with the turn.
        return msg.parent_tool_use_id === null ? this.hold(this.onToolResults(msg.message.content)) : [];
      case 'result':
        return this.onResult(msg);
      default:
        return [];
    }
  }

  /**
   * A model message the stream never showed (Claude Code's non-streamed call after one the API cut
   * short): its blocks as the events they would have streamed. One already streamed is skipped.
   */
  private onWhole(message: WholeMessage): StreamEvent[] {
    if (this.whole?.message.id !== message.id) {
      if (this.seenIds.has(message.id)) return [];
      this.whole = { message, nextIndex: 0 };
      const out = this.onRaw(wholeTurnStart(message));
      return this.whole ? [...out, ...this.wholeBlocks(message)] : out;
    }
    this.whole.message = message;
    return this.wholeBlocks(message);
  }

  private wholeBlocks(message: WholeMessage): StreamEvent[] {
    const out: StreamEvent[] = [];
    for (const block of message.content) {
      if (!this.whole) break;
      for (const ev of wholeBlockEvents(block, this.whole.nextIndex++)) out.push(...this.onRaw(ev));
    }
    return out;
  }

  private endWhole(): StreamEvent[] {
    const message = this.whole?.message;
    this.whole = undefined;
    return message ? wholeTurnEnd(message).flatMap((ev) => this.onRaw(ev)) : [];
  }

  /** One raw event of the agent's model turn: checked if it replaces a cut turn, held if buffered. */
  private onRaw(ev: StreamEvent): StreamEvent[] {
    if (this.phase !== 'streaming') return [];
    const passed = this.replacement ? this.replacement.push(ev) : [ev];
    if (passed === 'diverged') return this.stop(answerNotContinued());
    const out = passed.flatMap((e) => this.onStreamEvent(e));
    if (!this.held) return out;
    this.held.push(...out);
    return [];
  }

  /** Events made outside the model's stream, kept in order with a turn being held. */
  private hold(out: StreamEvent[]): StreamEvent[] {
    if (!this.held) return out;
    this.held.push(...out);
    return [];
  }

  private stop(error: ProxyError): StreamEvent[] {
    this.phase = 'stopped';
    this.error = error;
    this.whole = undefined;
    return [];
  }

  private onStreamEvent(ev: StreamEvent): StreamEvent[] {
    switch (ev.type) {
      case 'message_start': {
        this.blocks = new Map();
        this.turnUsage = usageFrom(ev.message.usage);
        this.turnStop = null;
        this.turnEnded = false;
        this.turnClientTools = 0;
        this.turnCallsBefore = this.clientToolCalls.length;
        if (!this.replacement) this.turnSent = emptySent();
        this.seenIds.add(ev.message.id);
        this.model ??= ev.message.model;
        if (this.opts.buffered) {
          this.held = [];
          this.beforeTurn = {
            started: this.started,
            nextIndex: this.nextIndex,
            textEmitted: this.textEmitted,
          };
        }
        return this.start(ev.message.usage);
      }
      case 'content_block_start':
        return this.onBlockStart(ev.index, ev.content_block as Record<string, unknown> & { type: string });
      case 'content_block_delta':
        return this.onBlockDelta(ev.index, ev.delta);
      case 'content_block_stop':
        return this.onBlockStop(ev.index);
      case 'message_delta': {
        this.turnEnded = true;
        this.turnStop = ev.delta.stop_reason ?? this.turnStop;
        if (ev.delta.stop_details) this.stopDetails = ev.delta.stop_details;
        this.turnUsage = usageFrom(ev.usage, this.turnUsage);
        return [];
      }
      case 'message_stop':
        return this.onTurnEnd();
      default:
        return [];
    }
  }

  private start(usage?: Partial<Usage>): StreamEvent[] {
    if (this.started) return [];
    this.started = true;
    const message: Message = {
      id: this.opts.messageId,
      type: 'message',
      role: 'assistant',
      model: this.model ?? this.opts.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: usage?.input_tokens ?? 0,
        output_tokens: usage?.output_tokens ?? 0,
        cache_creation_input_tokens: usage?.cache_creation_input_tokens ?? 0,
        cache_read_input_tokens: usage?.cache_read_input_tokens ?? 0,
      },
    };
    return [{ type: 'message_start', message }];
  }

  private open(index: number, state: Omit<BlockState, 'out'>): BlockState {
    const block = {
      ...state,
      out: state.kind === 'agent_tool' || state.kind === 'drop' ? -1 : this.nextIndex++,
    };
    this.blocks.set(index, block);
    return block;
  }

  private onBlockStart(index: number, cb: Record<string, unknown> & { type: string }): StreamEvent[] {
    switch (cb.type) {
      case 'text': {
        const b = this.open(index, { kind: 'text' });
        const sent = this.turnSent.texts;
        if (this.replacement?.continues === index && sent.length > 0) {
          // The rest of a text the client saw part of: no paragraph break before it.
          b.started = sent[sent.length - 1] !== '';
        } else sent.push('');
        const out: StreamEvent[] = [
          { type: 'content_block_start', index: b.out, content_block: { type: 'text', text: '' } },
        ];
        if (typeof cb.text === 'string' && cb.text !== '') out.push(...this.sentText(b, cb.text));
        return out;
      }
      case 'thinking': {
        this.turnSent.thinking = true;
        const b = this.open(index, { kind: 'thinking' });
        return [
          {
            type: 'content_block_start',
            index: b.out,
            content_block: { type: 'thinking', thinking: '', signature: '' },
          },
        ];
      }
      case 'redacted_thinking': {
        this.turnSent.thinking = true;
        const b = this.open(index, { kind: 'redacted' });
        return [
          { type: 'content_block_start', index: b.out, content_block: { ...cb, type: 'redacted_thinking' } },
        ];
      }
      case 'tool_use': {
        const name = String(cb.name);
        const id = String(cb.id);
        const clientName = this.opts.clientTools?.get(name);
        if (clientName !== undefined) {
          const b = this.open(index, { kind: 'client_tool', toolId: id, toolName: clientName });
          this.clientToolCalls.push({ id, agentName: name });
          this.turnClientTools++;
          this.turnSent.other = true;
          return [
            {
              type: 'content_block_start',
              index: b.out,
              content_block: { type: 'tool_use', id, name: clientName, input: {} },
            },
          ];
        }
        this.open(index, { kind: 'agent_tool', toolId: id, toolName: name, json: '' });
        return [];
      }
      case 'server_tool_use':
        this.open(index, { kind: 'agent_tool', toolId: String(cb.id), toolName: String(cb.name), json: '' });
        return [];
      default:
        // Server tool results and anything new: the agent's business, not the client's.
        this.open(index, { kind: 'drop' });
        return [];
    }
  }

  private onBlockDelta(index: number, delta: ContentDelta): StreamEvent[] {
    const b = this.blocks.get(index);
    if (!b) return [];
    switch (b.kind) {
      case 'text':
        if (delta.type === 'text_delta') return this.sentText(b, delta.text);
        if (delta.type === 'citations_delta') return [{ type: 'content_block_delta', index: b.out, delta }];
        return [];
      case 'thinking':
        if (delta.type === 'thinking_delta' || delta.type === 'signature_delta')
          return [{ type: 'content_block_delta', index: b.out, delta }];
        return [];
      case 'client_tool':
        if (delta.type === 'input_json_delta') return [{ type: 'content_block_delta', index: b.out, delta }];
        return [];
      case 'agent_tool':
        if (delta.type === 'input_json_delta') b.json = (b.json ?? '') + delta.partial_json;
        return [];
      default:
        return [];
    }
  }

  private onBlockStop(index: number): StreamEvent[] {
    const b = this.blocks.get(index);
    if (!b || b.kind === 'drop') return [];
    if (b.kind !== 'agent_tool') return [{ type: 'content_block_stop', index: b.out }];
    if (b.toolId) this.agentCalls.add(b.toolId);
    if (this.opts.toolDisplay === 'hidden') return [];
    this.turnSent.other = true;
    return this.textBlock(formatToolCall(b.toolName ?? 'tool', parseJson(b.json ?? '')));
  }

  /** Model text of this turn: streamed, and kept as what the client saw of the turn. */
  private sentText(b: BlockState, text: string): StreamEvent[] {
    const sent = this.turnSent.texts;
    if (sent.length > 0) sent[sent.length - 1] += text;
    return this.text(b, text);
  }

  /** A text delta; the first one of a block after earlier text gets a paragraph break. */
  private text(b: BlockState, text: string): StreamEvent[] {
    if (text === '') return [];
    let out = text;
    if (!b.started) {
      b.started = true;
      if (this.textEmitted) out = `\n\n${out}`;
    }
    this.textEmitted = true;
    return [{ type: 'content_block_delta', index: b.out, delta: { type: 'text_delta', text: out } }];
  }

  /** A whole text block of our own (tool activity). */
  private textBlock(text: string): StreamEvent[] {
    const index = this.nextIndex++;
    const b: BlockState = { kind: 'text', out: index };
    return [
      { type: 'content_block_start', index, content_block: { type: 'text', text: '' } },
      ...this.text(b, text),
      { type: 'content_block_stop', index },
    ];
  }

  private onToolResults(content: unknown): StreamEvent[] {
    if (!Array.isArray(content)) return [];
    const out: StreamEvent[] = [];
    for (const block of content as Array<Record<string, unknown>>) {
      if (block?.type !== 'tool_result' || typeof block.tool_use_id !== 'string') continue;
      if (!this.agentCalls.delete(block.tool_use_id)) continue;
      if (block.is_error === true && this.opts.toolDisplay === 'text' && this.started)
        out.push(...this.textBlock(formatToolFailure(block.content)));
    }
    return out;
  }

  private onTurnEnd(): StreamEvent[] {
    this.usage = addUsage(this.usage, this.turnUsage);
    this.turnUsage = emptyTurnUsage();
    if (!this.turnEnded) return this.onCut();
    this.replacement = undefined;
    const held = this.held ?? [];
    this.held = undefined;
    if (this.turnClientTools === 0) return held;
    // The agent called a client tool: the client answers it, then the run goes on.
    this.phase = 'suspended';
    this.stopReason = 'tool_use';
    return [
      ...held,
      {
        type: 'message_delta',
        delta: { stop_reason: 'tool_use', stop_sequence: null },
        usage: wireUsage(this.usage),
      },
      { type: 'message_stop' },
    ];
  }

  /**
   * The API cut this turn short (Claude Code ends it without a message_delta) and Claude Code calls
   * again: the turn's tool calls never run, and the next turn replaces it.
   */
  private onCut(): StreamEvent[] {
    this.clientToolCalls.length = this.turnCallsBefore;
    if (this.held && this.beforeTurn) {
      // Nothing went out: forget the turn.
      ({ started: this.started, nextIndex: this.nextIndex, textEmitted: this.textEmitted } = this.beforeTurn);
      this.held = undefined;
      return [];
    }
    if (sentAnything(this.turnSent)) this.replacement = new Replacement(this.turnSent);
    return [];
  }

  private onResult(result: SDKResultMessage): StreamEvent[] {
    this.phase = 'done';
    this.result = result;
    // Claude Code reports a refusal as an error result; for the client it is an answer.
    const refused = result.subtype === 'success' && result.stop_reason === 'refusal';
    const failed = !refused && (result.subtype !== 'success' || result.is_error);
    if (!failed && this.replacement) {
      // A cut turn the run never replaced: what the client saw is not the whole answer.
      this.error = answerNotContinued();
      return [];
    }
    if (failed) {
      if (isNotClaimed(result) && !this.started) this.notClaimed = true;
      this.error = resultError(result, this.assistantError, { maxTurns: this.opts.maxTurns });
      return [];
    }
    const out: StreamEvent[] = this.start();
    if (!this.textEmitted && result.result && !refused) {
      // Nothing streamed (a local command, a synthetic answer): the result text is the answer.
      out.push(...this.textBlock(result.result));
    }
    const total = usageFrom(result.usage);
    this.usage = this.opts.reported ? subtractUsage(total, this.opts.reported) : total;
    this.stopReason = runStopReason(result.stop_reason ?? this.turnStop);
    const details =
      this.stopReason === 'refusal' && this.stopDetails ? { stop_details: this.stopDetails } : {};
    out.push(
      {
        type: 'message_delta',
        delta: { stop_reason: this.stopReason, stop_sequence: null, ...details },
        usage: wireUsage(this.usage),
      },
      { type: 'message_stop' },
    );
    return out;
  }
}

/** An answer of the model, not one Claude Code wrote itself (API errors, interruptions). */
function isModelReply(msg: Extract<SDKMessage, { type: 'assistant' }>): boolean {
  const m = msg.message as unknown as Partial<WholeMessage>;
  return !msg.error && m.model !== '<synthetic>' && typeof m.id === 'string' && Array.isArray(m.content);
}

function isBlockOf(msg: SDKMessage, id: string): boolean {
  return msg.type === 'assistant' && msg.parent_tool_use_id === null && msg.message.id === id;
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}
