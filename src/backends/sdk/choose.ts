/**
 * Which agent answers a request, ready for its turn (the new user turn already sent):
 *
 * 1. the request carries tool_result blocks for calls a suspended run made → that same run goes on;
 * 2. the request names a session → the session's running process, else Claude Code resumes the
 *    session from its transcript (a new session that arrives with history is seeded with it);
 * 3. a stateless request with history → the agent that gave this very conversation's last answer,
 *    if it still runs; else a cold start resuming a transcript ccproxy writes from the history, so
 *    the agent sees the earlier turns as real turns;
 * 4. a stateless request with one user message → a pre-warmed spare, else a cold start.
 *
 * Every new process takes a slot under `claude.max_concurrent_agents` first (agent-slots.ts).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Abortable } from '../../abort.ts';
import type { MessagesRequest, TextBlock } from '../../formats/anthropic/types.ts';
import type { RequestContext } from '../backend.ts';
import type { AfterTurn } from './after-turn.ts';
import type { Agent } from './agent.ts';
import type { AgentLifecycle } from './agent-lifecycle.ts';
import type { AgentSlots, Slot } from './agent-slots.ts';
import { type ClientToolSet, clientToolSet, toCallToolResult } from './client-tools.ts';
import { conversationKey } from './conversation.ts';
import { type ColdExtras, fitsSpare, hostSignature, type RunConfig } from './options.ts';
import type { AgentPool } from './pool.ts';
import { type PromptPlan, resultsAsText, resultsIntoHistory } from './prompt.ts';
import { agentSessionId } from './session-id.ts';
import type { AgentStarter, StarterDeps } from './start.ts';
import { removeTranscript, transcriptExists, transcriptPath, writeTranscript } from './transcript.ts';

/** How long a claimed spare may take to accept the client's tools. */
const CLAIM_SETUP_MS = 10_000;

export interface ChooserDeps extends Pick<StarterDeps, 'settings' | 'env' | 'tracker' | 'login'> {
  log: Logger;
  pool: AgentPool;
  slots: AgentSlots;
  starter: AgentStarter;
  lifecycle: AgentLifecycle;
  after: AfterTurn;
}

/** The agent chosen for a turn. */
export interface Chosen {
  agent: Agent;
  /** Release the session lock (a no-op outside sessions). */
  release: () => void;
  /** A claimed spare failed before saying anything: start the same turn cold instead. */
  coldFallback?: () => Promise<Agent>;
}

const noLock = () => {};

/** Requests with equal keys can use the same pre-claimed spare (see spares.ts). */
export function claimKey(cfg: RunConfig): string {
  const parts = [cfg.cwd, cfg.model ?? '', cfg.permissionMode, cfg.maxThinkingTokens ?? '', cfg.system ?? ''];
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
}

export class AgentChooser {
  private readonly d: ChooserDeps;

  constructor(deps: ChooserDeps) {
    this.d = deps;
  }

  async choose(
    request: MessagesRequest,
    plan: PromptPlan,
    cfg: RunConfig,
    ctx: RequestContext,
  ): Promise<Chosen> {
    const resumed = await this.resumeSuspended(plan, ctx);
    if (resumed) return resumed;
    // Tool results that no suspended run waits for (ccproxy restarted, the wait timed out).
    const tools = clientToolSet(request, cfg.answerTool);
    if (ctx.sessionId)
      return this.sessionTurn(agentSessionId(ctx.sessionId), resultsAsText(plan), cfg, tools, ctx.signal);
    return this.statelessTurn(plan, cfg, tools, ctx.signal);
  }

