/**
 * The accounts layer, between the backends and `auth/`: the list from the settings (or, with none,
 * the one credential found the usual way), each account's credential and state, the choice of an
 * account for each request, and what every attempt's outcome teaches (cooldowns, invalid
 * credentials, rate-limit readings), shared with other instances through SharedState.
 *
 * Backends ask for a `Lease` on an account, call the upstream with its credential, and report the
 * outcome on the lease; a lease whose attempt failed for the account's own reasons says so, and the
 * backend asks for the next one before anything reached the client. One account (or none
 * configured) is today's single-credential path: no affinity, no sharing, nothing refused.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import { type RefreshResult, TokenManager } from '../auth/token-manager.ts';
import type { Settings } from '../config/schema.ts';
import { ProxyError } from '../errors.ts';
import type { Lifecycle } from '../observability/lifecycle.ts';
import { createPricing } from '../observability/pricing.ts';
import { toTokenUsage } from '../observability/usage.ts';
import type { SharedState } from '../storage/shared-state.ts';
import { Account, type Billing } from './account.ts';
import { AffinityMap } from './affinity.ts';
import { type Choice, Chooser, type Strategy } from './choose.ts';
import { type AccountSpec, resolveAccounts } from './config.ts';
import {
  type AccountCredential,
  type CredentialInfo,
  type CredentialKind,
  refreshableCredential,
  staticCredential,
} from './credential.ts';
import { classify } from './outcome.ts';
import { SharedTokens } from './refresh.ts';
import { ACCOUNT_PREFIX, AccountSync, keyOf } from './shared.ts';
import { SPEND_PREFIX, SpillSpend } from './spend.ts';

export { conversationKey } from './affinity.ts';
export { AccountsError } from './config.ts';
export type { UpstreamCredential } from './credential.ts';
export { hasSignedThinking, isSignatureRejection, stripSignedThinking } from './history.ts';
export type { Account, Billing };

/** How long `accounts pause|resume` waits for the shared state to take the change. */
const PAUSE_WAIT_MS = 2000;

/** The account used when none are configured. */
export const DEFAULT_ACCOUNT = 'default';

export interface AccountsDeps {
  settings: Settings;
  /** Where `${VAR}` in the settings and the usual credential lookup read. */
  env: Record<string, string | undefined>;
  log: Logger;
  /** The usual credentials: the one account when none are configured. */
  tokens: TokenManager;
  shared: SharedState;
  /** Finished requests: spill-over spend is counted from them. */
  lifecycle?: Lifecycle;
  /** Epoch ms; tests move it across cooldowns and resets. */
  now?: () => number;
  onRefresh?: (result: RefreshResult) => void;
  home?: string;
}

export type AccountStateName = 'ok' | 'cooling' | 'paused' | 'invalid' | 'disabled';

/** One account as `/api/status`, `/accounts` and the dashboard show it: never a token. */
export interface AccountView {
  name: string;
  kind: CredentialKind;
  billing: Billing;
  priority: number;
  state: AccountStateName;
  /** Cooling: when it may be tried again (ISO). */
  until: string | null;
  /** Cooling or invalid: why. */
  reason: string | null;
  /** Its cooldown is over and one request will try it before the rest move back. */
  probe_pending: boolean;
  /** The plan's status as the upstream last reported it (`allowed`, `allowed_warning`, `rejected`). */
  status: string | null;
  /** Window utilisation (0..1) and reset (ISO), by window (`5h`, `7d`, …). */
  windows: Record<string, { utilization: number | null; resets_at: string | null }>;
  /** When the readings were taken (ISO). */
  readings_at: string | null;
  credential: CredentialInfo | null;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** One request's hold on an account: report every attempt's outcome on it. */
export class Lease {
  private settled = false;

  constructor(
    private readonly accounts: Accounts,
    readonly choice: Choice,
  ) {}

  get account(): Account {
    return this.choice.account;
  }

  get billing(): Billing {
    return this.choice.account.billing;
  }

  /** Every upstream response's headers: the account's readings (and a window they say is used up). */
  onHeaders(headers: IncomingHttpHeaders): void {
    this.accounts.observe(this.account, headers);
  }

