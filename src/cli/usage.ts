/**
 * `ccproxy usage`: today's and this week's requests, tokens and cost by model, as a table.
 * DuckDB locks its file while the server runs, so this asks the running server's
 * `/logs/analytics` first and opens the file read-only only when no server answers. With
 * storage.url, it reads PostgreSQL directly when no server answers (without changing it).
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import type { Settings } from '../config/schema.ts';
import type { Aggregate, Analytics, AnalyticsQuery } from '../observability/access-log/store.ts';
import { addProxyOptions, connect, ProxyClient, type ProxyOptions } from './proxy-client.ts';
import { table } from './table.ts';

export { table };

export interface UsageOptions {
  /** Base URL of the running proxy (`--url`; default: from server.host and server.port). */
  url?: string;
  /** The clock (tests). */
  now?: Date;
  /** Ask the running server first (default true). */
  server?: boolean;
  /** How long to wait for the server, in ms. */
  timeoutMs?: number;
  /** Only the requests this account answered (`--account`). */
  account?: string;
}

interface Period {
  title: string;
  from: Date;
}

/** Local midnight today, and Monday 00:00 of this week (ISO weeks start on Monday). */
export function periods(now: Date): Period[] {
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const monday = new Date(today);
  monday.setDate(today.getDate() - ((today.getDay() + 6) % 7));
  const day = (d: Date) =>
    d.toLocaleDateString('en-GB', { weekday: 'short', day: 'numeric', month: 'short' });
  return [
    { title: `Today (since ${day(today)} 00:00)`, from: today },
    { title: `This week (since ${day(monday)} 00:00)`, from: monday },
  ];
}

type Source = { analytics: (q: AnalyticsQuery) => Promise<Analytics>; label: string; close(): Promise<void> };

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function fromServer(client: ProxyClient, timeoutMs: number): Source {
  const get = async (q: AnalyticsQuery): Promise<Analytics> => {
    const qs = new URLSearchParams({ from: String(q.from), to: String(q.to), bucket: String(q.bucketS) });
    if (q.account !== undefined) qs.set('account', q.account);
    const res = await client.get(`/logs/analytics?${qs}`, timeoutMs);
    const body = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
    if (!res.ok) throw new HttpStatusError(res.status, body?.error?.message ?? `HTTP ${res.status}`);
    return body as unknown as Analytics;
  };
  return { analytics: get, label: `the running server at ${client.base}`, close: async () => {} };
}

async function fromPostgres(settings: Settings): Promise<Source> {
  const [{ PgDatabase }, { PgAccessLogStore }, { default: pino }] = await Promise.all([
    import('../storage/postgres/database.ts'),
    import('../observability/access-log/postgres/store.ts'),
    import('pino'),
  ]);
  const db = new PgDatabase({
    url: settings.storage.url,
    poolSize: 2,
    log: pino({ level: 'silent' }),
    readOnly: true,
  });
  const store = new PgAccessLogStore(db);
  return { analytics: (q) => store.aggregate(q), label: db.location, close: () => db.close() };
}

async function fromFile(file: string): Promise<Source> {
  // Loaded here, not at the top: DuckDB costs ~35 MB of RSS in every process that imports it, and
  // this file is part of the CLI that `ccproxy serve` loads too.
  const { DuckDbStore } = await import('../observability/access-log/duckdb/store.ts');
  const store = await DuckDbStore.open(file, { readOnly: true });
  return { analytics: (q) => store.aggregate(q), label: file, close: () => store.close() };
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const usd = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toFixed(4));

function periodTable(a: Analytics): string {
  if (a.totals.requests === 0) return '  no requests';
  const models = [...a.by_model].sort((x, y) => y.cost_usd - x.cost_usd || y.requests - x.requests);
  const row = (name: string, m: Aggregate) => [
    name,
    int(m.requests),
    int(m.errors),
    int(m.input_tokens),
    int(m.output_tokens),
    int(m.cache_read_tokens),
    int(m.cache_write_tokens),
    m.unpriced && m.unpriced === m.requests ? 'unknown' : `$${usd(m.cost_usd)}${m.unpriced ? '*' : ''}`,
  ];
  const columns = ['requests', 'errors', 'input', 'output', 'cache read', 'cache write', 'cost'];
  let out = table(['model', ...columns], [...models.map((m) => row(m.model, m)), row('total', a.totals)]);
  // With several accounts answering: who spent what, beside which model did.
  if (a.by_account.length > 1) {
    const accounts = [...a.by_account].sort((x, y) => y.cost_usd - x.cost_usd || y.requests - x.requests);
    out += `\n\n${table(
      ['account', ...columns],
      accounts.map((m) => row(m.account, m)),
    )}`;
  }
  const note = a.totals.unpriced
    ? `\n  * ${a.totals.unpriced} request(s) on models without a price are not in the cost (see observability.pricing).`
    : '';
  return out
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')
    .concat(note);
}

