/**
 * Keeps the subscription's access token usable: finds credentials, refreshes them before they
 * expire (single flight: concurrent requests wait for one refresh), writes rotated tokens back
 * where they came from, and stops retrying once the refresh token is dead (`invalid_grant`).
 */
import type { Logger } from 'pino';
import type { Settings } from '../config/schema.ts';
import { ProxyError } from '../errors.ts';
import { call as httpCall } from '../http-client.ts';
import {
  type CredentialSource,
  type FoundCredentials,
  findCredentials,
  type OAuthCredentials,
  readCredentialsFile,
  writeCredentialsFile,
} from './credentials.ts';
import { deadTokensFile, isRefreshTokenDead, markRefreshTokenDead } from './dead-tokens.ts';

export type RefreshResult = 'success' | 'failure' | 'invalid_grant';

export interface TokenManagerDeps {
  settings: Settings;
  env: Record<string, string | undefined>;
  log: Logger;
  onRefresh?: (result: RefreshResult) => void;
  now?: () => number;
  /**
   * Read this one file instead of looking through the usual sources (an account's
   * `credentials_file`); `label` names it in messages.
   */
  file?: { path: string; label: string };
  /** The command that logs this credential in again (`ccproxy auth login --account NAME` for an account's file). */
  loginCommand?: string;
  /** Where instances sharing this account agree on its rotated tokens (accounts/refresh.ts). */
  share?: TokenShare;
}

/**
 * Several instances sharing one account's rotating refresh token: only one may refresh at a time,
 * and the others take the tokens it rotated instead of burning the refresh token again.
 */
export interface TokenShare {
  /** The newest credentials published for the account, if any. */
  latest(): OAuthCredentials | undefined;
  /**
   * Run `refresh` holding the account's lock across instances, starting from the newest pair known
   * (`current` or a published one); resolves with the pair to use, which may be one another
   * instance published while this one waited (then `refresh` is not called).
   */
  exclusive(
    current: OAuthCredentials,
    refresh: (from: OAuthCredentials) => Promise<OAuthCredentials>,
  ): Promise<OAuthCredentials>;
}

export interface TokenState {
  source?: string;
  kind?: CredentialSource['kind'];
  subscriptionType?: string;
  expiresAt?: number;
  scopes?: string[];
  reloginRequired: boolean;
  lastRefreshError?: string;
}

/** Pairs found rotated by someone else rather than refreshed here (not counted as refreshes). */
const pickedUp = new WeakSet<OAuthCredentials>();

/** How often the credential files are re-read when nothing else prompts it. */
const RELOAD_EVERY_MS = 30_000;

export const LOGIN_HINT =
  'Run `ccproxy auth login` (or `claude /login`), or set CLAUDE_CODE_OAUTH_TOKEN to a token from `claude setup-token`.';

export class TokenManager {
  private found: FoundCredentials | undefined;
  private loadedAt = 0;
  private refreshing: Promise<string> | undefined;
  private reloginRequired = false;
  private lastRefreshError: string | undefined;
  private readonly now: () => number;

  constructor(private readonly deps: TokenManagerDeps) {
    this.now = deps.now ?? Date.now;
    this.reload();
  }

  /** Re-read the credential sources (after `auth login`, `claude /login`, or a rotated file). */
  reload(): FoundCredentials | undefined {
    const { settings, env, log } = this.deps;
    const before = this.found?.credentials.accessToken;
    this.found = this.deps.file
      ? this.readOwnFile(this.deps.file)
      : findCredentials(
          {
            credentialsFile: settings.auth.credentials_file,
            claudeCredentialsFile: settings.auth.claude_credentials_file,
          },
          env,
          (msg) => log.warn(msg),
        );
    this.adoptShared();
    this.loadedAt = this.now();
    // New credentials on disk (e.g. a fresh login) clear a dead-token state; ones whose refresh
    // token was already rejected (by this or another ccproxy process) are dead from the start.
    if (this.found && this.found.credentials.accessToken !== before)
      this.reloginRequired = this.knownDead(this.found);
    return this.found;
  }

  /** An account's own file; unreadable is logged and counts as no credentials. */
  private readOwnFile(file: { path: string; label: string }): FoundCredentials | undefined {
    try {
      const credentials = readCredentialsFile(file.path);
      return credentials && { source: { kind: 'account', path: file.path, label: file.label }, credentials };
    } catch (err) {
      this.deps.log.warn((err as Error).message);
      return undefined;
    }
  }

