/**
 * One SDK-mode request, start to end: pick the agent that answers it, send it the new user turn,
 * translate what it says into Anthropic events, and put the agent back where it belongs.
 *
 * Which agent answers:
 * 1. the request carries tool_result blocks for calls a suspended run made → that same run goes on;
 * 2. the request names a session → the session's running process, else Claude Code resumes the
 *    session from its transcript (a new session that arrives with history is seeded with it);
 * 3. a stateless request with one user message → a pre-warmed spare, else a cold start;
 * 4. a stateless request with history → a cold start that resumes a transcript ccproxy writes
 *    from the history, so the agent sees the earlier turns as real turns.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import type { Logger } from 'pino';
import { ProxyError } from '../../errors.ts';
import { MessageAccumulator } from '../../formats/anthropic/accumulate.ts';
import type { MessagesRequest, StreamEvent, TextBlock } from '../../formats/anthropic/types.ts';
import type { Reply, RequestContext } from '../backend.ts';
import type { Agent } from './agent.ts';
import type { AgentSlots, Slot } from './agent-slots.ts';
import { agentApiUrl, isApiRetry, RetryWatch, retryReason } from './api-retries.ts';
import { type ClientToolSet, clientToolSet, toCallToolResult } from './client-tools.ts';
import { conversationKey } from './conversation.ts';
import { firstLine, fromThrown, timedOut } from './errors.ts';
import { type ColdExtras, fitsSpare, hostSignature, type RunConfig, runConfig } from './options.ts';
import { overridePolicy, validateSdkOverrides } from './overrides.ts';
import type { AgentPool } from './pool.ts';
import { type Block, type PromptPlan, planPrompt, resultsAsText, resultsIntoHistory } from './prompt.ts';
import { agentSessionId } from './session-id.ts';
import { AgentStarter, type StarterDeps } from './start.ts';
import { removeTranscript, transcriptExists, transcriptPath, writeTranscript } from './transcript.ts';
import { SdkEventTranslator } from './translate.ts';
import { addUsage, toTokenUsage } from './usage.ts';
import { type AgentWorkdir, ensureAgentHome } from './workdir.ts';

/** How often an Anthropic stream gets a `ping` while the agent is busy with its tools. */
const PING_MS = 15_000;
/** How long a stopped run may take to report its end before its process is closed. */
const DRAIN_MS = 5_000;
/** How long a claimed spare may take to accept the client's tools. */
const CLAIM_SETUP_MS = 10_000;

export interface RunnerDeps extends StarterDeps {
  log: Logger;
  pool: AgentPool;
  /** The cap on Claude Code processes: every new one takes a slot first. */
  slots: AgentSlots;
  /** Where agents work when the request names no folder. */
  workdir: AgentWorkdir;
}

interface Turn {
  agent: Agent;
  cfg: RunConfig;
  ctx: RequestContext;
  stream: boolean;
  /** Release the session lock. */
  release: () => void;
  /** A claimed spare failed before saying anything: start the same turn cold instead. */
  coldFallback?: () => Promise<Agent>;
  /** Set when the agent's process ended or the SDK threw. */
  broken?: boolean;
  /** The answer as the client sees it, kept to recognise the conversation's next turn. */
  answer?: MessageAccumulator;
}

type Step =
  | { kind: 'msg'; msg: SDKMessage }
  | { kind: 'end' }
  | { kind: 'abort' }
  | { kind: 'timeout' }
  | { kind: 'ping' };

type Outcome = 'done' | 'suspended' | 'failed' | 'interrupted';

export function messageId(): string {
  return `msg_${randomBytes(18).toString('base64url').replace(/[-_]/g, 'x').slice(0, 24)}`;
}

/** Requests with equal keys can use the same pre-claimed spare (see pool.ts). */
export function claimKey(cfg: RunConfig): string {
  const parts = [cfg.cwd, cfg.model ?? '', cfg.permissionMode, cfg.maxThinkingTokens ?? '', cfg.system ?? ''];
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
}

/** The client's overrides: ctx.extras (the `ccproxy` object), else the body's own `ccproxy`. */
export function overridesOf(ctx: Pick<RequestContext, 'extras'>, request: MessagesRequest): unknown {
  const extras = ctx.extras;
  if (extras && Object.keys(extras).length === 1 && 'ccproxy' in extras) return extras.ccproxy;
  if (extras && Object.keys(extras).length > 0) return extras;
  return request.ccproxy;
}

