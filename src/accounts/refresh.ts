/**
 * Exactly one instance refreshes a given account. OAuth refresh tokens rotate: whoever trades one
 * in gets a new pair, and the old refresh token is dead — two instances refreshing the same account
 * at once would leave one of them logged out. So with PostgreSQL a refresh runs holding the
 * account's advisory lock (`withLock('account:<name>:refresh')`); inside it the instance reads the
 * shared pair again (another may have refreshed while it waited), refreshes only if that pair is
 * still not fresh enough, and writes the rotated pair to `account:<name>:tokens` in the same
 * transaction. Every instance hears the new pair and uses it without touching its file.
 *
 * The shared pair is what the instances agree on: the database then holds the account's tokens,
 * so it deserves the protection the credential files have (docs/team.md). If the database cannot
 * be reached, an instance refreshes on its own (the risk above, taken over failing requests).
 */
import type { Logger } from 'pino';
import type { OAuthCredentials } from '../auth/credentials.ts';
import { newerPair, type TokenShare } from '../auth/token-manager.ts';
import { LockTimeoutError, StorageUnavailableError } from '../storage/errors.ts';
import type { SharedState } from '../storage/shared-state.ts';
import { keyOf } from './shared.ts';

/** Longer than a token refresh takes (the token endpoint gets 30 s). */
const LOCK_TIMEOUT_MS = 45_000;

export class SharedTokens implements TokenShare {
  private held: OAuthCredentials | undefined;

  constructor(
    private readonly shared: SharedState,
    private readonly name: string,
    /** Refresh when less than this remains (auth.refresh_margin_s). */
    private readonly marginMs: number,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {}

  get key(): string {
    return keyOf(this.name, 'tokens');
  }

  latest(): OAuthCredentials | undefined {
    return this.held;
  }

  /** A pair heard from the shared state (any instance's refresh). */
  heard(value: unknown): void {
    const c = value as OAuthCredentials | undefined;
    if (!c || typeof c.accessToken !== 'string') return;
    if (!this.held || newerPair(c, this.held)) this.held = c;
  }

  async load(): Promise<void> {
    try {
      const e = await this.shared.get(this.key);
      if (e) this.heard(e.value);
    } catch {
      // Unreachable: the file's pair it is, until the database answers.
    }
  }

  async exclusive(
    current: OAuthCredentials,
    refresh: (from: OAuthCredentials) => Promise<OAuthCredentials>,
  ): Promise<OAuthCredentials> {
    // A pair rotated here whose write then failed is still this instance's to use.
    let rotated: OAuthCredentials | undefined;
    try {
      return await this.shared.withLock(
        `${keyOf(this.name, 'tokens')}:refresh`,
        async (tx) => {
          const stored = (await tx.get<OAuthCredentials>(this.key))?.value;
          const start = stored && newerPair(stored, current) ? stored : current;
          if (start !== current && (start.expiresAt ?? 0) - this.now() > this.marginMs) {
            this.heard(start);
            return start; // another instance refreshed while this one waited
          }
          const next = await refresh(start);
          rotated = next;
          await tx.set(this.key, next);
          this.heard(next);
          return next;
        },
        { timeoutMs: LOCK_TIMEOUT_MS },
      );
    } catch (err) {
      if (rotated) return rotated;
      if (!(err instanceof StorageUnavailableError || err instanceof LockTimeoutError)) throw err;
      this.log.warn(
        { account: this.name, err: err.message },
        'accounts: cannot take the shared refresh lock; refreshing on this instance alone',
      );
      return refresh(this.held && newerPair(this.held, current) ? this.held : current);
    }
  }
}
