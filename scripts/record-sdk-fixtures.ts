/**
 * Records what the Agent SDK's `query()` yields — system init, stream_event partials, assistant and
 * user (tool_result) messages, api_retry, result — when the real Claude Code binary answers the fake
 * upstream (test/support/), into test/fixtures/sdk/<scenario>.jsonl, one SDK message a line. The
 * translator's tests replay them (test/backends/sdk/translate.test.ts).
 *
 *   node --import tsx scripts/record-sdk-fixtures.ts            # every scenario
 *   node --import tsx scripts/record-sdk-fixtures.ts text error-overloaded
 *
 * The agent is started the way ccproxy starts one (src/backends/sdk/start.ts: same options, same
 * client-tool bridge), in a fresh HOME and working folder per scenario. The fake answers with fixed
 * text and usage, so a recording changes only when Claude Code (or the fake) does: regenerate after an
 * Agent SDK upgrade and read the diff. What varies from run to run is scrubbed (see `scrub`, and the
 * list in test/fixtures/sdk/README.md).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import type { Agent } from '../src/backends/sdk/agent.ts';
import { ClaudeBinary } from '../src/backends/sdk/binary.ts';
import { clientToolSet, toCallToolResult } from '../src/backends/sdk/client-tools.ts';
import { AgentLogin } from '../src/backends/sdk/login.ts';
import { agentModules, loadAgentModules } from '../src/backends/sdk/modules.ts';
import { nextStep } from '../src/backends/sdk/next-step.ts';
import { runConfig } from '../src/backends/sdk/options.ts';
import { overridePolicy, validateSdkOverrides } from '../src/backends/sdk/overrides.ts';
import { ProcessTracker } from '../src/backends/sdk/processes.ts';
import { planPrompt } from '../src/backends/sdk/prompt.ts';
import { AgentStarter } from '../src/backends/sdk/start.ts';
import { projectKey } from '../src/backends/sdk/transcript.ts';
import { settingsSchema } from '../src/config/schema.ts';
import type { MessagesRequest } from '../src/formats/anthropic/types.ts';
import { claudeCodeEnv } from '../test/backends/sdk/harness.ts';
import {
  type FakeUpstream,
  reply,
  startFakeUpstream,
  TEST_ACCESS_TOKEN,
} from '../test/support/fake-upstream.ts';

const OUT = path.resolve(import.meta.dirname, '..', 'test', 'fixtures', 'sdk');
const MODEL = 'claude-sonnet-4-5';
/** Where Claude Code keeps its scratch files (subagent output). */
const claudeScratch = path.join(os.tmpdir(), `claude-${process.getuid?.() ?? 0}`);
/** Fixed usage for every answer: the fake would otherwise estimate it from Claude Code's prompt. */
const USAGE = { input_tokens: 1200, cache_read_input_tokens: 800, cache_creation_input_tokens: 300 };

/** Claude Code's Read of notes.txt, its path whole in one input fragment (so that it can be scrubbed). */
function readNotes(cwd: string) {
  const file = path.join(cwd, 'notes.txt');
  fs.writeFileSync(file, 'the secret word is pineapple\n');
  const fragments = ['', '{"file_path": ', JSON.stringify(file), '}'];
  return { name: 'Read', id: 'toolu_01FixtureRead0000000000', input: { file_path: file }, fragments };
}

