/**
 * Builders for the SDK messages Claude Code emits with `includePartialMessages`, for the cases no
 * recording can show (property tests, shapes the fake upstream cannot produce). Prefer a recording
 * (test/fixtures/sdk/, sdk-fixtures.ts) for anything Claude Code can be made to say.
 */
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';

export type BlockSpec =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown };

const SESSION = '11111111-2222-4333-8444-555555555555';

export function streamEvent(event: Record<string, unknown>, parent: string | null = null): SDKMessage {
  return {
    type: 'stream_event',
    event,
    parent_tool_use_id: parent,
    uuid: 'u',
    session_id: SESSION,
  } as unknown as SDKMessage;
}

/** One model turn as the raw stream events the agent forwards (text split in two deltas). */
export function turn(
  id: string,
  blocks: BlockSpec[],
  opts: { stop?: string; input?: number; output?: number; cacheRead?: number; parent?: string | null } = {},
): SDKMessage[] {
  const parent = opts.parent ?? null;
  const ev = (e: Record<string, unknown>) => streamEvent(e, parent);
  const out: SDKMessage[] = [
    ev({
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-5-5',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: opts.input ?? 10,
          output_tokens: 1,
          cache_read_input_tokens: opts.cacheRead ?? 0,
        },
      },
    }),
  ];
  blocks.forEach((b, index) => {
    if (b.type === 'text') {
      out.push(ev({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } }));
      const half = Math.ceil(b.text.length / 2);
      for (const part of [b.text.slice(0, half), b.text.slice(half)].filter(Boolean)) {
        out.push(ev({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: part } }));
      }
    } else if (b.type === 'thinking') {
      out.push(
        ev({
          type: 'content_block_start',
          index,
          content_block: { type: 'thinking', thinking: '', signature: '' },
        }),
      );
      out.push(
        ev({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: b.thinking } }),
      );
      out.push(
        ev({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: 'sig' } }),
      );
    } else {
      out.push(
        ev({
          type: 'content_block_start',
          index,
          content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} },
        }),
      );
      out.push(
        ev({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: '' } }),
      );
      out.push(
        ev({
          type: 'content_block_delta',
          index,
          delta: { type: 'input_json_delta', partial_json: JSON.stringify(b.input) },
        }),
      );
    }
    out.push(ev({ type: 'content_block_stop', index }));
  });
  const stop = opts.stop ?? (blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn');
  out.push(
    ev({
      type: 'message_delta',
      delta: { stop_reason: stop, stop_sequence: null },
      usage: { output_tokens: opts.output ?? 5 },
    }),
  );
  out.push(ev({ type: 'message_stop' }));
  return out;
}

export function result(over: Record<string, unknown> = {}): SDKMessage {
  return {
    type: 'result',
    subtype: 'success',
    is_error: false,
    duration_ms: 10,
    duration_api_ms: 8,
    num_turns: 1,
    result: 'done',
    stop_reason: 'end_turn',
    total_cost_usd: 0.0123,
    usage: {
      input_tokens: 20,
      output_tokens: 10,
      cache_creation_input_tokens: 3,
      cache_read_input_tokens: 100,
      cache_creation: { ephemeral_1h_input_tokens: 3, ephemeral_5m_input_tokens: 0 },
    },
    modelUsage: {},
    permission_denials: [],
    uuid: 'u',
    session_id: SESSION,
    ...over,
  } as unknown as SDKMessage;
}

/**
 * A turn the API cut short after `text`, as Claude Code reports it: the open block and the message
 * closed without a `message_delta` (recorded against the fake's `streamError` and `drop`).
 */
export function cutTurn(id: string, text: string, opts: { clientTool?: string } = {}): SDKMessage[] {
  const all = turn(id, [
    { type: 'text', text },
    ...(opts.clientTool
      ? [{ type: 'tool_use' as const, id: 'toolu_cut', name: opts.clientTool, input: {} }]
      : []),
  ]);
  return all.filter((m) => (m as unknown as { event: { type: string } }).event.type !== 'message_delta');
}

/**
 * A whole model message as `assistant` messages, one per block with the message's stop reason, as
 * Claude Code reports the answer of a call it did not stream (its second call after an `event: error`).
 */
export function wholeMessage(id: string, blocks: BlockSpec[], stop = 'end_turn'): SDKMessage[] {
  return blocks.map(
    (b) =>
      ({
        type: 'assistant',
        message: {
          id,
          type: 'message',
          role: 'assistant',
          model: 'claude-sonnet-5-5',
          content: [b.type === 'thinking' ? { ...b, signature: 'sig' } : b],
          stop_reason: stop,
          stop_sequence: null,
          usage: { input_tokens: 10, output_tokens: 5 },
        },
        parent_tool_use_id: null,
        uuid: 'u',
        session_id: SESSION,
      }) as unknown as SDKMessage,
  );
}

export function apiRetry(): SDKMessage {
  return {
    type: 'system',
    subtype: 'api_retry',
    attempt: 1,
    max_retries: 10,
    retry_delay_ms: 500,
    error_status: null,
    error: 'unknown',
    uuid: 'u',
    session_id: SESSION,
  } as unknown as SDKMessage;
}
