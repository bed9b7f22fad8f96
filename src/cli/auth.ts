/**
 * `ccproxy auth login|info|validate|refresh|logout`: the subscription's credentials from the command
 * line. Each command is a function of (context, options) returning its exit code, so tests run them
 * in-process with a scripted terminal; `registerAuth` wires them to commander.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { request } from 'undici';
import { openBrowser } from '../auth/browser.ts';
import { startCallbackServer } from '../auth/callback-server.ts';
import {
  ENV_TOKEN,
  type FoundCredentials,
  findCredentials,
  maskToken,
  readCredentialsFile,
  writeSecretFile,
} from '../auth/credentials.ts';
import { AuthError, EXIT_CODES } from '../auth/errors.ts';
import { beginLogin, completeLogin, type LoginResult, parsePasted, saveLogin } from '../auth/login.ts';
import { fetchProfile, manualRedirectUri, type Profile } from '../auth/oauth.ts';
import { TokenManager } from '../auth/token-manager.ts';
import { upstreamHeaders } from '../backends/api/headers.ts';
import type { Settings } from '../config/schema.ts';
import { createLogger } from '../logging.ts';
import { loadOrExit } from './settings.ts';

/** The terminal, as the commands see it (tests script it). */
export interface AuthIO {
  out(text: string): void;
  err(text: string): void;
  /** One line of input; undefined when the input ended. */
  readLine(prompt: string, signal: AbortSignal): Promise<string | undefined>;
  openBrowser(url: string): Promise<boolean>;
  /** Whether a person can answer questions (stdin is a terminal). */
  interactive: boolean;
}

export interface AuthContext {
  settings: Settings;
  /** process.env over `.env`: where CLAUDE_CODE_OAUTH_TOKEN is read. */
  env: Record<string, string | undefined>;
  io: AuthIO;
  log: Logger;
}

export interface LoginOptions {
  manual?: boolean;
  /** `--no-browser` sets this to false. */
  browser?: boolean;
  file?: string;
  force?: boolean;
  port?: string;
  timeout?: string;
  server?: string;
}

const DEFAULT_TIMEOUT_S = 300;

// ─── helpers ────────────────────────────────────────────────────────────────

function fail(ctx: AuthContext, err: unknown): number {
  if (err instanceof AuthError) {
    ctx.io.err(`ccproxy: ${err.message}\n`);
    return err.exitCode;
  }
  ctx.io.err(`ccproxy: ${(err as Error).message ?? String(err)}\n`);
  return EXIT_CODES.failed;
}

/** `in 7h 59m`, `3m ago`. */
export function relative(ms: number, now = Date.now()): string {
  const d = ms - now;
  const abs = Math.abs(d);
  const h = Math.floor(abs / 3_600_000);
  const m = Math.floor((abs % 3_600_000) / 60_000);
  const span = h >= 48 ? `${Math.floor(h / 24)}d` : h > 0 ? `${h}h ${m}m` : `${m}m`;
  return d >= 0 ? `in ${span}` : `${span} ago`;
}

function expiry(expiresAt: number | undefined): string {
  if (expiresAt === undefined) return 'unknown (long-lived token)';
  return `${new Date(expiresAt).toISOString()} (${expiresAt > Date.now() ? relative(expiresAt) : `expired ${relative(expiresAt)}`})`;
}

function paths(settings: Settings) {
  return {
    credentialsFile: path.resolve(settings.auth.credentials_file),
    claudeCredentialsFile: path.resolve(settings.auth.claude_credentials_file),
  };
}

/** Every source that holds credentials, in the order they are tried (the first is the one in use). */
function allSources(ctx: AuthContext): FoundCredentials[] {
  const p = paths(ctx.settings);
  const out: FoundCredentials[] = [];
  const env = findCredentials(p, ctx.env);
  if (env?.source.kind === 'env') out.push(env);
  const files = [
    {
      kind: 'ccproxy' as const,
      path: p.credentialsFile,
      label: `ccproxy credentials (${p.credentialsFile})`,
    },
    {
      kind: 'claude-cli' as const,
      path: p.claudeCredentialsFile,
      label: `Claude CLI credentials (${p.claudeCredentialsFile})`,
    },
  ];
  for (const source of files) {
    try {
      const credentials = readCredentialsFile(source.path);
      if (credentials) out.push({ source, credentials });
    } catch (err) {
      ctx.io.err(`warning: ${(err as Error).message}\n`);
    }
  }
  return out;
}

