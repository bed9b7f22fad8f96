/**
 * A request the size of Claude Code's: its system prompt (the billing header and identity first, so
 * ccproxy has nothing to add), 20 tools with JSON schemas and a tool-use history, ~150 KB in all.
 * The other scenarios send one short message, which hides what a proxy does per byte of request.
 */
const WORDS = 'the quick brown fox jumps over the lazy dog while the agent reads files and runs tests'.split(
  ' ',
);
const text = (words: number) => Array.from({ length: words }, (_, i) => WORDS[i % WORDS.length]).join(' ');

export function agentRequest(stream: boolean, kb = 150): string {
  const tools = Array.from({ length: 20 }, (_, i) => ({
    name: `Tool${i}`,
    description: text(250),
    input_schema: {
      type: 'object',
      properties: {
        path: { type: 'string', description: text(20) },
        limit: { type: 'number', description: text(15) },
        pattern: { type: 'string', description: text(25) },
      },
      required: ['path'],
      additionalProperties: false,
    },
  }));
  const messages: unknown[] = [
    { role: 'user', content: [{ type: 'text', text: 'Fix the failing test in src/app.ts' }] },
  ];
  const request = {
    model: 'claude-sonnet-5-5',
    max_tokens: 32000,
    stream,
    system: [
      { type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.0; cc_entrypoint=cli' },
      { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude." },
      { type: 'text', text: text(2500), cache_control: { type: 'ephemeral' } },
    ],
    tools,
    messages,
  };
  for (let i = 0; JSON.stringify(request).length < kb * 1024; i++) {
    messages.push(
      {
        role: 'assistant',
        content: [
          { type: 'text', text: text(40) },
          {
            type: 'tool_use',
            id: `toolu_${i}`,
            name: 'Tool1',
            input: { path: `/src/file${i}.ts`, limit: 200 },
          },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_${i}`, content: text(300) }] },
    );
  }
  return JSON.stringify(request);
}
