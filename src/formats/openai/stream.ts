/**
 * Anthropic stream events → OpenAI `chat.completion.chunk` frames.
 * https://docs.anthropic.com/en/docs/build-with-claude/streaming
 * https://platform.openai.com/docs/api-reference/chat-streaming
 *
 * A state machine fed one event at a time: each `push` returns the frames (`data: …\n\n`) that
 * event produces, often none. No I/O, no timers. The frames reassemble to exactly what
 * `renderChatCompletion` makes of the accumulated message:
 *
 * - one id and `created` for every chunk; the first carries `role: "assistant"`;
 * - text and reasoning deltas as they arrive;
 * - each tool call opens with `index`, `id`, `type`, `function.name` and empty arguments, then its
 *   argument fragments under the same `index` (Anthropic content index → OpenAI tool-call index);
 * - a chunk with `finish_reason` after the upstream's `message_delta`;
 * - with `stream_options.include_usage`, `usage: null` on every chunk and a last chunk with
 *   `choices: []` and the usage; then `data: [DONE]`.
 *
 * Hot path: frames are string concatenation around a prebuilt head and tail; only the delta's own
 * text goes through JSON.stringify.
 */
import type { ProxyError } from '../../errors.ts';
import type { ContentDelta, ResponseBlock } from '../anthropic/types.ts';
import { EventRenderer, type MessageDelta } from '../event-renderer.ts';
import type { FormatOptions, Parsed, RenderMeta } from '../frontend.ts';
import { errorBody } from './errors.ts';
import { finishReason } from './finish-reason.ts';
import { refusalText, THINKING_CLOSE, THINKING_OPEN } from './response.ts';
import { completionId, type OpenAIHints } from './types.ts';
import { renderUsage } from './usage.ts';

/** What an Anthropic content block is to the OpenAI client. */
const Kind = {
  Skip: 0,
  Text: 1,
  Thinking: 2,
  Tool: 3,
  /** The forced `response_format` tool: its input streams as content. */
  JsonTool: 4,
} as const;
type Kind = (typeof Kind)[keyof typeof Kind];

const EMPTY_ARGS_CONTENT = '{"content":"{}"}';
const DONE = 'data: [DONE]\n\n';

export class ChatStreamRenderer extends EventRenderer {
  private readonly id: string;
  private readonly model: string;
  private readonly created: number;
  private readonly includeUsage: boolean;
  private readonly jsonTool: string | undefined;
  private readonly legacy: boolean;
  private readonly reasoning: FormatOptions['reasoningOutput'];
  /** `data: {…,"choices":[{"index":0,"delta":` */
  private readonly head: string;
  /** `,"logprobs":null,"finish_reason":null}]…}\n\n` */
  private readonly tail: string;
  private readonly usageNull: string;

  /** By Anthropic content index. */
  private readonly kinds: Kind[] = [];
  /** By Anthropic content index: the OpenAI tool-call index, or -1 for a legacy call past the first. */
  private readonly callIndex: number[] = [];
  /** By Anthropic content index: a tool's arguments (or a thinking block's open tag) were sent. */
  private readonly opened: boolean[] = [];
  private calls = 0;
  private stopReason: string | null = null;
  private started = false;
  private finished = false;

  constructor(parsed: Parsed<OpenAIHints>, meta: RenderMeta, opts: FormatOptions) {
    super();
    this.id = completionId(meta.requestId);
    this.model = parsed.clientModel;
    this.created = meta.created;
    this.includeUsage = parsed.hints.includeUsage;
    this.jsonTool = parsed.hints.jsonTool;
    this.legacy = parsed.hints.legacyFunctions;
    this.reasoning = opts.reasoningOutput;
    this.head = `data: {"id":${JSON.stringify(this.id)},"object":"chat.completion.chunk","created":${this.created},"model":${JSON.stringify(this.model)},"choices":[{"index":0,"delta":`;
    this.usageNull = this.includeUsage ? ',"usage":null' : '';
    this.tail = `,"logprobs":null,"finish_reason":null}]${this.usageNull}}\n\n`;
  }

  end(): string {
    if (this.closed) return '';
    let out = this.finished ? '' : this.finish();
    this.closed = true;
    if (this.includeUsage) {
      const chunk = {
        id: this.id,
        object: 'chat.completion.chunk',
        created: this.created,
        model: this.model,
        choices: [],
        usage: renderUsage(this.usage),
      };
      out += `data: ${JSON.stringify(chunk)}\n\n`;
    }
    return out + DONE;
  }

