/**
 * Shared by the Responses frontend tests: parsing, rendering, and a reassembler that rebuilds the
 * response from a stream's events the way a client must (items from `output_item.added`, text from
 * the deltas), checking the protocol on the way: sequence numbers 0, 1, 2…, `response.created` and
 * `response.in_progress` first, every `.done` event agreeing with the deltas before it, one item at
 * a time, and a terminal event last.
 */
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import type { StreamEvent } from '../../../src/formats/anthropic/types.ts';
import type { FormatOptions, Parsed } from '../../../src/formats/frontend.ts';
import { responsesFrontend } from '../../../src/formats/responses/index.ts';
import type { ResponsesHints } from '../../../src/formats/responses/types.ts';
import { parseSse, strictSse } from '../../helpers/sse.ts';
import { render } from '../../support/render.ts';
import type { FakeResponse } from '../../support/types.ts';
import { META, options } from '../openai/helpers.ts';

export { accumulate, META, options, shapeDiff } from '../openai/helpers.ts';

export type Obj = Record<string, any>;

export const ECHO = { tools: [], store: false };

export function parsedFor(
  hints: Partial<ResponsesHints> = {},
  clientModel = 'gpt-5',
): Parsed<ResponsesHints> {
  return {
    request: { model: 'claude-opus-5-5', messages: [], max_tokens: 1 },
    clientModel,
    stream: true,
    hints: { encryptedReasoning: false, clientTools: new Map(), echo: ECHO, ...hints },
  };
}

/** The Anthropic events the fake upstream streams for a scripted reply (`reply.text(…)`, …). */
export function anthropicEvents(r: FakeResponse): StreamEvent[] {
  const rendered = render(r as Exclude<FakeResponse, { kind: 'reset' | 'stall' }>, {
    stream: true,
    model: 'claude-opus-5-5',
    inputTokens: 20,
    requestId: 'req_fake',
  });
  const body = Buffer.concat([...(rendered.units as Iterable<Buffer>)]).toString('utf8');
  return parseSse(body).map((m) => JSON.parse(m.data) as StreamEvent);
}

/** Parse a request body (a ProxyError propagates). */
export function parse(body: Record<string, unknown>, opts: FormatOptions = options()) {
  return responsesFrontend.parseRequest(body, opts);
}

/** Feed events through a fresh renderer; returns all frames as one string. */
export function renderStream(events: StreamEvent[], parsed: Parsed<ResponsesHints> = parsedFor()): string {
  const r = responsesFrontend.streamRenderer(parsed, META, options());
  let out = '';
  for (const ev of events) out += r.push(ev);
  return out + r.end();
}

/** An openai client that gets `body` as the answer to any request: the SDK's own parsing, offline. */
export const offlineClient = (body: string, contentType = 'text/event-stream') =>
  new OpenAI({
    apiKey: 'test',
    baseURL: 'http://ccproxy.invalid/v1',
    maxRetries: 0,
    fetch: async () => new Response(body, { headers: { 'content-type': contentType } }),
  });

/** The events of an SSE body, checking the framing: `event: <type>` then one `data:` line naming that type. */
export function streamEvents(body: string): Obj[] {
  return strictSse(body, 'named').map((ev) => JSON.parse(ev.data) as Obj);
}

const TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

export interface Reassembled {
  events: Obj[];
  /** The output items as a client rebuilds them from the events. */
  output: Obj[];
  /** The terminal event (`response.completed`, `.incomplete` or `.failed`). */
  terminal: Obj;
}

