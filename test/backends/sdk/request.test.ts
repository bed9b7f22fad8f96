/**
 * How a Messages request becomes an agent run: overrides, prompt plan, transcript, session ids,
 * options, client tools. Pure functions, no process started.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  agentToolName,
  ClientToolBridge,
  clientToolSet,
  toCallToolResult,
} from '../../../src/backends/sdk/client-tools.ts';
import {
  agentEnv,
  agentModel,
  claimOptions,
  fitsSpare,
  pointsAtSelf,
  runConfig,
  systemPromptOption,
} from '../../../src/backends/sdk/options.ts';
import {
  overridePolicy,
  SDK_OVERRIDE_KEYS,
  validateSdkOverrides,
} from '../../../src/backends/sdk/overrides.ts';
import { planPrompt } from '../../../src/backends/sdk/prompt.ts';
import { overridesOf } from '../../../src/backends/sdk/run.ts';
import { agentSessionId } from '../../../src/backends/sdk/session-id.ts';
import { formatToolCall, summarizeToolInput } from '../../../src/backends/sdk/tool-display.ts';
import {
  claudeConfigDir,
  projectKey,
  transcriptEntries,
  transcriptPath,
} from '../../../src/backends/sdk/transcript.ts';
import { settingsSchema } from '../../../src/config/schema.ts';
import { ProxyError } from '../../../src/errors.ts';
import type { MessagesRequest } from '../../../src/formats/anthropic/types.ts';

const req = (over: Partial<MessagesRequest> = {}): MessagesRequest => ({
  model: 'claude-sonnet-5-5',
  max_tokens: 100,
  messages: [{ role: 'user', content: 'hi' }],
  ...over,
});

describe('per-request overrides (the `ccproxy` field)', () => {
  it('accepts the documented keys', () => {
    assert.deepEqual(
      validateSdkOverrides({ max_turns: 3, tool_display: 'hidden', allowed_tools: ['Read'] }),
      {
        max_turns: 3,
        tool_display: 'hidden',
        allowed_tools: ['Read'],
      },
    );
    assert.deepEqual(validateSdkOverrides(undefined), {});
  });

  it('refuses an unknown key with 400 and lists the allowed ones', () => {
    assert.throws(
      () => validateSdkOverrides({ max_turn: 3 }),
      (err: unknown) => {
        assert.ok(err instanceof ProxyError);
        assert.equal(err.status, 400);
        assert.equal(err.param, 'ccproxy.max_turn');
        for (const k of SDK_OVERRIDE_KEYS) assert.match(err.message, new RegExp(k));
        return true;
      },
    );
  });

  it('refuses bad values and permission escalation', () => {
    assert.throws(
      () => validateSdkOverrides({ max_turns: 0 }),
      /ccproxy\.max_turns: must be a positive integer/,
    );
    assert.throws(() => validateSdkOverrides({ permission_mode: 'yolo' }), /must be one of/);
    assert.throws(() => validateSdkOverrides([1]), /must be an object/);
    const policy = (permission_mode: 'default' | 'bypassPermissions') =>
      overridePolicy(settingsSchema.parse({ claude: { permission_mode } }));
    assert.throws(
      () => validateSdkOverrides({ permission_mode: 'bypassPermissions' }, policy('default')),
      /bypassPermissions permits more than claude\.permission_mode \(default\)/,
    );
    assert.deepEqual(
      validateSdkOverrides({ permission_mode: 'bypassPermissions' }, policy('bypassPermissions')),
      { permission_mode: 'bypassPermissions' },
    );
  });

  it('reads ctx.extras, or the body’s own field', () => {
    assert.deepEqual(overridesOf({ extras: { max_turns: 2 } }, req()), { max_turns: 2 });
    assert.deepEqual(overridesOf({ extras: { ccproxy: { max_turns: 2 } } }, req()), { max_turns: 2 });
    assert.deepEqual(overridesOf({}, req({ ccproxy: { max_turns: 4 } })), { max_turns: 4 });
  });
});

describe('prompt plan', () => {
  it('splits system, history and the new turn', () => {
    const plan = planPrompt(
      req({
        system: [{ type: 'text', text: 'Be terse.', cache_control: { type: 'ephemeral' } }],
        messages: [
          { role: 'user', content: 'My name is Ada.' },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'hm', signature: 's' },
              { type: 'text', text: 'Hi Ada.' },
            ],
          },
          { role: 'system', content: 'Answer in French.' },
          { role: 'user', content: [{ type: 'text', text: 'Name?', cache_control: { type: 'ephemeral' } }] },
        ],
      }),
    );
    assert.equal(plan.system, 'Be terse.\n\nAnswer in French.');
    assert.deepEqual(plan.history, [
      { role: 'user', content: [{ type: 'text', text: 'My name is Ada.' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Hi Ada.' }] },
    ]);
    assert.deepEqual(plan.turn, [{ type: 'text', text: 'Name?' }], 'cache_control is the agent’s business');
    assert.deepEqual(plan.toolResults, []);
  });

  it('merges neighbours of one role and starts the history with a user turn', () => {
    const plan = planPrompt(
      req({
        messages: [
          { role: 'assistant', content: 'Welcome!' },
          { role: 'user', content: 'a' },
          { role: 'user', content: 'b' },
        ],
      }),
    );
    assert.equal(plan.history[0].role, 'user');
    assert.equal(plan.history[1].role, 'assistant');
    assert.deepEqual(plan.turn, [
      { type: 'text', text: 'a' },
      { type: 'text', text: 'b' },
    ]);
  });

  it('finds tool results in the new turn', () => {
    const plan = planPrompt(
      req({
        messages: [
          { role: 'user', content: 'weather?' },
          {
            role: 'assistant',
            content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }],
          },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny' }] },
        ],
      }),
    );
    assert.deepEqual(plan.toolResults, [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny' }]);
  });

  it('refuses a request that does not end with a user turn', () => {
    assert.throws(
      () =>
        planPrompt(
          req({
            messages: [
              { role: 'user', content: 'hi' },
              { role: 'assistant', content: 'Sure' },
            ],
          }),
        ),
      /last message must have role "user"/,
    );
    assert.throws(() => planPrompt(req({ messages: [] })), /at least one user message/);
  });
});

describe('transcripts for stateless history', () => {
  it('names the project folder as Claude Code does', () => {
    assert.equal(projectKey('/tmp/cc-cwd-YPaKZr'), '-tmp-cc-cwd-YPaKZr');
    const long = `/${'a'.repeat(250)}`;
    const key = projectKey(long);
    assert.equal(key.length > 200, true);
    assert.match(key, /^-a{199}-[0-9a-z]+$/);
    assert.equal(claudeConfigDir({ HOME: '/h' }), path.join('/h', '.claude'));
    assert.equal(claudeConfigDir({ HOME: '/h', CLAUDE_CONFIG_DIR: '/c' }), '/c');
    assert.equal(
      transcriptPath({ CLAUDE_CONFIG_DIR: '/c' }, '/w/p', 'id'),
      path.join('/c', 'projects', '-w-p', 'id.jsonl'),
    );
  });

  it('writes user and assistant entries chained by parentUuid, client tools renamed', () => {
    const entries = transcriptEntries(
      [
        { role: 'user', content: [{ type: 'text', text: 'weather?' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'get_weather', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'Sunny' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Sunny.' }] },
      ],
      { sessionId: 's', cwd: '/w', model: 'claude-sonnet-5-5', toolName: agentToolName },
    );
    assert.equal(entries[0].parentUuid, null);
    for (let i = 1; i < entries.length; i++) assert.equal(entries[i].parentUuid, entries[i - 1].uuid);
    assert.deepEqual(
      entries.map((e) => [e.type, e.sessionId, e.cwd]),
      [
        ['user', 's', '/w'],
        ['attachment', 's', '/w'],
        ['assistant', 's', '/w'],
        ['user', 's', '/w'],
        ['assistant', 's', '/w'],
      ],
    );
    assert.equal(
      (entries[1].attachment as { type: string }).type,
      'date',
      'context after the first turn, as Claude Code writes it',
    );
    const a1 = entries[2].message as { content: Array<{ name: string }>; stop_reason: string };
    assert.equal(a1.content[0].name, 'mcp__ccproxy_client__get_weather');
    assert.equal(a1.stop_reason, 'tool_use');
    assert.equal((entries[4].message as { stop_reason: string }).stop_reason, 'end_turn');
  });
});

describe('session ids', () => {
  it('keeps UUIDs and maps names to stable UUIDs', () => {
    assert.equal(
      agentSessionId('0F8FAD5B-D9CB-469F-A165-70867728950E'),
      '0f8fad5b-d9cb-469f-a165-70867728950e',
    );
    const a = agentSessionId('my-project');
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(agentSessionId('my-project'), a);
    assert.notEqual(agentSessionId('other'), a);
    assert.throws(() => agentSessionId('../etc/passwd'), /Session id/);
  });
});

describe('agent options', () => {
  const settings = settingsSchema.parse({ claude: { cwd: os.tmpdir(), model: 'claude-haiku-5-5' } });

  it('maps model names as API mode does, falling back to claude.model', () => {
    assert.equal(agentModel('claude-opus-5-5', settings), 'claude-opus-5-5');
    assert.equal(agentModel('gpt-4o-mini', settings), 'claude-haiku-5-5');
    assert.equal(agentModel('sonnet', settings), 'claude-sonnet-5-5');
    assert.equal(agentModel('my-local-name', settings), 'claude-haiku-5-5');
    assert.equal(agentModel('my-local-name', settingsSchema.parse({})), undefined);
  });

  it('merges settings, overrides and the request', () => {
    const cfg = runConfig(
      settings,
      { max_turns: 2, tool_display: 'hidden' },
      req({ thinking: { type: 'enabled', budget_tokens: 2048 } }),
      'Sys',
    );
    assert.equal(cfg.maxTurns, 2);
    assert.equal(cfg.toolDisplay, 'hidden');
    assert.equal(cfg.maxThinkingTokens, 2048);
    assert.equal(cfg.cwd, fs.realpathSync(os.tmpdir()));
    assert.equal(fitsSpare(cfg, settings), false, 'another max_turns needs another process');
    const plain = runConfig(settings, {}, req(), 'Sys');
    assert.equal(fitsSpare(plain, settings), true);
    assert.deepEqual(claimOptions(plain), {
      cwd: plain.cwd,
      model: 'claude-sonnet-5-5',
      permissionMode: 'default',
      appendSystemPrompt: 'Sys',
    });
    // A folder that does not exist and one outside get the same answer: no probing of the disk.
    assert.throws(
      () => runConfig(settings, { cwd: '/no/such/dir' }, req(), undefined),
      /ccproxy\.cwd: must name a folder inside claude\.cwd/,
    );
    const sub = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-sub-'));
    try {
      // A folder holding Claude Code project settings (hooks, MCP servers) is not the request's to pick.
      const inner = settingsSchema.parse({ claude: { cwd: sub } });
      const vendored = path.join(sub, 'vendor', 'lib');
      fs.mkdirSync(path.join(vendored, 'src'), { recursive: true });
      assert.equal(
        runConfig(inner, { cwd: 'vendor/lib/src' }, req(), undefined).cwd,
        fs.realpathSync(path.join(vendored, 'src')),
      );
      for (const file of [
        path.join('.claude', 'settings.json'),
        path.join('.claude', 'settings.local.json'),
        '.mcp.json',
      ]) {
        fs.mkdirSync(path.join(vendored, '.claude'), { recursive: true });
        fs.writeFileSync(path.join(vendored, file), '{}');
        for (const cwd of ['vendor/lib', 'vendor/lib/src']) {
          assert.throws(
            () => runConfig(inner, { cwd }, req(), undefined),
            new RegExp(
              `ccproxy\\.cwd: vendor/lib holds Claude Code project settings \\(${file.replaceAll('.', '\\.')}\\)`,
            ),
            `${cwd} with ${file}`,
          );
        }
        fs.rmSync(path.join(vendored, file));
      }
      // claude.cwd's own settings are the operator's: the folder itself and those below stay open.
      fs.mkdirSync(path.join(sub, '.claude'), { recursive: true });
      fs.writeFileSync(path.join(sub, '.claude', 'settings.json'), '{}');
      assert.equal(runConfig(inner, { cwd: '.' }, req(), undefined).cwd, fs.realpathSync(sub));
      assert.equal(
        runConfig(inner, { cwd: 'vendor' }, req(), undefined).cwd,
        fs.realpathSync(path.join(sub, 'vendor')),
      );
      fs.rmSync(path.join(sub, '.claude'), { recursive: true });
      assert.equal(
        runConfig(settings, { cwd: path.basename(sub) }, req(), undefined).cwd,
        fs.realpathSync(sub),
      );
      assert.throws(
        () => runConfig(inner, { cwd: os.tmpdir() }, req(), undefined),
        /must name a folder inside claude\.cwd/,
      );
    } finally {
      fs.rmSync(sub, { recursive: true, force: true });
    }
  });

  it('appends to or replaces Claude Code’s system prompt', () => {
    const append = runConfig(settings, {}, req(), 'Sys');
    assert.deepEqual(systemPromptOption(append), { type: 'preset', preset: 'claude_code', append: 'Sys' });
    const replace = runConfig(settings, { system_prompt_mode: 'replace' }, req(), 'Sys');
    assert.equal(systemPromptOption(replace), 'Sys');
    assert.equal(fitsSpare(replace, settings), false);
    const none = runConfig(settings, { system_prompt_mode: 'replace' }, req(), undefined);
    assert.deepEqual(systemPromptOption(none), { type: 'preset', preset: 'claude_code' });
  });

  it('never points an agent back at ccproxy itself', () => {
    const s = settingsSchema.parse({ server: { port: 8000 } });
    assert.equal(pointsAtSelf('http://127.0.0.1:8000/sdk', s), true);
    assert.equal(pointsAtSelf('http://localhost:8000', s), true);
    assert.equal(pointsAtSelf('http://127.0.0.1:9000', s), false);
    assert.equal(pointsAtSelf('https://api.anthropic.com', s), false);
    const env = agentEnv({ ANTHROPIC_BASE_URL: 'http://localhost:8000/sdk' }, s);
    assert.equal(env.ANTHROPIC_BASE_URL, undefined);
    const self = settingsSchema.parse({
      server: { port: 8000 },
      upstream: { base_url: 'http://127.0.0.1:8000/api' },
    });
    assert.equal(agentEnv({}, self).ANTHROPIC_BASE_URL, undefined);
  });

  it('gives the agents upstream.base_url and upstream.proxy_url when set, else the environment’s', () => {
    const given = { ANTHROPIC_BASE_URL: 'https://gateway.example', https_proxy: 'http://env-proxy:3128' };
    const defaults = agentEnv(given, settingsSchema.parse({}));
    assert.equal(defaults.ANTHROPIC_BASE_URL, 'https://gateway.example');
    assert.equal(defaults.https_proxy, 'http://env-proxy:3128');
    assert.equal(defaults.HTTPS_PROXY, undefined);
    assert.equal(defaults.CLAUDE_AGENT_SDK_CLIENT_APP, 'ccproxy');

    const s = settingsSchema.parse({
      upstream: {
        base_url: 'https://llm-gateway.corp.example/anthropic',
        proxy_url: 'http://proxy.corp:3128',
      },
    });
    const env = agentEnv({ ...given, NO_PROXY: 'internal.corp' }, s);
    assert.equal(env.ANTHROPIC_BASE_URL, 'https://llm-gateway.corp.example/anthropic');
    for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'])
      assert.equal(env[name], 'http://proxy.corp:3128', name);
    assert.equal(env.NO_PROXY, 'internal.corp,localhost,127.0.0.1,::1');
    // Applied twice (the backend's copy, then each process's options), it says the same.
    assert.deepEqual(agentEnv(env, s), env);
    // A base URL written with a trailing slash is still the default.
    const slash = settingsSchema.parse({ upstream: { base_url: 'https://api.anthropic.com/' } });
    assert.equal(agentEnv(given, slash).ANTHROPIC_BASE_URL, 'https://gateway.example');
  });
});

describe('client tools', () => {
  it('offers the client’s custom tools, not server tools, unless tool_choice is none', () => {
    const tools = [
      { name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: {} } },
      { name: 'web_search', type: 'web_search_20250305' },
    ];
    const set = clientToolSet({ tools });
    assert.deepEqual([...(set?.names ?? [])], [['mcp__ccproxy_client__get_weather', 'get_weather']]);
    assert.equal(clientToolSet({ tools, tool_choice: { type: 'none' } }), undefined);
    assert.equal(clientToolSet({}), undefined);
  });

  it('turns a tool_result into an MCP result', () => {
    assert.deepEqual(toCallToolResult({ type: 'tool_result', tool_use_id: 't', content: 'Sunny' }), {
      content: [{ type: 'text', text: 'Sunny' }],
    });
    assert.deepEqual(
      toCallToolResult({
        type: 'tool_result',
        tool_use_id: 't',
        is_error: true,
        content: [
          { type: 'text', text: 'boom' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAA' } },
        ],
      }),
      {
        content: [
          { type: 'text', text: 'boom' },
          { type: 'image', data: 'AAA', mimeType: 'image/png' },
        ],
        isError: true,
      },
    );
  });

  it('holds a call until the client answers it, in any order', async () => {
    const bridge = new ClientToolBridge();
    bridge.announce('t1', 'mcp__ccproxy_client__a');
    const early = bridge.resolve('t1', { content: [{ type: 'text', text: 'one' }] });
    assert.equal(early, true);
    const waiting = bridge.wait('t2', 'mcp__ccproxy_client__a');
    assert.deepEqual(bridge.pendingIds(), ['t2']);
    bridge.resolve('t2', { content: [{ type: 'text', text: 'two' }] });
    assert.deepEqual(await waiting, { content: [{ type: 'text', text: 'two' }] });
    const orphan = bridge.wait('t3', 'x');
    bridge.failAll('gone');
    assert.deepEqual(await orphan, { content: [{ type: 'text', text: 'gone' }], isError: true });
  });
});

describe('tool activity text', () => {
  it('summarises calls by their main input', () => {
    assert.equal(summarizeToolInput('Read', { file_path: '/a/b.ts' }), '/a/b.ts');
    assert.equal(summarizeToolInput('Grep', { pattern: 'TODO', path: 'src' }), 'TODO in src');
    assert.equal(summarizeToolInput('Bash', { command: 'ls\n-la' }), 'ls -la');
    assert.equal(formatToolCall('mcp__github__search', { q: 'x' }), '> **github › search** {"q":"x"}');
    assert.equal(formatToolCall('TodoWrite', { todos: [] }), '> **TodoWrite**');
  });
});