  /** The upstream accepted the request (2xx headers). */
  succeeded(): void {
    this.settled = true;
    this.accounts.answered(this.account);
  }

  /** The attempt failed before the client got anything: true when another account should try. */
  failed(err: unknown): boolean {
    this.settled = true;
    return this.accounts.failed(this.account, err);
  }

  /** However the request ended: a probe without an outcome lets another request probe. */
  end(): void {
    if (!this.settled && this.choice.probe) this.account.probeSince = undefined;
  }
}

export class Accounts {
  /** The enabled accounts, in priority order (highest first, then as written). */
  readonly list: readonly Account[];
  /** `[[accounts.list]]` was given (else the one account is the usual credential). */
  readonly configured: boolean;
  readonly now: () => number;
  private readonly byName = new Map<string, Account>();
  private readonly disabled: Array<{ name: string; kind: CredentialKind }>;
  private readonly kinds = new Map<Account, CredentialKind>();
  private readonly chooser: Chooser | undefined;
  private readonly sync: AccountSync | undefined;
  private readonly spend: SpillSpend | undefined;
  private readonly tokenShares: SharedTokens[] = [];
  private readonly stops: Array<() => void> = [];
  private readonly log: Logger;

  private constructor(
    private readonly deps: AccountsDeps,
    accounts: Account[],
    disabled: Array<{ name: string; kind: CredentialKind }>,
    shares: SharedTokens[],
  ) {
    const { settings } = deps;
    this.now = deps.now ?? Date.now;
    this.log = deps.log.child({ component: 'accounts' });
    this.configured = settings.accounts.list.length > 0;
    this.list = [...accounts].sort((a, b) => b.priority - a.priority || a.order - b.order);
    for (const a of this.list) {
      this.byName.set(a.name, a);
      this.kinds.set(a, a.credential.kind);
    }
    this.disabled = disabled;
    this.tokenShares = shares;
    if (this.list.length > 1) {
      this.spend = this.list.some((a) => a.billing === 'api_key')
        ? new SpillSpend(deps.shared, settings.limits.spill_over_daily_usd, this.now, this.log)
        : undefined;
      const spillOn = settings.accounts.spill_over;
      this.chooser = new Chooser({
        subscriptions: this.list.filter((a) => a.billing === 'subscription'),
        apiKeys: this.list.filter((a) => a.billing === 'api_key'),
        strategy: settings.accounts.strategy as Strategy,
        spillAllowed: () => spillOn && this.spend!.allows(),
        affinity: new AffinityMap(),
      });
    }
    if (this.configured)
      this.sync = new AccountSync(deps.shared, this.byName, this.now, this.log, (a, what) =>
        this.log.info(
          { account: a.name, ...this.stateLog(a) },
          `account ${a.name}: ${what} (heard from shared state)`,
        ),
      );
  }

  /** The accounts the settings name (or the usual credential); throws an AccountsError on bad input. */
  static async create(deps: AccountsDeps): Promise<Accounts> {
    const { settings, env, log } = deps;
    const now = deps.now ?? Date.now;
    const resolved = resolveAccounts(settings, env, deps.home);
    const shares: SharedTokens[] = [];
    const accounts: Account[] = [];
    if (settings.accounts.list.length === 0) {
      accounts.push(
        new Account({
          name: DEFAULT_ACCOUNT,
          billing: 'subscription',
          priority: 0,
          order: 0,
          credential: refreshableCredential(deps.tokens),
          now,
        }),
      );
    }
    for (const spec of resolved.enabled) {
      let share: SharedTokens | undefined;
      if (spec.kind === 'credentials_file' && deps.shared.kind === 'postgres') {
        share = new SharedTokens(deps.shared, spec.name, settings.auth.refresh_margin_s * 1000, now, log);
        shares.push(share);
      }
      accounts.push(
        new Account({
          name: spec.name,
          billing: spec.kind === 'api_key' ? 'api_key' : 'subscription',
          priority: spec.priority,
          order: spec.order,
          credential: credentialOf(spec, deps, share),
          now,
        }),
      );
    }
    if (resolved.enabled.length > 0 && resolved.enabled.every((s) => s.kind === 'api_key'))
      log.warn(
        'accounts: only api_key accounts are enabled; they are used for spill-over only (accounts.spill_over), so requests fail until a subscription account is added',
      );
    if (settings.accounts.list.length > 0 && resolved.enabled.length === 0)
      log.warn('accounts: every account is disabled (enabled = false); requests will fail');
    const out = new Accounts(deps, accounts, resolved.disabled, shares);
    await out.start();
    return out;
  }