const WEATHER = {
  name: 'get_weather',
  description: 'The weather in a city.',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

interface Scenario {
  name: string;
  prompt: string;
  request?: Partial<MessagesRequest>;
  overrides?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Script the fake upstream; `cwd` is the agent's working folder. */
  upstream: (fake: FakeUpstream, cwd: string) => void;
  /** Answer each client tool call with this result; the recording is cut in two at the call. */
  clientResult?: string;
  /** Claim a pre-warmed spare for a folder removed in the meantime, instead of a cold start. */
  claimVanishedCwd?: boolean;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'text',
    prompt: 'Say hello.',
    upstream: (fake) =>
      fake.enqueue(reply.text('Hello! How can I help you today?', { deltas: 4, usage: USAGE })),
  },
  {
    name: 'thinking',
    prompt: 'What is 2 + 2?',
    request: { thinking: { type: 'enabled', budget_tokens: 2048 } },
    upstream: (fake) =>
      fake.enqueue(
        reply.thinking('Two plus two is four.', '2 + 2 = 4.', { usage: USAGE, signature: 'c2lnbmF0dXJl' }),
      ),
  },
  {
    name: 'agent-tool-read',
    prompt: 'What does notes.txt say?',
    upstream: (fake, cwd) =>
      fake.enqueue(
        reply.toolUse(readNotes(cwd), { text: 'Let me read it.', usage: USAGE }),
        reply.text('It says the secret word is pineapple.', { usage: USAGE }),
      ),
  },
  {
    name: 'agent-tool-denied',
    prompt: 'Run the tests.',
    // Nobody can answer a permission prompt behind a proxy: Claude Code denies the call at once.
    upstream: (fake) =>
      fake.enqueue(
        reply.toolUse(
          { name: 'Bash', id: 'toolu_01FixtureBash0000000000', input: { command: 'npm test' } },
          { usage: USAGE },
        ),
        reply.text('I may not run commands here.', { usage: USAGE }),
      ),
  },
  {
    name: 'subagent',
    prompt: 'Ask a helper what 2 + 2 is.',
    upstream: (fake) =>
      fake.enqueue(
        reply.toolUse(
          {
            name: 'Task',
            id: 'toolu_01FixtureTask0000000000',
            input: {
              description: 'Add numbers',
              prompt: 'What is 2 + 2?',
              subagent_type: 'general-purpose',
              // In the foreground, so that its messages come in a fixed order.
              run_in_background: false,
            },
          },
          { usage: USAGE },
        ),
        reply.text('4', { usage: USAGE }),
        reply.text('The helper says 4.', { usage: USAGE }),
      ),
  },
  {
    name: 'max-tokens',
    prompt: 'Tell me a long story.',
    // Claude Code asks the model to go on after max_tokens by itself, a few times.
    upstream: (fake) => fake.handle(() => reply.maxTokens('Once upon a time there was a', { usage: USAGE })),
  },
  {
    name: 'client-tool',
    prompt: 'What is the weather in Paris?',
    request: { tools: [WEATHER] },
    clientResult: 'Sunny, 24°C',
    upstream: (fake) =>
      fake.enqueue(
        reply.toolUse(
          {
            name: 'mcp__ccproxy_client__get_weather',
            id: 'toolu_01FixtureWeather00000000',
            input: { city: 'Paris' },
          },
          { text: 'Let me check.', usage: USAGE },
        ),
        reply.text('It is sunny in Paris, 24°C.', { usage: USAGE }),
      ),
  },
  {
    name: 'error-overloaded',
    prompt: 'Say hello.',
    // Claude Code's own schedule is ten retries over minutes; two keep the recording short.
    env: { CLAUDE_CODE_MAX_RETRIES: '2' },
    upstream: (fake) => fake.handle(() => reply.overloaded()),
  },
  {
    name: 'error-api-500',
    prompt: 'Say hello.',
    env: { CLAUDE_CODE_MAX_RETRIES: '1' },
    upstream: (fake) => fake.handle(() => reply.apiError()),
  },
  {
    name: 'error-rate-limited',
    prompt: 'Say hello.',
    env: { CLAUDE_CODE_MAX_RETRIES: '1' },
    upstream: (fake) => fake.handle(() => reply.rateLimited({ retryAfter: 1 })),
  },
  {
    name: 'bug-spare-refusal-missed',
    prompt: 'Say hello.',
    claimVanishedCwd: true,
    upstream: () => {},
  },
  {
    name: 'not-logged-in',
    prompt: 'Say hello.',
    env: { CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-not-a-token-the-fake-knows' },
    upstream: () => {},
  },
  {
    name: 'max-turns',
    prompt: 'What does notes.txt say?',
    overrides: { max_turns: 1 },
    upstream: (fake, cwd) =>
      fake.enqueue(
        reply.toolUse(readNotes(cwd), { usage: USAGE }),
        reply.text('It says pineapple.', { usage: USAGE }),
      ),
  },
];

/** Run one scenario; returns the recording, in parts (cut at each client tool call). */
async function record(
  fake: FakeUpstream,
  s: Scenario,
): Promise<{ parts: SDKMessage[][]; home: string; cwd: string }> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-rec-home-'));
  const cwd = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-rec-cwd-')));
  fake.reset();
  s.upstream(fake, cwd);
  const env: Record<string, string | undefined> = {
    ...claudeCodeEnv(home, fake.url),
    TZ: 'UTC',
    CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN,
    ...s.env,
  };
  const settings = settingsSchema.parse({ server: { port: 0 }, claude: { cwd } });
  const tracker = new ProcessTracker();
  const starter = new AgentStarter({
    settings,
    env,
    login: new AgentLogin(undefined, true),
    binary: new ClaudeBinary(settings.claude.cli_path),
    tracker,
    version: () => undefined,
  });
  const request: MessagesRequest = {
    model: MODEL,
    max_tokens: 4096,
    messages: [{ role: 'user', content: s.prompt }],
    ...s.request,
  };
  const plan = planPrompt(request);
  const overrides = validateSdkOverrides(s.overrides ?? {}, overridePolicy(settings));
  let agent: Agent;
  if (s.claimVanishedCwd) {
    const gone = path.join(cwd, 'gone');
    fs.mkdirSync(gone);
    const cfg = runConfig(settings, overrides, request, plan.system, gone);
    const { options, login } = starter.spareOptions(() => {});
    const spare = await agentModules().sdk.prewarm({ options, initializeTimeoutMs: 60_000 });
    fs.rmdirSync(gone);
    agent = starter.claim({ process: spare, login }, cfg);
  } else {
    const cfg = runConfig(settings, overrides, request, plan.system, cwd);
    agent = starter.cold(cfg, clientToolSet(request), {}, true);
  }
  agent.send(plan.turn);
  const parts: SDKMessage[][] = [[]];
  try {
    await readRun(agent, s, parts);
  } finally {
    agent.close();
    await tracker.killAll();
  }
  return { parts, home, cwd };
}

