import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { finishReason, mapStopReason } from '../../../src/formats/openai/finish-reason.ts';

describe('openai finish_reason', () => {
  it('maps every Anthropic stop reason', () => {
    assert.equal(mapStopReason('end_turn'), 'stop');
    assert.equal(mapStopReason('stop_sequence'), 'stop');
    assert.equal(mapStopReason('pause_turn'), 'stop');
    assert.equal(mapStopReason('max_tokens'), 'length');
    assert.equal(mapStopReason('model_context_window_exceeded'), 'length');
    assert.equal(mapStopReason('tool_use'), 'tool_calls');
    assert.equal(mapStopReason('refusal'), 'content_filter');
  });

  it('unknown or missing reasons end the answer normally', () => {
    assert.equal(mapStopReason('something_new'), 'stop');
    assert.equal(mapStopReason(null), 'stop');
    assert.equal(mapStopReason(undefined), 'stop');
  });

  it('tool_calls only when the client got calls; function_call for legacy clients', () => {
    assert.equal(finishReason('tool_use', 0, false), 'stop');
    assert.equal(finishReason('tool_use', 2, false), 'tool_calls');
    assert.equal(finishReason('tool_use', 1, true), 'function_call');
    assert.equal(finishReason('max_tokens', 1, false), 'length');
  });
});
