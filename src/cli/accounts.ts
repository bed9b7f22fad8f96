/**
 * `ccproxy accounts list|pause NAME|resume NAME`: the accounts of the running proxy, through its own
 * API (`/accounts`, behind the proxy token). A pause is kept in the state instances share, so every
 * instance behind one PostgreSQL obeys it; `resume` also lifts a cooldown or an invalid mark (after
 * a new login, say). Exit code 1 when no proxy answers or it refuses.
 */
import type { Command } from 'commander';
import type { AccountsList } from '../accounts/routes.ts';
import { addProxyOptions, connect, type ProxyClient, type ProxyOptions } from './proxy-client.ts';
import { accountLines, spillLine } from './status.ts';

const TIMEOUT_MS = 5000;

export function registerAccounts(program: Command): void {
  const accounts = program
    .command('accounts')
    .description('List, pause and resume the running proxy’s accounts (docs/accounts.md)');

  addProxyOptions(
    accounts.command('list').description('Every account: kind, state, window utilisation and reset'),
  )
    .option('--json', 'print what the proxy said as JSON')
    .action(async (opts: ProxyOptions & { json?: boolean }) => {
      const { client } = connect(program, opts);
      process.exitCode = await list(client, opts.json === true, (t) => process.stdout.write(t), errOut);
    });

  for (const action of ['pause', 'resume'] as const) {
    addProxyOptions(
      accounts
        .command(`${action} <name>`)
        .description(
          action === 'pause'
            ? 'Stop routing requests to an account (on every instance sharing the state)'
            : 'Route requests to an account again (also clears a cooldown or an invalid mark)',
        ),
    ).action(async (name: string, opts: ProxyOptions) => {
      const { client } = connect(program, opts);
      process.exitCode = await setPaused(client, name, action, (t) => process.stdout.write(t), errOut);
    });
  }
}

const errOut = (t: string) => process.stderr.write(t);

type Out = (text: string) => void;

/** The proxy's answer as JSON, or an exit code after saying what went wrong. */
async function ask(client: ProxyClient, method: 'GET' | 'POST', path: string, err: Out): Promise<unknown> {
  let res: Response;
  try {
    res = await client.call(method, path, AbortSignal.timeout(TIMEOUT_MS));
  } catch (e) {
    const why = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
    err(
      `ccproxy: no proxy answers at ${client.base} (${why === 'ECONNREFUSED' ? 'connection refused' : why}). Start it with \`ccproxy serve\`, or point this at it with --port or --url.\n`,
    );
    return 1;
  }
  const body = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
  if (res.status === 401) {
    err(
      `ccproxy: the proxy at ${client.base} refused the token: set security.auth_token to the one it was started with.\n`,
    );
    return 1;
  }
  if (!res.ok) {
    err(`ccproxy: ${body?.error?.message ?? `${path} answered HTTP ${res.status}`}\n`);
    return 1;
  }
  return body;
}

export async function list(
  client: ProxyClient,
  json: boolean,
  out: Out,
  err: Out,
  now = new Date(),
): Promise<number> {
  const got = await ask(client, 'GET', '/accounts', err);
  if (typeof got === 'number') return got;
  const l = got as AccountsList;
  if (json) {
    out(`${JSON.stringify(l, null, 2)}\n`);
    return 0;
  }
  const limits = {
    spill_over: l.spill_over,
    spill_over_daily_usd: l.spill_over_daily_usd,
    spill_over_spent_usd: l.spill_over_spent_usd,
  };
  const head = l.configured
    ? `${l.accounts.length} account${l.accounts.length === 1 ? '' : 's'}, strategy ${l.strategy}`
    : 'No accounts configured (accounts.list): the one credential found as usual, as `default`';
  const spill = spillLine(l.accounts, limits);
  out(`${[head, ...accountLines(l.accounts, limits, now), ...(spill ? [`  ${spill}`] : [])].join('\n')}\n`);
  return 0;
}

export async function setPaused(
  client: ProxyClient,
  name: string,
  action: 'pause' | 'resume',
  out: Out,
  err: Out,
  now = new Date(),
): Promise<number> {
  const got = await ask(client, 'POST', `/accounts/${encodeURIComponent(name)}/${action}`, err);
  if (typeof got === 'number') return got;
  const { account, shared } = got as { account: AccountsList['accounts'][number]; shared?: boolean };
  out(
    `${action === 'pause' ? 'Paused' : 'Resumed'}:\n${accountLines([account], undefined, now).join('\n')}\n`,
  );
  if (shared === false)
    out(
      'This proxy obeys at once; the other instances sharing its database will once the database can be reached again (it keeps trying).\n',
    );
  return 0;
}
