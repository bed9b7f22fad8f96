/**
 * Tool calling through ccproxy with the `openai` SDK: Claude asks for (possibly parallel) calls, we
 * run them and send the results back until it answers. Tool-call ids are Claude's own (`toolu_…`).
 *
 *   ccproxy serve                       # in another terminal (or: npm start)
 *   npx tsx examples/openai-tools.ts
 */
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';

const client = new OpenAI({
  baseURL: process.env.OPENAI_BASE_URL ?? 'http://127.0.0.1:8000/api/v1',
  apiKey: process.env.OPENAI_API_KEY ?? 'dummy',
});
const model = process.env.MODEL ?? 'gpt-4o';

const tools: ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'The current weather in a city.',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string', description: 'City name, e.g. Paris' } },
        required: ['city'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'get_time',
      description: 'The current local time in an IANA time zone.',
      parameters: {
        type: 'object',
        properties: { timezone: { type: 'string', description: 'e.g. Asia/Tokyo' } },
        required: ['timezone'],
      },
    },
  },
];

/** Stand-ins for real functions. */
function run(name: string, args: Record<string, string>): string {
  switch (name) {
    case 'get_weather':
      return JSON.stringify({ city: args.city, sky: 'clear', celsius: 21 });
    case 'get_time':
      return new Date().toLocaleString('en-GB', { timeZone: args.timezone });
    default:
      return `unknown tool ${name}`;
  }
}

const messages: ChatCompletionMessageParam[] = [
  { role: 'user', content: 'What is the weather in Paris, and what time is it in Tokyo?' },
];

for (let turn = 1; turn <= 5; turn++) {
  // Streamed: the SDK assembles tool-call fragments into whole calls for us.
  const completion = await client.chat.completions
    .stream({ model, messages, tools })
    .on('content', (delta) => process.stdout.write(delta))
    .finalChatCompletion();
  const { message, finish_reason } = completion.choices[0];
  if (message.content) process.stdout.write('\n');
  messages.push(message as ChatCompletionMessageParam);
  if (finish_reason !== 'tool_calls' || !message.tool_calls?.length) {
    console.log(`(done after ${turn} turn${turn > 1 ? 's' : ''}: ${finish_reason})`);
    break;
  }
  for (const call of message.tool_calls) {
    if (call.type !== 'function') continue;
    const result = run(call.function.name, JSON.parse(call.function.arguments || '{}'));
    console.log(`→ ${call.function.name}(${call.function.arguments}) = ${result}`);
    // Answer every call of the turn, by its id, before the next request.
    messages.push({ role: 'tool', tool_call_id: call.id, content: result });
  }
}
