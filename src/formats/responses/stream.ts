/**
 * Anthropic stream events → Responses streaming events.
 * https://docs.anthropic.com/en/docs/build-with-claude/streaming
 * https://platform.openai.com/docs/api-reference/responses-streaming
 *
 * A state machine fed one event at a time: each `push` returns the frames
 * (`event: <type>\ndata: {…}\n\n`) that event produces. No I/O, no timers. Every event carries a
 * `sequence_number` counting from 0. The sequence, as the API sends it and as the openai SDK's
 * `ResponseStream` and Codex read it:
 *
 *   response.created, response.in_progress,
 *   per output item: response.output_item.added, then
 *     message:        response.content_part.added, response.output_text.delta…, response.output_text.done,
 *                     response.content_part.done (one part per text block; a refusal part the same way
 *                     with response.refusal.delta/done)
 *     function_call:  response.function_call_arguments.delta…, response.function_call_arguments.done
 *     custom_tool_call: response.custom_tool_call_input.delta, response.custom_tool_call_input.done
 *     reasoning:      response.reasoning_summary_part.added, response.reasoning_summary_text.delta…,
 *                     response.reasoning_summary_text.done, response.reasoning_summary_part.done
 *   response.output_item.done,
 *   response.completed (or response.incomplete); on failure `error` then response.failed.
 *
 * The events reassemble to exactly what `renderResponse` makes of the accumulated message (the
 * shapes come from the same builders, items.ts). A message item stays open across consecutive text
 * blocks, so a run of them is one item, as in the whole answer.
 *
 * Hot path: a delta frame is string concatenation around a per-block prefix; only the delta's own
 * text goes through JSON.stringify. Each finished text is stringified once and reused by the
 * `.done` events, the item and the final response.
 */
import type { ProxyError } from '../../errors.ts';
import { parseToolInput } from '../anthropic/accumulate.ts';
import type { ContentDelta, ResponseBlock } from '../anthropic/types.ts';
import { EventRenderer, type MessageDelta } from '../event-renderer.ts';
import type { FormatOptions, Parsed, RenderMeta } from '../frontend.ts';
import { refusalText } from '../openai/response.ts';
import { responsesErrorBody } from './errors.ts';
import { customInput, customToolCallItem, functionCallItem, messageItem, reasoningItem } from './items.ts';
import { outcome } from './status.ts';
import { type ClientTool, itemId, REDACTED_PREFIX, type ResponsesHints, responseId } from './types.ts';
import { responseUsage } from './usage.ts';

/** An Anthropic content block, as the stream renderer follows it. */
type Block =
  | { kind: 'skip' }
  /** Text, or the structured-output tool's input streamed as text. */
  | { kind: 'text'; json: boolean; content: number; head: string; delta: string; text: string }
  | {
      kind: 'reasoning';
      index: number;
      id: string;
      head: string;
      delta: string;
      text: string;
      signature: string;
      part: boolean;
    }
  | {
      kind: 'call';
      index: number;
      id: string;
      callId: string;
      name: string;
      client?: ClientTool;
      head: string;
      delta: string;
      args: string;
    }
  | { kind: 'custom'; index: number; id: string; callId: string; client: ClientTool; json: string };

/** The open message item: text blocks add parts to it until another kind of item starts. */
interface OpenMessage {
  index: number;
  id: string;
  /** Finished parts, as JSON. */
  parts: string[];
}

const SKIP: Block = { kind: 'skip' };

/** What every frame of an event type starts with, up to its sequence number. */
const lead = (type: string) => `event: ${type}\ndata: {"type":"${type}","sequence_number":`;
// The delta events, prebuilt: a delta frame is one concatenation.
const TEXT_DELTA = lead('response.output_text.delta');
const ARGS_DELTA = lead('response.function_call_arguments.delta');
const SUMMARY_DELTA = lead('response.reasoning_summary_text.delta');
const END = '}\n\n';
const LOGPROBS_END = ',"logprobs":[]}\n\n';
const EMPTY_TEXT_PART = '{"type":"output_text","annotations":[],"logprobs":[],"text":""}';

