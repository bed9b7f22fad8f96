/**
 * `ccproxy status`: asks the running proxy (`/health`, then `/api/status` with the token when one is
 * set) and prints its credentials, the plan's windows (utilisation, reset times), the extra-usage
 * (overage) state, the concurrency limit and the last upstream error. Exit code 1 when no proxy
 * answers (or it refuses the token), so scripts can test for a running ccproxy.
 */
import type { Command } from 'commander';
import type { AccountView } from '../accounts/index.ts';
import { humanDuration } from '../backends/api/rate-limits.ts';
import type { Settings } from '../config/schema.ts';
import { addProxyOptions, connect, ProxyClient, type ProxyOptions, probeProxy } from './proxy-client.ts';

interface Health {
  status?: string;
  version?: string;
}

interface WindowReading {
  status?: string;
  utilization?: number;
  resetAt?: number;
}

/** The parts of `/api/status` this prints (see src/backends/api/backend.ts `status()`). */
export interface ApiStatus {
  upstream?: string;
  credentials?: {
    found?: boolean;
    source?: string | null;
    subscription_type?: string | null;
    expires_at?: string | null;
    relogin_required?: boolean;
    last_refresh_error?: string | null;
  };
  last_upstream_error?: { at: string; status: number; message: string } | null;
  rate_limits?: {
    updatedAt: number;
    status?: string;
    representativeClaim?: string;
    resetAt?: number;
    windows?: Record<string, WindowReading>;
    overage?: { status?: string; disabledReason?: string; inUse?: boolean; resetAt?: number };
  } | null;
  limits?: {
    block_overage?: boolean;
    overage_blocked_until?: string | null;
    spill_over?: boolean;
    spill_over_daily_usd?: number;
    spill_over_spent_usd?: number | null;
  };
  /** Every account (one, `default`, without [[accounts]]). */
  accounts?: AccountView[];
  concurrency?: { max: number; in_flight: number; queued: number };
}

export interface StatusOptions {
  /** Base URL of the proxy (default: from server.host and server.port). */
  url?: string;
  timeoutMs?: number;
  now?: Date;
}

export interface StatusResult {
  /** 0 running, 1 not running or not answering. */
  code: number;
  text: string;
  json?: { url: string; health: Health; api: ApiStatus | null };
}

export function registerStatus(program: Command): void {
  addProxyOptions(
    program
      .command('status')
      .description(
        "Ask the running proxy for its credentials, the plan's limits and the last upstream error",
      ),
  )
    .option('--json', 'print what the proxy said as JSON')
    .action(async (opts: ProxyOptions & { json?: boolean }) => {
      const { settings } = connect(program, opts);
      const result = await statusReport(settings, { url: opts.url });
      if (opts.json && result.json) process.stdout.write(`${JSON.stringify(result.json, null, 2)}\n`);
      else (result.code === 0 ? process.stdout : process.stderr).write(`${result.text}\n`);
      process.exitCode = result.code;
    });
}

/** Ask the proxy and describe what it said. Never throws: an unreachable proxy is code 1. */
export async function statusReport(settings: Settings, opts: StatusOptions = {}): Promise<StatusResult> {
  const client = new ProxyClient(settings, opts.url);
  const base = client.base;
  const timeoutMs = opts.timeoutMs ?? 3000;
  const get = (path: string) => client.get(path, timeoutMs);

  // What answers there, as the launchers ask: ccproxy, nothing, or something else.
  const found = await probeProxy(client, timeoutMs);
  if (found.state === 'free') {
    return {
      code: 1,
      text: `ccproxy is not running at ${base} (connection refused). Start it with \`ccproxy serve\`, or point this at it with --port or --url.`,
    };
  }
  if (found.state === 'other') {
    return {
      code: 1,
      text: `${base} is not a ccproxy: ${found.detail}. Point this at ccproxy with --port or --url.`,
    };
  }
  const health: Health = { status: found.status, version: found.version };

  let api: ApiStatus | null = null;
  let apiProblem: string | undefined;
  try {
    const res = await get('/api/status');
    if (res.status === 401) {
      return {
        code: 1,
        text: `ccproxy at ${base} refused the token: set security.auth_token (or SECURITY__AUTH_TOKEN) to the one it was started with.`,
      };
    }
    if (res.ok) api = (await res.json()) as ApiStatus;
    else apiProblem = `/api/status answered HTTP ${res.status}`;
  } catch (err) {
    apiProblem = `/api/status did not answer: ${(err as Error).message}`;
  }
  const now = opts.now ?? new Date();
  return { code: 0, text: render(base, health, api, apiProblem, now), json: { url: base, health, api } };
}

const pct = (u: number | undefined | null) =>
  u === undefined || u === null ? '?' : `${Math.round(u * 100)}%`;

/** What spill-over may and did spend today, when there is an api_key account. */
export function spillLine(accounts: AccountView[], limits: ApiStatus['limits']): string | undefined {
  if (!accounts.some((a) => a.billing === 'api_key') || !limits) return undefined;
  if (!limits.spill_over) return 'spill-over off (accounts.spill_over): api_key accounts are not used';
  const spent = (limits.spill_over_spent_usd ?? 0).toFixed(2);
  return `spill-over on: $${spent} of $${(limits.spill_over_daily_usd ?? 0).toFixed(2)} spent today (UTC)`;
}

/**
 * One line per account: its name and kind, its state (ok, cooling until when and why, paused,
 * invalid and why, disabled), its windows' utilisation and the next reset. Never a token.
 */
