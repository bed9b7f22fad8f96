/**
 * What a client is told when the agent fails: every SDK-mode failure becomes a ProxyError with a
 * message a person can act on (install Claude Code, log in, raise max_turns…), never a stack trace.
 * Pure functions over the SDK's result and assistant messages.
 */
import type { SDKAssistantMessageError, SDKResultMessage } from '@anthropic-ai/claude-agent-sdk';
import { type ErrorKind, kindForStatus, ProxyError } from '../../errors.ts';

export const INSTALL_HINT =
  'Reinstall ccproxy so that @anthropic-ai/claude-agent-sdk and its platform package (which carries the Claude Code binary) are present, or set claude.cli_path to a working `claude` binary (https://code.claude.com/docs/en/setup).';

export const LOGIN_HINT =
  'Run `claude /login` (or `claude setup-token` and set CLAUDE_CODE_OAUTH_TOKEN) for the user ccproxy runs as.';

export function binaryMissing(path: string, detail?: string): ProxyError {
  return new ProxyError(
    'unavailable',
    `Claude Code is not installed or not runnable (${path}${detail ? `: ${detail}` : ''}). ${INSTALL_HINT}`,
  );
}

export function notLoggedIn(agentMessage: string): ProxyError {
  return new ProxyError(
    'authentication',
    `Claude Code could not authenticate: ${agentMessage.trim()} ${LOGIN_HINT}`,
  );
}

export function timedOut(seconds: number): ProxyError {
  return new ProxyError(
    'timeout',
    `The Claude Code agent did not finish within ${seconds} s (claude.timeout_s); the run was stopped.`,
  );
}

/**
 * A streamed answer whose API call failed midway, and which Claude Code's second call does not
 * continue: the client has part of an answer the agent replaced, and text sent cannot be taken back.
 */
export function answerNotContinued(): ProxyError {
  return new ProxyError(
    'upstream',
    'The answer was cut off: the Anthropic API failed in the middle of it, and Claude Code asked again and got an answer that does not continue the text already sent. Send the request again.',
  );
}

/** The kind for an assistant-message error the SDK reports (API failures seen by the agent). */
export function kindForAssistantError(err: SDKAssistantMessageError, status?: number | null): ErrorKind {
  switch (err) {
    case 'authentication_failed':
    case 'cloud_credential_error':
      return 'authentication';
    case 'oauth_org_not_allowed':
    case 'account_on_hold':
    case 'verification_required':
    case 'billing_error':
      return 'permission';
    case 'rate_limit':
      return 'rate_limited';
    case 'overloaded':
      return 'overloaded';
    case 'invalid_request':
      return 'invalid_request';
    case 'model_not_found':
      return 'not_found';
    case 'max_output_tokens':
    case 'server_error':
    case 'unknown':
      return status ? kindForStatus(status) : 'upstream';
  }
}

/**
 * The error for a result message that is not a success: the agent's own words, with what to do
 * about it. `assistantError` is the `error` of the last assistant message, when there was one.
 */
export function resultError(
  result: SDKResultMessage,
  assistantError?: SDKAssistantMessageError,
  limits: { maxTurns?: number } = {},
): ProxyError {
  if (result.subtype === 'success') {
    const text = result.result || 'Claude Code reported an error without a message.';
    const status = result.api_error_status ?? undefined;
    const kind = assistantError
      ? kindForAssistantError(assistantError, status)
      : kindForStatus(status ?? 502);
    if (kind === 'authentication') return notLoggedIn(text);
    return new ProxyError(kind, `Claude Code: ${text}`, {
      upstream: status ? { status, message: text } : undefined,
    });
  }
  const detail = (result.errors ?? []).filter(Boolean).join('; ');
  switch (result.subtype) {
    case 'error_max_turns':
      return new ProxyError(
        'invalid_request',
        `The Claude Code agent stopped after ${limits.maxTurns ?? result.num_turns} turns (max_turns) before it finished. Allow more with claude.max_turns or "ccproxy": {"max_turns": N} in the request.`,
      );
    case 'error_max_budget_usd':
      return new ProxyError(
        'invalid_request',
        `The Claude Code agent stopped at its cost budget before it finished${detail ? `: ${detail}` : '.'}`,
      );
    case 'error_max_structured_output_retries':
      return new ProxyError(
        'upstream',
        `The Claude Code agent could not produce the requested output format${detail ? `: ${detail}` : '.'}`,
      );
    default:
      return new ProxyError(
        'upstream',
        `The Claude Code agent failed${detail ? `: ${detail}` : ' while running the request.'}`,
      );
  }
}

/**
 * A result that says a pre-warmed spare refused its claim: the run never started, so start cold.
 * Claude Code answers the prompt of a refused claim with an `error_during_execution` result whose
 * error starts with `not_claimed` (test/fixtures/sdk/bug-spare-refusal-missed.jsonl); the SDK's
 * documentation describes it as the text of an error result, so both are taken.
 */
export function isNotClaimed(result: SDKResultMessage): boolean {
  if (!result.is_error) return false;
  const said = result.subtype === 'success' ? [result.result] : (result.errors ?? []);
  return said.some((e) => typeof e === 'string' && e.startsWith('not_claimed'));
}

/**
 * An error thrown by the SDK itself (spawn failures, a process that died, an aborted query) as a
 * ProxyError. ProxyErrors pass through unchanged.
 */
export function fromThrown(err: unknown, binary: string, stderr = ''): ProxyError {
  if (err instanceof ProxyError) return err;
  let message = err instanceof Error ? err.message : String(err);
  const said = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .at(-1);
  if (said && /exited with code/.test(message)) message = `${message}: ${said}`;
  if (/native binary not found|executable not found|ENOENT|EACCES|failed to launch/i.test(message)) {
    return binaryMissing(binary, firstLine(message));
  }
  if (/not logged in|please run \/login|invalid api key|oauth token/i.test(message)) {
    return notLoggedIn(firstLine(message));
  }
  return new ProxyError('upstream', `The Claude Code agent failed: ${firstLine(message)}`, { cause: err });
}

export function firstLine(text: string, max = 300): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