async function readRun(agent: Agent, s: Scenario, parts: SDKMessage[][]): Promise<void> {
  const clientCalls: Array<{ id: string; name: string }> = [];
  const never = new AbortController().signal;
  while (true) {
    const step = await nextStep(agent, never, Date.now() + 120_000, 0);
    if (step.kind === 'end') return;
    if (step.kind !== 'msg') throw new Error(`${s.name}: no message from Claude Code for 120 s`);
    const msg = step.msg;
    // Claude Code reports the rate-limit window as it learns it, asynchronously: how many of these
    // come, and where, varies from run to run. Left out (translate.test.ts keeps a case of its own).
    if (msg.type === 'rate_limit_event') continue;
    parts.at(-1)!.push(msg);
    if (msg.type === 'result') return;
    if (msg.type !== 'stream_event' || msg.parent_tool_use_id !== null) continue;
    const ev = msg.event as { type: string; content_block?: { type: string; id: string; name: string } };
    const block = ev.content_block;
    if (
      ev.type === 'content_block_start' &&
      block?.type === 'tool_use' &&
      block.name.startsWith('mcp__ccproxy_client__')
    )
      clientCalls.push({ id: block.id, name: block.name });
    if (ev.type === 'message_stop' && clientCalls.length > 0) {
      // Where ccproxy ends the response and the run waits: the client's result resumes it.
      for (const call of clientCalls.splice(0)) {
        agent.bridge.announce(call.id, call.name);
        agent.bridge.resolve(
          call.id,
          toCallToolResult({ type: 'tool_result', tool_use_id: call.id, content: s.clientResult ?? '' }),
        );
      }
      parts.push([]);
    }
  }
}