  private async start(): Promise<void> {
    if (this.sync) this.stops.push(await this.sync.start());
    if (this.tokenShares.length > 0) {
      const byKey = new Map(this.tokenShares.map((s) => [s.key, s]));
      this.stops.push(
        this.deps.shared.subscribe(ACCOUNT_PREFIX, (key, e) => {
          if (e) byKey.get(key)?.heard(e.value);
        }),
      );
      await Promise.all(this.tokenShares.map((s) => s.load()));
    }
    const spend = this.spend;
    if (spend) {
      this.stops.push(this.deps.shared.subscribe(SPEND_PREFIX, (key, e) => spend.heard(key, e?.value)));
      await spend.load();
      if (this.deps.lifecycle) this.stops.push(this.countSpend(this.deps.lifecycle, spend));
    }
  }

  /** Spill-over requests add what they cost (the access log's prices) to today's spend. */
  private countSpend(lifecycle: Lifecycle, spend: SpillSpend): () => void {
    const pricing = createPricing(this.deps.settings.observability.pricing);
    return lifecycle.subscribe((event, r) => {
      if (event !== 'end' || r.billing !== 'api_key') return;
      const cost = pricing.costUsd(r.upstreamModel ?? r.clientModel, r.usage ?? toTokenUsage(undefined));
      if (cost) spend.add(cost);
    });
  }

  /** More than one account: requests carry a conversation key and may fail over. */
  get several(): boolean {
    return this.chooser !== undefined;
  }

  get(name: string): Account | undefined {
    return this.byName.get(name);
  }

  /**
   * An account for a request's next attempt, or undefined when there is none left to try (then the
   * last attempt's error is the answer). Throws a ProxyError when no account may be used at all.
   */
  lease(key: string | undefined, tried: ReadonlySet<Account>): Lease | undefined {
    const chooser = this.chooser;
    if (!chooser) {
      const only = this.list[0];
      if (!only) throw this.noAccount();
      if (tried.size > 0) return undefined;
      return new Lease(this, { account: only, probe: false, moved: false, spill: false, lastResort: false });
    }
    const choice = chooser.choose({ key, tried, now: this.now() });
    if (choice) return new Lease(this, choice);
    if (tried.size > 0) return undefined;
    throw this.noAccount();
  }

  /** Nothing may answer: every account paused, invalid or disabled (or spill-over is off or spent). */
  private noAccount(): ProxyError {
    const now = this.now();
    const why = this.list.map((a) => `${a.name}: ${this.describe(a, now)}`);
    const spill =
      this.spend && !this.deps.settings.accounts.spill_over
        ? ' (api_key accounts are used only with accounts.spill_over = true)'
        : this.spend && !this.spend.allows(now)
          ? ` (spill-over has spent its $${this.spend.capUsd} for today: limits.spill_over_daily_usd)`
          : '';
    return new ProxyError(
      'unavailable',
      `No account can answer now${why.length ? ` — ${why.join('; ')}` : ''}${spill}. Resume an account with \`ccproxy accounts resume NAME\`, log in again (\`ccproxy auth login --account NAME\`), or check \`ccproxy accounts list\`.`,
      { retryAfter: 60 },
    );
  }

  private describe(a: Account, now: number): string {
    const av = a.availability(now);
    if (av === 'invalid') return `invalid (${a.invalid?.reason})`;
    if (av === 'cooling') return `cooling until ${iso(a.cooldown?.until)}`;
    if (a.billing === 'api_key' && (av === 'ready' || av === 'probe')) return 'api_key (spill-over only)';
    return av === 'ready' ? 'ok' : av;
  }

