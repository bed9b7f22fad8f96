/**
 * The real Codex CLI (`@openai/codex`, its native binary from the platform package) through ccproxy
 * to the fake Anthropic upstream: `codex exec --strict-config` with a temporary CODEX_HOME whose
 * config.toml is examples/codex-config.toml pointed at the proxy (`wire_api = "responses"`). One plain
 * prompt, and one turn where the upstream answers with a call of Codex's shell tool (`exec_command`),
 * Codex runs the command, sends its output and the signed thinking back, and prints the final answer.
 * Each run is bounded (60 s, then killed); Codex's own retries are off.
 *
 * Codex runs with no network but loopback: every proxy variable points at a closed local port (any
 * request to the outside fails at once) and NO_PROXY lets it reach ccproxy. Its shell commands run
 * in its workspace-write sandbox when the kernel allows one here, else unsandboxed (see `sandbox`).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startProxy, type TestProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, reply, startFakeUpstream, TEST_ACCESS_TOKEN } from '../support/fake-upstream.ts';

type Obj = Record<string, any>;

const require = createRequire(import.meta.url);

/** Rust target triples of Codex's platform packages, as its `bin/codex.js` maps them. */
const TRIPLES: Record<string, string> = {
  'linux-x64': 'x86_64-unknown-linux-musl',
  'linux-arm64': 'aarch64-unknown-linux-musl',
  'darwin-x64': 'x86_64-apple-darwin',
  'darwin-arm64': 'aarch64-apple-darwin',
  'win32-x64': 'x86_64-pc-windows-msvc',
  'win32-arm64': 'aarch64-pc-windows-msvc',
};

