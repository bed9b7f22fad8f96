/**
 * The Anthropic SDK through ccproxy (API mode): a plain answer, then a streamed one.
 *   npx tsx examples/anthropic-sdk.ts
 * ANTHROPIC_BASE_URL defaults to http://127.0.0.1:8000/api; the key only matters when the proxy has
 * security.auth_token set (then it is that token).
 */
import Anthropic from '@anthropic-ai/sdk';

const client = new Anthropic({
  baseURL: process.env.ANTHROPIC_BASE_URL ?? 'http://127.0.0.1:8000/api',
  apiKey: process.env.ANTHROPIC_API_KEY ?? 'dummy',
});

const msg = await client.messages.create({
  model: 'claude-sonnet-5-5',
  max_tokens: 256,
  messages: [{ role: 'user', content: 'Name three prime numbers.' }],
});
console.log(msg.content.map((b) => (b.type === 'text' ? b.text : '')).join(''));

const stream = client.messages.stream({
  model: 'claude-sonnet-5-5',
  max_tokens: 256,
  messages: [{ role: 'user', content: 'Count to five, one number per line.' }],
});
stream.on('text', (t) => process.stdout.write(t));
const final = await stream.finalMessage();
console.log(`\n(${final.usage.input_tokens} in, ${final.usage.output_tokens} out)`);