function timeoutSeconds(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_TIMEOUT_S;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new AuthError('usage', `--timeout: expected seconds > 0, got "${raw}".`);
  return n;
}

function portOption(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new AuthError('usage', `--port: expected 0–65535 (0 = any free port), got "${raw}".`);
  return n;
}

/** Reject when the signal aborts, with its reason. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

// ─── login ──────────────────────────────────────────────────────────────────

export async function login(ctx: AuthContext, opts: LoginOptions): Promise<number> {
  const { settings } = ctx;
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onSigint = () =>
    ac.abort(new AuthError('cancelled', 'Login cancelled; existing credentials were left as they were.'));
  try {
    const seconds = timeoutSeconds(opts.timeout);
    if (opts.server && (opts.file || opts.manual))
      throw new AuthError(
        'usage',
        '--server saves the login in the running proxy’s own store: it cannot be combined with --file or --manual.',
      );
    const store = paths(settings).credentialsFile;
    const target = path.resolve(opts.file ?? store);
    checkTarget(target, store, opts.force === true);
    noteExisting(ctx, target, store);

    timer = setTimeout(
      () =>
        ac.abort(
          new AuthError(
            'timeout',
            `The login did not finish within ${seconds}s, so it was abandoned; existing credentials were left as they were. Run \`ccproxy auth login\` again (--timeout sets the limit${opts.manual ? '' : '; --manual works without a browser on this machine'}).`,
          ),
        ),
      seconds * 1000,
    );
    process.once('SIGINT', onSigint);

    let result: LoginResult;
    if (opts.server) {
      result = await loginThroughServer(ctx, opts, ac.signal);
    } else if (opts.manual) {
      result = await loginManually(ctx, ac.signal);
      checkTarget(target, store, opts.force === true);
      saveLogin(target, result);
    } else {
      result = await loginWithCallback(ctx, opts, target, store, ac.signal, seconds);
    }
    reportLogin(ctx, result, opts.server ? undefined : target, store);
    return 0;
  } catch (err) {
    return fail(ctx, err);
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', onSigint);
    if (!ac.signal.aborted) ac.abort(new AuthError('cancelled', 'done'));
  }
}

/** `--file` must not silently replace someone else's file (the Claude CLI's, say). */
function checkTarget(target: string, store: string, force: boolean): void {
  if (target === store || force || !fs.existsSync(target)) return;
  throw new AuthError(
    'file_exists',
    `${target} already exists and is not ccproxy's own credential store; nothing was changed. Pass --force to overwrite its login (other keys in it are kept), or choose another --file.`,
  );
}

function noteExisting(ctx: AuthContext, target: string, store: string): void {
  const { io } = ctx;
  const sources = allSources(ctx);
  const env = sources.find((s) => s.source.kind === 'env');
  const claude = sources.find((s) => s.source.kind === 'claude-cli');
  const own = sources.find((s) => s.source.kind === 'ccproxy');
  if (env) io.out(`Note: ${ENV_TOKEN} is set; it takes precedence over any login until you unset it.\n`);
  if (claude && !own && target === store) {
    const plan = claude.credentials.subscriptionType ? `, ${claude.credentials.subscriptionType} plan` : '';
    io.out(
      `Found the Claude CLI's credentials at ${paths(ctx.settings).claudeCredentialsFile} (access token ${maskToken(claude.credentials.accessToken)}${plan}); ccproxy ${env ? 'would use' : 'uses'} them while it has no login of its own.\nThis login is saved in ccproxy's own store, which takes precedence over them.\n`,
    );
  } else if (own && target === store) {
    io.out(`This replaces the login in ${store} once it succeeds.\n`);
  }
  io.out('\n');
}