  // ─── outcomes ───────────────────────────────────────────────────────────────

  observe(account: Account, headers: IncomingHttpHeaders): void {
    account.limits.update(headers);
    if (!this.sync) return;
    this.sync.publishReadings(account);
    // The readings already say the window is used up: cool until its reset (once per reset).
    const reset = account.limits.exhaustedUntil();
    if (reset !== undefined && account.cooldown?.until !== reset * 1000) {
      account.cool(reset * 1000, 'usage window exhausted (rate-limit readings)');
      this.changed(account, 'cooling');
    }
  }

  answered(account: Account): void {
    // A 2xx whose readings say the window is used up (billed as extra usage) does not end a cooldown.
    if (account.limits.exhaustedUntil() !== undefined) return;
    if (account.recovered()) this.changed(account, 'ok');
  }

  failed(account: Account, err: unknown): boolean {
    const now = this.now();
    const verdict = classify(err, account, now);
    if (verdict.kind === 'final') {
      account.probeSince = undefined;
      return false;
    }
    if (verdict.kind === 'cool') {
      account.cool(verdict.until, verdict.reason);
      this.changed(account, 'cooling');
    } else {
      account.markInvalid(verdict.reason);
      this.changed(account, 'invalid');
    }
    return this.chooser !== undefined;
  }

  private changed(account: Account, what: string): void {
    const level = what === 'ok' ? 'info' : 'warn';
    this.log[level]({ account: account.name, ...this.stateLog(account) }, `account ${account.name}: ${what}`);
    this.sync?.publishState(account);
  }

  private stateLog(a: Account): Record<string, unknown> {
    return {
      ...(a.cooldown ? { until: iso(a.cooldown.until), reason: a.cooldown.reason } : {}),
      ...(a.invalid ? { invalid: a.invalid.reason } : {}),
      ...(a.paused ? { paused: true } : {}),
    };
  }

  // ─── people ─────────────────────────────────────────────────────────────────