export class ResponsesStreamRenderer extends EventRenderer {
  private readonly parsed: Parsed<ResponsesHints>;
  private readonly rid: string;
  /** `{"id":…,"object":"response","created_at":…,"status":"` */
  private readonly responseHead: string;
  /** `,"model":…,"output":[` */
  private readonly modelPart: string;
  /** The echoed settings and the closing brace. */
  private readonly echoTail: string;

  private seq = 0;
  private readonly blocks: Block[] = [];
  /** Finished output items, as JSON, by output index. */
  private readonly items: string[] = [];
  /** Output items added so far (finished or not). */
  private added = 0;
  private open: OpenMessage | undefined;
  private stopReason: string | null = null;
  private started = false;

  constructor(parsed: Parsed<ResponsesHints>, meta: RenderMeta, _opts: FormatOptions) {
    super();
    this.parsed = parsed;
    this.rid = meta.requestId;
    this.responseHead = `{"id":${JSON.stringify(responseId(meta.requestId))},"object":"response","created_at":${meta.created},"status":"`;
    this.modelPart = `,"model":${JSON.stringify(parsed.clientModel)},"output":[`;
    const echo = JSON.stringify(parsed.hints.echo);
    this.echoTail = echo === '{}' ? '}' : `,${echo.slice(1)}`;
  }

  protected messageDelta(delta: MessageDelta): string {
    this.stopReason = delta.stop_reason;
    return delta.stop_reason === 'refusal' ? this.refusal(refusalText(delta.stop_details)) : '';
  }

  end(): string {
    if (this.closed) return '';
    let out = this.start() + this.closeMessage();
    this.closed = true;
    const o = outcome(this.stopReason);
    const type = o.status === 'completed' ? 'response.completed' : 'response.incomplete';
    const incomplete = o.incomplete_details ? JSON.stringify(o.incomplete_details) : 'null';
    const usage = JSON.stringify(responseUsage(this.usage));
    out += this.frame(type, `,"response":${this.response(o.status, 'null', incomplete, usage)}`);
    return out;
  }

  fail(err: ProxyError): string {
    if (this.closed) return '';
    const out = this.start();
    this.closed = true;
    const e = responsesErrorBody(err).error;
    const error = JSON.stringify({ code: e.code ?? e.type, message: e.message });
    return (
      out +
      // The documented event is flat; the API nests the same fields under `error`: both are here.
      this.frame(
        'error',
        `,"code":${JSON.stringify(e.code)},"message":${JSON.stringify(e.message)},"param":${JSON.stringify(e.param)},"error":${JSON.stringify(e)}`,
      ) +
      this.frame('response.failed', `,"response":${this.response('failed', error, 'null', 'null')}`)
    );
  }

  // ---------------------------------------------------------------------------------------------

  private frame(type: string, body: string): string {
    return lead(type) + this.seq++ + body + END;
  }

  private response(status: string, error: string, incomplete: string, usage: string): string {
    return `${this.responseHead}${status}","background":false,"error":${error},"incomplete_details":${incomplete}${this.modelPart}${this.items.join(',')}],"usage":${usage}${this.echoTail}`;
  }

  protected start(): string {
    if (this.started) return '';
    this.started = true;
    const r = this.response('in_progress', 'null', 'null', 'null');
    return (
      this.frame('response.created', `,"response":${r}`) +
      this.frame('response.in_progress', `,"response":${r}`)
    );
  }

  private itemAdded(index: number, item: unknown): string {
    return this.frame(
      'response.output_item.added',
      `,"output_index":${index},"item":${JSON.stringify(item)}`,
    );
  }

  private itemDone(index: number, json: string): string {
    this.items[index] = json;
    return this.frame('response.output_item.done', `,"output_index":${index},"item":${json}`);
  }

  /** Opens a message item unless one is open; returns its frames. */
  private openMessage(): string {
    if (this.open) return '';
    const index = this.added++;
    const id = itemId('msg', this.rid, index);
    this.open = { index, id, parts: [] };
    return this.itemAdded(index, messageItem(id, 'in_progress'));
  }

  private closeMessage(): string {
    const m = this.open;
    if (!m) return '';
    this.open = undefined;
    const json = `{"id":${JSON.stringify(m.id)},"type":"message","status":"completed","role":"assistant","content":[${m.parts.join(',')}]}`;
    return this.itemDone(m.index, json);
  }