async function loginWithCallback(
  ctx: AuthContext,
  opts: LoginOptions,
  target: string,
  store: string,
  signal: AbortSignal,
  seconds: number,
): Promise<LoginResult> {
  const { settings, io } = ctx;
  let settle!: { resolve: (r: LoginResult) => void; reject: (e: unknown) => void };
  const outcome = new Promise<LoginResult>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // Assigned once the server knows its port; the server only calls back after that.
  let pending!: ReturnType<typeof beginLogin>;
  const server = await startCallbackServer({
    port: portOption(opts.port, settings.auth.callback_port),
    handle: async (params) => {
      try {
        const result = await completeLogin(settings, pending, params, signal);
        checkTarget(target, store, opts.force === true);
        saveLogin(target, result);
        settle.resolve(result);
        return {
          status: 200,
          title: 'Logged in',
          message: `${result.email ? `Logged in as ${result.email}. ` : ''}You can close this tab and return to the terminal.`,
        };
      } catch (err) {
        settle.reject(err);
        const e = err instanceof AuthError ? err : new AuthError('failed', (err as Error).message);
        return { status: e.kind === 'denied' ? 403 : 400, title: 'Login failed', message: e.message };
      }
    },
  });
  try {
    pending = beginLogin(settings, server.redirectUri);
    const opened = opts.browser !== false && (await io.openBrowser(pending.url));
    io.out(
      opened
        ? 'Opened the Claude login page in your browser. If it did not open, open this URL:\n'
        : 'Open this URL in a browser on this machine to log in:\n',
    );
    io.out(`\n  ${pending.url}\n\n`);
    io.out(
      `Waiting for the browser to come back to ${server.redirectUri} (gives up in ${seconds}s; Ctrl-C to cancel).\n` +
        `No browser on this machine? Forward port ${server.port} (ssh -L ${server.port}:localhost:${server.port} …), or run \`ccproxy auth login --manual\`.\n`,
    );
    return await Promise.race([outcome, aborted(signal)]);
  } finally {
    outcome.catch(() => {});
    await server.close();
  }
}

async function loginManually(ctx: AuthContext, signal: AbortSignal): Promise<LoginResult> {
  const { settings, io } = ctx;
  const pending = beginLogin(settings, manualRedirectUri(settings));
  io.out('Open this URL in any browser, log in and authorize ccproxy:\n');
  io.out(`\n  ${pending.url}\n\n`);
  io.out('The page then shows a code (it looks like `code#state`). Paste all of it here.\n');
  const line = await Promise.race([io.readLine('Code: ', signal), aborted(signal)]);
  if (line === undefined || line.trim() === '')
    throw new AuthError('cancelled', 'No code was pasted; existing credentials were left as they were.');
  return completeLogin(settings, pending, parsePasted(line), signal);
}

/** Start the login in a running proxy, open its URL, and wait for the proxy to say how it ended. */
async function loginThroughServer(
  ctx: AuthContext,
  opts: LoginOptions,
  signal: AbortSignal,
): Promise<LoginResult> {
  const { settings, io } = ctx;
  const base = opts.server!.replace(/\/+$/, '');
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (settings.security.auth_token) headers['x-api-key'] = settings.security.auth_token;
  const call = async (method: 'GET' | 'POST', p: string) => {
    try {
      const res = await request(`${base}${p}`, {
        method,
        headers,
        body: method === 'POST' ? '{}' : undefined,
        signal,
      });
      const text = await res.body.text();
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text);
      } catch {
        // reported below
      }
      if (res.statusCode !== 200) {
        const msg = (body.error as { message?: string } | undefined)?.message ?? text.slice(0, 200);
        throw new AuthError(
          res.statusCode === 401 ? 'usage' : 'failed',
          `${base}${p} answered ${res.statusCode}: ${msg}${res.statusCode === 401 ? ' (set security.auth_token to the proxy’s token)' : ''}`,
        );
      }
      return body;
    } catch (err) {
      if (err instanceof AuthError || signal.aborted) throw signal.aborted ? signal.reason : err;
      throw new AuthError('unreachable', `Cannot reach the proxy at ${base}: ${(err as Error).message}.`);
    }
  };
  const started = await call('POST', '/oauth/login');
  const url = String(started.authorize_url);
  const opened = opts.browser !== false && (await io.openBrowser(url));
  io.out(
    opened
      ? 'Opened the Claude login page in your browser. If it did not open, open this URL:\n'
      : 'Open this URL in a browser to log in:\n',
  );
  io.out(`\n  ${url}\n\n`);
  io.out(
    `The proxy at ${base} finishes the login at ${String(started.redirect_uri)} and saves it in its store.\n`,
  );
  for (;;) {
    await Promise.race([new Promise((r) => setTimeout(r, 1000).unref()), aborted(signal)]);
    const s = await call('GET', `/oauth/login/${encodeURIComponent(String(started.id))}`);
    if (s.status === 'pending') continue;
    if (s.status === 'failed') {
      const kind = (typeof s.error_kind === 'string' ? s.error_kind : 'failed') as AuthError['kind'];
      throw new AuthError(kind in EXIT_CODES ? kind : 'failed', String(s.message ?? 'The login failed.'));
    }
    const account = (s.account ?? {}) as Record<string, string | undefined>;
    if (s.message) io.out(`${String(s.message)}\n`);
    return {
      credentials: { accessToken: '', subscriptionType: account.subscription_type },
      email: account.email,
      organization: account.organization,
    };
  }
}

