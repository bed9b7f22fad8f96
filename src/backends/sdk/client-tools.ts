/**
 * Client tools: the `tools` a client sends expect the client to execute them. The agent gets them
 * as an in-process MCP server (`ccproxy_client`) whose handler does not run anything: it waits,
 * keyed by the tool_use id, for the client to send the result in its next request. Meanwhile the
 * response ends with a real `tool_use` block (see translate.ts) and the agent run stays suspended
 * inside the handler, so the client's `tool_result` resumes that same run.
 *
 * One tool may be the *answer tool*: the stand-in for structured output (formats/structured-output.ts),
 * whose input is the answer. The client never sees it as a call and never sends a result, so its
 * handler answers at once and ends the agent's turn (`claude/endTurn`, as Claude Code's own
 * structured output does): the run is complete, not suspended. `AnswerAsText` turns the call into
 * the answer's text.
 */
import type { McpSdkServerConfigWithInstance } from '@anthropic-ai/claude-agent-sdk';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { MessagesRequest, StreamEvent, Tool, ToolResultBlock } from '../../formats/anthropic/types.ts';
import { agentModules } from './modules.ts';

export const CLIENT_SERVER = 'ccproxy_client';
const PREFIX = `mcp__${CLIENT_SERVER}__`;
/** The `_meta` key Claude Code puts the calling tool_use id under. */
const TOOL_USE_ID_META = 'claudecode/toolUseId';
/** A tool result `_meta` key: Claude Code ends the turn on this result, with no further model call. */
const END_TURN_META = 'claude/endTurn';

/** The name the agent knows a client tool by. */
export function agentToolName(clientName: string): string {
  return `${PREFIX}${clientName.replace(/[^a-zA-Z0-9_-]/g, '_')}`;
}

export interface ClientToolSet {
  tools: Tool[];
  /** Agent-side name → the client's own name. */
  names: Map<string, string>;
  /** Equal sets have equal signatures (a live agent keeps its server while the set is unchanged). */
  signature: string;
  /** The client name of the answer tool (structured output), if one is among the tools. */
  answer?: string;
}

/**
 * The client's tools the agent can call, or undefined. Server tools (`web_search_…`, with a
 * `type`) are left out: the agent has its own. `tool_choice: none` means no client tools.
 */
export function clientToolSet(
  request: Pick<MessagesRequest, 'tools' | 'tool_choice'>,
  answerTool?: string,
): ClientToolSet | undefined {
  if (!request.tools?.length || request.tool_choice?.type === 'none') return undefined;
  const tools = request.tools.filter(
    (t) => typeof t.name === 'string' && t.name !== '' && (t.type === undefined || t.type === 'custom'),
  );
  if (tools.length === 0) return undefined;
  const names = new Map(tools.map((t) => [agentToolName(t.name), t.name]));
  const answer = tools.some((t) => t.name === answerTool) ? answerTool : undefined;
  // The answer tool's handler differs from a client tool's: part of the signature.
  const signature = JSON.stringify([
    tools.map((t) => [t.name, t.description ?? '', t.input_schema ?? {}]),
    answer ?? null,
  ]);
  return { tools, names, signature, answer };
}

interface Waiter {
  resolve: (r: CallToolResult) => void;
  promise: Promise<CallToolResult>;
  /** The client's result (or an error) is in; the handler may not have asked for it yet. */
  settled: boolean;
}

/** Results the client owes, by tool_use id. One per agent. */
export class ClientToolBridge {
  private readonly waiters = new Map<string, Waiter>();
  /** Announced calls without a handler yet, in order, with their client name (for CLIs without the id in `_meta`). */
  private readonly announced: Array<{ id: string; name: string }> = [];

  private entry(id: string): Waiter {
    let w = this.waiters.get(id);
    if (!w) {
      let resolve!: (r: CallToolResult) => void;
      const promise = new Promise<CallToolResult>((r) => {
        resolve = r;
      });
      w = { resolve, promise, settled: false };
      this.waiters.set(id, w);
    }
    return w;
  }

  /** The response told the client about this call. */
  announce(id: string, agentName: string): void {
    this.entry(id);
    this.announced.push({ id, name: agentName });
  }