  /** `,"item_id":…,"output_index":…` */
  private static at(id: string, index: number): string {
    return `,"item_id":${JSON.stringify(id)},"output_index":${index}`;
  }

  protected blockStart(index: number, block: ResponseBlock): string {
    const { jsonTool, clientTools, encryptedReasoning } = this.parsed.hints;
    let out = this.start();
    switch (block.type) {
      case 'text':
        out += this.textStart(index, false);
        if (block.text) out += this.delta(index, { type: 'text_delta', text: block.text as string });
        return out;
      case 'thinking': {
        out += this.closeMessage();
        const i = this.added++;
        const id = itemId('rs', this.rid, i);
        const head = `${ResponsesStreamRenderer.at(id, i)},"summary_index":0`;
        const b: Block = {
          kind: 'reasoning',
          index: i,
          id,
          head,
          delta: `${head},"delta":`,
          text: '',
          signature: (block.signature as string | undefined) ?? '',
          part: false,
        };
        this.blocks[index] = b;
        out += this.itemAdded(i, reasoningItem(id, '', undefined));
        const thinking = block.thinking as string | undefined;
        return thinking ? out + this.deltaOf(b, { type: 'thinking_delta', thinking }) : out;
      }
      case 'redacted_thinking': {
        this.blocks[index] = SKIP;
        if (!encryptedReasoning) return out;
        out += this.closeMessage();
        const i = this.added++;
        const id = itemId('rs', this.rid, i);
        out += this.itemAdded(i, reasoningItem(id, '', undefined));
        return (
          out +
          this.itemDone(i, JSON.stringify(reasoningItem(id, '', REDACTED_PREFIX + (block.data as string))))
        );
      }
      case 'tool_use': {
        const name = block.name as string;
        if (name === jsonTool) return out + this.textStart(index, true);
        out += this.closeMessage();
        const i = this.added++;
        const callId = block.id as string;
        const client = clientTools.get(name);
        if (client?.custom) {
          const id = itemId('ctc', this.rid, i);
          this.blocks[index] = { kind: 'custom', index: i, id, callId, client, json: '' };
          return out + this.itemAdded(i, customToolCallItem(id, callId, client, '', false));
        }
        const id = itemId('fc', this.rid, i);
        this.blocks[index] = {
          kind: 'call',
          index: i,
          id,
          callId,
          name,
          client,
          head: ResponsesStreamRenderer.at(id, i),
          delta: `${ResponsesStreamRenderer.at(id, i)},"delta":`,
          args: '',
        };
        return out + this.itemAdded(i, functionCallItem(id, 'in_progress', callId, name, '', client));
      }
      default:
        // Server tools and their results.
        this.blocks[index] = SKIP;
        return out;
    }
  }

  /** A new output_text part in the open message (opened if needed). */
  private textStart(index: number, json: boolean): string {
    let out = this.openMessage();
    const m = this.open as OpenMessage;
    const content = m.parts.length;
    m.parts.push(EMPTY_TEXT_PART); // replaced when the part is done
    const head = `${ResponsesStreamRenderer.at(m.id, m.index)},"content_index":${content}`;
    this.blocks[index] = { kind: 'text', json, content, head, delta: `${head},"delta":`, text: '' };
    out += this.frame('response.content_part.added', `${head},"part":${EMPTY_TEXT_PART}`);
    return out;
  }

  protected delta(index: number, d: ContentDelta): string {
    return this.deltaOf(this.blocks[index] ?? SKIP, d);
  }