export class SdkRunner {
  private readonly d: RunnerDeps;
  private readonly starter: AgentStarter;
  private readonly locks = new Map<string, Promise<void>>();
  /** Agents working on a request right now (closed on shutdown). */
  private readonly running = new Set<Agent>();
  private readonly cleanups = new Set<Promise<void>>();

  constructor(deps: RunnerDeps) {
    this.d = deps;
    this.starter = new AgentStarter(deps);
  }

  async send(request: MessagesRequest, ctx: RequestContext): Promise<Reply> {
    const { settings, pool } = this.d;
    const overrides = validateSdkOverrides(overridesOf(ctx, request), overridePolicy(settings));
    const plan = planPrompt(request);
    const { workdir } = this.d;
    if (workdir.isDefault) ensureAgentHome(workdir.dir);
    const cfg = runConfig(settings, overrides, request, plan.system, workdir.dir);
    if (cfg.droppedTools.length > 0) {
      ctx.log.warn(
        { dropped: cfg.droppedTools },
        'sdk: ccproxy.allowed_tools names tools claude.allowed_tools does not allow; left out',
      );
    }
    const stream = request.stream === true;
    if (settings.claude.pool_size > 0) pool.activate();

    const resumed = await this.resumeSuspended(plan, ctx);
    if (resumed) return droppedHeader(await this.respond({ ...resumed, cfg, ctx, stream }), cfg);

    // Tool results that no suspended run waits for (ccproxy restarted, the wait timed out).
    const tools = clientToolSet(request);
    const turn = ctx.sessionId
      ? await this.startSessionTurn(
          agentSessionId(ctx.sessionId),
          resultsAsText(plan),
          cfg,
          tools,
          ctx.signal,
        )
      : await this.startStatelessTurn(plan, cfg, tools, ctx.signal);
    return droppedHeader(await this.respond({ ...turn, cfg, ctx, stream }), cfg);
  }

  // ── choosing the agent ────────────────────────────────────────────────────────────────────

