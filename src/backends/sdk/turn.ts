/**
 * One turn of a chosen agent, as the client's reply: read the agent's SDK messages, translate them
 * into one Anthropic message (translate.ts), as a whole message or a stream whose first event is
 * awaited (so a failure before any output is a proper HTTP error). Meanwhile: keep-alive pings on
 * streams, the run's deadline (`claude.timeout_s`), the client hanging up, and the agent's API
 * retries (api-retries.ts). A spare that fails before saying anything is replaced by a cold start.
 * At the end the request's record is filled and the agent handed to after-turn.ts.
 */
import { randomBytes } from 'node:crypto';
import type { Abortable } from '../../abort.ts';
import type { Settings } from '../../config/schema.ts';
import { ProxyError } from '../../errors.ts';
import { MessageAccumulator } from '../../formats/anthropic/accumulate.ts';
import type { StreamEvent } from '../../formats/anthropic/types.ts';
import type { Reply } from '../backend.ts';
import type { AfterTurn, EndedTurn, Outcome } from './after-turn.ts';
import type { Agent } from './agent.ts';
import { agentApiUrl, isApiRetry, RetryWatch, retryReason } from './api-retries.ts';
import type { ClaudeBinary } from './binary.ts';
import { AnswerAsText, agentToolName } from './client-tools.ts';
import { firstLine, fromThrown, timedOut } from './errors.ts';
import { nextStep, type Step } from './next-step.ts';
import type { RunConfig } from './options.ts';
import type { AgentPool } from './pool.ts';
import type { ProcessTracker } from './processes.ts';
import { SdkEventTranslator } from './translate.ts';
import { tokenUsageOfTurn } from './usage.ts';

/** How often an Anthropic stream gets a `ping` while the agent is busy with its tools. */
const PING_MS = 15_000;

export interface Turn extends EndedTurn {
  cfg: RunConfig;
  stream: boolean;
  /** A claimed spare failed before saying anything: start the same turn cold instead. */
  coldFallback?: () => Promise<Agent>;
  /** Set when the agent's process ended or the SDK threw. */
  broken?: boolean;
}

export interface TurnDeps {
  settings: Settings;
  /** The agents' environment (where their API calls go, for error messages). */
  env: Record<string, string | undefined>;
  binary: ClaudeBinary;
  tracker: ProcessTracker;
  pool: AgentPool;
  after: AfterTurn;
}

export function messageId(): string {
  return `msg_${randomBytes(18).toString('base64url').replace(/[-_]/g, 'x').slice(0, 24)}`;
}

export class TurnRunner {
  private readonly d: TurnDeps;

  constructor(deps: TurnDeps) {
    this.d = deps;
  }

  async respond(turn: Turn): Promise<Reply> {
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
      buffered: !turn.stream,
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
    const answer = cfg.answerTool === undefined ? undefined : new AnswerAsText(cfg.answerTool);
    let outcome: Outcome = 'interrupted';
    try {
      while (true) {
        let step: Step;
        try {
          step = await nextStep(agent, ctx.signal, deadline, turn.stream ? PING_MS : 0);
        } catch (err) {
          outcome = 'failed';
          turn.broken = true;
          throw fromThrown(err, this.d.binary.path, this.stderrOf(agent));
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
        ctx.capture?.agentMessage(msg);
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
        for (const ev of tr.push(msg).flatMap((e) => answer?.push(e) ?? [e])) {
          turn.answer?.push(ev);
          yield ev;
        }
        if (tr.phase !== 'streaming') break;
      }
      outcome = tr.phase === 'suspended' ? suspendedOutcome(tr, cfg) : tr.error ? 'failed' : 'done';
      if (tr.error) throw tr.error;
    } finally {
      this.record(turn, tr);
      this.d.after.finish(turn, tr, outcome);
    }
  }

  /** Fill the request's record: model, tokens, stop reason, agent turns and cost. */
  private record(turn: Turn, tr: SdkEventTranslator): void {
    const { agent, ctx } = turn;
    const record = ctx.record;
    record.upstreamModel = tr.model ?? turn.cfg.model ?? record.upstreamModel;
    record.usage = tokenUsageOfTurn(tr.usage);
    if (tr.stopReason) record.stopReason = tr.stopReason;
    if (tr.result) {
      record.sdkTurns = tr.result.num_turns;
      // The SDK reports a running total per process.
      record.sdkCostUsd = Math.max(0, tr.result.total_cost_usd - agent.costUsd);
      agent.costUsd = tr.result.total_cost_usd;
    }
  }

  private stderrOf(agent: Agent): string {
    return agent.pid === undefined ? '' : (this.d.tracker.info(agent.pid)?.stderr ?? '');
  }

  private exitedEarly(agent: Agent): ProxyError {
    const tail = this.stderrOf(agent);
    const problem = this.d.binary.check();
    if (problem) return problem;
    return new ProxyError(
      'upstream',
      `Claude Code exited before it answered${tail.trim() ? `: ${firstLine(tail.trim().split('\n').at(-1) ?? '')}` : '.'}`,
    );
  }
}

/** A run stopped at client tool calls waits for their results, unless the only call was the answer. */
function suspendedOutcome(tr: SdkEventTranslator, cfg: RunConfig): Outcome {
  const answer = cfg.answerTool === undefined ? undefined : agentToolName(cfg.answerTool);
  return tr.clientToolCalls.every((c) => c.agentName === answer) ? 'answered' : 'suspended';
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
function abortReason(signal: Abortable): ProxyError {
  if (signal.reason instanceof ProxyError) return signal.reason;
  return new ProxyError('invalid_request', 'The client closed the request.', { status: 499 });
}
