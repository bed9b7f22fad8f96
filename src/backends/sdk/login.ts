/**
 * The login ccproxy lends its agents. Claude Code needs a login of its own, fixed for the life of
 * its process: each new agent gets a token in the environment of its own process — never by
 * changing an environment shared with other agents.
 *
 * - Without `[[accounts]]`: when the subscription's credentials are ccproxy's (`ccproxy auth
 *   login`) and the agents' environment has no token, ccproxy's access token is lent, refreshed
 *   before each request so that a process started later never carries an expired one.
 * - With accounts: each request's account is chosen like an API-mode request's (conversation
 *   affinity, strategy, cooling and paused accounts skipped), and its agent is started with that
 *   account's token (`CLAUDE_CODE_OAUTH_TOKEN`) or, for an `api_key` account in spill-over, its key
 *   (`ANTHROPIC_API_KEY`). An agent started on one account is never reused for another.
 *
 * Each token lent starts a *generation*: a number that names the (account, token) pair. An agent
 * or spare is reused only for a request whose login has its generation; one whose token has since
 * been replaced (refreshed, re-logged in) is not reused at all (its token would expire under it,
 * and Claude Code cannot refresh a token it was given).
 */
import type { Accounts, Lease } from '../../accounts/index.ts';
import { conversationKey } from '../../accounts/index.ts';
import type { TokenManager } from '../../auth/token-manager.ts';
import type { MessagesRequest } from '../../formats/anthropic/types.ts';
import type { RequestContext } from '../backend.ts';

export type LoginSource = Pick<TokenManager, 'credentials' | 'reload' | 'getAccessToken'>;

/** The login one request's agent runs with. */
export interface LentLogin {
  /** Names the (account, token) pair: an agent is reused only for the same one. */
  generation: number;
  /** What a new agent's environment adds to the agents' base environment. */
  env: Record<string, string>;
  /** The account it belongs to (accounts mode), for the access log. */
  account?: string;
  billing?: 'subscription' | 'api_key';
  /** Accounts mode: the hold on the account, to report the run's outcome on. */
  lease?: Lease;
}

/** Variables through which a token could reach Claude Code: the lent login replaces them all. */
export const LOGIN_VARS = ['CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN'] as const;

export class AgentLogin {
  /** Single mode: bumped each time the lent token changes (0: the one agents have started with so far). */
  generation = 0;
  private token?: string;
  /** Accounts mode: each account's current token and its generation. */
  private readonly current = new Map<string, { token: string; generation: number }>();
  private readonly accountOf = new Map<number, string>();
  /** Accounts mode: what spares start with (the login of the last new conversation). */
  private spareLogin?: LentLogin;
  private next = 1;

  /**
   * `tokens`: ccproxy's credentials; `ownToken`: the agents' environment has a token of its own
   * (then nothing is lent); `accounts`: configured accounts (then each request chooses one).
   */
  constructor(
    private readonly tokens: LoginSource | undefined,
    private readonly ownToken: boolean,
    private readonly accounts?: Accounts,
  ) {}

  /** Are the accounts the agents' logins (`[[accounts]]` configured)? */
  get perAccount(): boolean {
    return this.accounts?.configured === true;
  }

  /** Single mode, before a request (or the warm pool's start): the token to lend now, refreshed if due. */
  async refresh(): Promise<void> {
    if (this.perAccount) {
      // The spares follow the account a new conversation would get.
      if (!this.spareLogin) await this.choose(undefined, undefined).then((l) => l.lease?.end());
      return;
    }
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

  /** The login for a request's agent (accounts mode: the account chosen for it, leased). */
  async choose(request: MessagesRequest | undefined, ctx: RequestContext | undefined): Promise<LentLogin> {
    const accounts = this.accounts;
    if (!accounts || !this.perAccount) {
      await this.refresh();
      return this.spare();
    }
    const key = request && ctx ? conversationKey(request, ctx.headers, ctx.sessionId) : undefined;
    const lease = accounts.lease(key, new Set());
    if (!lease) throw new Error('no account to lend'); // lease() throws itself when none can answer
    const account = lease.account;
    let token: string;
    try {
      token = await account.credential.token();
    } catch (err) {
      lease.failed(err);
      lease.end();
      throw err;
    }
    let cur = this.current.get(account.name);
    if (cur?.token !== token) {
      cur = { token, generation: this.next++ };
      this.current.set(account.name, cur);
      this.accountOf.set(cur.generation, account.name);
    }
    const env: Record<string, string> =
      account.credential.scheme === 'api_key'
        ? { ANTHROPIC_API_KEY: token }
        : { CLAUDE_CODE_OAUTH_TOKEN: token };
    const login: LentLogin = {
      generation: cur.generation,
      env,
      account: account.name,
      billing: account.billing,
      lease,
    };
    if (!lease.choice.spill && !lease.choice.lastResort) this.spareLogin = { ...login, lease: undefined };
    return login;
  }

  /** The login a spare starts with now. */
  spare(): LentLogin {
    if (this.perAccount) return this.spareLogin ?? { generation: -1, env: {} };
    return { generation: this.generation, env: this.token ? { CLAUDE_CODE_OAUTH_TOKEN: this.token } : {} };
  }

  /** What a new agent's environment adds to the agents' base environment (single mode). */
  env(): Record<string, string> {
    return this.spare().env;
  }

  /** Is an agent started with this generation's token still on its account's current token? */
  isCurrent(generation: number): boolean {
    if (!this.perAccount) return generation === this.generation;
    const name = this.accountOf.get(generation);
    return name !== undefined && this.current.get(name)?.generation === generation;
  }
}