  /** Case 1: the client answers tool calls of a suspended run. */
  private async resumeSuspended(plan: PromptPlan, ctx: RequestContext): Promise<Chosen | undefined> {
    const { pool, lifecycle } = this.d;
    let agent: Agent | undefined;
    for (const r of plan.toolResults) {
      agent = pool.suspended.take(r.tool_use_id);
      if (agent) break;
    }
    if (!agent) return undefined;
    if (lifecycle.died(agent)) {
      // Its process died while waiting: the results go the way of any unexpected ones.
      lifecycle.retire(agent, 'its process died while waiting for the client');
      return undefined;
    }
    const release = agent.sessionKey ? await pool.sessions.lock(agent.sessionKey) : noLock;
    lifecycle.work(agent);
    agent.lastUsed = Date.now();
    // Words the client sent along with its results reach the agent with the last result.
    const extra = plan.turn.filter((b) => b.type !== 'tool_result');
    const results = plan.toolResults.filter((r) => agent.bridge.has(r.tool_use_id));
    results.forEach((r, i) => {
      const res = toCallToolResult(r);
      if (i === results.length - 1 && extra.length > 0) {
        for (const b of extra)
          if (b.type === 'text') res.content.push({ type: 'text', text: (b as TextBlock).text });
      }
      agent.bridge.resolve(r.tool_use_id, res);
    });
    agent.bridge.failAll('The client sent no result for this call.');
    if (agent.conversation) {
      agent.conversation = {
        scope: agent.conversation.scope,
        turns: [...plan.history, { role: 'user', content: plan.turn }],
      };
    }
    ctx.log.debug(
      { agent: agent.id, pid: agent.pid, results: results.length },
      'sdk: resuming a suspended run',
    );
    return { agent, release };
  }

  /** Why a kept agent cannot take the turn (its process died, its login or options changed). */
  private unfit(agent: Agent, cfg: RunConfig, options = true): string | undefined {
    if (this.d.lifecycle.died(agent)) return 'its process died';
    if (!this.d.login.isCurrent(agent.login)) return 'its login was replaced';
    // Another account (or another token of it) for this request: never reuse across accounts.
    if (cfg.login && agent.login !== cfg.login.generation) return 'it runs on another account';
    if (!options) return undefined;
    if (cfg && agent.signature !== hostSignature(cfg)) return 'options changed';
    return undefined;
  }

