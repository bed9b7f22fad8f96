/**
 * The official `openai` SDK against ccproxy: a plain answer, a streamed one, and structured output.
 *
 *   ccproxy serve                       # in another terminal (or: npm start)
 *   npx tsx examples/openai-sdk.ts
 *
 * OPENAI_BASE_URL (default http://127.0.0.1:8000/api/v1) picks the proxy and mode (/api or /sdk);
 * OPENAI_API_KEY is ccproxy's security.auth_token when one is set, anything otherwise.
 */
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';

const client = new OpenAI({
  baseURL: process.env.OPENAI_BASE_URL ?? 'http://127.0.0.1:8000/api/v1',
  apiKey: process.env.OPENAI_API_KEY ?? 'dummy',
});
const model = process.env.MODEL ?? 'gpt-4o'; // → Claude Sonnet; a Claude id works too

// 1. One answer. The model in the reply is the name asked for; usage is in OpenAI's terms.
const answer = await client.chat.completions.create({
  model,
  messages: [
    { role: 'system', content: 'Answer in one sentence.' },
    { role: 'user', content: 'What is a reverse proxy?' },
  ],
});
console.log('answer:', answer.choices[0].message.content);
console.log('usage: ', answer.usage);

// 2. Streamed, with a final usage chunk (choices: []) because include_usage is set.
const stream = await client.chat.completions.create({
  model,
  messages: [{ role: 'user', content: 'Count from one to five, in words.' }],
  stream: true,
  stream_options: { include_usage: true },
});
process.stdout.write('stream: ');
for await (const chunk of stream) {
  process.stdout.write(chunk.choices[0]?.delta.content ?? '');
  if (chunk.usage) process.stdout.write(`\n(${chunk.usage.total_tokens} tokens)\n`);
}

// 3. Structured output: the schema goes to Claude's native structured outputs; `parsed` is typed.
const City = z.object({ name: z.string(), country: z.string(), population: z.number() });
const parsed = await client.chat.completions.parse({
  model,
  messages: [{ role: 'user', content: 'The largest city in Japan, as JSON.' }],
  response_format: zodResponseFormat(City, 'city'),
});
console.log('parsed:', parsed.choices[0].message.parsed);

// 4. Reasoning: reasoning_effort turns on Claude's thinking; it comes back as reasoning_content.
const reasoned = await client.chat.completions.create({
  model: 'o3', // → Claude Opus
  messages: [{ role: 'user', content: 'Is 1001 prime? Answer yes or no.' }],
  reasoning_effort: 'low',
});
const message = reasoned.choices[0].message as (typeof reasoned.choices)[0]['message'] & {
  reasoning_content?: string;
};
console.log('thinking:', message.reasoning_content?.slice(0, 200) ?? '(none)');
console.log('answer:  ', message.content);