  /** The MCP handler waits here for the client's result. */
  wait(id: string | undefined, agentName: string): Promise<CallToolResult> {
    const i = this.announced.findIndex((a) => (id ? a.id === id : a.name === agentName));
    const key = id ?? this.announced[i]?.id;
    if (i >= 0) this.announced.splice(i, 1);
    if (!key) return Promise.resolve(errorResult('ccproxy could not match this call to a client request.'));
    const w = this.entry(key);
    // Taken: forgotten once its result is in (parallel calls' handlers run one after another, so a
    // later one finds its result already waiting).
    void w.promise.then(() => {
      if (this.waiters.get(key) === w) this.waiters.delete(key);
    });
    return w.promise;
  }

  /** The client sent a result. */
  resolve(id: string, result: CallToolResult): boolean {
    const w = this.waiters.get(id);
    if (!w || w.settled) return false;
    w.settled = true;
    w.resolve(result);
    return true;
  }

  /** A call still waiting for the client's result. */
  has(id: string): boolean {
    return this.waiters.get(id)?.settled === false;
  }

  pendingIds(): string[] {
    return [...this.waiters].filter(([, w]) => !w.settled).map(([id]) => id);
  }

  /** Answer every open call with an error (the client gave up, timed out, or the run ends). */
  failAll(message: string): void {
    for (const id of this.pendingIds()) this.resolve(id, errorResult(message));
    this.announced.length = 0;
  }
}

/** The answer tool's result: nothing to wait for, and the agent's turn ends with the call. */
function answerDelivered(): CallToolResult {
  return {
    content: [{ type: 'text', text: 'The answer was delivered to the client.' }],
    _meta: { [END_TURN_META]: true },
  };
}