/** The native `codex` binary of `@openai/codex-<os>-<arch>`, or undefined when it is not installed. */
function codexBinary(): string | undefined {
  const platform = `${process.platform}-${process.arch}`;
  const triple = TRIPLES[platform];
  if (!triple) return undefined;
  try {
    const pkg = require.resolve(`@openai/codex-${platform}/package.json`);
    const bin = path.join(
      path.dirname(pkg),
      'vendor',
      triple,
      'bin',
      process.platform === 'win32' ? 'codex.exe' : 'codex',
    );
    return fs.existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

/** A loopback port nothing listens on: where the proxy variables send Codex's outside traffic. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface CodexRun {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** `--json` events. */
  events: Obj[];
  /** What `--output-last-message` wrote. */
  lastMessage: string;
}

const TIMEOUT_MS = 60_000;

describe('Codex CLI → ccproxy /api/v1/responses', {
  skip: codexBinary() ? false : 'no @openai/codex binary for this platform',
}, () => {
  const bin = codexBinary() as string;
  let fake: FakeUpstream;
  let proxy: TestProxy;
  let home: string;
  let dead: number;
  let sandbox: 'workspace-write' | 'danger-full-access' = 'workspace-write';

  before(async () => {
    fake = await startFakeUpstream();
    proxy = await startProxy({
      settings: { upstream: { base_url: fake.url } },
      env: { CLAUDE_CODE_OAUTH_TOKEN: TEST_ACCESS_TOKEN },
    });
    dead = await closedPort();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-codex-home-'));
    // The documented example, pointed at this proxy, never asking, and failing fast.
    const example = fs.readFileSync(
      path.join(import.meta.dirname, '../../examples/codex-config.toml'),
      'utf8',
    );
    const config = example
      .replace('base_url = "http://127.0.0.1:8000/api/v1"', `base_url = "${proxy.url}/api/v1"`)
      .replace(
        'approval_policy = "on-request"',
        'approval_policy = "never"\ncheck_for_update_on_startup = false',
      )
      .replace(/request_max_retries = \d+/, 'request_max_retries = 0')
      .replace(/stream_max_retries = \d+/, 'stream_max_retries = 0')
      .replace(/stream_idle_timeout_ms = \d+/, 'stream_idle_timeout_ms = 20000');
    assert.ok(
      config.includes(proxy.url) && config.includes('approval_policy = "never"'),
      'the example has the keys this test sets',
    );
    fs.writeFileSync(path.join(home, 'config.toml'), config);
    // Codex's sandbox needs kernel features (user namespaces, landlock) a CI container may lack:
    // when a command cannot run in it here, the tests run Codex's commands unsandboxed.
    const probe = await codex('Sandbox probe.', {
      script: [reply.toolUse({ name: 'exec_command', input: { cmd: 'echo sandbox-ok' } }), reply.text('ok')],
      sandbox: 'workspace-write',
    });
    const ran = probe.events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution');
    if (ran?.item.exit_code !== 0) sandbox = 'danger-full-access';
  });
  after(async () => {
    await proxy?.close();
    await fake?.close();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });
  beforeEach(() => fake.reset());

  async function codex(
    prompt: string,
    opts: { script: Parameters<FakeUpstream['enqueue']>; sandbox?: string; cwd?: string },
  ): Promise<CodexRun> {
    fake.reset();
    fake.enqueue(...opts.script);
    const cwd = opts.cwd ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-codex-cwd-'));
    const last = path.join(home, `last-${Date.now()}.txt`);
    const proxyVar = `http://127.0.0.1:${dead}`;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      CODEX_HOME: home,
      CCPROXY_KEY: 'dummy',
      HTTPS_PROXY: proxyVar,
      HTTP_PROXY: proxyVar,
      ALL_PROXY: proxyVar,
      https_proxy: proxyVar,
      http_proxy: proxyVar,
      all_proxy: proxyVar,
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
      TERM: 'dumb',
      RUST_LOG: 'error',
    };
    const args = [
      'exec',
      '--strict-config',
      '--skip-git-repo-check',
      '--ephemeral',
      '--json',
      '--color',
      'never',
      '--sandbox',
      opts.sandbox ?? sandbox,
      '--output-last-message',
      last,
      '-C',
      cwd,
      prompt,
    ];
    const child = spawn(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, TIMEOUT_MS);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    clearTimeout(timer);
    const events = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Obj);
    const lastMessage = fs.existsSync(last) ? fs.readFileSync(last, 'utf8') : '';
    if (!opts.cwd) fs.rmSync(cwd, { recursive: true, force: true });
    return { code, stdout, stderr, timedOut, events, lastMessage };
  }

  const explain = (r: CodexRun) =>
    `exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\n${r.stdout}\n${r.stderr}`;

  it('a plain prompt: Codex prints the answer; the upstream got its prompt and tools as Claude shapes', async () => {
    const r = await codex('Say hello.', { script: [reply.text('Hello from Claude via ccproxy.')] });
    assert.equal(r.code, 0, explain(r));
    assert.equal(r.lastMessage.trim(), 'Hello from Claude via ccproxy.');
    const done = r.events.find((e) => e.type === 'turn.completed');
    assert.ok(done, explain(r));
    assert.ok(done.usage.input_tokens > 0);

    const [req] = fake.messages();
    const body = req.body as Obj;
    assert.equal(body.model, 'claude-opus-5-5', 'gpt-5.5 maps to Opus');
    assert.equal(body.stream, true);
    // Codex's developer messages are the system prompt, after the identity block.
    assert.ok(body.system.length >= 2);
    assert.match(body.system[1].text, /Codex/);
    // Its user turn (environment context, then the prompt) is one Anthropic user turn.
    assert.equal(body.messages.length, 1);
    assert.equal(body.messages[0].content.at(-1).text, 'Say hello.');
    const names = (body.tools as Obj[]).map((t) => t.name);
    assert.ok(names.includes('exec_command'), names.join(', '));
    assert.ok(!names.includes('web_search'), 'hosted tools are dropped');
  });

  it('a tool turn: the upstream calls exec_command, Codex runs it and sends the output and the signed thinking back', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-codex-cwd-'));
    try {
      const r = await codex('Create proof.txt, then tell me what it says.', {
        cwd,
        script: [
          reply.message(
            [
              { type: 'thinking', thinking: 'A shell command will do.', signature: 'EqClaudeSignature==' },
              { type: 'text', text: 'Running the command.' },
              {
                type: 'tool_use',
                name: 'exec_command',
                input: { cmd: 'echo codex-ran-this > proof.txt && cat proof.txt' },
              },
            ],
            { stopReason: 'tool_use' },
          ),
          (req) => {
            // Answer with what the tool result says, so the test sees it went through.
            const turn = (req.body as Obj).messages.at(-1).content as Obj[];
            const result = turn.find((b) => b.type === 'tool_result');
            const text = JSON.stringify(result?.content ?? '');
            return reply.text(
              text.includes('codex-ran-this') ? 'proof.txt says codex-ran-this.' : `no output: ${text}`,
            );
          },
        ],
      });
      assert.equal(r.code, 0, explain(r));
      assert.equal(fs.readFileSync(path.join(cwd, 'proof.txt'), 'utf8').trim(), 'codex-ran-this');
      assert.equal(r.lastMessage.trim(), 'proof.txt says codex-ran-this.', explain(r));
      const ran = r.events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution');
      assert.ok(ran, explain(r));

      const [first, second] = fake.messages().map((m) => m.body as Obj);
      assert.ok(first && second, `two upstream requests, got ${fake.messages().length}`);
      // The second turn replays the whole history: the call (Claude's id kept) and its result.
      const call = (second.messages as Obj[])
        .flatMap((m) => m.content as Obj[])
        .find((b) => b.type === 'tool_use');
      const result = (second.messages as Obj[])
        .flatMap((m) => m.content as Obj[])
        .find((b) => b.type === 'tool_result');
      assert.equal(call?.name, 'exec_command');
      assert.equal(result?.tool_use_id, call?.id);
      assert.match(call?.id, /^toolu_/);
      assert.deepEqual(
        second.messages.map((m: Obj) => m.role),
        ['user', 'assistant', 'user'],
      );
      // Codex asked for reasoning.encrypted_content and sent the reasoning item back: the thinking
      // block returns intact, so thinking stays on in the tool loop.
      assert.deepEqual(second.messages[1].content[0], {
        type: 'thinking',
        thinking: 'A shell command will do.',
        signature: 'EqClaudeSignature==',
      });
      assert.equal(second.thinking?.type, 'adaptive');
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});
