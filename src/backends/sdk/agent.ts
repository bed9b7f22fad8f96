/**
 * One running Claude Code process in streaming-input mode: user turns go in through a queue, SDK
 * messages come out of one shared iterator. It outlives a request when it belongs to a session
 * (the next turn goes to the same process, no start-up, no resume) or when its run is suspended
 * in a client tool call.
 */
import { randomUUID } from 'node:crypto';
import type { McpServerConfig, Query, SDKMessage, SDKUserMessage } from '@anthropic-ai/claude-agent-sdk';
import { ProxyError } from '../../errors.ts';
import { CLIENT_SERVER, ClientToolBridge, type ClientToolSet, clientToolServer } from './client-tools.ts';
import type { Block, Turn } from './prompt.ts';
import type { TurnUsage } from './usage.ts';

/** An async iterable fed by hand: the agent's input stream. */
export class InputQueue implements AsyncIterable<SDKUserMessage> {
  private items: SDKUserMessage[] = [];
  private wake?: () => void;
  private ended = false;

  push(msg: SDKUserMessage): void {
    if (this.ended) return;
    this.items.push(msg);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<SDKUserMessage> {
    while (true) {
      const next = this.items.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((r) => {
        this.wake = r;
      });
      this.wake = undefined;
    }
  }
}

export type AgentOrigin = 'cold' | 'warm';

export interface AgentInit {
  origin: AgentOrigin;
  query: Query;
  input: InputQueue;
  /** Resolves with the pid once the process is spawned. */
  pid: Promise<number>;
  /** The host options it runs with (see options.ts hostSignature). */
  signature: string;
  cwd: string;
  model?: string;
  /** Client tool set given at start (cold starts pass it in the options). */
  clientTools?: ClientToolSet;
  /** The bridge that start-time client tool server answers through. */
  bridge?: ClientToolBridge;
  /** Serves stateless requests: keeps nothing, not even its transcript. */
  stateless: boolean;
  /** The generation of the login it was started with (see login.ts). */
  login: number;
}

export class Agent {
  readonly id = randomUUID();
  readonly origin: AgentOrigin;
  readonly signature: string;
  readonly cwd: string;
  readonly bridge: ClientToolBridge;
  readonly stateless: boolean;
  /** The generation of the login it was started with (see login.ts). */
  readonly login: number;
  readonly startedAt = Date.now();
  pid?: number;
  /** Claude Code's session id (learned from the first message). */
  sessionId?: string;
  /** The client session it serves (pool key), if any. */
  sessionKey?: string;
  /** A stateless conversation: its settings and turns so far (for conversation.ts). */
  conversation?: { scope: string; turns: Turn[] };
  /** Where the pool keeps it between the turns of a stateless conversation. */
  parkedKey?: string;
  /** A transcript ccproxy wrote for this run; removed when the agent is retired. */
  ephemeralTranscript?: string;
  model?: string;
  busy = false;
  lastUsed = Date.now();
  /** total_cost_usd of the last result (cumulative per process). */
  costUsd = 0;
  /** Tokens already reported to the client in this user turn (before a client tool call). */
  reported?: TurnUsage;
  /** Agent-side name → client name of the client tools it currently offers. */
  clientToolNames: ReadonlyMap<string, string> = new Map();
  closed = false;

  private readonly query: Query;
  private readonly input: InputQueue;
  private clientToolsSignature = '';
  private pending?: Promise<IteratorResult<SDKMessage>>;

  constructor(init: AgentInit) {
    this.origin = init.origin;
    this.query = init.query;
    this.input = init.input;
    this.signature = init.signature;
    this.cwd = init.cwd;
    this.model = init.model;
    this.stateless = init.stateless;
    this.login = init.login;
    this.bridge = init.bridge ?? new ClientToolBridge();
    this.clientToolsSignature = init.clientTools?.signature ?? '';
    this.clientToolNames = init.clientTools?.names ?? new Map();
    init.pid.then(
      (pid) => {
        this.pid = pid;
      },
      () => {},
    );
  }

  /**
   * Send the next user turn, as data: `client_composed` tells Claude Code the text was not typed by
   * its user, so `@path` is not read into the prompt, `/command` is not run, `!` is not a shell
   * escape. Whoever can call the proxy writes this text; without the flag `@~/.ssh/id_ed25519`
   * would send that file upstream whatever the tool permissions say. (It also skips Claude Code's
   * turn-start attachment pass; docs/sdk-mode.md, "Security", says what that costs.)
   */
  send(content: Block[]): void {
    this.lastUsed = Date.now();
    this.input.push({
      type: 'user',
      message: { role: 'user', content: content as SDKUserMessage['message']['content'] },
      parent_tool_use_id: null,
      client_composed: true,
    });
  }

  /**
   * The next SDK message. A call made while the previous one is still waiting gets the same
   * promise (a ping timer may give up waiting; the message is not lost).
   */
  next(): Promise<IteratorResult<SDKMessage>> {
    if (!this.pending) {
      this.pending = this.query.next().finally(() => {
        this.pending = undefined;
      });
    }
    return this.pending;
  }

  /** Offer this turn's client tools (replacing the previous set, if it changed). */
  async setClientTools(set: ClientToolSet | undefined, timeoutMs: number): Promise<void> {
    const signature = set?.signature ?? '';
    if (signature === this.clientToolsSignature) return;
    const servers: Record<string, McpServerConfig> = set
      ? { [CLIENT_SERVER]: clientToolServer(set, this.bridge, timeoutMs) }
      : {};
    const result = await this.query.setMcpServers(servers);
    const problem = result.errors?.[CLIENT_SERVER];
    if (problem) throw new ProxyError('upstream', `Claude Code refused the client's tools: ${problem}`);
    this.clientToolsSignature = signature;
    this.clientToolNames = set?.names ?? new Map();
  }

  async setModel(model: string | undefined): Promise<void> {
    if (model === this.model) return;
    await this.query.setModel(model);
    this.model = model;
  }

  /** Stop the current turn; the process stays up and answers it with an error result. */
  async interrupt(): Promise<void> {
    if (this.closed) return;
    const stopped = this.query.interrupt().catch(() => {
      // Already finished or closing: nothing to stop.
    });
    this.bridge.failAll('The request was cancelled before the client answered.');
    await stopped;
  }

  /** End the process (stdin closed; the SDK kills it after a short grace). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.bridge.failAll('The agent run was stopped.');
    this.input.end();
    try {
      this.query.close();
    } catch {
      // closing twice is fine
    }
  }
}
