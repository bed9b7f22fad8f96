/**
 * The fake Anthropic upstream of test/support in a child process, for `npm run soak`: the real
 * protocol, with faults picked per request by `[[fake:…]]` directives in the prompt. It forgets what
 * it received every few seconds, so its own memory stays flat over a long run.
 */
import { startFakeUpstream } from '../test/support/fake-upstream.ts';

const fake = await startFakeUpstream({ acceptAnyToken: true });
setInterval(() => {
  fake.received.length = 0;
}, 2000).unref();
process.send?.({ port: fake.port });