  /**
   * `ccproxy accounts pause|resume NAME`: every instance sharing the state follows. `shared` is
   * false when the database did not take the change yet (this instance obeys at once; the others
   * once it is written, which is retried until it is).
   */
  async setPaused(name: string, paused: boolean): Promise<{ account: AccountView; shared: boolean }> {
    const a = this.byName.get(name);
    if (!a || !this.configured || !this.sync)
      throw new ProxyError(
        'not_found',
        this.configured
          ? `No enabled account is named "${name}"; the accounts are ${this.list.map((x) => x.name).join(', ')}.`
          : 'No accounts are configured (accounts.list): there is only the one credential, which cannot be paused.',
      );
    a.paused = paused;
    if (!paused && a.recovered()) this.sync.publishState(a);
    // A database that does not answer (rather than refuse) must not hold the command past its
    // patience: the write goes on in the background, retried until it is taken.
    let timer: NodeJS.Timeout | undefined;
    const shared = await Promise.race([
      this.sync.publishPaused(a),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), PAUSE_WAIT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    this.log.info(
      `account ${name}: ${paused ? 'paused' : 'resumed'}${shared ? '' : ' (not shared with other instances yet: the database cannot be reached)'}`,
    );
    return { account: this.view(a), shared };
  }

  views(): AccountView[] {
    const out = this.list.map((a) => this.view(a));
    for (const d of this.disabled) {
      out.push({
        name: d.name,
        kind: d.kind,
        billing: d.kind === 'api_key' ? 'api_key' : 'subscription',
        priority: 0,
        state: 'disabled',
        until: null,
        reason: 'enabled = false',
        probe_pending: false,
        status: null,
        windows: {},
        readings_at: null,
        credential: null,
      });
    }
    return out;
  }

  view(a: Account): AccountView {
    const now = this.now();
    const av = a.availability(now);
    const state: AccountStateName =
      av === 'paused' ? 'paused' : av === 'invalid' ? 'invalid' : av === 'cooling' ? 'cooling' : 'ok';
    const snap = a.limits.snapshot();
    const windows: AccountView['windows'] = {};
    for (const [name, w] of Object.entries(snap?.windows ?? {})) {
      windows[name] = {
        utilization: w.utilization ?? null,
        resets_at: w.resetAt !== undefined ? iso(w.resetAt * 1000) : null,
      };
    }
    return {
      name: a.name,
      kind: this.kinds.get(a) ?? a.credential.kind,
      billing: a.billing,
      priority: a.priority,
      state,
      until: state === 'cooling' ? iso(a.cooldown?.until) : null,
      reason:
        state === 'cooling'
          ? (a.cooldown?.reason ?? null)
          : state === 'invalid'
            ? (a.invalid?.reason ?? null)
            : null,
      probe_pending: av === 'probe' || av === 'probing',
      status: snap?.status ?? null,
      windows,
      readings_at: snap ? iso(snap.updatedAt) : null,
      credential: a.credential.info(),
    };
  }

  /** Every account's numeric readings (`unified_5h_utilization`…), for metrics and the dashboard. */
  readings(): Array<{ account: string; name: string; value: number }> {
    const out: Array<{ account: string; name: string; value: number }> = [];
    for (const a of this.list) for (const r of a.limits.readings()) out.push({ account: a.name, ...r });
    return out;
  }

  /** What spill-over spent today (UTC), as this instance knows it; null without api_key accounts. */
  spentToday(): number | null {
    return this.spend ? Math.round(this.spend.spent() * 10_000) / 10_000 : null;
  }

  /** For `/health`: can any account answer? Degraded (ok, with a note) when some cannot. */
  health(): { ok: boolean; detail?: string } {
    if (!this.configured) {
      const c = this.list[0]?.credential.info();
      if (!c?.source) return { ok: false, detail: 'no subscription credentials found' };
      if (c.relogin_required) return { ok: false, detail: 're-login required: run `ccproxy auth login`' };
      const only = this.list[0]!;
      // The upstream rejected the credential (a revoked token): nothing can be answered until it changes.
      if (only.availability(this.now()) === 'invalid') return { ok: false, detail: only.invalid!.reason };
      return { ok: true };
    }
    const now = this.now();
    const down = this.list.filter((a) => {
      const av = a.availability(now);
      return av === 'invalid' || av === 'paused';
    });
    if (this.list.length === 0) return { ok: false, detail: 'every account is disabled' };
    const detail = down.map((a) => `${a.name}: ${this.describe(a, now)}`).join('; ');
    // api_key accounts answer only as spill-over: with it off, they do not make the proxy ready.
    const spillOn = this.deps.settings.accounts.spill_over;
    const usable = this.list.filter((a) => !down.includes(a) && (a.billing === 'subscription' || spillOn));
    if (usable.length === 0)
      return { ok: false, detail: `no account can answer (${detail || 'spill-over is off'})` };
    return down.length ? { ok: true, detail } : { ok: true };
  }

  /** Every account's current tokens and keys, for redaction (they rotate: ask each time). */
  secrets(): string[] {
    return this.list.flatMap((a) => a.credential.secrets()).filter((s): s is string => !!s);
  }

  close(): void {
    for (const stop of this.stops.splice(0)) stop();
  }
}

function credentialOf(
  spec: AccountSpec,
  deps: AccountsDeps,
  share: SharedTokens | undefined,
): AccountCredential {
  switch (spec.kind) {
    case 'oauth_token':
      return staticCredential('oauth_token', spec.token, spec.from);
    case 'api_key':
      return staticCredential('api_key', spec.key, spec.from);
    case 'credentials_file': {
      const tokens = new TokenManager({
        settings: deps.settings,
        env: deps.env,
        log: deps.log.child({ account: spec.name }),
        onRefresh: deps.onRefresh,
        now: deps.now,
        file: { path: spec.file, label: `account ${spec.name} (${spec.file})` },
        loginCommand: `ccproxy auth login --account ${spec.name}`,
        share,
      });
      return refreshableCredential(tokens, 'credentials_file');
    }
  }
}

export { keyOf };
