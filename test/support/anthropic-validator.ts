/**
 * Validates a Messages API request body the way the real API does, with its error messages
 * (`max_tokens: Field required`, the `tool_use`/`tool_result` pairing rules, the cache_control cap…).
 * Used by the fake upstream (invalid → 400 invalid_request_error) and by property tests.
 * https://docs.anthropic.com/en/api/messages
 *
 * Deliberately lenient where real clients send fields newer than this file (block and tool extras);
 * strict where a proxy could plausibly break a request (shapes, pairing, limits, unknown top-level keys).
 */

export type ValidationResult = { ok: true } | { ok: false; message: string };

export interface ValidateOptions {
  /** `count_tokens` takes the same body without `max_tokens`/`stream`. Default `messages`. */
  endpoint?: 'messages' | 'count_tokens';
  /**
   * The `anthropic-version` the request is sent with (default `2023-06-01`). `2026-10-21` removes
   * temperature/top_p/top_k and rejects document blocks in assistant messages and citations on
   * text blocks in user messages.
   */
  version?: string;
}

/** The API versions the real API knows. */
export const API_VERSIONS = ['2023-01-01', '2023-06-01', '2026-10-21'] as const;

type Obj = Record<string, unknown>;

class Invalid extends Error {}

function fail(message: string): never {
  throw new Invalid(message);
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const quoted = (tags: readonly string[]) => tags.map((t) => `'${t}'`).join(', ');

/** Top-level fields the API knows (Claude Code 2.1 sends the newer ones: context_management, output_config…). */
const TOP_LEVEL = new Set([
  'model',
  'messages',
  'max_tokens',
  'system',
  'metadata',
  'stop_sequences',
  'stream',
  'tools',
  'tool_choice',
  'thinking',
  'service_tier',
  'container',
  'mcp_servers',
  'context_management',
  'output_config',
  'output_format',
  'inference_geo',
  'speed',
  'cache_control',
  'diagnostics',
]);

const SAMPLING = ['temperature', 'top_p', 'top_k'];

/** Rules of API version 2026-10-21 (their error wording was not recorded; these say what failed). */
function checkVersion2026(block: Obj, at: string, role: string): void {
  if (block.type === 'document' && role === 'assistant') {
    fail(`${at}: \`document\` blocks are not supported in \`assistant\` messages`);
  }
  if (
    role === 'user' &&
    block.type === 'text' &&
    Array.isArray(block.citations) &&
    block.citations.length > 0
  ) {
    fail(`${at}.citations: citations are not supported on text blocks in \`user\` messages`);
  }
  if (role === 'user' && block.type === 'search_result' && Array.isArray(block.content)) {
    (block.content as unknown[]).forEach((inner, k) => {
      if (isObj(inner)) checkVersion2026(inner, `${at}.content.${k}`, role);
    });
  }
}

const MESSAGE_BLOCKS = [
  'text',
  'image',
  'document',
  'search_result',
  'thinking',
  'redacted_thinking',
  'tool_use',
  'tool_result',
  'server_tool_use',
  'web_search_tool_result',
  'web_fetch_tool_result',
  'code_execution_tool_result',
  'bash_code_execution_tool_result',
  'text_editor_code_execution_tool_result',
  'tool_search_tool_result',
  'mcp_tool_use',
  'mcp_tool_result',
  'container_upload',
  'compaction',
] as const;

const TOOL_RESULT_BLOCKS = ['text', 'image', 'document', 'search_result', 'tool_reference'] as const;
const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];

function checkCacheControl(v: unknown, at: string): number {
  if (v === undefined || v === null) return 0;
  if (!isObj(v))
    fail(`${at}.cache_control: Input should be a valid dictionary or object to extract fields from`);
  const cc = v as Obj;
  if (cc.type !== 'ephemeral') fail(`${at}.cache_control.type: Input should be 'ephemeral'`);
  if (cc.ttl !== undefined && cc.ttl !== '5m' && cc.ttl !== '1h')
    fail(`${at}.cache_control.ttl: Input should be '5m' or '1h'`);
  return 1;
}

function checkText(block: Obj, at: string, scope: string): void {
  if (block.text === undefined) fail(`${at}.text: Field required`);
  if (typeof block.text !== 'string') fail(`${at}.text: Input should be a valid string`);
  const text = block.text as string;
  if (text.length === 0) fail(`${scope}: text content blocks must be non-empty`);
  if (text.trim().length === 0) fail(`${scope}: text content blocks must contain non-whitespace text`);
}

