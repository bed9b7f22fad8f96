/** The small requests every scenario sends, one per client format: what a chat client's turn looks like. */

export const ANTHROPIC = (stream: boolean) =>
  JSON.stringify({
    model: 'claude-sonnet-5-5',
    max_tokens: 256,
    stream,
    messages: [{ role: 'user', content: 'Say hello in one short sentence.' }],
  });

export const OPENAI = (stream: boolean) =>
  JSON.stringify({
    model: 'gpt-4o',
    stream,
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Say hello in one short sentence.' },
    ],
  });

export const RESPONSES = (stream: boolean) =>
  JSON.stringify({
    model: 'gpt-4o',
    stream,
    instructions: 'Be brief.',
    input: 'Say hello in one short sentence.',
  });
