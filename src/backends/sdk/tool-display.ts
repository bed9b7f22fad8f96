/**
 * The agent's own tool activity as readable text (`claude.tool_display = text`): one line per
 * call, e.g. `> **Read** /tmp/notes.md`, and a short line when a call fails. Never a `tool_use`
 * block: the client must not think it has something to execute. Pure functions.
 */

const MAX_SUMMARY = 160;

/** The input field that says the most about a call, per built-in tool. */
const MAIN_FIELD: Record<string, readonly string[]> = {
  Read: ['file_path'],
  Write: ['file_path'],
  Edit: ['file_path'],
  MultiEdit: ['file_path'],
  NotebookEdit: ['notebook_path'],
  Bash: ['command'],
  PowerShell: ['command'],
  Glob: ['pattern', 'path'],
  Grep: ['pattern', 'path'],
  WebFetch: ['url'],
  WebSearch: ['query'],
  Task: ['description'],
  Agent: ['description'],
  TodoWrite: [],
  Skill: ['skill', 'command'],
};

function oneLine(text: string, max = MAX_SUMMARY): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** `mcp__github__search_issues` → `github › search_issues`; built-in names unchanged. */
export function displayToolName(name: string): string {
  const m = /^mcp__(.+?)__(.+)$/.exec(name);
  return m ? `${m[1]} › ${m[2]}` : name;
}

/** A short description of a call's input: the main field for known tools, else compact JSON. */
export function summarizeToolInput(name: string, input: unknown): string {
  if (!input || typeof input !== 'object') return '';
  const obj = input as Record<string, unknown>;
  const fields = MAIN_FIELD[name];
  if (fields) {
    const parts = fields.map((f) => obj[f]).filter((v): v is string => typeof v === 'string' && v !== '');
    return oneLine(parts.join(' in '));
  }
  const json = JSON.stringify(obj);
  return json === '{}' ? '' : oneLine(json);
}

/** The text shown for one tool call, as a Markdown quote line. */
export function formatToolCall(name: string, input: unknown): string {
  const summary = summarizeToolInput(name, input);
  return `> **${displayToolName(name)}**${summary ? ` ${summary}` : ''}`;
}

/** The text shown when a call failed. */
export function formatToolFailure(content: unknown): string {
  return `> ✗ ${oneLine(toolResultText(content)) || 'failed'}`;
}

/** The text of a tool_result's content (a string or text blocks). */
export function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((b) =>
      b && typeof b === 'object' && (b as { type?: unknown }).type === 'text'
        ? (b as { text: string }).text
        : '',
    )
    .join(' ');
}