export function accountLines(accounts: AccountView[], limits: ApiStatus['limits'], now: Date): string[] {
  const kindOf = (a: AccountView) =>
    a.billing === 'api_key' ? `api_key (spill-over ${limits?.spill_over ? 'on' : 'off'})` : a.kind;
  const w = Math.max(...accounts.map((a) => a.name.length), 4);
  const kw = Math.max(...accounts.map((a) => kindOf(a).length));
  return accounts.map((a) => {
    const parts: string[] = [];
    const kind = kindOf(a);
    if (a.state === 'cooling' && a.until)
      parts.push(`cooling until ${when(new Date(a.until), now)}: ${a.reason}`);
    else if (a.state === 'invalid') parts.push(`invalid: ${a.reason}`);
    else if (a.state === 'ok' && a.probe_pending) parts.push('ok (recovered: one request tries it first)');
    else parts.push(a.state);
    const windows = Object.entries(a.windows).map(([name, x]) => `${name} ${pct(x.utilization)}`);
    if (windows.length) parts.push(windows.join(' · '));
    const resets = Object.values(a.windows)
      .map((x) => x.resets_at)
      .filter((x): x is string => x !== null)
      .sort();
    if (resets[0]) parts.push(`resets ${when(new Date(resets[0]), now)}`);
    return `  ${a.name.padEnd(w)}  ${kind.padEnd(kw)}  ${parts.join(' · ')}`;
  });
}

/** `2026-05-01 14:05` in local time, with how far away it is. */
function when(at: Date, now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${at.getFullYear()}-${p(at.getMonth() + 1)}-${p(at.getDate())} ${p(at.getHours())}:${p(at.getMinutes())}`;
  const ms = at.getTime() - now.getTime();
  return `${stamp} (${ms >= 0 ? `in ${humanDuration(ms)}` : `${humanDuration(-ms)} ago`})`;
}

function render(
  base: string,
  health: Health,
  api: ApiStatus | null,
  apiProblem: string | undefined,
  now: Date,
): string {
  const lines = [`ccproxy ${health.version ?? '?'} at ${base}: running, health ${health.status ?? '?'}`, ''];
  const row = (label: string, value: string) => lines.push(`${label.padEnd(21)}${value}`);
  if (!api) {
    row('API mode', apiProblem ?? 'no status');
    return lines.join('\n');
  }

  const accounts = api.accounts ?? [];
  if (accounts.some((a) => a.kind !== 'discovered')) {
    // Several accounts: each has its own credential and windows, so they replace the one
    // credential's rows (`ccproxy accounts list` prints the same lines).
    lines.push('Accounts');
    for (const line of accountLines(accounts, api.limits, now)) lines.push(line);
    const spill = spillLine(accounts, api.limits);
    if (spill) lines.push(`  ${spill}`);
  } else {
    const c = api.credentials ?? {};
    if (!c.found) {
      row(
        'Credentials',
        'none found: run `ccproxy auth login` (or `claude /login`, or set CLAUDE_CODE_OAUTH_TOKEN)',
      );
    } else {
      const parts = [c.source ?? 'found'];
      if (c.subscription_type) parts.push(`${c.subscription_type} plan`);
      if (c.expires_at) parts.push(`token expires ${when(new Date(c.expires_at), now)}`);
      row('Credentials', parts.join(' · '));
      if (c.relogin_required) row('', 're-login required: run `ccproxy auth login`');
      if (c.last_refresh_error) row('', `last refresh failed: ${c.last_refresh_error}`);
    }

    const r = api.rate_limits;
    if (!r) {
      row('Plan limits', 'no readings yet (they arrive with the first upstream answer)');
    } else {
      const claim = r.representativeClaim ? `, binding window ${r.representativeClaim}` : '';
      row('Plan limits', `${r.status ?? 'unknown'}${claim} · as of ${when(new Date(r.updatedAt), now)}`);
      for (const [name, w] of Object.entries(r.windows ?? {})) {
        const reset = w.resetAt !== undefined ? ` · resets ${when(new Date(w.resetAt * 1000), now)}` : '';
        const status = w.status && w.status !== 'allowed' ? ` (${w.status})` : '';
        row(`  ${name}`, `${pct(w.utilization)} used${status}${reset}`);
      }
      if (r.resetAt !== undefined && r.status === 'rejected')
        row('', `the plan's allowance comes back ${when(new Date(r.resetAt * 1000), now)}`);
      const o = r.overage ?? {};
      const overage = o.inUse
        ? 'IN USE: requests are billed as extra usage'
        : o.status === 'allowed' || o.status === 'allowed_warning'
          ? `available (${o.status})`
          : o.status
            ? `not available (${o.disabledReason ?? o.status})`
            : 'unknown';
      row('Extra usage', overage);
    }
  }
  const l = api.limits;
  if (l) {
    row(
      'Block overage',
      !l.block_overage
        ? 'off (limits.block_overage)'
        : l.overage_blocked_until
          ? `on: refusing requests until ${when(new Date(l.overage_blocked_until), now)}`
          : 'on: nothing refused now',
    );
  }
  const q = api.concurrency;
  if (q) {
    row(
      'Concurrency',
      `${q.in_flight} in flight, ${q.queued} queued${q.max ? ` (limit ${q.max})` : ' (no limit)'}`,
    );
  }
  const e = api.last_upstream_error;
  row(
    'Last upstream error',
    e ? `${when(new Date(e.at), now)}: HTTP ${e.status}: ${e.message}` : 'none since start',
  );
  return lines.join('\n');
}