function checkSource(block: Obj, at: string, kinds: string[]): void {
  const source = block.source;
  if (source === undefined) fail(`${at}.source: Field required`);
  if (!isObj(source))
    fail(`${at}.source: Input should be a valid dictionary or object to extract fields from`);
  const s = source as Obj;
  if (!kinds.includes(String(s.type))) {
    fail(
      `${at}.source: Input tag '${String(s.type)}' found using 'type' does not match any of the expected tags: ${quoted(kinds)}`,
    );
  }
  if (s.type === 'base64') {
    if (typeof s.data !== 'string') fail(`${at}.source.base64.data: Field required`);
    if (block.type === 'image' && !IMAGE_TYPES.includes(String(s.media_type))) {
      fail(`${at}.source.base64.media_type: Input should be ${quoted(IMAGE_TYPES)}`);
    }
  }
  if (s.type === 'url' && typeof s.url !== 'string') fail(`${at}.source.url.url: Field required`);
  if (s.type === 'file' && typeof s.file_id !== 'string') fail(`${at}.source.file.file_id: Field required`);
  if (s.type === 'text' && typeof s.data !== 'string') fail(`${at}.source.text.data: Field required`);
}

function requireString(block: Obj, field: string, at: string): void {
  if (block[field] === undefined) fail(`${at}.${field}: Field required`);
  if (typeof block[field] !== 'string') fail(`${at}.${field}: Input should be a valid string`);
}

/** Checks one content block; returns its cache_control count (nested tool_result content included). */
function checkBlock(
  block: unknown,
  at: string,
  role: string,
  allowed: readonly string[],
  v2026: boolean,
): number {
  if (!isObj(block)) fail(`${at}: Input should be a valid dictionary or object to extract fields from`);
  if (block.type === undefined) fail(`${at}: Unable to extract tag using discriminator 'type'`);
  if (!allowed.includes(String(block.type))) {
    fail(
      `${at}: Input tag '${String(block.type)}' found using 'type' does not match any of the expected tags: ${quoted(allowed)}`,
    );
  }
  if (v2026) checkVersion2026(block, at, role);
  let marks = checkCacheControl(block.cache_control, at);
  switch (block.type) {
    case 'text':
      checkText(block, at, 'messages');
      break;
    case 'image':
      checkSource(block, at, ['base64', 'url', 'file']);
      break;
    case 'document':
      checkSource(block, at, ['base64', 'text', 'content', 'url', 'file']);
      break;
    case 'tool_use':
    case 'server_tool_use':
      requireString(block, 'id', at);
      requireString(block, 'name', at);
      if (block.input === undefined) fail(`${at}.input: Field required`);
      if (!isObj(block.input)) fail(`${at}.input: Input should be a valid dictionary`);
      if (block.type === 'tool_use' && role !== 'assistant')
        fail(`${at}: \`tool_use\` blocks can only be in \`assistant\` messages`);
      break;
    case 'tool_result': {
      requireString(block, 'tool_use_id', at);
      if (role === 'assistant') fail(`${at}: \`tool_result\` blocks can only be in \`user\` messages`);
      if (block.is_error !== undefined && typeof block.is_error !== 'boolean')
        fail(`${at}.is_error: Input should be a valid boolean`);
      const content = block.content;
      if (content !== undefined && typeof content !== 'string') {
        if (!Array.isArray(content)) fail(`${at}.content: Input should be a valid list`);
        (content as unknown[]).forEach((inner, k) => {
          marks += checkBlock(inner, `${at}.content.${k}`, role, TOOL_RESULT_BLOCKS, v2026);
        });
      }
      break;
    }
    case 'thinking':
      requireString(block, 'thinking', at);
      requireString(block, 'signature', at);
      break;
    case 'redacted_thinking':
      requireString(block, 'data', at);
      break;
  }
  return marks;
}

const toolUseIds = (content: unknown): string[] =>
  Array.isArray(content)
    ? content.filter((b) => isObj(b) && b.type === 'tool_use').map((b) => String((b as Obj).id))
    : [];

const toolResults = (content: unknown): Array<{ id: string; index: number }> =>
  Array.isArray(content)
    ? content.flatMap((b, index) =>
        isObj(b) && b.type === 'tool_result' ? [{ id: String(b.tool_use_id), index }] : [],
      )
    : [];