  /** Case 1: the client answers tool calls of a suspended run. */
  private async resumeSuspended(
    plan: PromptPlan,
    ctx: RequestContext,
  ): Promise<Pick<Turn, 'agent' | 'release'> | undefined> {
    let agent: Agent | undefined;
    for (const r of plan.toolResults) {
      agent = this.d.pool.takeSuspended(r.tool_use_id);
      if (agent) break;
    }
    if (!agent) return undefined;
    if (agent.pid !== undefined && !this.d.tracker.isAlive(agent.pid)) {
      // Its process died while waiting: the results go the way of any unexpected ones.
      this.retire(agent, 'its process died while waiting for the client');
      return undefined;
    }
    const release = agent.sessionKey ? await this.lock(agent.sessionKey) : () => {};
    this.running.add(agent);
    agent.busy = true;
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

  /** Case 2: a client session. */
  private async startSessionTurn(
    key: string,
    plan: PromptPlan,
    cfg: RunConfig,
    tools: ClientToolSet | undefined,
    signal: AbortSignal,
  ): Promise<Pick<Turn, 'agent' | 'release'>> {
    const { pool } = this.d;
    const release = await this.lock(key);
    try {
      let agent = pool.session(key);
      const dead = agent?.pid !== undefined && !this.d.tracker.isAlive(agent.pid);
      if (agent && !dead && pool.isSuspended(agent)) await this.abandon(agent);
      if (agent && (dead || agent.closed || agent.signature !== hostSignature(cfg))) {
        pool.dropSession(key, agent);
        this.retire(agent, dead ? 'its process died' : 'options changed');
        // Claude Code refuses a session that another of its processes still holds.
        if (agent.pid !== undefined) await this.d.tracker.kill(agent.pid, 3000);
        agent = undefined;
      }
      if (agent) {
        pool.counters.session_reuses++;
        this.running.add(agent);
        agent.busy = true;
        await agent.setModel(cfg.model);
        await agent.setClientTools(tools, this.starter.clientToolTimeoutMs());
      } else {
        agent = await this.withSlot(signal, async (slot) => {
          const file = transcriptPath(this.d.env, cfg.cwd, key);
          let extras: ColdExtras;
          if (await transcriptExists(file)) extras = { resume: key };
          else if (plan.history.length > 0) {
            await writeTranscript(file, this.starter.transcript(plan, cfg, key, tools));
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
  private async startStatelessTurn(
    original: PromptPlan,
    cfg: RunConfig,
    tools: ClientToolSet | undefined,
    signal: AbortSignal,
  ): Promise<Pick<Turn, 'agent' | 'release' | 'coldFallback'>> {
    const scope = `${claimKey(cfg)}:${hostSignature(cfg)}`;
    const conversation = {
      scope,
      turns: [...original.history, { role: 'user' as const, content: original.turn }],
    };
    const reused = await this.reuseConversation(original, scope, tools);
    if (reused) {
      reused.conversation = conversation;
      return { agent: reused, release: () => {} };
    }
    const started = await this.startStatelessAgent(resultsIntoHistory(original), cfg, tools, signal);
    started.agent.conversation = conversation;
    return started;
  }

  /** The agent that gave the last answer of this very conversation, if it still runs. */
  private async reuseConversation(
    plan: PromptPlan,
    scope: string,
    tools: ClientToolSet | undefined,
  ): Promise<Agent | undefined> {
    const { pool, settings } = this.d;
    if (!settings.claude.keep_conversations || plan.history.length === 0 || plan.toolResults.length > 0) {
      return undefined;
    }
    const key = conversationKey(scope, plan.history);
    const agent = pool.session(key);
    if (!agent || agent.busy) return undefined;
    pool.dropSession(key, agent);
    agent.parkedKey = undefined;
    if (agent.pid !== undefined && !this.d.tracker.isAlive(agent.pid)) {
      this.retire(agent, 'its process died');
      return undefined;
    }
    this.running.add(agent);
    agent.busy = true;
    try {
      await agent.setClientTools(tools, this.starter.clientToolTimeoutMs());
    } catch {
      this.retire(agent, 'client tools could not be set');
      return undefined;
    }
    pool.counters.conversation_reuses++;
    agent.send(plan.turn);
    return agent;
  }

  private async startStatelessAgent(
    plan: PromptPlan,
    cfg: RunConfig,
    tools: ClientToolSet | undefined,
    signal: AbortSignal,
  ): Promise<Pick<Turn, 'agent' | 'release' | 'coldFallback'>> {
    const { pool, settings } = this.d;
    if (plan.history.length > 0) {
      const agent = await this.withSlot(signal, async (slot) => {
        const id = randomUUID();
        const file = transcriptPath(this.d.env, cfg.cwd, id);
        await writeTranscript(file, this.starter.transcript(plan, cfg, id, tools));
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
      return { agent, release: () => {} };
    }
    const coldStart = async () => {
      const agent = await this.withSlot(signal, async (slot) => this.cold(slot, cfg, tools, {}, true));
      agent.send(plan.turn);
      return agent;
    };
    if (settings.claude.pool_size === 0 || !fitsSpare(cfg, settings)) {
      return { agent: await coldStart(), release: () => {} };
    }
    const key = claimKey(cfg);
    const taken = pool.takeSpare({ key, claim: (spare, pid) => this.starter.claim(spare, pid, cfg) });
    if (!taken) return { agent: await coldStart(), release: () => {} };
    const agent = taken.agent ?? this.starter.claim(taken.spare, taken.pid, cfg);
    if (taken.agent) pool.counters.preclaimed_hits++;
    this.running.add(agent);
    agent.busy = true;
    try {
      if (tools)
        await withTimeout(agent.setClientTools(tools, this.starter.clientToolTimeoutMs()), CLAIM_SETUP_MS);
    } catch {
      this.retire(agent, 'claim set-up failed');
      pool.counters.claim_refusals++;
      return { agent: await coldStart(), release: () => {} };
    }
    pool.counters.warm_claims++;
    agent.send(plan.turn);
    return { agent, release: () => {}, coldFallback: coldStart };
  }

  /**
   * Run `start` holding a process slot (claude.max_concurrent_agents): waits for one, or throws the
   * 429. The slot belongs to the process `start` spawned; it is given back when none was.
   */
  private async withSlot<T>(signal: AbortSignal, start: (slot: Slot) => Promise<T>): Promise<T> {
    const slot = await this.d.slots.acquire(signal);
    try {
      return await start(slot);
    } finally {
      slot.unlessBound();
    }
  }

  /** A new Claude Code process for this turn, counted as running, holding `slot`. */
  private cold(
    slot: Slot,
    cfg: RunConfig,
    tools: ClientToolSet | undefined,
    extras: ColdExtras,
    stateless: boolean,
  ): Agent {
    const agent = this.starter.cold(cfg, tools, extras, stateless, slot);
    this.d.pool.counters.cold_starts++;
    this.running.add(agent);
    agent.busy = true;
    return agent;
  }

  // ── answering ────────────────────────────────────────────────────────────────────────────

  private async respond(turn: Turn): Promise<Reply> {
    const { agent, cfg } = turn;
    if (agent.conversation && this.d.settings.claude.keep_conversations)
      turn.answer = new MessageAccumulator();
    const translator = new SdkEventTranslator({
      messageId: messageId(),
      model: cfg.model ?? 'claude',
      toolDisplay: cfg.toolDisplay,
      clientTools: agent.clientToolNames,
      reported: agent.reported,
      maxTurns: cfg.maxTurns,
    });
    const events = this.events(turn, translator);
    const retryCold = async (err: unknown): Promise<Reply> => {
      const spareFailed = translator.notClaimed || (turn.broken && !translator.hasStarted);
      if (!(spareFailed && turn.coldFallback)) throw err;
      this.d.pool.counters.claim_refusals++;
      turn.ctx.log.debug('sdk: spare refused its claim; starting cold');
      const cold = await turn.coldFallback();
      cold.conversation = agent.conversation;
      return this.respond({ ...turn, agent: cold, coldFallback: undefined });
    };
    if (!turn.stream) {
      const acc = new MessageAccumulator();
      try {
        for await (const ev of events) acc.push(ev);
      } catch (err) {
        return retryCold(err);
      }
      return { type: 'message', message: acc.message() };
    }
    // Read up to the first event, so that failures before any output are a proper HTTP error.
    let first: IteratorResult<StreamEvent>;
    try {
      first = await events.next();
    } catch (err) {
      return retryCold(err);
    }
    return { type: 'stream', events: prepend(first, events) };
  }

  private async *events(turn: Turn, tr: SdkEventTranslator): AsyncGenerator<StreamEvent> {
    const { agent, cfg, ctx } = turn;
    const deadline = cfg.timeoutS > 0 ? Date.now() + cfg.timeoutS * 1000 : Number.POSITIVE_INFINITY;
    const apiRetries = new RetryWatch(
      this.d.settings.claude.api_retry_max_s * 1000,
      agentApiUrl(this.d.env),
      Date.now(),
    );
    let outcome: Outcome = 'interrupted';
    try {
      while (true) {
        let step: Step;
        try {
          step = await this.nextStep(agent, ctx.signal, deadline, turn.stream ? PING_MS : 0);
        } catch (err) {
          outcome = 'failed';
          turn.broken = true;
          const stderr = agent.pid === undefined ? '' : (this.d.tracker.info(agent.pid)?.stderr ?? '');
          throw fromThrown(err, this.d.binary.path, stderr);
        }
        if (step.kind === 'ping') {
          if (tr.hasStarted) yield { type: 'ping' };
          continue;
        }
        if (step.kind === 'abort') throw abortReason(ctx.signal);
        if (step.kind === 'timeout') throw timedOut(cfg.timeoutS);
        if (step.kind === 'end') {
          outcome = 'failed';
          turn.broken = true;
          throw this.exitedEarly(agent);
        }
        const msg = step.msg;
        if (!agent.sessionId && 'session_id' in msg && typeof msg.session_id === 'string') {
          agent.sessionId = msg.session_id;
        }
        if (isApiRetry(msg)) {
          ctx.record.retries++;
          ctx.record.retryReasons = [...(ctx.record.retryReasons ?? []), retryReason(msg)];
        }
        const givenUp = apiRetries.note(msg, Date.now());
        if (givenUp) {
          // The agent would go on retrying for minutes while the client waits: end it here.
          outcome = 'failed';
          ctx.log.warn(
            { retries: ctx.record.retries, kind: givenUp.kind },
            'sdk: agent API calls kept failing',
          );
          throw givenUp;
        }
        for (const ev of tr.push(msg)) {
          turn.answer?.push(ev);
          yield ev;
        }
        if (tr.phase !== 'streaming') break;
      }
      outcome = tr.phase === 'suspended' ? 'suspended' : tr.error ? 'failed' : 'done';
      if (tr.error) throw tr.error;
    } finally {
      this.finish(turn, tr, outcome);
    }
  }

  private async nextStep(agent: Agent, signal: AbortSignal, deadline: number, pingMs: number): Promise<Step> {
    if (signal.aborted) return { kind: 'abort' };
    const timers: NodeJS.Timeout[] = [];
    let onAbort: (() => void) | undefined;
    try {
      const races: Promise<Step>[] = [
        agent.next().then((r): Step => (r.done ? { kind: 'end' } : { kind: 'msg', msg: r.value })),
        new Promise<Step>((resolve) => {
          onAbort = () => resolve({ kind: 'abort' });
          signal.addEventListener('abort', onAbort, { once: true });
        }),
      ];
      if (Number.isFinite(deadline)) {
        races.push(
          new Promise((resolve) => {
            timers.push(setTimeout(() => resolve({ kind: 'timeout' }), Math.max(0, deadline - Date.now())));
          }),
        );
      }
      if (pingMs > 0) {
        races.push(
          new Promise((resolve) => {
            timers.push(setTimeout(() => resolve({ kind: 'ping' }), pingMs));
          }),
        );
      }
      return await Promise.race(races);
    } finally {
      for (const t of timers) clearTimeout(t);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  private exitedEarly(agent: Agent): ProxyError {
    const tail = agent.pid === undefined ? '' : (this.d.tracker.info(agent.pid)?.stderr ?? '');
    const problem = this.d.binary.check();
    if (problem) return problem;
    return new ProxyError(
      'upstream',
      `Claude Code exited before it answered${tail.trim() ? `: ${firstLine(tail.trim().split('\n').at(-1) ?? '')}` : '.'}`,
    );
  }

  /** Put the agent back where it belongs and fill the request's record. */
  private finish(turn: Turn, tr: SdkEventTranslator, outcome: Outcome): void {
    const { agent, ctx } = turn;
    const { pool, settings } = this.d;
    const record = ctx.record;
    record.upstreamModel = tr.model ?? turn.cfg.model ?? record.upstreamModel;
    record.usage = toTokenUsage(tr.usage);
    if (tr.stopReason) record.stopReason = tr.stopReason;
    if (tr.result) {
      record.sdkTurns = tr.result.num_turns;
      record.sdkCostUsd = Math.max(0, tr.result.total_cost_usd - agent.costUsd);
      agent.costUsd = tr.result.total_cost_usd;
    }
    ctx.log.debug(
      { agent: agent.id, origin: agent.origin, pid: agent.pid, outcome, turns: tr.result?.num_turns },
      'sdk: run ended',
    );
    agent.lastUsed = Date.now();
    this.running.delete(agent);

    if (outcome === 'suspended') {
      agent.reported = agent.reported ? addUsage(agent.reported, tr.usage) : tr.usage;
      for (const call of tr.clientToolCalls) agent.bridge.announce(call.id, call.agentName);
      const seconds = settings.claude.client_tool_timeout_s;
      const ids = tr.clientToolCalls.map((c) => c.id);
      pool.suspend(agent, ids, Math.max(1, seconds) * 1000, () => {
        ctx.log.debug({ agent: agent.id }, 'sdk: client tool result never came; stopping the run');
        if (agent.sessionKey) {
          agent.bridge.failAll(`The client did not send this tool's result within ${seconds} s.`);
          void this.settle(agent);
        } else this.retire(agent, 'client tool timeout');
      });
      // A session finds its waiting agent (to go on, or to stop it when the client moved on).
      if (agent.sessionKey) pool.keepSession(agent.sessionKey, agent);
      turn.release();
      return;
    }
    agent.reported = undefined;
    const consistent = outcome === 'done' || (outcome === 'failed' && tr.phase === 'done');
    if (agent.sessionKey && !agent.closed) {
      if (consistent) {
        agent.busy = false;
        pool.keepSession(agent.sessionKey, agent);
        turn.release();
      } else {
        // Stop the turn, wait for its end, then keep the process for the session's next turn.
        void this.settle(agent).finally(turn.release);
      }
      return;
    }
    if (outcome === 'done' && this.park(agent, turn.answer)) {
      turn.release();
      return;
    }
    this.retire(agent, outcome);
    turn.release();
  }

  /** Keep a stateless conversation's agent for the conversation's next turn. */
  private park(agent: Agent, answer: MessageAccumulator | undefined): boolean {
    if (!agent.conversation || !answer || agent.closed || !this.d.settings.claude.keep_conversations)
      return false;
    let content: Block[];
    try {
      content = answer.message().content as Block[];
    } catch {
      return false;
    }
    const turns = [...agent.conversation.turns, { role: 'assistant' as const, content }];
    const key = conversationKey(agent.conversation.scope, turns);
    agent.conversation = undefined;
    agent.busy = false;
    agent.parkedKey = key;
    this.d.pool.keepSession(key, agent);
    return true;
  }

  /** Interrupt a session agent's turn and read up to its end; keep it if that works. */
  private async settle(agent: Agent): Promise<void> {
    const key = agent.sessionKey;
    this.d.pool.unsuspend(agent);
    this.running.add(agent);
    await agent.interrupt();
    const ok = await this.drain(agent, DRAIN_MS);
    this.running.delete(agent);
    agent.reported = undefined;
    if (ok && key && !agent.closed) {
      agent.busy = false;
      this.d.pool.keepSession(key, agent);
    } else {
      if (key) this.d.pool.dropSession(key, agent);
      this.retire(agent, 'did not stop cleanly');
    }
  }

  /** A session's turn that waits for a client that moved on: stop it before the next turn. */
  private async abandon(agent: Agent): Promise<void> {
    this.d.pool.unsuspend(agent);
    agent.reported = undefined;
    await agent.interrupt();
    if (!(await this.drain(agent, DRAIN_MS)))
      throw new ProxyError('upstream', "The session's previous run could not be stopped.");
  }

  /** Read messages until the turn's result (true) or the time is up (false). */
  private async drain(agent: Agent, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    const never = new AbortController().signal;
    while (!agent.closed) {
      let step: Step;
      try {
        step = await this.nextStep(agent, never, deadline, 0);
      } catch {
        return false;
      }
      if (step.kind !== 'msg') return false;
      if (step.msg.type === 'result') {
        agent.costUsd = step.msg.total_cost_usd;
        return true;
      }
    }
    return false;
  }

  /** Close an agent for good; a stateless one leaves no transcript behind. */
  retire(agent: Agent, reason: string): void {
    if (agent.sessionKey) this.d.pool.dropSession(agent.sessionKey, agent);
    if (agent.parkedKey) this.d.pool.dropSession(agent.parkedKey, agent);
    this.d.pool.unsuspend(agent);
    this.running.delete(agent);
    if (agent.closed) return;
    this.d.tracker.expectExit(agent.pid);
    // Stop the model call at once; closing alone lets the process finish it during its grace time.
    if (agent.busy) void agent.interrupt();
    agent.close();
    this.d.log.debug({ agent: agent.id, pid: agent.pid, reason }, 'sdk: agent retired');
    if (!agent.stateless) return;
    const files = [
      agent.ephemeralTranscript,
      agent.sessionId ? transcriptPath(this.d.env, agent.cwd, agent.sessionId) : undefined,
    ].filter((f): f is string => f !== undefined);
    if (files.length === 0) return;
    const pid = agent.pid;
    const job = (async () => {
      if (pid !== undefined) await this.d.tracker.exited(pid);
      await Promise.all(files.map((f) => removeTranscript(f).catch(() => {})));
    })();
    this.cleanups.add(job);
    void job.finally(() => this.cleanups.delete(job));
  }

  /** Serialise the turns of one session. */
  private async lock(key: string): Promise<() => void> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const chain = prev.then(() => mine);
    this.locks.set(key, chain);
    await prev;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
      if (this.locks.get(key) === chain) this.locks.delete(key);
    };
  }

  /** Stop every running agent and wait for transcript clean-up. */
  async close(): Promise<void> {
    for (const a of [...this.running]) this.retire(a, 'shutdown');
    await Promise.all([...this.cleanups]);
  }

  /** For the process list in status. */
  get runningCount(): number {
    return this.running.size;
  }
}

/** Name the tools the settings kept the request from allowing (`x-ccproxy-dropped-tools`). */
function droppedHeader(reply: Reply, cfg: RunConfig): Reply {
  if (cfg.droppedTools.length === 0 || reply.type === 'raw') return reply;
  // Header-safe: printable ASCII only, each other character percent-encoded; bounded.
  const value = cfg.droppedTools
    .map((t) => t.replace(/[^\x20-\x7e]|%/g, (c) => encodeURIComponent(c)))
    .join(', ')
    .slice(0, 2048);
  return { ...reply, headers: { ...reply.headers, 'x-ccproxy-dropped-tools': value } };
}

async function* prepend<T>(first: IteratorResult<T>, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  if (first.done) return;
  try {
    yield first.value;
    yield* rest;
  } finally {
    await rest.return(undefined);
  }
}

/** Why the request's signal fired: the server's own error (a time limit, a shutdown) or a hang-up. */
function abortReason(signal: AbortSignal): ProxyError {
  if (signal.reason instanceof ProxyError) return signal.reason;
  return new ProxyError('invalid_request', 'The client closed the request.', { status: 499 });
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

export type { Block };