export function reassemble(body: string): Reassembled {
  const events = streamEvents(body);
  const output: Obj[] = [];
  let open = -1;
  const item = (ev: Obj) => {
    assert.equal(ev.output_index, open, `${ev.type} is for the open item`);
    return output[ev.output_index];
  };
  const part = (ev: Obj, type: string) => {
    const it = item(ev);
    assert.equal(ev.item_id, it.id);
    const p = it.content[ev.content_index];
    assert.equal(p?.type, type, `${ev.type}: part ${ev.content_index} is ${type}`);
    return p;
  };
  const summary = (ev: Obj) => {
    const it = item(ev);
    assert.equal(ev.item_id, it.id);
    assert.equal(it.type, 'reasoning');
    const s = it.summary[ev.summary_index];
    assert.ok(s, `${ev.type}: summary part ${ev.summary_index} was added`);
    return s;
  };
  let terminal: Obj | undefined;

  events.forEach((ev, k) => {
    assert.equal(ev.sequence_number, k, 'sequence numbers count from 0 without gaps');
    assert.equal(terminal, undefined, `nothing after ${terminal?.type}`);
    if (k === 0) assert.equal(ev.type, 'response.created');
    if (k === 1) assert.equal(ev.type, 'response.in_progress');
    switch (ev.type) {
      case 'response.created':
      case 'response.in_progress':
        assert.ok(k < 2);
        assert.equal(ev.response.status, 'in_progress');
        assert.deepEqual(ev.response.output, []);
        assert.equal(ev.response.usage, null);
        break;
      case 'response.output_item.added':
        assert.equal(open, -1, 'the previous item is done before the next is added');
        assert.equal(ev.output_index, output.length, 'items are added in order');
        output.push(structuredClone(ev.item));
        open = ev.output_index;
        break;
      case 'response.content_part.added': {
        const it = item(ev);
        assert.equal(it.type, 'message');
        assert.equal(ev.content_index, it.content.length, 'parts are added in order');
        it.content.push(structuredClone(ev.part));
        break;
      }
      case 'response.output_text.delta':
        part(ev, 'output_text').text += ev.delta;
        break;
      case 'response.output_text.done':
        assert.equal(ev.text, part(ev, 'output_text').text, 'output_text.done has the deltas joined');
        break;
      case 'response.refusal.delta':
        part(ev, 'refusal').refusal += ev.delta;
        break;
      case 'response.refusal.done':
        assert.equal(ev.refusal, part(ev, 'refusal').refusal);
        break;
      case 'response.content_part.done':
        assert.deepEqual(ev.part, item(ev).content[ev.content_index], 'content_part.done has the part');
        break;
      case 'response.function_call_arguments.delta':
        assert.equal(item(ev).type, 'function_call');
        item(ev).arguments += ev.delta;
        break;
      case 'response.function_call_arguments.done':
        assert.equal(ev.arguments, item(ev).arguments, 'arguments.done has the deltas joined');
        assert.equal(ev.name, item(ev).name);
        break;
      case 'response.custom_tool_call_input.delta':
        assert.equal(item(ev).type, 'custom_tool_call');
        item(ev).input += ev.delta;
        break;
      case 'response.custom_tool_call_input.done':
        assert.equal(ev.input, item(ev).input);
        break;
      case 'response.reasoning_summary_part.added': {
        const it = item(ev);
        assert.equal(ev.summary_index, it.summary.length);
        it.summary.push(structuredClone(ev.part));
        break;
      }
      case 'response.reasoning_summary_text.delta':
        summary(ev).text += ev.delta;
        break;
      case 'response.reasoning_summary_text.done':
        assert.equal(ev.text, summary(ev).text);
        break;
      case 'response.reasoning_summary_part.done':
        assert.deepEqual(ev.part, summary(ev));
        break;
      case 'response.output_item.done': {
        const built = item(ev);
        // What only the finished item can say: its status, and the signature that came last.
        const expected = { ...built, ...pick(ev.item, ['status', 'encrypted_content']) };
        assert.deepEqual(ev.item, expected, 'output_item.done agrees with the events before it');
        output[ev.output_index] = ev.item;
        open = -1;
        break;
      }
      case 'error':
        assert.equal(events[k + 1]?.type, 'response.failed', 'an error event is followed by response.failed');
        break;
      default:
        assert.ok(TERMINAL.has(ev.type), `unexpected event ${ev.type}`);
        terminal = ev;
    }
  });
  assert.ok(terminal, 'the stream ends with a terminal event');
  if (terminal.type !== 'response.failed') {
    assert.equal(open, -1, 'every item is done');
    assert.deepEqual(terminal.response.output, output, 'the final response holds the items as streamed');
  }
  return { events, output, terminal };
}

function pick(o: Obj, keys: string[]): Obj {
  return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}