  private deltaOf(b: Block, d: ContentDelta): string {
    switch (b.kind) {
      case 'text': {
        const piece = b.json
          ? d.type === 'input_json_delta'
            ? d.partial_json
            : ''
          : d.type === 'text_delta'
            ? d.text
            : '';
        if (!piece) return '';
        b.text += piece;
        return TEXT_DELTA + this.seq++ + b.delta + JSON.stringify(piece) + LOGPROBS_END;
      }
      case 'reasoning': {
        if (d.type === 'signature_delta') {
          b.signature = d.signature;
          return '';
        }
        if (d.type !== 'thinking_delta' || !d.thinking) return '';
        b.text += d.thinking;
        let out = '';
        if (!b.part) {
          b.part = true;
          out = this.frame(
            'response.reasoning_summary_part.added',
            `${b.head},"part":{"type":"summary_text","text":""}`,
          );
        }
        return out + SUMMARY_DELTA + this.seq++ + b.delta + JSON.stringify(d.thinking) + END;
      }
      case 'call':
        if (d.type !== 'input_json_delta' || !d.partial_json) return '';
        b.args += d.partial_json;
        return ARGS_DELTA + this.seq++ + b.delta + JSON.stringify(d.partial_json) + END;
      case 'custom':
        if (d.type === 'input_json_delta') b.json += d.partial_json;
        return '';
      default:
        return '';
    }
  }

  protected blockStop(index: number): string {
    const b = this.blocks[index] ?? SKIP;
    switch (b.kind) {
      case 'text': {
        let out = '';
        // A structured answer without input still is a JSON object.
        if (b.json && !b.text) out += this.deltaOf(b, { type: 'input_json_delta', partial_json: '{}' });
        const text = JSON.stringify(b.text);
        const part = `{"type":"output_text","annotations":[],"logprobs":[],"text":${text}}`;
        (this.open as OpenMessage).parts[b.content] = part;
        out += this.frame('response.output_text.done', `${b.head},"text":${text},"logprobs":[]`);
        return out + this.frame('response.content_part.done', `${b.head},"part":${part}`);
      }
      case 'reasoning': {
        let out = '';
        if (b.part) {
          const text = JSON.stringify(b.text);
          out += this.frame('response.reasoning_summary_text.done', `${b.head},"text":${text}`);
          out += this.frame(
            'response.reasoning_summary_part.done',
            `${b.head},"part":{"type":"summary_text","text":${text}}`,
          );
        }
        const sealed = this.parsed.hints.encryptedReasoning ? b.signature : undefined;
        return out + this.itemDone(b.index, JSON.stringify(reasoningItem(b.id, b.text, sealed)));
      }
      case 'call': {
        let out = '';
        // A call without arguments streams none; clients expect a JSON object.
        if (!b.args) out += this.deltaOf(b, { type: 'input_json_delta', partial_json: '{}' });
        const done = `${b.head},"arguments":${JSON.stringify(b.args)},"name":${JSON.stringify(b.client?.name ?? b.name)}`;
        out += this.frame('response.function_call_arguments.done', done);
        const item = functionCallItem(b.id, 'completed', b.callId, b.name, b.args, b.client);
        return out + this.itemDone(b.index, JSON.stringify(item));
      }
      case 'custom': {
        const input = customInput(lenientInput(b.json));
        const head = ResponsesStreamRenderer.at(b.id, b.index);
        const text = JSON.stringify(input);
        let out = input ? this.frame('response.custom_tool_call_input.delta', `${head},"delta":${text}`) : '';
        out += this.frame('response.custom_tool_call_input.done', `${head},"input":${text}`);
        return (
          out +
          this.itemDone(b.index, JSON.stringify(customToolCallItem(b.id, b.callId, b.client, input, true)))
        );
      }
      default:
        return '';
    }
  }

  /** A refusal: a `refusal` part in the open message (opened if needed). */
  private refusal(explanation: string): string {
    let out = this.start() + this.openMessage();
    const m = this.open as OpenMessage;
    const head = `${ResponsesStreamRenderer.at(m.id, m.index)},"content_index":${m.parts.length}`;
    const text = JSON.stringify(explanation);
    const part = `{"type":"refusal","refusal":${text}}`;
    m.parts.push(part);
    out += this.frame('response.content_part.added', `${head},"part":{"type":"refusal","refusal":""}`);
    out += this.frame('response.refusal.delta', `${head},"delta":${text}`);
    out += this.frame('response.refusal.done', `${head},"refusal":${text}`);
    return out + this.frame('response.content_part.done', `${head},"part":${part}`);
  }
}

/** A custom tool's streamed input; text that is not JSON is taken as the input itself. */
function lenientInput(json: string): unknown {
  try {
    return parseToolInput(json);
  } catch {
    return { input: json };
  }
}
