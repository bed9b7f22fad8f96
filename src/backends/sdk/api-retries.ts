/**
 * The agent's own API retries, watched so that SDK mode never hangs silently.
 *
 * When Claude Code's call to the Anthropic API fails (no connection, a 5xx, 529 overloaded, a 429…)
 * it retries by itself — about ten times with growing delays, some three minutes in all — and reports
 * each attempt as a `system`/`api_retry` message, while the client waits without a byte. This keeps
 * the streak of retries since the agent last made progress; once the next attempt would come later
 * than `claude.api_retry_max_s` after that, ccproxy gives up on the agent's behalf with an error that
 * says what failed, instead of letting the client wait out the agent's whole schedule.
 *
 * Pure: the caller passes the clock. https://code.claude.com/docs/en/agent-sdk (SDKAPIRetryMessage)
 */
import type { SDKAPIRetryMessage, SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { ProxyError } from '../../errors.ts';
import { kindForAssistantError } from './errors.ts';

/** Why the agent retried, as the access log's retry reasons name them (see observability). */
export function retryReason(msg: SDKAPIRetryMessage): string {
  if (msg.no_response) return 'timeout';
  const status = msg.error_status;
  if (status === null || status === undefined) return 'connection';
  if (status === 429) return 'rate_limited';
  if (status === 529) return 'overloaded';
  return status >= 500 ? 'server_error' : `http_${status}`;
}

/** Where the agents send their API calls (for messages; the URL is not a secret). */
export function agentApiUrl(env: Record<string, string | undefined>): string {
  return env.ANTHROPIC_BASE_URL || 'https://api.anthropic.com';
}

export function isApiRetry(msg: SDKMessage): msg is SDKAPIRetryMessage {
  return msg.type === 'system' && (msg as { subtype?: string }).subtype === 'api_retry';
}

export class RetryWatch {
  /** When the agent last made progress (or the run started), epoch ms. */
  private since: number;
  private attempts = 0;

  /**
   * `budgetMs` is claude.api_retry_max_s in ms (0 = never give up on the agent's behalf);
   * `baseUrl` is where the agent sends its API calls, for the message.
   */
  constructor(
    private readonly budgetMs: number,
    private readonly baseUrl: string,
    now: number,
  ) {
    this.since = now;
  }

  /** Feed every message of the run; returns the error to end it with once the agent is given up on. */
  note(msg: SDKMessage, now: number): ProxyError | undefined {
    if (!isApiRetry(msg)) {
      // Model output, tool calls and results are progress; the agent's other reports are not.
      if (msg.type !== 'system') {
        this.since = now;
        this.attempts = 0;
      }
      return undefined;
    }
    this.attempts++;
    if (this.budgetMs <= 0) return undefined;
    const failingMs = now - this.since;
    if (failingMs + Math.max(0, msg.retry_delay_ms) <= this.budgetMs) return undefined;
    return this.giveUp(msg, failingMs);
  }

  private giveUp(msg: SDKAPIRetryMessage, failingMs: number): ProxyError {
    const seconds = Math.max(1, Math.round(failingMs / 1000));
    const tries = `${this.attempts} ${this.attempts === 1 ? 'attempt' : 'attempts'} in ${seconds} s`;
    const limit = `ccproxy stopped the agent (claude.api_retry_max_s = ${Math.round(this.budgetMs / 1000)})`;
    const status = msg.error_status ?? undefined;
    if (msg.no_response) {
      return new ProxyError(
        'timeout',
        `Claude Code got no answer from the Anthropic API at ${this.baseUrl} (${tries}, no response headers within ${Math.round(msg.no_response.waited_ms / 1000)} s); ${limit}. Retry later.`,
      );
    }
    if (status === undefined) {
      return new ProxyError(
        'upstream',
        `Claude Code cannot reach the Anthropic API at ${this.baseUrl} (${tries}, each a connection error); ${limit}. Check this machine's network connection, and upstream.base_url / upstream.proxy_url (or ANTHROPIC_BASE_URL / HTTPS_PROXY in ccproxy's environment).`,
      );
    }
    const kind = kindForAssistantError(msg.error, status);
    const retryAfter =
      kind === 'rate_limited' || kind === 'overloaded' ? Math.ceil(msg.retry_delay_ms / 1000) : undefined;
    return new ProxyError(
      kind,
      `The Anthropic API kept answering HTTP ${status} (${msg.error}) to Claude Code (${tries}); ${limit}. Retry later.`,
      {
        upstream: { status, message: msg.error },
        retryAfter: retryAfter && retryAfter > 0 ? retryAfter : undefined,
      },
    );
  }
}
