/**
 * Scenarios by name, chosen from inside the prompt: a `[[fake:<name>]]` or `[[fake:<name>:<arg>]]`
 * directive in the last user message picks the answer, for tests that control only the prompt
 * (Claude Code `-p`). The same table backs `fake.enqueue(scenario('…'))`.
 */
import { DEFAULT_TEXT, reply } from './replies.ts';
import type { FakeResponse, ReceivedRequest } from './types.ts';

type Obj = Record<string, unknown>;
type Scenario = (arg: string | undefined, body: Obj) => FakeResponse;

const num = (arg: string | undefined, fallback: number): number =>
  arg && Number.isFinite(Number(arg)) ? Number(arg) : fallback;

/** The first tool the request offers (so a directive-driven tool call names a tool the client has). */
function firstTool(body: Obj): string | undefined {
  const tools = Array.isArray(body.tools) ? (body.tools as Obj[]) : [];
  return tools.find((t) => typeof t.name === 'string' && (t.type === undefined || t.type === 'custom'))
    ?.name as string | undefined;
}

/** `Name` or `Name:{"json":"input"}` → a tool call. */
function toolCall(arg: string | undefined, body: Obj): { name: string; input: unknown } {
  if (arg) {
    const colon = arg.indexOf(':');
    const name = colon < 0 ? arg : arg.slice(0, colon);
    const input = colon < 0 ? {} : JSON.parse(arg.slice(colon + 1));
    return { name, input };
  }
  const name = firstTool(body);
  return name ? { name, input: {} } : { name: 'get_weather', input: { location: 'Paris' } };
}

export const SCENARIOS: Record<string, Scenario> = {
  text: (arg) => reply.text(arg ?? DEFAULT_TEXT),
  echo: (_arg, body) =>
    reply.text(`You said: ${lastUserText(body).replace(DIRECTIVE, '').trim() || '(nothing)'}`),
  tool_use: (arg, body) => reply.toolUse(toolCall(arg, body), { text: "I'll use a tool for that." }),
  parallel_tool_use: (arg, body) => {
    const { name } = toolCall(arg, body);
    const inputs = name === 'get_weather' ? [{ location: 'Paris' }, { location: 'Tokyo' }] : [{}, {}];
    return reply.toolUse(inputs.map((input) => ({ name, input })));
  },
  thinking: (arg) => reply.thinking(undefined, arg),
  fixture: (arg) => reply.fixture(arg ?? 'anthropic-text'),
  refusal: () => reply.refusal(),
  max_tokens: () => reply.maxTokens(),
  unicode: () => reply.unicode(),
  rate_limit: (arg) => reply.rateLimited({ retryAfter: num(arg, 1) }),
  overloaded: () => reply.overloaded(),
  api_error: () => reply.apiError(),
  unauthorized: () => reply.unauthorized(),
  stream_error: (arg) => reply.streamError({ afterEvents: num(arg, 4) }),
  slow: (arg) => reply.slow(num(arg, 50)),
  drop: (arg) => reply.drop(num(arg, 3)),
  reset: () => reply.reset(),
  stall: () => reply.stall(),
  stall_mid: (arg) => reply.stallMidStream(num(arg, 3)),
  html: (arg) => reply.html(num(arg, 502)),
  malformed: (arg) => reply.malformed(arg === 'garbage' || arg === 'truncated' ? arg : 'json'),
  huge: (arg) => reply.huge(num(arg, 64 * 1024 * 1024)),
};

/** A scenario by name, for `fake.enqueue(scenario('overloaded'))`. */
export function scenario(name: string, arg?: string, body: Obj = {}): FakeResponse {
  const s = SCENARIOS[name];
  if (!s) throw new Error(`Unknown fake scenario "${name}" (have: ${Object.keys(SCENARIOS).join(', ')})`);
  return s(arg, body);
}

const DIRECTIVE = /\[\[fake:([a-z_]+)(?::(.*?))?\]\]/gs;

function blocksText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((b): b is Obj => typeof b === 'object' && b !== null && (b as Obj).type === 'text')
    .map((b) => String(b.text))
    .join('\n');
}

function lastUser(body: Obj): Obj | undefined {
  const messages = Array.isArray(body.messages) ? (body.messages as Obj[]) : [];
  return messages.findLast((m) => m?.role === 'user');
}

export function lastUserText(body: Obj): string {
  return blocksText(lastUser(body)?.content);
}

/** The last directive in the last user message, if any. */
export function findDirective(body: Obj): { name: string; arg?: string } | undefined {
  const matches = [...lastUserText(body).matchAll(DIRECTIVE)];
  const m = matches.at(-1);
  return m ? { name: m[1], arg: m[2] } : undefined;
}

/** Text of the tool results in the last user message (a tool_result's content may be blocks). */
function toolResultsText(body: Obj): string[] {
  const content = lastUser(body)?.content;
  if (!Array.isArray(content)) return [];
  return content
    .filter((b): b is Obj => typeof b === 'object' && b !== null && (b as Obj).type === 'tool_result')
    .map((b) => blocksText(b.content));
}

/**
 * What the fake answers when nothing is scripted: a directive's scenario; else, after tool results,
 * a text quoting them (so agent loops end); else a short text.
 */
export function defaultResponse(req: ReceivedRequest): FakeResponse {
  const body = (req.body ?? {}) as Obj;
  const directive = findDirective(body);
  if (directive && SCENARIOS[directive.name]) return scenario(directive.name, directive.arg, body);
  const results = toolResultsText(body);
  if (results.length) return reply.text(`The tool returned:\n${results.join('\n')}`);
  return reply.text();
}
