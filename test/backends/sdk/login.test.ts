/**
 * The login lent to agents (src/backends/sdk/login.ts), with a stand-in for ccproxy's token manager.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentLogin, type LoginSource } from '../../../src/backends/sdk/login.ts';

function source(kind: 'ccproxy' | 'claude-cli', token: () => string): LoginSource {
  return {
    credentials: { source: { kind } } as LoginSource['credentials'],
    reload: () => undefined,
    getAccessToken: async () => token(),
  };
}

describe('the login lent to agents', () => {
  it('lends ccproxy’s token in each new agent’s own environment; a new token starts a new generation', async () => {
    let token = 'first';
    const login = new AgentLogin(
      source('ccproxy', () => token),
      false,
    );
    assert.deepEqual(login.env(), {});
    await login.refresh();
    assert.deepEqual(login.env(), { CLAUDE_CODE_OAUTH_TOKEN: 'first' });
    const started = login.generation;
    await login.refresh();
    assert.ok(login.isCurrent(started), 'the same token: agents started with it stay current');
    token = 'second';
    await login.refresh();
    assert.deepEqual(login.env(), { CLAUDE_CODE_OAUTH_TOKEN: 'second' });
    assert.ok(!login.isCurrent(started), 'agents started with the first token are stale');
  });

  it('lends nothing when the agents have a token of their own or the login is Claude Code’s', async () => {
    const own = new AgentLogin(
      source('ccproxy', () => 'x'),
      true,
    );
    await own.refresh();
    assert.deepEqual(own.env(), {});
    const cli = new AgentLogin(
      source('claude-cli', () => 'x'),
      false,
    );
    await cli.refresh();
    assert.deepEqual(cli.env(), {});
    assert.ok(cli.isCurrent(0));
  });
});
