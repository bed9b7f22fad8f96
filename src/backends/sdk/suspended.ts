/**
 * Suspended runs: agents waiting inside a client tool call for the client to send its result
 * (client-tools.ts), found again by the tool_use ids the response ended with. A run the client does
 * not come back to within `claude.client_tool_timeout_s` is handed to its timeout (the runner stops
 * it); a retired agent is forgotten.
 */
import type { Agent } from './agent.ts';
import type { AgentLifecycle } from './agent-lifecycle.ts';

interface Waiting {
  agent: Agent;
  timer: NodeJS.Timeout;
}

export class SuspendedRuns {
  private readonly byToolUse = new Map<string, Waiting>();
  private readonly lifecycle: AgentLifecycle;

  constructor(lifecycle: AgentLifecycle) {
    this.lifecycle = lifecycle;
    lifecycle.register((agent) => this.release(agent));
  }

  /** Keep an agent whose run waits for the results of these calls. */
  suspend(agent: Agent, ids: string[], timeoutMs: number, onTimeout: () => void): void {
    const timer = setTimeout(() => {
      this.release(agent);
      onTimeout();
    }, timeoutMs);
    timer.unref();
    const entry: Waiting = { agent, timer };
    for (const id of ids) this.byToolUse.set(id, entry);
  }

  /** The suspended agent that made this tool call, taken out of the waiting list. */
  take(toolUseId: string): Agent | undefined {
    const entry = this.byToolUse.get(toolUseId);
    if (!entry) return undefined;
    this.release(entry.agent);
    return entry.agent;
  }

  has(agent: Agent): boolean {
    for (const e of this.byToolUse.values()) if (e.agent === agent) return true;
    return false;
  }

  /** The agent waits no more (it goes on, is stopped, or was retired). */
  release(agent: Agent): void {
    for (const [id, e] of this.byToolUse) {
      if (e.agent !== agent) continue;
      clearTimeout(e.timer);
      this.byToolUse.delete(id);
    }
  }

  /** How many runs wait (one run may wait for several calls). */
  get count(): number {
    return new Set([...this.byToolUse.values()].map((e) => e.agent)).size;
  }

  /** Stop every suspended run. */
  close(): void {
    for (const e of new Set(this.byToolUse.values())) {
      clearTimeout(e.timer);
      this.lifecycle.retire(e.agent, 'shutdown');
    }
    this.byToolUse.clear();
  }
}