function reportLogin(ctx: AuthContext, result: LoginResult, target: string | undefined, store: string): void {
  const { io, settings, env } = ctx;
  const who = [
    result.email ? `as ${result.email}` : undefined,
    result.organization ? `(${result.organization})` : undefined,
  ]
    .filter(Boolean)
    .join(' ');
  const plan = result.credentials.subscriptionType ? `, ${result.credentials.subscriptionType} plan` : '';
  io.out(`\nLogged in${who ? ` ${who}` : ''}${plan}.\n`);
  if (result.profileProblem) io.out(`(Could not read the account profile: ${result.profileProblem}.)\n`);
  if (!target) return;
  const c = result.credentials;
  io.out(
    `Saved to ${target} (mode 0600). Access token ${maskToken(c.accessToken)}, expires ${expiry(c.expiresAt)}.\n`,
  );
  if (env[ENV_TOKEN]?.trim())
    io.out(`Note: ${ENV_TOKEN} is set and still takes precedence; unset it for ccproxy to use this login.\n`);
  if (target === paths(settings).claudeCredentialsFile)
    io.out('This is the Claude CLI’s file: Claude Code uses this login too.\n');
  else if (target !== store)
    io.out(
      `ccproxy reads its own store from ${store}; to use this file, set auth.credentials_file = "${target}".\n`,
    );
}

// ─── info ───────────────────────────────────────────────────────────────────

export async function info(ctx: AuthContext, opts: { json?: boolean }): Promise<number> {
  const { settings, io } = ctx;
  const tokens = new TokenManager({ settings, env: ctx.env, log: ctx.log });
  const found = tokens.credentials;
  const sources = allSources(ctx);
  if (!found) {
    const p = paths(settings);
    if (opts.json) io.out(`${JSON.stringify({ found: false }, null, 2)}\n`);
    else
      io.out(
        `No Claude subscription credentials found. Looked for ${ENV_TOKEN}, ${p.credentialsFile} and ${p.claudeCredentialsFile}.\nRun \`ccproxy auth login\` (or \`claude /login\`), or set ${ENV_TOKEN} to a token from \`claude setup-token\`.\n`,
      );
    return EXIT_CODES.failed;
  }
  const state = tokens.state();
  const c = found.credentials;
  const expired = c.expiresAt !== undefined && c.expiresAt <= Date.now();
  let profile: Profile | undefined;
  let profileProblem: string | undefined;
  if (state.reloginRequired) profileProblem = 're-login required';
  else if (expired)
    profileProblem = 'the access token has expired (run `ccproxy auth validate` to refresh it)';
  else {
    try {
      profile = await fetchProfile(settings, c.accessToken, AbortSignal.timeout(15_000));
    } catch (err) {
      profileProblem = (err as Error).message;
    }
  }
  const status = state.reloginRequired
    ? 're-login required: the refresh token was rejected; run `ccproxy auth login`'
    : expired
      ? c.refreshToken
        ? 'access token expired; it is refreshed on the next request (or run `ccproxy auth refresh`)'
        : 'access token expired and there is no refresh token; run `ccproxy auth login`'
      : 'ok';
  const subscription = profile?.subscriptionType ?? c.subscriptionType;
  const others = sources.filter((s) => s.source.label !== found.source.label);

  if (opts.json) {
    io.out(
      `${JSON.stringify(
        {
          found: true,
          source: found.source.label,
          kind: found.source.kind,
          subscription_type: subscription ?? null,
          email: profile?.email ?? null,
          organization: profile?.organization ?? null,
          organization_type: profile?.organizationType ?? null,
          scopes: c.scopes ?? null,
          expires_at: c.expiresAt ? new Date(c.expiresAt).toISOString() : null,
          access_token: maskToken(c.accessToken),
          refresh_token: c.refreshToken ? maskToken(c.refreshToken) : null,
          relogin_required: state.reloginRequired,
          status,
          profile_problem: profileProblem ?? null,
          also_found: others.map((s) => s.source.label),
        },
        null,
        2,
      )}\n`,
    );
  } else {
    const rows: Array<[string, string]> = [
      ['Source', found.source.label],
      ['Subscription', subscription ?? 'unknown'],
      ['Account', profile?.email ?? `unknown (${profileProblem ?? 'no profile'})`],
      [
        'Organisation',
        profile?.organization
          ? `${profile.organization}${profile.organizationType ? ` (${profile.organizationType})` : ''}`
          : 'unknown',
      ],
      ['Scopes', c.scopes?.join(' ') || 'unknown'],
      ['Expires', expiry(c.expiresAt)],
      ['Access token', maskToken(c.accessToken)],
      ['Refresh token', c.refreshToken ? maskToken(c.refreshToken) : 'none'],
      ['Status', status],
    ];
    for (const [k, v] of rows) io.out(`${`${k}:`.padEnd(15)}${v}\n`);
    if (found.source.kind === 'claude-cli')
      io.out(
        '\nThese are the Claude CLI’s credentials, shared with Claude Code: a refresh by either rotates the token and is written back to that file.\n',
      );
    for (const o of others)
      io.out(`Also found:    ${o.source.label} (not used while the source above has credentials)\n`);
  }
  return state.reloginRequired ? EXIT_CODES.invalid_grant : 0;
}

