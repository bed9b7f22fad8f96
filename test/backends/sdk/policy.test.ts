/**
 * SDK mode's lockdown rules as plain functions: overrides only narrow, the working folder is not
 * too broad, the agent cap counts processes until they exit, old Claude Code is refused. No agent
 * process; the end-to-end proofs are in security.test.ts and prompt-as-data.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { AgentSlots } from '../../../src/backends/sdk/agent-slots.ts';
import { MIN_CLAUDE_CODE, olderThan } from '../../../src/backends/sdk/binary.ts';
import { runConfig } from '../../../src/backends/sdk/options.ts';
import {
  coveredBy,
  narrowAllowedTools,
  narrowsPermission,
  overridePolicy,
  PERMISSION_MODES,
  validateSdkOverrides,
  widenDisallowedTools,
} from '../../../src/backends/sdk/overrides.ts';
import type { ProcessTracker } from '../../../src/backends/sdk/processes.ts';
import { broadCwdReason, defaultAgentHome, workdirRefusal } from '../../../src/backends/sdk/workdir.ts';
import { settingsSchema } from '../../../src/config/schema.ts';
import { ProxyError } from '../../../src/errors.ts';

describe('SDK overrides only narrow', () => {
  it('allowed_tools: only what the settings allow, the rest named as dropped', () => {
    assert.deepEqual(narrowAllowedTools(['Read', 'Grep'], undefined), {
      allowed: ['Read', 'Grep'],
      dropped: [],
    });
    assert.deepEqual(narrowAllowedTools([], ['Bash']), { allowed: [], dropped: ['Bash'] });
    assert.deepEqual(narrowAllowedTools(['Read', 'Grep'], ['Read', 'Bash', 'Read']), {
      allowed: ['Read'],
      dropped: ['Bash'],
    });
    // A narrower use of a tool allowed whole is kept; a wider one is not.
    assert.ok(coveredBy('Bash(git status:*)', ['Bash']));
    assert.ok(!coveredBy('Bash', ['Bash(git status:*)']));
    assert.ok(!coveredBy('Read', ['Read(./src/**)']));
    assert.ok(coveredBy('mcp__github__list_issues', ['mcp__github']));
    assert.ok(coveredBy('mcp__github__list_issues', ['mcp__github__*']));
    assert.ok(!coveredBy('mcp__github', ['mcp__github__list_issues']));
    assert.ok(!coveredBy('mcp__githubx__a', ['mcp__github']));
  });

  it('disallowed_tools: added to the settings’ deny-list, never replacing it', () => {
    assert.deepEqual(widenDisallowedTools(['Bash'], []), ['Bash']);
    assert.deepEqual(widenDisallowedTools(['Bash'], ['WebFetch', 'Bash']), ['Bash', 'WebFetch']);
    const settings = settingsSchema.parse({ claude: { cwd: os.tmpdir(), disallowed_tools: ['Bash'] } });
    const req = {
      model: 'claude-sonnet-5-5',
      max_tokens: 1,
      messages: [{ role: 'user' as const, content: 'x' }],
    };
    const cfg = runConfig(settings, { disallowed_tools: [], allowed_tools: ['Bash'] }, req, undefined);
    assert.deepEqual(cfg.disallowedTools, ['Bash']);
    assert.deepEqual(cfg.allowedTools, []);
    assert.deepEqual(cfg.droppedTools, ['Bash']);
  });

  it('a request may only pick a permission mode that permits no more than the configured one', () => {
    const within = (configured: (typeof PERMISSION_MODES)[number]) =>
      PERMISSION_MODES.filter((m) => narrowsPermission(m, configured)).sort();
    assert.deepEqual(within('default'), ['default', 'dontAsk']);
    assert.deepEqual(within('dontAsk'), ['default', 'dontAsk']);
    assert.deepEqual(within('acceptEdits'), ['acceptEdits', 'default', 'dontAsk']);
    // plan reads outside the working folder (its classifier decides): never under default.
    assert.deepEqual(within('plan'), ['plan']);
    assert.deepEqual(within('auto'), ['acceptEdits', 'auto', 'default', 'dontAsk', 'plan']);
    assert.deepEqual(within('bypassPermissions'), [...PERMISSION_MODES].sort());
  });

  it('a wider permission mode or replace prompt is a 400 naming the setting', () => {
    const policy = overridePolicy(settingsSchema.parse({ claude: { permission_mode: 'acceptEdits' } }));
    assert.deepEqual(validateSdkOverrides({ permission_mode: 'dontAsk' }, policy), {
      permission_mode: 'dontAsk',
    });
    assert.throws(() => validateSdkOverrides({ permission_mode: 'plan' }, policy), /plan permits more/);
    assert.deepEqual(validateSdkOverrides({ permission_mode: 'acceptEdits' }, policy), {
      permission_mode: 'acceptEdits',
    });
    assert.throws(
      () => validateSdkOverrides({ permission_mode: 'auto' }, policy),
      (err: unknown) =>
        err instanceof ProxyError &&
        err.status === 400 &&
        /claude\.permission_mode \(acceptEdits\)/.test(err.message) &&
        /may only narrow it \(acceptEdits, default, dontAsk\)/.test(err.message),
    );
    assert.throws(
      () => validateSdkOverrides({ system_prompt_mode: 'replace' }, policy),
      /system_prompt_mode/,
    );
    const replacing = overridePolicy(settingsSchema.parse({ claude: { system_prompt_mode: 'replace' } }));
    assert.deepEqual(validateSdkOverrides({ system_prompt_mode: 'append' }, replacing), {
      system_prompt_mode: 'append',
    });
    // `constructor` is not a key (own properties only).
    assert.throws(() => validateSdkOverrides({ constructor: 1 }), /unknown override/);
  });

  it('beyond loopback, tool/permission/folder overrides need claude.allow_request_overrides', () => {
    const exposed = settingsSchema.parse({ server: { host: '0.0.0.0' } });
    assert.equal(overridePolicy(exposed).exposedOn, '0.0.0.0');
    assert.equal(
      overridePolicy(settingsSchema.parse({ server: { host: '127.0.0.2' } })).exposedOn,
      undefined,
    );
    for (const o of [
      { allowed_tools: [] },
      { disallowed_tools: ['Bash'] },
      { permission_mode: 'plan' },
      { cwd: 'x' },
    ]) {
      assert.throws(
        () => validateSdkOverrides(o, overridePolicy(exposed)),
        (err: unknown) => err instanceof ProxyError && err.status === 403 && err.kind === 'permission',
      );
    }
    assert.deepEqual(validateSdkOverrides({ max_turns: 2 }, overridePolicy(exposed)), { max_turns: 2 });
    exposed.claude.allow_request_overrides = true;
    assert.deepEqual(validateSdkOverrides({ permission_mode: 'dontAsk' }, overridePolicy(exposed)), {
      permission_mode: 'dontAsk',
    });
  });
});

describe('SDK working folder', () => {
  const home = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-home-')));
  const env = { HOME: home };
  const settings = (cwd: string, allow = false) =>
    settingsSchema.parse({
      claude: { cwd, allow_broad_cwd: allow },
      auth: {
        credentials_file: path.join(home, '.config', 'ccproxy', 'credentials.json'),
        claude_credentials_file: path.join(home, '.claude', '.credentials.json'),
      },
    });

  it('unset: ccproxy’s own folder under the data dir', () => {
    assert.equal(defaultAgentHome(env), path.join(home, '.local', 'share', 'ccproxy', 'agent-home'));
    assert.equal(
      defaultAgentHome({ ...env, XDG_DATA_HOME: '/data' }),
      path.join('/data', 'ccproxy', 'agent-home'),
    );
    assert.equal(workdirRefusal(settings(''), env), undefined);
  });

  it('/, a home folder or above, or a folder holding credentials: refused unless acknowledged', () => {
    const project = path.join(home, 'src', 'app');
    fs.mkdirSync(project, { recursive: true });
    assert.equal(broadCwdReason(project, settings(project), env), undefined);
    assert.match(broadCwdReason('/', settings('/'), env) ?? '', /root/);
    assert.match(broadCwdReason(home, settings(home), env) ?? '', /home folder/);
    assert.match(
      broadCwdReason(path.dirname(home), settings(path.dirname(home)), env) ?? '',
      /holds your home/,
    );
    const config = path.join(home, '.config');
    assert.match(broadCwdReason(config, settings(config), env) ?? '', /credentials\.json/);
    const refusal = workdirRefusal(settings(home), env) ?? '';
    assert.match(refusal, /claude\.allow_broad_cwd = true/);
    assert.match(refusal, /every client of this proxy could read it/);
    assert.equal(workdirRefusal(settings(home, true), env), undefined);
  });
});

describe('SDK agent slots', () => {
  /** A tracker whose processes exit when the test says so. */
  function fakeTracker() {
    const exits = new Map<number, () => void>();
    const tracker = {
      exited: (pid: number) =>
        new Promise<void>((r) => {
          exits.set(pid, r);
        }),
    } as unknown as ProcessTracker;
    return { tracker, exit: (pid: number) => exits.get(pid)?.() };
  }

  it('a slot is held until its process exits; the next request waits, then gets it', async () => {
    const { tracker, exit } = fakeTracker();
    let reclaims = 0;
    const slots = new AgentSlots({
      max: 1,
      queueTimeoutMs: 60_000,
      tracker,
      reclaim: () => {
        reclaims++;
        return false;
      },
    });
    const a = await slots.acquire();
    a.bind(101);
    assert.equal(slots.inUse, 1);
    let got = false;
    const waiting = slots.acquire().then((s) => {
      got = true;
      return s;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(reclaims, 1, 'an idle process was asked for first');
    assert.equal(slots.queued, 1);
    assert.equal(got, false);
    a.unlessBound(); // already bound: nothing given back
    await new Promise((r) => setImmediate(r));
    assert.equal(got, false);
    exit(101);
    const b = await waiting;
    b.unlessBound(); // no process was started
    assert.equal(slots.inUse, 0);
  });

  it('over the cap with nothing to wait for: a 429 with retry-after', async () => {
    const { tracker } = fakeTracker();
    const slots = new AgentSlots({ max: 1, queueTimeoutMs: 0, tracker, reclaim: () => false });
    (await slots.acquire()).bind(7);
    await assert.rejects(
      slots.acquire(),
      (err: unknown) =>
        err instanceof ProxyError &&
        err.status === 429 &&
        err.retryAfter === 1 &&
        /max_concurrent_agents/.test(err.message),
    );
  });

  it('spares take a slot only when another stays free and nobody waits', async () => {
    const { tracker } = fakeTracker();
    const freed: number[] = [];
    const slots = new AgentSlots({
      max: 2,
      queueTimeoutMs: 60_000,
      tracker,
      reclaim: () => false,
      onFree: () => freed.push(1),
    });
    const spare = slots.trySpare();
    assert.ok(spare);
    assert.equal(slots.trySpare(), undefined, 'the last slot is kept for a request');
    spare.unlessBound();
    assert.equal(freed.length, 1, 'a freed slot is announced (the pool refills)');
    assert.equal(
      new AgentSlots({ max: 1, queueTimeoutMs: 0, tracker, reclaim: () => false }).trySpare(),
      undefined,
    );
  });
});

describe('Claude Code version', () => {
  it('older than the one that takes client text as data is refused', () => {
    assert.equal(MIN_CLAUDE_CODE, '2.1.248');
    assert.ok(olderThan('2.1.247', MIN_CLAUDE_CODE));
    assert.ok(olderThan('2.0.999', MIN_CLAUDE_CODE));
    assert.ok(!olderThan('2.1.248', MIN_CLAUDE_CODE));
    assert.ok(!olderThan('2.1.332', MIN_CLAUDE_CODE));
    assert.ok(!olderThan('3.0.0-beta.1', MIN_CLAUDE_CODE));
  });
});