function checkMessages(messages: unknown, v2026: boolean): number {
  if (!Array.isArray(messages)) fail('messages: Input should be a valid list');
  if (messages.length === 0) fail('messages: at least one message is required');
  let marks = 0;
  const list = messages as unknown[];
  list.forEach((m, i) => {
    const at = `messages.${i}`;
    if (!isObj(m)) fail(`${at}: Input should be a valid dictionary or object to extract fields from`);
    if (m.role === undefined) fail(`${at}.role: Field required`);
    // Claude Code 2.1 sends `system` messages mid-conversation; the API takes them.
    if (m.role !== 'user' && m.role !== 'assistant' && m.role !== 'system')
      fail(`${at}.role: Input should be 'user' or 'assistant'`);
    if (m.content === undefined) fail(`${at}.content: Field required`);
    const isFinalAssistant = i === list.length - 1 && m.role === 'assistant';
    if (typeof m.content === 'string') {
      if (m.content.length === 0 && !isFinalAssistant) {
        fail(
          `${at}: all messages must have non-empty content except for the optional final assistant message`,
        );
      }
      return;
    }
    if (!Array.isArray(m.content)) fail(`${at}.content: Input should be a valid list`);
    if (m.content.length === 0 && !isFinalAssistant) {
      fail(`${at}: all messages must have non-empty content except for the optional final assistant message`);
    }
    m.content.forEach((block, j) => {
      marks += checkBlock(block, `${at}.content.${j}`, String(m.role), MESSAGE_BLOCKS, v2026);
    });
  });

  // Pairing: every tool_use is answered in the next turn, every tool_result answers the previous turn.
  const turns = list.map((m, i) => ({ m: m as Obj, i })).filter(({ m }) => m.role !== 'system');
  turns.forEach(({ m, i }, t) => {
    const next = turns[t + 1];
    if (m.role === 'assistant' && next) {
      const answered = new Set(next.m.role === 'user' ? toolResults(next.m.content).map((r) => r.id) : []);
      const missing = toolUseIds(m.content).filter((id) => !answered.has(id));
      if (missing.length) {
        fail(
          `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
        );
      }
    }
    if (m.role === 'user') {
      const prev = turns[t - 1];
      const asked = new Set(prev?.m.role === 'assistant' ? toolUseIds(prev.m.content) : []);
      const stray = toolResults(m.content).filter((r) => !asked.has(r.id));
      if (stray.length) {
        fail(
          `messages.${i}.content.${stray[0].index}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${stray.map((r) => r.id).join(', ')}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
        );
      }
    }
  });
  return marks;
}

function checkSystem(system: unknown): number {
  if (system === undefined || typeof system === 'string') return 0;
  if (!Array.isArray(system)) fail('system: Input should be a valid list');
  let marks = 0;
  system.forEach((block, i) => {
    const at = `system.${i}`;
    if (!isObj(block)) fail(`${at}: Input should be a valid dictionary or object to extract fields from`);
    if (block.type !== 'text') fail(`${at}.type: Input should be 'text'`);
    checkText(block, at, 'system');
    marks += checkCacheControl(block.cache_control, at);
  });
  return marks;
}

function checkTools(tools: unknown): number {
  if (tools === undefined) return 0;
  if (!Array.isArray(tools)) fail('tools: Input should be a valid list');
  let marks = 0;
  const names = new Set<string>();
  tools.forEach((tool, i) => {
    if (!isObj(tool)) fail(`tools.${i}: Input should be a valid dictionary or object to extract fields from`);
    // Server tools (web_search_…, bash_…) are named by a versioned `type` and carry no schema.
    const custom = tool.type === undefined || tool.type === null || tool.type === 'custom';
    const at = custom ? `tools.${i}.custom` : `tools.${i}`;
    if (!custom && typeof tool.type !== 'string') fail(`tools.${i}.type: Input should be a valid string`);
    if (tool.name === undefined) fail(`${at}.name: Field required`);
    if (typeof tool.name !== 'string') fail(`${at}.name: Input should be a valid string`);
    if (custom && !/^[a-zA-Z0-9_-]{1,128}$/.test(tool.name as string)) {
      fail(`${at}.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`);
    }
    if (names.has(tool.name as string)) fail('tools: Tool names must be unique.');
    names.add(tool.name as string);
    if (custom) {
      if (tool.input_schema === undefined) fail(`${at}.input_schema: Field required`);
      if (!isObj(tool.input_schema)) fail(`${at}.input_schema: Input should be a valid dictionary`);
      if ((tool.input_schema as Obj).type !== 'object')
        fail(`${at}.input_schema.type: Input should be 'object'`);
    }
    marks += checkCacheControl(tool.cache_control, at);
  });
  return marks;
}

function checkToolChoice(choice: unknown, hasTools: boolean): void {
  if (choice === undefined) return;
  if (!isObj(choice))
    fail('tool_choice: Input should be a valid dictionary or object to extract fields from');
  const tags = ['auto', 'any', 'tool', 'none'];
  if (!tags.includes(String(choice.type))) {
    fail(
      `tool_choice: Input tag '${String(choice.type)}' found using 'type' does not match any of the expected tags: ${quoted(tags)}`,
    );
  }
  if (choice.type === 'tool' && typeof choice.name !== 'string')
    fail('tool_choice.tool.name: Field required');
  if (
    choice.disable_parallel_tool_use !== undefined &&
    typeof choice.disable_parallel_tool_use !== 'boolean'
  ) {
    fail(`tool_choice.${String(choice.type)}.disable_parallel_tool_use: Input should be a valid boolean`);
  }
  if (!hasTools && (choice.type === 'any' || choice.type === 'tool'))
    fail('tool_choice may only be specified while providing tools.');
}