// ─── validate ───────────────────────────────────────────────────────────────

export async function validate(ctx: AuthContext): Promise<number> {
  const { settings, io } = ctx;
  const tokens = new TokenManager({ settings, env: ctx.env, log: ctx.log });
  const found = tokens.credentials;
  try {
    if (!found)
      throw new AuthError('failed', 'No Claude subscription credentials found. Run `ccproxy auth login`.');
    let token = await accessToken(tokens);
    let res = await probe(settings, token);
    if (res.status === 401) {
      const fresh = await tokens.recover(token);
      if (fresh && fresh !== token) {
        token = fresh;
        res = await probe(settings, token);
      }
    }
    const label = tokens.credentials?.source.label ?? found.source.label;
    const exp = tokens.state().expiresAt;
    if (res.status === 200 || res.status === 429) {
      io.out(
        `Valid: ${settings.upstream.base_url} accepted the token from ${label}${res.status === 429 ? ' (though it is rate-limited right now)' : ''}.\nAccess token ${maskToken(token)}, expires ${expiry(exp)}.\n`,
      );
      return 0;
    }
    if (res.status === 401 || res.status === 403) {
      throw new AuthError(
        tokens.state().reloginRequired ? 'invalid_grant' : 'failed',
        `Invalid: ${settings.upstream.base_url} rejected the token from ${label} (${res.status}${res.message ? `: ${res.message}` : ''}). Run \`ccproxy auth login\`.`,
      );
    }
    throw new AuthError(
      'unreachable',
      `Could not confirm the token: ${settings.upstream.base_url} answered ${res.status}${res.message ? ` (${res.message})` : ''}. Try again later.`,
    );
  } catch (err) {
    return fail(ctx, err);
  }
}

/** A usable token, refreshed first if needed; refresh failures become AuthErrors. */
async function accessToken(tokens: TokenManager): Promise<string> {
  try {
    return await tokens.getAccessToken();
  } catch (err) {
    const state = tokens.state();
    if (state.reloginRequired)
      throw new AuthError(
        'invalid_grant',
        'Re-login required: the refresh token was rejected. Run `ccproxy auth login`.',
      );
    const msg = (err as Error).message;
    throw new AuthError(/cannot reach/i.test(msg) ? 'unreachable' : 'failed', msg);
  }
}

