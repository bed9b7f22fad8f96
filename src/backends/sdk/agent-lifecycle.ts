/**
 * An agent's life after its start: it is *working* (answering a turn, counted in /sdk/status's
 * `busy_agents`, stopped on shutdown) or kept somewhere — a session, a parked conversation, a
 * suspended run, a pre-claimed spare — until it is *retired*: every registry that holds it lets it
 * go, its process is stopped, and a stateless agent's transcripts are deleted once it has exited.
 *
 * Built before the registries (sessions.ts, suspended.ts, spares.ts) and the runner, which all
 * retire agents; each registry says here how it forgets one.
 */
import type { Logger } from 'pino';
import type { Agent } from './agent.ts';
import type { ProcessTracker } from './processes.ts';
import { removeTranscript, transcriptPath } from './transcript.ts';

export interface LifecycleDeps {
  tracker: ProcessTracker;
  log: Logger;
  /** The agents' environment: where Claude Code keeps their transcripts. */
  env: Record<string, string | undefined>;
}

export class AgentLifecycle {
  private readonly d: LifecycleDeps;
  /** Agents answering a turn right now. */
  private readonly working = new Set<Agent>();
  private readonly cleanups = new Set<Promise<void>>();
  private readonly registries: Array<(agent: Agent) => void> = [];

  constructor(deps: LifecycleDeps) {
    this.d = deps;
  }

  /** A registry that keeps agents: `forget` takes a retired one out of it. */
  register(forget: (agent: Agent) => void): void {
    this.registries.push(forget);
  }

  /** The agent takes a turn (it stays busy until something keeps it for later). */
  work(agent: Agent): void {
    this.working.add(agent);
    agent.busy = true;
  }

  /** Its turn has ended; where it goes next is up to the caller. */
  rest(agent: Agent): void {
    this.working.delete(agent);
  }

  /** Close an agent for good; a stateless one leaves no transcript behind. */
  retire(agent: Agent, reason: string): void {
    for (const forget of this.registries) forget(agent);
    this.working.delete(agent);
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
      await Promise.all(files.map((f) => removeTranscript(f, this.d.env).catch(() => {})));
    })();
    this.cleanups.add(job);
    void job.finally(() => this.cleanups.delete(job));
  }

  /** Has the agent's process died (while it was kept, or waiting)? */
  died(agent: Agent): boolean {
    return agent.pid !== undefined && !this.d.tracker.isAlive(agent.pid);
  }

  /** For the process list in status. */
  get workingCount(): number {
    return this.working.size;
  }

  /** Stop every working agent and wait for transcript clean-up. */
  async close(): Promise<void> {
    for (const a of [...this.working]) this.retire(a, 'shutdown');
    await Promise.all([...this.cleanups]);
  }
}