function checkThinking(body: Obj, endpoint: 'messages' | 'count_tokens'): void {
  const thinking = body.thinking;
  if (thinking === undefined) return;
  if (!isObj(thinking)) fail('thinking: Input should be a valid dictionary or object to extract fields from');
  const tags = ['enabled', 'disabled', 'adaptive'];
  if (!tags.includes(String(thinking.type))) {
    fail(
      `thinking: Input tag '${String(thinking.type)}' found using 'type' does not match any of the expected tags: ${quoted(tags)}`,
    );
  }
  if (thinking.type === 'enabled') {
    if (thinking.budget_tokens === undefined) fail('thinking.enabled.budget_tokens: Field required');
    if (!isInt(thinking.budget_tokens))
      fail('thinking.enabled.budget_tokens: Input should be a valid integer');
    if ((thinking.budget_tokens as number) < 1024)
      fail('thinking.enabled.budget_tokens: Input should be greater than or equal to 1024');
    if (endpoint === 'messages' && (thinking.budget_tokens as number) >= (body.max_tokens as number)) {
      fail(
        '`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size',
      );
    }
  }
  if (thinking.type !== 'disabled' && body.temperature !== undefined && body.temperature !== 1) {
    fail(
      '`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility',
    );
  }
}

function checkRange(body: Obj, field: string, min: number, max: number | undefined, integer: boolean): void {
  const v = body[field];
  if (v === undefined) return;
  if (integer ? !isInt(v) : typeof v !== 'number' || !Number.isFinite(v)) {
    fail(`${field}: Input should be a valid ${integer ? 'integer' : 'number'}`);
  }
  // Bounded sampling values fail with the API's own range wording (e.g. `temperature: range: 0..1`).
  if (max !== undefined && ((v as number) < min || (v as number) > max))
    fail(`${field}: range: ${min}..${max}`);
  if ((v as number) < min) fail(`${field}: Input should be greater than or equal to ${min}`);
}

function check(body: unknown, endpoint: 'messages' | 'count_tokens', version: string): void {
  if (!isObj(body)) fail('Input should be a valid dictionary or object to extract fields from');
  const v2026 = version >= '2026-10-21';
  for (const key of Object.keys(body)) {
    const known =
      TOP_LEVEL.has(key) ||
      (!v2026 && SAMPLING.includes(key)) ||
      (endpoint === 'count_tokens' && key === 'max_tokens');
    if (!known) fail(`${key}: Extra inputs are not permitted`);
  }
  if (body.model === undefined) fail('model: Field required');
  if (typeof body.model !== 'string') fail('model: Input should be a valid string');
  if ((body.model as string).length === 0) fail('model: String should have at least 1 character');
  if (body.messages === undefined) fail('messages: Field required');
  if (endpoint === 'messages') {
    if (body.max_tokens === undefined) fail('max_tokens: Field required');
    checkRange(body, 'max_tokens', 1, undefined, true);
    if (body.stream !== undefined && typeof body.stream !== 'boolean')
      fail('stream: Input should be a valid boolean');
  }
  checkRange(body, 'temperature', 0, 1, false);
  checkRange(body, 'top_p', 0, 1, false);
  checkRange(body, 'top_k', 0, undefined, true);
  if (body.stop_sequences !== undefined) {
    if (!Array.isArray(body.stop_sequences)) fail('stop_sequences: Input should be a valid list');
    (body.stop_sequences as unknown[]).forEach((s, i) => {
      if (typeof s !== 'string') fail(`stop_sequences.${i}: Input should be a valid string`);
    });
  }
  if (body.metadata !== undefined) {
    if (!isObj(body.metadata))
      fail('metadata: Input should be a valid dictionary or object to extract fields from');
    for (const [k, v] of Object.entries(body.metadata as Obj)) {
      if (k !== 'user_id') fail(`metadata.${k}: Extra inputs are not permitted`);
      if (v !== null && typeof v !== 'string') fail('metadata.user_id: Input should be a valid string');
    }
  }
  let marks = checkSystem(body.system);
  marks += checkMessages(body.messages, v2026);
  marks += checkTools(body.tools);
  marks += checkCacheControl(body.cache_control, 'body');
  checkToolChoice(body.tool_choice, Array.isArray(body.tools) && body.tools.length > 0);
  checkThinking(body, endpoint);
  if (marks > 4) fail(`A maximum of 4 blocks with cache_control may be provided. Found ${marks}.`);
}

export function validateAnthropicRequest(body: unknown, opts: ValidateOptions = {}): ValidationResult {
  try {
    check(body, opts.endpoint ?? 'messages', opts.version ?? '2023-06-01');
    return { ok: true };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, message: err.message };
    throw err;
  }
}