/** The cheapest call that proves a token works for inference: one page of the model list. */
async function probe(settings: Settings, token: string): Promise<{ status: number; message?: string }> {
  const url = new URL('/v1/models?limit=1', settings.upstream.base_url).toString();
  try {
    const res = await request(url, {
      method: 'GET',
      headers: upstreamHeaders({}, token, {
        userAgent: settings.claude.user_agent,
        xApp: settings.claude.x_app,
        anthropicVersion: settings.upstream.anthropic_version,
      }),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const text = await res.body.text();
    let message: string | undefined;
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message;
    } catch {
      message = undefined;
    }
    return { status: res.statusCode, message };
  } catch (err) {
    throw new AuthError('unreachable', `Cannot reach ${url}: ${(err as Error).message}.`);
  }
}

// ─── refresh ────────────────────────────────────────────────────────────────

export async function refresh(ctx: AuthContext): Promise<number> {
  const { settings, io } = ctx;
  const tokens = new TokenManager({ settings, env: ctx.env, log: ctx.log });
  const found = tokens.credentials;
  try {
    if (!found)
      throw new AuthError('failed', 'No Claude subscription credentials found. Run `ccproxy auth login`.');
    if (found.source.kind === 'env')
      throw new AuthError(
        'failed',
        `${ENV_TOKEN} holds a long-lived token (from \`claude setup-token\`); it has no refresh token and needs none.`,
      );
    if (!found.credentials.refreshToken)
      throw new AuthError(
        'failed',
        `${found.source.label} has no refresh token. Run \`ccproxy auth login\`.`,
      );
    if (tokens.state().reloginRequired)
      throw new AuthError(
        'invalid_grant',
        'Re-login required: this refresh token was already rejected. Run `ccproxy auth login`.',
      );
    let token: string;
    try {
      token = await tokens.refresh();
    } catch (err) {
      if (tokens.state().reloginRequired)
        throw new AuthError(
          'invalid_grant',
          'The refresh token was rejected (invalid_grant): re-login required. Run `ccproxy auth login`.',
        );
      const msg = (err as Error).message;
      throw new AuthError(/cannot reach/i.test(msg) ? 'unreachable' : 'failed', msg);
    }
    io.out(
      `Refreshed. Access token ${maskToken(token)}, expires ${expiry(tokens.state().expiresAt)}.\nThe new pair was written back to ${found.source.label}.\n`,
    );
    return 0;
  } catch (err) {
    return fail(ctx, err);
  }
}

// ─── logout ─────────────────────────────────────────────────────────────────

export interface LogoutOptions {
  yes?: boolean;
  /** Also remove the Claude CLI's login (logs Claude Code out too). */
  claudeCli?: boolean;
}

export async function logout(ctx: AuthContext, opts: LogoutOptions): Promise<number> {
  const { settings, io } = ctx;
  const p = paths(settings);
  try {
    const own = readSafely(p.credentialsFile);
    const claude = opts.claudeCli ? readSafely(p.claudeCredentialsFile) : undefined;
    const targets = [
      own ? `ccproxy's credentials in ${p.credentialsFile}` : undefined,
      claude
        ? `the Claude CLI's login in ${p.claudeCredentialsFile} (Claude Code will be logged out too)`
        : undefined,
    ].filter((t): t is string => t !== undefined);
    if (targets.length === 0) {
      io.out(
        `Nothing to remove: ${opts.claudeCli ? 'neither file holds' : `${p.credentialsFile} holds no`} credentials.\n`,
      );
      describeRemaining(ctx);
      return 0;
    }
    if (!opts.yes) {
      if (!io.interactive)
        throw new AuthError('usage', 'Not asking without a terminal: pass --yes to log out.');
      const answer = await io.readLine(
        `Remove ${targets.join(' and ')}? [y/N] `,
        AbortSignal.timeout(10 * 60_000),
      );
      if (!/^y(es)?$/i.test(answer?.trim() ?? '')) {
        io.out('Nothing was removed.\n');
        return 1;
      }
    }
    if (own) fs.rmSync(p.credentialsFile, { force: true });
    if (claude) removeClaudeLogin(p.claudeCredentialsFile);
    io.out(`Removed ${targets.join(' and ')}.\n`);
    describeRemaining(ctx);
    return 0;
  } catch (err) {
    return fail(ctx, err);
  }
}

function readSafely(file: string) {
  try {
    return readCredentialsFile(file);
  } catch {
    return fs.existsSync(file) ? { accessToken: '' } : undefined;
  }
}

/** Drop `claudeAiOauth` and keep the rest of the Claude CLI's file (its other settings and MCP logins). */
function removeClaudeLogin(file: string): void {
  let doc: Record<string, unknown> = {};
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    fs.rmSync(file, { force: true });
    return;
  }
  delete doc.claudeAiOauth;
  if (Object.keys(doc).length === 0) fs.rmSync(file, { force: true });
  else writeSecretFile(file, `${JSON.stringify(doc, null, 2)}\n`);
}

