/**
 * The login ccproxy lends its agents. Claude Code needs a login of its own; when the subscription's
 * credentials are ccproxy's (`ccproxy auth login`) and the agents' environment has no token, each
 * new agent gets ccproxy's access token in the environment of its own process — never by changing
 * an environment shared with other agents. The token is refreshed before each request, so a process
 * started later never carries an expired one; each change of the lent token starts a new
 * *generation*, and an agent or spare started with an earlier one is not reused (its token would
 * expire under it, and Claude Code cannot refresh a token it was given).
 */
import type { TokenManager } from '../../auth/token-manager.ts';

export type LoginSource = Pick<TokenManager, 'credentials' | 'reload' | 'getAccessToken'>;

export class AgentLogin {
  /** Bumped each time the lent token changes (0: the one agents have started with so far). */
  generation = 0;
  private token?: string;

  /**
   * `tokens`: ccproxy's credentials; `ownToken`: the agents' environment has a token of its own
   * (then nothing is lent).
   */
  constructor(
    private readonly tokens: LoginSource | undefined,
    private readonly ownToken: boolean,
  ) {}

  /** Before a request (or the warm pool's start): the token to lend now, refreshed if due. */
  async refresh(): Promise<void> {
    const tokens = this.tokens;
    if (this.ownToken || !tokens) return;
    if (!tokens.credentials) tokens.reload();
    let token: string | undefined;
    if (tokens.credentials?.source.kind === 'ccproxy') {
      // No usable login: the agent answers with its own "not logged in", which says what to do.
      token = await tokens.getAccessToken().catch(() => undefined);
    }
    // None when another login took over (`claude /login`): the agents use their own then.
    if (token === this.token) return;
    this.token = token;
    this.generation++;
  }

  /** What a new agent's environment adds to the agents' base environment. */
  env(): Record<string, string> {
    return this.token ? { CLAUDE_CODE_OAUTH_TOKEN: this.token } : {};
  }

  /** Did an agent started with this generation get the login new agents get? */
  isCurrent(generation: number): boolean {
    return generation === this.generation;
  }
}
