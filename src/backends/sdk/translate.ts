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
 *
 * No I/O, no timers: feed it with `push`, read `phase`, `error`, `usage`.
 * Streaming events: https://docs.anthropic.com/en/api/messages-streaming
 */
import type { SDKAssistantMessageError, SDKMessage, SDKResultMessage } from '@anthropic-ai/claude-agent-sdk';
import type { ProxyError } from '../../errors.ts';
import type { ContentDelta, Message, StreamEvent, Usage } from '../../formats/anthropic/types.ts';
import { isNotClaimed, resultError } from './errors.ts';
import { runStopReason } from './stop-reason.ts';
import { formatToolCall, formatToolFailure } from './tool-display.ts';
import { addUsage, emptyTurnUsage, subtractUsage, type TurnUsage, usageFrom, wireUsage } from './usage.ts';

export type Phase = 'streaming' | 'suspended' | 'done';

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
    if (this.phase === 'done') return [];
    switch (msg.type) {
      case 'stream_event':
        if (msg.parent_tool_use_id !== null) return [];
        return this.onStreamEvent(msg.event as unknown as StreamEvent);
      case 'assistant':
        if (msg.parent_tool_use_id === null && msg.error) this.assistantError = msg.error;
        return [];
      case 'user':
        return msg.parent_tool_use_id === null ? this.onToolResults(msg.message.content) : [];
      case 'result':
        return this.onResult(msg);
      default:
        return [];
    }
  }

  private onStreamEvent(ev: StreamEvent): StreamEvent[] {
    switch (ev.type) {
      case 'message_start': {
        this.blocks = new Map();
        this.turnUsage = usageFrom(ev.message.usage);
        this.turnStop = null;
        this.turnClientTools = 0;
        this.model ??= ev.message.model;
        return this.start(ev.message.usage);
      }
      case 'content_block_start':
        return this.onBlockStart(ev.index, ev.content_block as Record<string, unknown> & { type: string });
      case 'content_block_delta':
        return this.onBlockDelta(ev.index, ev.delta);
      case 'content_block_stop':
        return this.onBlockStop(ev.index);
      case 'message_delta': {
        this.turnStop = ev.delta.stop_reason ?? this.turnStop;
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
        const out: StreamEvent[] = [
          { type: 'content_block_start', index: b.out, content_block: { type: 'text', text: '' } },
        ];
        if (typeof cb.text === 'string' && cb.text !== '') out.push(...this.text(b, cb.text));
        return out;
      }
      case 'thinking': {
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
        if (delta.type === 'text_delta') return this.text(b, delta.text);
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
    return this.textBlock(formatToolCall(b.toolName ?? 'tool', parseJson(b.json ?? '')));
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
    if (this.turnClientTools === 0) return [];
    // The agent called a client tool: the client answers it, then the run goes on.
    this.phase = 'suspended';
    this.stopReason = 'tool_use';
    return [
      {
        type: 'message_delta',
        delta: { stop_reason: 'tool_use', stop_sequence: null },
        usage: wireUsage(this.usage),
      },
      { type: 'message_stop' },
    ];
  }

  private onResult(result: SDKResultMessage): StreamEvent[] {
    this.phase = 'done';
    this.result = result;
    const failed = result.subtype !== 'success' || result.is_error;
    if (failed) {
      if (isNotClaimed(result) && !this.started) this.notClaimed = true;
      this.error = resultError(result, this.assistantError, { maxTurns: this.opts.maxTurns });
      return [];
    }
    const out: StreamEvent[] = this.start();
    if (!this.textEmitted && result.result) {
      // Nothing streamed (a local command, a synthetic answer): the result text is the answer.
      out.push(...this.textBlock(result.result));
    }
    const total = usageFrom(result.usage);
    this.usage = this.opts.reported ? subtractUsage(total, this.opts.reported) : total;
    this.stopReason = runStopReason(result.stop_reason ?? this.turnStop);
    out.push(
      {
        type: 'message_delta',
        delta: { stop_reason: this.stopReason, stop_sequence: null },
        usage: wireUsage(this.usage),
      },
      { type: 'message_stop' },
    );
    return out;
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}