function describeRemaining(ctx: AuthContext): void {
  const next = findCredentials(paths(ctx.settings), ctx.env);
  ctx.io.out(
    next
      ? `ccproxy now uses ${next.source.label}.${next.source.kind === 'claude-cli' ? ' Pass --claude-cli to remove that login too.' : ''}\n`
      : 'No credentials remain: run `ccproxy auth login` to log in again.\n',
  );
}

// ─── wiring ─────────────────────────────────────────────────────────────────

export function terminalIO(): AuthIO {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    readLine(prompt, signal) {
      return new Promise((resolve) => {
        const rl = readline.createInterface({
          input: process.stdin,
          output: process.stdout,
          terminal: false,
        });
        let answered = false;
        process.stdout.write(prompt);
        rl.once('line', (line) => {
          answered = true;
          rl.close();
          resolve(line);
        });
        rl.once('close', () => {
          if (!answered) resolve(undefined);
        });
        signal.addEventListener('abort', () => rl.close(), { once: true });
      });
    },
    openBrowser: (url) => openBrowser(url),
    interactive: process.stdin.isTTY === true,
  };
}

const EXIT_HELP = `
Exit codes: 0 done, 1 failed, 2 usage, 3 timed out, 4 state mismatch, 5 consent denied,
6 code or refresh token rejected (log in again), 7 --file exists (use --force), 8 unreachable, 130 cancelled.`;

export function registerAuth(program: Command): void {
  const auth = program
    .command('auth')
    .description('Log in to your Claude subscription and manage its credentials');

  const run = (fn: (ctx: AuthContext) => Promise<number>) => async () => {
    const { settings, env } = loadOrExit(program.opts());
    const log = createLogger({
      level: 'warn',
      format: 'pretty',
      secrets: () => [settings.security.auth_token].filter(Boolean),
    });
    const code = await fn({ settings, env, io: terminalIO(), log });
    process.exitCode = code;
    // Keep-alive sockets and stdin must not hold the process open once the answer is out.
    setTimeout(() => process.exit(code), 100).unref();
  };

  auth
    .command('login')
    .description('Log in with your Claude account (OAuth in the browser) and save the credentials')
    .option('--manual', 'print the URL and paste the code the login page shows (no local browser needed)')
    .option('--no-browser', 'do not open a browser; print the URL to open')
    .option('--file <path>', "save the credentials here instead of ccproxy's store (auth.credentials_file)")
    .option('--force', 'with --file: replace the login in an existing file')
    .option('--port <port>', 'port of the local callback server (auth.callback_port; 0 = any free port)')
    .option('--timeout <seconds>', `give up after this long (default ${DEFAULT_TIMEOUT_S})`)
    .option('--server <url>', 'finish the login through a running ccproxy at this URL (it saves the login)')
    .addHelpText('after', EXIT_HELP)
    .action((opts: LoginOptions) => run((ctx) => login(ctx, opts))());

  auth
    .command('info')
    .description('Show where the credentials come from, the account, plan, scopes and expiry (tokens masked)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => run((ctx) => info(ctx, opts))());

  auth
    .command('validate')
    .description('Refresh if needed and confirm the upstream accepts the token (exit code 0 = valid)')
    .addHelpText('after', EXIT_HELP)
    .action(() => run(validate)());

  auth
    .command('refresh')
    .description('Refresh the access token now and write the new pair back where it came from')
    .action(() => run(refresh)());

  auth
    .command('logout')
    .description("Remove ccproxy's own stored credentials (asks first)")
    .option('-y, --yes', 'do not ask')
    .option('--claude-cli', "also remove the Claude CLI's login (logs Claude Code out)")
    .action((opts: LogoutOptions) => run((ctx) => logout(ctx, opts))());
}