  /** Take a pair another instance rotated when it is newer than the one held (no file read). */
  private adoptShared(): void {
    const shared = this.deps.share?.latest();
    const held = this.found?.credentials;
    if (!shared || !this.found || !held || !newerPair(shared, held)) return;
    this.found = { source: this.found.source, credentials: shared };
    this.reloginRequired = false;
  }

  private knownDead(found: FoundCredentials): boolean {
    if (found.source.kind === 'env') return false;
    return isRefreshTokenDead(
      deadTokensFile(this.deps.settings.auth.credentials_file),
      found.credentials.refreshToken,
    );
  }

  private get loginCommand(): string {
    return this.deps.loginCommand ?? 'ccproxy auth login';
  }

  /** What to do when the upstream rejects the token and no refresh helped (for the client's 401). */
  rejectedHint(): string {
    const source = this.found?.source;
    if (source?.kind === 'env') {
      return `It comes from ${source.label}: replace it with a new token from \`claude setup-token\`, or unset it to use your login.`;
    }
    if (this.reloginRequired)
      return `The login has expired and could not be refreshed: run \`${this.loginCommand}\`.`;
    const cli = source?.kind === 'claude-cli' ? ' (or `claude /login`)' : '';
    return `Log in again: run \`${this.loginCommand}\`${cli}.`;
  }

  get credentials(): FoundCredentials | undefined {
    return this.found;
  }

  state(): TokenState {
    const c = this.found?.credentials;
    return {
      source: this.found?.source.label,
      kind: this.found?.source.kind,
      subscriptionType: c?.subscriptionType,
      expiresAt: c?.expiresAt,
      scopes: c?.scopes,
      reloginRequired: this.reloginRequired,
      lastRefreshError: this.lastRefreshError,
    };
  }

  /** A valid access token, refreshed first if it expires within the margin. Throws a 401 ProxyError when there is none. */
  async getAccessToken(): Promise<string> {
    if (!this.found || this.reloginRequired || this.now() - this.loadedAt > RELOAD_EVERY_MS) this.reload();
    else if (this.deps.share) this.adoptShared();
    const found = this.found;
    if (!found)
      throw new ProxyError('authentication', `No Claude subscription credentials found. ${LOGIN_HINT}`);
    if (this.reloginRequired) {
      throw new ProxyError(
        'authentication',
        `The subscription login has expired and could not be refreshed. Run \`${this.loginCommand}\`.`,
      );
    }
    const c = found.credentials;
    if (c.expiresAt === undefined || !c.refreshToken) return c.accessToken;
    const margin = this.deps.settings.auth.refresh_margin_s * 1000;
    if (c.expiresAt - this.now() > margin) return c.accessToken;
    try {
      return await this.refresh();
    } catch (err) {
      // Still valid for a little while: use it rather than fail the request.
      if (c.expiresAt > this.now() && !this.reloginRequired) return c.accessToken;
      throw err;
    }
  }

  /**
   * After the upstream rejected `rejected` with 401: refresh once (or pick up a token another
   * request or process already rotated) and return the new token, or undefined if there is none.
   */
  async recover(rejected: string): Promise<string | undefined> {
    this.reload();
    const c = this.found?.credentials;
    if (!c) return undefined;
    if (c.accessToken !== rejected) return c.accessToken;
    if (!c.refreshToken) return undefined;
    try {
      return await this.refresh();
    } catch {
      return undefined;
    }
  }

  /** Refresh now; concurrent callers share one refresh. */
  refresh(): Promise<string> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<string> {
    const { log, onRefresh, share } = this.deps;
    const found = this.found;
    if (!found?.credentials.refreshToken)
      throw new ProxyError('authentication', `No refresh token available. ${LOGIN_HINT}`);
    let exchanged = false;
    const exchange = (from: OAuthCredentials) => {
      exchanged = true;
      return this.exchange(found, from);
    };
    const creds = share
      ? await share.exclusive(found.credentials, exchange)
      : await exchange(found.credentials);
    if (creds.accessToken === this.found?.credentials.accessToken && !exchanged) return creds.accessToken;
    this.found = { source: found.source, credentials: creds };
    this.lastRefreshError = undefined;
    this.reloginRequired = false;
    if (found.source.kind !== 'env') {
      try {
        writeCredentialsFile(found.source.path, creds);
      } catch (err) {
        log.error(
          { file: found.source.path, err: (err as Error).message },
          'could not save the refreshed credentials',
        );
      }
    }
    if (!exchanged || pickedUp.has(creds)) {
      log.info({ source: found.source.kind }, 'took the token pair another process refreshed');
      return creds.accessToken;
    }
    onRefresh?.('success');
    log.info(
      { source: found.source.kind, expiresAt: new Date(creds.expiresAt ?? 0).toISOString() },
      'access token refreshed',
    );
    return creds.accessToken;
  }

