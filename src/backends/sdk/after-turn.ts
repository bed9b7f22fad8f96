/**
 * Where an agent goes when its turn ends:
 *
 * - ended by the answer tool (structured output; client-tools.ts) → the rest of the run (the tool's
 *   result, the result message: no model call) is read, then as below for a turn that ended;
 * - suspended in a client tool call → waits for the client's result (suspended.ts), a session's
 *   agent also under its session, until `claude.client_tool_timeout_s`;
 * - a session's turn that ended cleanly → kept for the session's next turn; one that did not
 *   (a hang-up, a time limit) is interrupted and read to its end first (`settle`), then kept;
 * - a stateless conversation answered → parked under the conversation's digest, for its next turn;
 * - anything else → retired.
 *
 * `abandon` stops a session's suspended run when the client moved on without answering it.
 */

import type { Settings } from '../../config/schema.ts';
import { ProxyError } from '../../errors.ts';
import type { MessageAccumulator } from '../../formats/anthropic/accumulate.ts';
import type { RequestContext } from '../backend.ts';
import type { Agent } from './agent.ts';
import type { AgentLifecycle } from './agent-lifecycle.ts';
import { conversationKey } from './conversation.ts';
import { nextStep, type Step } from './next-step.ts';
import type { AgentPool } from './pool.ts';
import type { Block } from './prompt.ts';
import type { SdkEventTranslator } from './translate.ts';
import { addUsage } from './usage.ts';

/** How long a stopped run may take to report its end before its process is closed. */
const DRAIN_MS = 5_000;

export type Outcome = 'done' | 'answered' | 'suspended' | 'failed' | 'interrupted';

/** What the end of a turn needs to know of it. */
export interface EndedTurn {
  agent: Agent;
  ctx: RequestContext;
  /** Release the session lock. */
  release: () => void;
  /** The answer as the client sees it, kept to recognise the conversation's next turn. */
  answer?: MessageAccumulator;
}

export interface AfterTurnDeps {
  settings: Settings;
  pool: AgentPool;
  lifecycle: AgentLifecycle;
}

export class AfterTurn {
  private readonly d: AfterTurnDeps;

  constructor(deps: AfterTurnDeps) {
    this.d = deps;
  }

  /** Put the agent back where it belongs. */
  finish(turn: EndedTurn, tr: SdkEventTranslator, outcome: Outcome): void {
    const { agent, ctx } = turn;
    const { pool, settings, lifecycle } = this.d;
    if (outcome === 'answered') {
      // The client has its answer; the agent stays working until its run has reported its end.
      void drain(agent, DRAIN_MS).then((ok) => this.finish(turn, tr, ok ? 'done' : 'failed'));
      return;
    }
    ctx.log.debug(
      { agent: agent.id, origin: agent.origin, pid: agent.pid, outcome, turns: tr.result?.num_turns },
      'sdk: run ended',
    );
    agent.lastUsed = Date.now();
    lifecycle.rest(agent);

    if (outcome === 'suspended') {
      agent.reported = agent.reported ? addUsage(agent.reported, tr.usage) : tr.usage;
      for (const call of tr.clientToolCalls) agent.bridge.announce(call.id, call.agentName);
      const seconds = settings.claude.client_tool_timeout_s;
      const ids = tr.clientToolCalls.map((c) => c.id);
      pool.suspended.suspend(agent, ids, Math.max(1, seconds) * 1000, () => {
        ctx.log.debug({ agent: agent.id }, 'sdk: client tool result never came; stopping the run');
        if (agent.sessionKey) {
          agent.bridge.failAll(`The client did not send this tool's result within ${seconds} s.`);
          void this.settle(agent);
        } else lifecycle.retire(agent, 'client tool timeout');
      });
      // A session finds its waiting agent (to go on, or to stop it when the client moved on).
      if (agent.sessionKey) pool.sessions.keep(agent.sessionKey, agent);
      turn.release();
      return;
    }
    agent.reported = undefined;
    const consistent = outcome === 'done' || (outcome === 'failed' && tr.phase === 'done');
    if (agent.sessionKey && !agent.closed) {
      if (consistent) {
        agent.busy = false;
        pool.sessions.keep(agent.sessionKey, agent);
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
    lifecycle.retire(agent, outcome);
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
    this.d.pool.sessions.keep(key, agent);
    return true;
  }

  /** Interrupt a session agent's turn and read up to its end; keep it if that works. */
  private async settle(agent: Agent): Promise<void> {
    const { pool, lifecycle } = this.d;
    const key = agent.sessionKey;
    pool.suspended.release(agent);
    lifecycle.work(agent);
    await agent.interrupt();
    const ok = await drain(agent, DRAIN_MS);
    lifecycle.rest(agent);
    agent.reported = undefined;
    if (ok && key && !agent.closed) {
      agent.busy = false;
      pool.sessions.keep(key, agent);
    } else {
      if (key) pool.sessions.drop(key, agent);
      lifecycle.retire(agent, 'did not stop cleanly');
    }
  }

  /** A session's turn that waits for a client that moved on: stop it before the next turn. */
  async abandon(agent: Agent): Promise<void> {
    this.d.pool.suspended.release(agent);
    agent.reported = undefined;
    await agent.interrupt();
    if (!(await drain(agent, DRAIN_MS)))
      throw new ProxyError('upstream', "The session's previous run could not be stopped.");
  }
}

/** Read messages until the turn's result (true) or the time is up (false). */
async function drain(agent: Agent, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  const never = new AbortController().signal;
  while (!agent.closed) {
    let step: Step;
    try {
      step = await nextStep(agent, never, deadline, 0);
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