/** The report `ccproxy usage` prints. Throws with a message a person can act on. */
export async function usageReport(settings: Settings, opts: UsageOptions = {}): Promise<string> {
  const now = opts.now ?? new Date();
  const file = settings.observability.duckdb_path;
  let source: Source | undefined;
  let serverProblem: string | undefined;

  const ps = periods(now);
  const query = (p: Period): AnalyticsQuery => ({
    from: p.from.getTime(),
    to: now.getTime() + 1,
    bucketS: 86_400,
    ...(opts.account === undefined ? {} : { account: opts.account }),
  });
  const results: Analytics[] = [];

  const client = new ProxyClient(settings, opts.url);
  if (opts.server !== false) {
    source = fromServer(client, opts.timeoutMs ?? 2000);
    try {
      for (const p of ps) results.push(await source!.analytics(query(p)));
    } catch (err) {
      // The server is there but wants another token: reading the file would only hit its lock.
      if (err instanceof HttpStatusError && err.status === 401) {
        throw new Error(
          `The server at ${client.base} refused the token: set security.auth_token to the one it was started with.`,
        );
      }
      // A question the server refuses (a malformed --account) would be refused by the file too.
      if (err instanceof HttpStatusError && err.status === 400) {
        throw new Error(`The server at ${client.base} refused the query: ${err.message}`);
      }
      // Not running, or running without the access log: read the file instead.
      if (err instanceof HttpStatusError) {
        serverProblem =
          err.status === 404
            ? `the server at ${client.base} keeps none (it runs without observability.access_log)`
            : `the server at ${client.base} answered ${err.status}: ${err.message.replace(/\.$/, '')}`;
      }
      source = undefined;
      results.length = 0;
    }
  }

  if (!source && settings.storage.url) {
    source = await fromPostgres(settings);
    try {
      for (const p of ps) results.push(await source.analytics(query(p)));
    } catch (err) {
      throw new Error(
        `Cannot read the access log in ${source.label}${serverProblem ? ` (and ${serverProblem})` : ''}: ${(err as Error).message}`,
      );
    } finally {
      await source.close();
    }
  }

  if (!source) {
    if (!fs.existsSync(file)) {
      throw new Error(
        `No access log at ${file}${serverProblem ? `, and ${serverProblem}` : ''}. ` +
          'Turn it on with observability.access_log = true (or OBSERVABILITY__ACCESS_LOG=true) and serve some requests.',
      );
    }
    try {
      source = await fromFile(file);
    } catch (err) {
      const msg = (err as Error).message;
      const locked = /lock/i.test(msg);
      throw new Error(
        locked
          ? `The access log ${file} is held by a running ccproxy that did not answer /logs/analytics at ${client.base}${serverProblem ? ` (${serverProblem})` : ''}. Point this at that server (--port, --host or --url, and security.auth_token) or stop it.`
          : `Cannot read the access log ${file}: ${msg}`,
      );
    }
    try {
      for (const p of ps) results.push(await source.analytics(query(p)));
    } finally {
      await source.close();
    }
  }

  const sections = ps.map((p, i) => `${p.title}\n${periodTable(results[i]!)}`);
  const whose = opts.account === undefined ? '' : ` of account ${opts.account}`;
  return `ccproxy usage${whose}, from ${source.label}. Cost is the API-equivalent price in USD.\n\n${sections.join('\n\n')}\n`;
}

export function registerUsage(program: Command): void {
  addProxyOptions(
    program
      .command('usage')
      .description(
        "Today's and this week's requests, tokens and cost by model, and by account when several answered (needs the access log)",
      )
      .option('--account <name>', 'only the requests this account answered'),
  ).action(async (opts: ProxyOptions & { account?: string }) => {
    const { settings } = connect(program, opts);
    try {
      process.stdout.write(`${await usageReport(settings, { url: opts.url, account: opts.account })}\n`);
    } catch (err) {
      process.stderr.write(`ccproxy: ${(err as Error).message}\n`);
      process.exit(1);
    }
  });
}