export function errorResult(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

/** A client's tool_result block as an MCP tool result. */
export function toCallToolResult(block: ToolResultBlock): CallToolResult {
  const content: CallToolResult['content'] = [];
  if (typeof block.content === 'string') {
    if (block.content !== '') content.push({ type: 'text', text: block.content });
  } else if (Array.isArray(block.content)) {
    for (const b of block.content) {
      if (b.type === 'text') content.push({ type: 'text', text: b.text });
      else if (b.type === 'image' && b.source.type === 'base64')
        content.push({ type: 'image', data: b.source.data, mimeType: b.source.media_type });
      else if (b.type === 'image' && b.source.type === 'url')
        content.push({ type: 'text', text: `[image: ${b.source.url}]` });
      else if (b.type === 'document' && b.source.type === 'text')
        content.push({ type: 'text', text: b.source.data });
    }
  }
  if (content.length === 0) content.push({ type: 'text', text: block.is_error ? 'Error' : '(no output)' });
  return block.is_error ? { content, isError: true } : { content };
}

/**
 * The in-process MCP server that offers a client's tools to the agent. Tool schemas go through
 * untouched (JSON Schema as the client wrote it); every tool is always loaded, never deferred
 * behind tool search.
 */
export function clientToolServer(
  set: ClientToolSet,
  bridge: ClientToolBridge,
  timeoutMs: number,
): McpSdkServerConfigWithInstance {
  const { mcp, mcpTypes } = agentModules();
  const instance = new mcp.McpServer(
    { name: CLIENT_SERVER, version: '1.0.0' },
    { capabilities: { tools: { listChanged: false } } },
  );
  const byAgentName = new Map(set.tools.map((t) => [agentToolName(t.name), t]));
  instance.server.setRequestHandler(mcpTypes.ListToolsRequestSchema, async () => ({
    tools: set.tools.map((t) => ({
      name: agentToolName(t.name).slice(PREFIX.length),
      description: t.description ?? '',
      inputSchema: (t.input_schema ?? { type: 'object', properties: {} }) as { type: 'object' },
      _meta: { 'anthropic/alwaysLoad': true },
    })),
  }));
  instance.server.setRequestHandler(mcpTypes.CallToolRequestSchema, async (req) => {
    const agentName = `${PREFIX}${req.params.name}`;
    if (!byAgentName.has(agentName)) return errorResult(`Unknown tool ${req.params.name}.`);
    if (set.answer !== undefined && agentName === agentToolName(set.answer)) return answerDelivered();
    const meta = req.params._meta as Record<string, unknown> | undefined;
    const id = typeof meta?.[TOOL_USE_ID_META] === 'string' ? (meta[TOOL_USE_ID_META] as string) : undefined;
    return bridge.wait(id, agentName);
  });
  // The tool-call timeout is ours to enforce (claude.client_tool_timeout_s); Claude Code's is a backstop.
  return { type: 'sdk', name: CLIENT_SERVER, instance, timeout: timeoutMs };
}

/**
 * The answer tool's call as the answer's text, for every client format (an Anthropic client that sent
 * `output_config.format` gets a text block of JSON, as from the API). The answer is the tool's input
 * alone: text written before the call (a preamble, the agent's tool lines) is held back and dropped
 * once the call starts, and given out only if the turn ends without one. A response whose only
 * client calls are the answer ends with `end_turn`. Block indexes are renumbered to stay dense.
 */
export class AnswerAsText {
  private readonly tool: string;
  /** Incoming block index → what it became: an outgoing index, held text, or dropped. */
  private readonly blocks = new Map<number, number | 'held' | 'dropped'>();
  private held: StreamEvent[] = [];
  private next = 0;
  /** The outgoing index of the answer's text block, once the call has started. */
  private answerIndex?: number;
  private otherCalls = false;

  constructor(answerTool: string) {
    this.tool = answerTool;
  }

  push(ev: StreamEvent): StreamEvent[] {
    switch (ev.type) {
      case 'content_block_start':
        return this.start(ev);
      case 'content_block_delta':
      case 'content_block_stop':
        return this.inBlock(ev);
      case 'message_delta': {
        if (!this.answered() || this.otherCalls) return [...this.flush(), ev];
        const stop = ev.delta.stop_reason === 'tool_use' ? 'end_turn' : ev.delta.stop_reason;
        return [{ ...ev, delta: { ...ev.delta, stop_reason: stop } }];
      }
      default:
        return [ev];
    }
  }

  private start(ev: Extract<StreamEvent, { type: 'content_block_start' }>): StreamEvent[] {
    const block = ev.content_block as { type: string; name?: string };
    if (block.type === 'text') {
      this.blocks.set(ev.index, this.answered() ? 'dropped' : 'held');
      if (!this.answered()) this.held.push(ev);
      return [];
    }
    if (block.type === 'tool_use' && block.name === this.tool) {
      // Only the first call is the answer.
      if (this.answerIndex !== undefined) {
        this.blocks.set(ev.index, 'dropped');
        return [];
      }
      this.held = [];
      const index = this.claim(ev.index);
      this.answerIndex = index;
      return [{ type: 'content_block_start', index, content_block: { type: 'text', text: '' } }];
    }
    // A client's own call: the text before it is part of that answer. Thinking passes on its own.
    const out = block.type === 'tool_use' ? this.flush() : [];
    if (block.type === 'tool_use') this.otherCalls = true;
    out.push({ ...ev, index: this.claim(ev.index) });
    return out;
  }

  private inBlock(
    ev: Extract<StreamEvent, { type: 'content_block_delta' | 'content_block_stop' }>,
  ): StreamEvent[] {
    const to = this.blocks.get(ev.index);
    if (to === 'held') this.held.push(ev);
    if (typeof to !== 'number') return [];
    if (to === this.answerIndex && ev.type === 'content_block_delta' && ev.delta.type === 'input_json_delta')
      return [
        {
          type: 'content_block_delta',
          index: to,
          delta: { type: 'text_delta', text: ev.delta.partial_json },
        },
      ];
    return [{ ...ev, index: to }];
  }

  /** Give out the text held back (no answer came before something else did). */
  private flush(): StreamEvent[] {
    const out = this.held.map((ev) => {
      if (ev.type === 'content_block_start') return { ...ev, index: this.claim(ev.index) };
      return { ...ev, index: this.blocks.get((ev as { index: number }).index) as number };
    });
    this.held = [];
    return out as StreamEvent[];
  }

  private answered(): boolean {
    return this.answerIndex !== undefined;
  }

  private claim(incoming: number): number {
    const index = this.next++;
    this.blocks.set(incoming, index);
    return index;
  }
}