  /** Trade `from`'s refresh token for a new pair at the token endpoint. */
  private async exchange(found: FoundCredentials, from: OAuthCredentials): Promise<OAuthCredentials> {
    const { settings, onRefresh } = this.deps;
    if (!from.refreshToken)
      throw new ProxyError('authentication', `No refresh token available. ${LOGIN_HINT}`);
    const started = this.now();
    let res: Awaited<ReturnType<typeof httpCall>>;
    try {
      res = await httpCall(settings.auth.token_url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({
          grant_type: 'refresh_token',
          refresh_token: from.refreshToken,
          client_id: settings.auth.client_id,
        }),
        // Through upstream.proxy_url when one is set, like the API calls (else HTTPS_PROXY…).
        proxy: settings.upstream.proxy_url || undefined,
      });
    } catch (err) {
      return this.refreshFailed(
        'failure',
        `cannot reach ${settings.auth.token_url}: ${(err as Error).message}`,
      );
    }
    const text = res.text;
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text);
    } catch {
      // handled below
    }
    if (res.status === 400 || res.status === 401) {
      if (body.error === 'invalid_grant' || res.status === 401) {
        try {
          markRefreshTokenDead(deadTokensFile(settings.auth.credentials_file), from.refreshToken);
        } catch (err) {
          this.deps.log.warn({ err: (err as Error).message }, 'could not record the rejected refresh token');
        }
        // Another process sharing the file (Claude Code, another ccproxy) may have rotated the pair
        // first: then our refresh token is dead but the file holds a live one.
        const rotated = this.rotatedOnDisk(found);
        if (rotated) return rotated;
        this.reloginRequired = true;
        onRefresh?.('invalid_grant');
        return this.refreshFailed(
          'invalid_grant',
          `the refresh token was rejected (invalid_grant); run \`${this.loginCommand}\``,
        );
      }
    }
    if (res.status !== 200 || typeof body.access_token !== 'string') {
      return this.refreshFailed('failure', `token endpoint answered ${res.status}`);
    }
    return {
      ...from,
      accessToken: body.access_token,
      refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : from.refreshToken,
      expiresAt: typeof body.expires_in === 'number' ? started + body.expires_in * 1000 : from.expiresAt,
      scopes: typeof body.scope === 'string' ? body.scope.split(' ').filter(Boolean) : from.scopes,
    };
  }

  /** A newer pair the source file holds now; undefined when there is none. */
  private rotatedOnDisk(found: FoundCredentials): OAuthCredentials | undefined {
    if (found.source.kind === 'env') return undefined;
    const c = this.reload()?.credentials;
    if (!c || c.refreshToken === found.credentials.refreshToken || this.reloginRequired) return undefined;
    if (c.expiresAt !== undefined && c.expiresAt <= this.now()) return undefined;
    this.deps.log.info({ source: found.source.kind }, 'picked up a token pair rotated by another process');
    pickedUp.add(c);
    return c;
  }

  private refreshFailed(result: RefreshResult, why: string): never {
    this.lastRefreshError = why;
    if (result === 'failure') this.deps.onRefresh?.('failure');
    this.deps.log.warn({ why }, 'token refresh failed');
    throw new ProxyError('authentication', `Could not refresh the subscription token: ${why}.`);
  }
}

/** `a` is a later pair than `b` (it expires later, or `b` has no known expiry and `a` does). */
export function newerPair(a: OAuthCredentials, b: OAuthCredentials): boolean {
  if (a.accessToken === b.accessToken) return false;
  if (a.expiresAt === undefined) return false;
  return b.expiresAt === undefined || a.expiresAt > b.expiresAt;
}
