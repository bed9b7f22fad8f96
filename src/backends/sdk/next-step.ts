/**
 * Waiting for what comes next while an agent runs: its next SDK message, the end of its stream, the
 * client hanging up, the run's deadline, or time for a keep-alive ping — whichever comes first.
 * Timers and listeners are gone when it returns; a message not waited for is not lost (agent.ts).
 */
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import type { Abortable } from '../../abort.ts';
import type { Agent } from './agent.ts';

export type Step =
  | { kind: 'msg'; msg: SDKMessage }
  | { kind: 'end' }
  | { kind: 'abort' }
  | { kind: 'timeout' }
  | { kind: 'ping' };

/** `deadline` in epoch ms (infinite: none); `pingMs` 0: no pings. */
export async function nextStep(
  agent: Agent,
  signal: Abortable,
  deadline: number,
  pingMs: number,
): Promise<Step> {
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
