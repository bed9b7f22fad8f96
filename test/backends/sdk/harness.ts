/**
 * The SDK backend with the real Claude Code binary, pointed at the fake upstream: a temporary HOME
 * and working directory, a dummy subscription token, no non-essential traffic. `backend.send()` is
 * called directly with a RequestContext built here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { writeCredentialsFile } from '../../../src/auth/credentials.ts';
import { TokenManager } from '../../../src/auth/token-manager.ts';
import type { Reply, RequestContext } from '../../../src/backends/backend.ts';
import { createSdkBackend, type SdkBackend } from '../../../src/backends/sdk/index.ts';
import { type Settings, settingsSchema } from '../../../src/config/schema.ts';
import type { Message, MessagesRequest, StreamEvent } from '../../../src/formats/anthropic/types.ts';
import type { RequestRecord } from '../../../src/observability/lifecycle.ts';
import { type FakeUpstream, startFakeUpstream, TEST_ACCESS_TOKEN } from '../../support/fake-upstream.ts';

export interface Harness {
  fake: FakeUpstream;
  backend: SdkBackend;
  settings: Settings;
  env: Record<string, string | undefined>;
  home: string;
  cwd: string;
  /** ccproxy's credentials (with `ccproxyLogin`). */
  tokens?: TokenManager;
  ctx(over?: Partial<RequestContext>): RequestContext;
  /** A fresh backend on the same HOME and cwd (as after a restart of ccproxy). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  claude?: Partial<Settings['claude']>;
  env?: Record<string, string | undefined>;
  /** Drop CLAUDE_CODE_OAUTH_TOKEN from the agents' environment (a machine that is not logged in). */
  noToken?: boolean;
  /** Logged in with `ccproxy auth login` only: TEST_ACCESS_TOKEN in ccproxy's store, none for Claude Code. */
  ccproxyLogin?: boolean;
  /** Settings under `upstream`, given the fake's URL (e.g. `base_url` pointing at it). */
  upstream?: (fakeUrl: string) => Record<string, unknown>;
  /** The pool's clock (default Date.now): a test moves it to make spares idle without waiting. */
  clock?: () => number;
}

/**
 * The environment of a Claude Code process under test: a HOME of its own, the fake upstream as its
 * API, no non-essential traffic, nothing else from this machine's environment (and no login).
 */
export function claudeCodeEnv(home: string, upstreamUrl: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    USERPROFILE: home,
    CLAUDE_CONFIG_DIR: path.join(home, '.claude'),
    ANTHROPIC_BASE_URL: upstreamUrl,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    NO_PROXY: '127.0.0.1,localhost',
    TERM: 'dumb',
  };
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const fake = await startFakeUpstream();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-sdk-home-'));
  const cwd = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-sdk-cwd-')));
  const env: Record<string, string | undefined> = {
    ...claudeCodeEnv(home, fake.url),
    ...(opts.noToken || opts.ccproxyLogin ? {} : { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN }),
    ...opts.env,
  };
  const settings = settingsSchema.parse({
    server: { port: 0 },
    // A cap of 8 agents whatever the machine's cores (the default follows them), so that tests
    // keeping several sessions do not see idle ones reclaimed; the cap's own tests set theirs.
    claude: {
      cwd,
      pool_size: 0,
      max_concurrent_agents: 8,
      setting_sources: ['user', 'project', 'local'],
      ...opts.claude,
    },
    upstream: opts.upstream?.(fake.url),
    auth: {
      credentials_file: path.join(home, 'ccproxy', 'credentials.json'),
      claude_credentials_file: path.join(home, '.claude', '.credentials.json'),
    },
  });
  const log = pino({ level: 'silent' });
  if (opts.ccproxyLogin) {
    writeCredentialsFile(settings.auth.credentials_file, {
      accessToken: TEST_ACCESS_TOKEN,
      refreshToken: 'sk-ant-ort01-unused',
      expiresAt: Date.now() + 3_600_000,
    });
  }
  const tokens = opts.ccproxyLogin ? new TokenManager({ settings, env: {}, log }) : undefined;
  let backend = createSdkBackend({ settings, log, env, tokens, clock: opts.clock });
  let n = 0;
  const h: Harness = {
    fake,
    get backend() {
      return backend;
    },
    settings,
    env,
    home,
    cwd,
    tokens,
    ctx(over = {}) {
      n++;
      const record: RequestRecord = {
        id: `req_${n}`,
        startedAt: Date.now(),
        t0: performance.now(),
        mode: 'sdk',
        format: 'anthropic',
        route: '/sdk/v1/messages',
        method: 'POST',
        stream: false,
        retries: 0,
      };
      return {
        requestId: `req_${n}`,
        mode: 'sdk',
        format: 'anthropic',
        signal: new AbortController().signal,
        headers: {},
        query: '',
        passthrough: false,
        record,
        log,
        ...over,
      };
    },
    async restart() {
      await backend.close();
      backend = createSdkBackend({ settings, log, env, tokens, clock: opts.clock });
    },
    async close() {
      await backend.close();
      await fake.close();
      fs.rmSync(home, { recursive: true, force: true });
      fs.rmSync(cwd, { recursive: true, force: true });
    },
  };
  return h;
}

export function request(
  messages: MessagesRequest['messages'],
  over: Partial<MessagesRequest> = {},
): MessagesRequest {
  return { model: 'claude-sonnet-5-5', max_tokens: 1024, messages, ...over };
}

export async function collect(reply: Reply): Promise<StreamEvent[]> {
  assert(reply.type === 'stream', `expected a stream, got ${reply.type}`);
  const out: StreamEvent[] = [];
  for await (const ev of reply.events) out.push(ev);
  return out;
}

export function messageOf(reply: Reply): Message {
  assert(reply.type === 'message', `expected a message, got ${reply.type}`);
  return reply.message;
}

export function textOf(content: Message['content']): string {
  return content.map((b) => (b.type === 'text' ? String((b as { text: string }).text) : '')).join('');
}

export function streamedText(events: StreamEvent[]): string {
  return events
    .map((e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : ''))
    .join('');
}

/**
 * The conversation as the upstream received it: role and text of each user/assistant message,
 * without Claude Code's own reminders and context.
 */
export function dialogue(body: unknown): Array<[string, string]> {
  const messages = (body as { messages: Array<{ role: string; content: unknown }> }).messages;
  return messages
    .filter((m) => m.role === 'user' || m.role === 'assistant')
    .map((m): [string, string] => {
      const blocks =
        typeof m.content === 'string'
          ? [{ type: 'text', text: m.content }]
          : (m.content as Array<Record<string, unknown>>);
      const parts = blocks.map((b) => {
        if (b.type === 'text') return String(b.text).startsWith('<system-reminder>') ? '' : String(b.text);
        if (b.type === 'tool_use') return `[tool_use ${b.name}]`;
        if (b.type === 'tool_result') return `[tool_result ${JSON.stringify(b.content)}]`;
        return '';
      });
      return [m.role, parts.filter(Boolean).join(' ').trim()];
    });
}

/** Wait for a condition (a generous bound, not a timing assertion). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 60_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** status().processes / pool of the backend, typed loosely for assertions. */
export async function processes(
  backend: SdkBackend,
): Promise<{ running: number; started: number; pids: number[] }> {
  return (await backend.status()).processes as { running: number; started: number; pids: number[] };
}

export async function pool(backend: SdkBackend): Promise<Record<string, number>> {
  return (await backend.status()).pool as Record<string, number>;
}