/** Fixed stand-ins for what a recording must not carry over (see test/fixtures/sdk/README.md). */
const FIXED: Record<string, unknown> = {
  claude_code_version: '<version>',
  timestamp: '2026-01-01T00:00:00.000Z',
  messaging_socket_path: '/fixture/socket',
  resetsAt: 0,
  total_cost_usd: 0,
  costUSD: 0,
};

/**
 * What differs between two recordings of the same scenario, made stable: session ids and uuids (one
 * stand-in per distinct value, in order of appearance, so that equal ids stay equal), message and
 * request ids from the fake, subagent and run ids (likewise), the temporary folders (and Claude Code's
 * project key for the working folder), the fake's port, every duration and delay (`…_ms`, also in
 * text) and time (`…_time`), costs, the rate-limit window's reset times (also in text), timestamps,
 * the process's socket, Claude Code's version.
 */
function scrub(
  parts: SDKMessage[][],
  paths: { home: string; cwd: string; upstream: string },
): SDKMessage[][] {
  const seen = new Map<string, string>();
  const stable = (value: string, make: (n: number) => string) => {
    if (!seen.has(value)) seen.set(value, make(seen.size + 1));
    return seen.get(value)!;
  };
  const text = (s: string) =>
    s
      .split(paths.cwd)
      .join('/fixture/cwd')
      .split(projectKey(paths.cwd))
      .join(projectKey('/fixture/cwd'))
      .split(paths.home)
      .join('/fixture/home')
      .split(new URL(paths.upstream).host)
      .join('127.0.0.1:PORT')
      // Claude Code's own scratch folder (subagent output files).
      .split(claudeScratch)
      .join('/fixture/tmp/claude')
      .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, (u) =>
        stable(u, (n) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`),
      )
      .replace(/\b(msg|req)_01[1-9A-HJ-NP-Za-km-z]{20,}\b/g, (id, kind: string) =>
        stable(id, (n) => `${kind}_01Fixture${String(n).padStart(16, '0')}`),
      )
      // Subagent ids, and what Claude Code writes into text about time.
      .replace(/\ba[0-9a-f]{16}\b/g, (id) => stable(id, (n) => `a${String(n).padStart(16, '0')}`))
      .replace(/duration_ms: \d+/g, 'duration_ms: 0')
      .replace(/resets \d{1,2}(:\d{2})?(am|pm)/g, 'resets 12am');
  const walk = (v: unknown, key = ''): unknown => {
    if (key in FIXED && (typeof v === 'string' || typeof v === 'number')) return FIXED[key];
    if (typeof v === 'number' && /(_ms|Ms|_time)$/.test(key)) return 0;
    if (key === 'run_id' && typeof v === 'string') return stable(v, (n) => `run-${n}`);
    if (typeof v === 'string') return text(v);
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    return v;
  };
  return parts.map((p) => p.map((m) => walk(m) as SDKMessage));
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const scenarios = only.length ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;
  if (scenarios.length === 0) throw new Error(`no scenario named ${only.join(', ')}`);
  await loadAgentModules();
  fs.mkdirSync(OUT, { recursive: true });
  const fake = await startFakeUpstream();
  try {
    for (const s of scenarios) {
      const { parts, home, cwd } = await record(fake, s);
      const scrubbed = scrub(parts, { home, cwd, upstream: fake.url });
      scrubbed.forEach((messages, i) => {
        const file = path.join(OUT, scrubbed.length > 1 ? `${s.name}.${i + 1}.jsonl` : `${s.name}.jsonl`);
        fs.writeFileSync(file, messages.map((m) => JSON.stringify(m)).join('\n') + '\n');
        console.log(`${path.relative(process.cwd(), file)}: ${messages.length} messages`);
      });
      for (const dir of [home, cwd, path.join(claudeScratch, projectKey(cwd))])
        fs.rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await fake.close();
  }
}

await main();
