/**
 * The accounts on the proxy's own API (behind the proxy token, like `/api/status`):
 *
 *   GET  /accounts               every account: name, kind, state, readings (never a token)
 *   POST /accounts/:name/pause   stop using it, on every instance sharing the state
 *   POST /accounts/:name/resume  use it again (also clears a cooldown or an invalid mark)
 *
 * pause and resume answer `{ account, shared }`: shared is false while the database has not taken
 * the change (the other instances follow once it has; it is retried until then).
 *
 * `ccproxy accounts list|pause|resume` call these.
 */
import type { FastifyInstance } from 'fastify';
import type { Accounts, AccountView } from './index.ts';

export interface AccountsList {
  accounts: AccountView[];
  /** `[[accounts.list]]` is set (else the one account is the usual credential, `default`). */
  configured: boolean;
  strategy: string;
  spill_over: boolean;
  spill_over_daily_usd: number;
  /** Today's (UTC) spill-over spend as this instance knows it; null without api_key accounts. */
  spill_over_spent_usd: number | null;
}

export function registerAccountRoutes(
  app: FastifyInstance,
  accounts: Accounts,
  settings: { strategy: string; spill_over: boolean; spill_over_daily_usd: number },
): void {
  app.get('/accounts', async (_req, reply): Promise<AccountsList> => {
    reply.header('cache-control', 'no-store');
    return {
      accounts: accounts.views(),
      configured: accounts.configured,
      ...settings,
      spill_over_spent_usd: accounts.spentToday(),
    };
  });
  for (const action of ['pause', 'resume'] as const) {
    app.post<{ Params: { name: string } }>(`/accounts/:name/${action}`, async (req) =>
      accounts.setPaused(req.params.name, action === 'pause'),
    );
  }
}
