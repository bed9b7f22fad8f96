/**
 * Starting an agent: a cold Claude Code process (`query()` in streaming-input mode, every process
 * spawned through the tracker), a spare's process (its options), or a pre-warmed spare claimed with
 * a request's settings; and the transcript that carries a stateless conversation's history. Each
 * process gets the login it needs in its own options (login.ts).
 */
import type { Options } from '@anthropic-ai/claude-agent-sdk';
import type { Settings } from '../../config/schema.ts';
import { Agent, InputQueue } from './agent.ts';
import type { Slot } from './agent-slots.ts';
import type { ClaudeBinary } from './binary.ts';
import { CLIENT_SERVER, ClientToolBridge, type ClientToolSet, clientToolServer } from './client-tools.ts';
import type { AgentLogin, LentLogin } from './login.ts';
import { agentModules } from './modules.ts';
import {
  type ColdExtras,
  claimOptions,
  coldOptions,
  type HostDeps,
  hostOptions,
  hostSignature,
  type RunConfig,
} from './options.ts';
import type { ProcessTracker } from './processes.ts';
import type { PromptPlan } from './prompt.ts';
import type { ParkedSpare } from './spares.ts';
import { transcriptEntries } from './transcript.ts';

export interface StarterDeps {
  settings: Settings;
  /** The agents' environment (see options.ts agentEnv), shared and never changed. */
  env: Record<string, string | undefined>;
  /** The login lent to each new agent, if any. */
  login: AgentLogin;
  binary: ClaudeBinary;
  tracker: ProcessTracker;
  /** Claude Code's version, for transcripts (when known). */
  version: () => string | undefined;
}

export class AgentStarter {
  private readonly d: StarterDeps;

  constructor(deps: StarterDeps) {
    this.d = deps;
  }

  /**
   * A new process, holding `slot` until it exits. Throws the 503 for a missing binary before
   * spawning anything.
   */
  cold(
    cfg: RunConfig,
    tools: ClientToolSet | undefined,
    extras: ColdExtras,
    stateless: boolean,
    slot?: Slot,
  ): Agent {
    const problem = this.d.binary.check();
    if (problem) throw problem;
    const input = new InputQueue();
    let onSpawn!: (pid: number) => void;
    const pid = new Promise<number>((r) => {
      onSpawn = r;
    });
    const bridge = new ClientToolBridge();
    const mcpServers = tools
      ? { [CLIENT_SERVER]: clientToolServer(tools, bridge, this.clientToolTimeoutMs()) }
      : undefined;
    const lent = cfg.login ?? this.d.login.spare();
    const login = lent.generation;
    const host = this.host(lent, (p) => {
      slot?.bind(p);
      onSpawn(p);
    });
    // query() spawns the process before it returns (no sessionStore): a slot still unbound after
    // it means no process was started.
    const q = agentModules().sdk.query({
      prompt: input,
      options: coldOptions(host, cfg, { ...extras, mcpServers }),
    });
    slot?.unlessBound();
    return new Agent({
      origin: 'cold',
      query: q,
      input,
      pid,
      signature: hostSignature(cfg),
      cwd: cfg.cwd,
      model: cfg.model,
      clientTools: tools,
      bridge,
      stateless,
      login,
    });
  }

  /** What every process of this backend starts with: executable, environment and its login, spawner. */
  private host(login: LentLogin, onSpawn: (pid: number) => void): HostDeps {
    return {
      settings: this.d.settings,
      env: { ...this.d.env, ...login.env },
      executable: this.d.binary.executable,
      spawn: this.d.tracker.spawner(onSpawn),
    };
  }

  /**
   * The options of a new spare, and the login generation they carry. Throws the 503 for a missing
   * binary.
   */
  spareOptions(onSpawn: (pid: number) => void): { options: Options; login: number } {
    const problem = this.d.binary.check();
    if (problem) throw problem;
    const login = this.d.login.spare();
    return { options: hostOptions(this.host(login, onSpawn)), login: login.generation };
  }

  /** Bind a pre-warmed spare to a session with this request's settings (no prompt sent yet). */
  claim(spare: ParkedSpare, cfg: RunConfig): Agent {
    const input = new InputQueue();
    const q = spare.process.claim({ prompt: input, options: claimOptions(cfg) });
    const agent = new Agent({
      origin: 'warm',
      query: q,
      input,
      pid: spare.pid === undefined ? new Promise(() => {}) : Promise.resolve(spare.pid),
      signature: hostSignature(cfg),
      cwd: cfg.cwd,
      model: cfg.model,
      stateless: true,
      login: spare.login,
    });
    spare.process.claimed.then(
      (c) => {
        agent.sessionId ??= c.sessionId;
      },
      () => {
        // A refusal is answered in the message stream as `not_claimed`: see turn.ts coldFallback.
      },
    );
    return agent;
  }

  /** The transcript entries of a plan's history, client tools under the names the agent knows. */
  transcript(plan: PromptPlan, cfg: RunConfig, sessionId: string, tools: ClientToolSet | undefined) {
    const byClientName = new Map(
      [...(tools?.names ?? [])].map(([agentName, clientName]) => [clientName, agentName]),
    );
    return transcriptEntries(plan.history, {
      sessionId,
      cwd: cfg.cwd,
      model: cfg.model ?? 'claude',
      version: this.d.version(),
      toolName: (name) => byClientName.get(name) ?? name,
    });
  }

  /** Claude Code's own limit on a client tool call: ours (client_tool_timeout_s) is enforced first. */
  clientToolTimeoutMs(): number {
    return Math.max(1000, (this.d.settings.claude.client_tool_timeout_s + 60) * 1000);
  }
}