  /** Case 2: a client session. */
  private async sessionTurn(
    key: string,
    plan: PromptPlan,
    cfg: RunConfig,
    tools: ClientToolSet | undefined,
    signal: Abortable,
  ): Promise<Chosen> {
    const { pool, lifecycle } = this.d;
    const release = await pool.sessions.lock(key);
    try {
      let agent = pool.sessions.get(key);
      const dead = agent !== undefined && lifecycle.died(agent);
      if (agent && !dead && pool.suspended.has(agent)) await this.d.after.abandon(agent);
      const unfit = agent && (agent.closed ? 'closed' : this.unfit(agent, cfg));
      if (agent && unfit) {
        pool.sessions.drop(key, agent);
        lifecycle.retire(agent, unfit);
        // Claude Code refuses a session that another of its processes still holds.
        if (agent.pid !== undefined) await this.d.tracker.kill(agent.pid, 3000);
        agent = undefined;
      }
      if (agent) {
        pool.counters.session_reuses++;
        lifecycle.work(agent);
        await agent.setModel(cfg.model);
        await agent.setClientTools(tools, this.d.starter.clientToolTimeoutMs());
      } else {
        agent = await this.withSlot(signal, async (slot) => {
          const file = transcriptPath(this.d.env, cfg.cwd, key);
          let extras: ColdExtras;
          if (await transcriptExists(file)) extras = { resume: key };
          else if (plan.history.length > 0) {
            await writeTranscript(file, this.d.starter.transcript(plan, cfg, key, tools));
            extras = { resume: key };
          } else extras = { sessionId: key };
          return this.cold(slot, cfg, tools, extras, false);
        });
      }
      agent.sessionKey = key;
      agent.send(plan.turn);
      return { agent, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Cases 3 and 4: no session. */
  private async statelessTurn(
    original: PromptPlan,
    cfg: RunConfig,
    tools: ClientToolSet | undefined,
    signal: Abortable,
  ): Promise<Chosen> {
    const scope = `${claimKey(cfg)}:${hostSignature(cfg)}`;
    const conversation = {
      scope,
      turns: [...original.history, { role: 'user' as const, content: original.turn }],
    };
    const reused = await this.reuseConversation(original, scope, tools, cfg);
    if (reused) {
      reused.conversation = conversation;
      return { agent: reused, release: noLock };
    }
    const started = await this.statelessAgent(resultsIntoHistory(original), cfg, tools, signal);
    started.agent.conversation = conversation;
    return started;
  }

  /** The agent that gave the last answer of this very conversation, if it still runs. */
  private async reuseConversation(
    plan: PromptPlan,
    scope: string,
    tools: ClientToolSet | undefined,
    cfg: RunConfig,
  ): Promise<Agent | undefined> {
    const { pool, settings, lifecycle } = this.d;
    if (!settings.claude.keep_conversations || plan.history.length === 0 || plan.toolResults.length > 0) {
      return undefined;
    }
    const key = conversationKey(scope, plan.history);
    const agent = pool.sessions.get(key);
    if (!agent || agent.busy) return undefined;
    pool.sessions.drop(key, agent);
    agent.parkedKey = undefined;
    const unfit = this.unfit(agent, cfg, false);
    if (unfit) {
      lifecycle.retire(agent, unfit);
      return undefined;
    }
    lifecycle.work(agent);
    try {
      await agent.setClientTools(tools, this.d.starter.clientToolTimeoutMs());
    } catch {
      lifecycle.retire(agent, 'client tools could not be set');
      return undefined;
    }
    pool.counters.conversation_reuses++;
    agent.send(plan.turn);
    return agent;
  }

  private async statelessAgent(
    plan: PromptPlan,
    cfg: RunConfig,
    tools: ClientToolSet | undefined,
    signal: Abortable,
  ): Promise<Chosen> {
    const { pool, settings, starter, lifecycle } = this.d;
    if (plan.history.length > 0) {
      const agent = await this.withSlot(signal, async (slot) => {
        const id = randomUUID();
        const file = transcriptPath(this.d.env, cfg.cwd, id);
        await writeTranscript(file, starter.transcript(plan, cfg, id, tools));
        // A history that ends with the client's tool results: Claude Code goes on from them itself.
        const env = plan.rerun ? { CLAUDE_CODE_RESUME_INTERRUPTED_TURN: '1' } : undefined;
        let started: Agent;
        try {
          started = this.cold(slot, cfg, tools, { resume: id, env }, true);
        } catch (err) {
          await removeTranscript(file).catch(() => {});
          throw err;
        }
        started.ephemeralTranscript = file;
        return started;
      });
      if (!plan.rerun) agent.send(plan.turn);
      return { agent, release: noLock };
    }
    const coldStart = async () => {
      const agent = await this.withSlot(signal, async (slot) => this.cold(slot, cfg, tools, {}, true));
      agent.send(plan.turn);
      return agent;
    };
    if (settings.claude.pool_size === 0 || !fitsSpare(cfg, settings)) {
      return { agent: await coldStart(), release: noLock };
    }
    const key = claimKey(cfg);
    const taken = pool.spares.take(
      { key, claim: (spare) => starter.claim(spare, cfg) },
      cfg.login?.generation,
    );
    if (!taken) return { agent: await coldStart(), release: noLock };
    const agent = taken.agent ?? starter.claim(taken.spare, cfg);
    if (taken.agent) pool.counters.preclaimed_hits++;
    lifecycle.work(agent);
    try {
      if (tools)
        await withTimeout(agent.setClientTools(tools, starter.clientToolTimeoutMs()), CLAIM_SETUP_MS);
    } catch {
      lifecycle.retire(agent, 'claim set-up failed');
      pool.counters.claim_refusals++;
      return { agent: await coldStart(), release: noLock };
    }
    pool.counters.warm_claims++;
    agent.send(plan.turn);
    return { agent, release: noLock, coldFallback: coldStart };
  }

  /**
   * Run `start` holding a process slot (claude.max_concurrent_agents): waits for one, or throws the
   * 429. The slot belongs to the process `start` spawned; it is given back when none was.
   */
  private async withSlot<T>(signal: Abortable, start: (slot: Slot) => Promise<T>): Promise<T> {
    const slot = await this.d.slots.acquire(signal);
    try {
      return await start(slot);
    } finally {
      slot.unlessBound();
    }
  }

  /** A new Claude Code process for this turn, working, holding `slot`. */
  private cold(
    slot: Slot,
    cfg: RunConfig,
    tools: ClientToolSet | undefined,
    extras: ColdExtras,
    stateless: boolean,
  ): Agent {
    const agent = this.d.starter.cold(cfg, tools, extras, stateless, slot);
    this.d.pool.counters.cold_starts++;
    this.d.lifecycle.work(agent);
    return agent;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