  fail(err: ProxyError): string {
    if (this.closed) return '';
    this.closed = true;
    return `data: ${JSON.stringify(errorBody(err))}\n\n`;
  }

  protected start(): string {
    if (this.started) return '';
    this.started = true;
    return `${this.head}{"role":"assistant","content":"","refusal":null}${this.tail}`;
  }

  private frame(delta: string): string {
    return this.started ? this.head + delta + this.tail : this.start() + this.head + delta + this.tail;
  }

  private content(text: string): string {
    return this.frame(`{"content":${JSON.stringify(text)}}`);
  }

  protected blockStart(index: number, block: ResponseBlock): string {
    switch (block.type) {
      case 'text': {
        this.kinds[index] = Kind.Text;
        const text = block.text as string;
        return text ? this.content(text) : '';
      }
      case 'thinking': {
        this.kinds[index] = Kind.Thinking;
        this.opened[index] = false;
        const thinking = block.thinking as string;
        return thinking ? this.thinking(index, thinking) : '';
      }
      case 'tool_use': {
        this.opened[index] = false;
        if (block.name === this.jsonTool) {
          this.kinds[index] = Kind.JsonTool;
          return '';
        }
        this.kinds[index] = Kind.Tool;
        const n = this.calls++;
        if (this.legacy) {
          // Legacy function calling has room for one call.
          this.callIndex[index] = n === 0 ? 0 : -1;
          if (n > 0) return '';
          return this.frame(JSON.stringify({ function_call: { name: block.name, arguments: '' } }));
        }
        this.callIndex[index] = n;
        const call = {
          index: n,
          id: block.id,
          type: 'function',
          function: { name: block.name, arguments: '' },
        };
        return this.frame(JSON.stringify({ tool_calls: [call] }));
      }
      default:
        // redacted_thinking, server tools and their results.
        this.kinds[index] = Kind.Skip;
        return '';
    }
  }

  protected delta(index: number, d: ContentDelta): string {
    switch (this.kinds[index]) {
      case Kind.Text:
        return d.type === 'text_delta' && d.text ? this.content(d.text) : '';
      case Kind.Thinking:
        return d.type === 'thinking_delta' && d.thinking ? this.thinking(index, d.thinking) : '';
      case Kind.Tool: {
        if (d.type !== 'input_json_delta' || !d.partial_json) return '';
        const n = this.callIndex[index];
        if (n < 0) return '';
        this.opened[index] = true;
        const args = JSON.stringify(d.partial_json);
        return this.frame(
          this.legacy
            ? `{"function_call":{"arguments":${args}}}`
            : `{"tool_calls":[{"index":${n},"function":{"arguments":${args}}}]}`,
        );
      }
      case Kind.JsonTool:
        if (d.type !== 'input_json_delta' || !d.partial_json) return '';
        this.opened[index] = true;
        return this.content(d.partial_json);
      default:
        return '';
    }
  }

  private thinking(index: number, text: string): string {
    if (this.reasoning === 'reasoning_content')
      return this.frame(`{"reasoning_content":${JSON.stringify(text)}}`);
    if (this.reasoning === 'drop') return '';
    if (this.opened[index]) return this.content(text);
    this.opened[index] = true;
    return this.content(THINKING_OPEN + text);
  }

  protected blockStop(index: number): string {
    switch (this.kinds[index]) {
      case Kind.Thinking:
        return this.opened[index] ? this.content(THINKING_CLOSE) : '';
      case Kind.Tool: {
        // A call without arguments streams none; OpenAI clients expect a JSON object.
        const n = this.callIndex[index];
        if (this.opened[index] || n < 0) return '';
        return this.frame(
          this.legacy
            ? '{"function_call":{"arguments":"{}"}}'
            : `{"tool_calls":[{"index":${n},"function":{"arguments":"{}"}}]}`,
        );
      }
      case Kind.JsonTool:
        return this.opened[index] ? '' : this.frame(EMPTY_ARGS_CONTENT);
      default:
        return '';
    }
  }

  protected messageDelta(delta: MessageDelta): string {
    if (this.finished) return '';
    this.stopReason = delta.stop_reason;
    let out = '';
    if (delta.stop_reason === 'refusal') {
      out += this.frame(`{"refusal":${JSON.stringify(refusalText(delta.stop_details))}}`);
    }
    return out + this.finish();
  }

  private finish(): string {
    this.finished = true;
    const reason = finishReason(this.stopReason, this.calls, this.legacy);
    const lead = this.started ? '' : this.start();
    return `${lead}${this.head}{},"logprobs":null,"finish_reason":"${reason}"}]${this.usageNull}}\n\n`;
  }
}
