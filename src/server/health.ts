/**
 * Health endpoints (draft-inadarei-api-health-check): `/health` with checks for credentials and
 * each mode, `/health/live` (the process answers), `/health/ready` (it can serve requests).
 *
 * As the draft says, the HTTP status carries the verdict for load balancers and container health
 * checks, which read nothing else: `pass` and `warn` are 200, `fail` is 503 (with the same body).
 */
import type { FastifyInstance } from 'fastify';
import type { Accounts } from '../accounts/index.ts';
import type { TokenManager } from '../auth/token-manager.ts';
import type { Backend, Mode } from '../backends/backend.ts';

export interface HealthDeps {
  backends: Partial<Record<Mode, Backend>>;
  tokens: TokenManager;
  /** With [[accounts]], they are the credentials: ready while one of them can answer. */
  accounts?: Accounts;
  version: string;
}

/** The credentials check: the usual credential, or (with accounts) whether any account can answer. */
function credentialsCheck(deps: HealthDeps): {
  status: 'pass' | 'warn' | 'fail';
  output: string;
  expires?: number;
} {
  if (deps.accounts?.configured) {
    const h = deps.accounts.health();
    const names = deps.accounts.list.map((a) => a.name).join(', ');
    if (!h.ok) return { status: 'fail', output: `${h.detail}. See \`ccproxy accounts list\`.` };
    return h.detail
      ? { status: 'warn', output: `Accounts ${names}; some cannot answer: ${h.detail}.` }
      : { status: 'pass', output: `Accounts ${names}.` };
  }
  const t = deps.tokens.state();
  if (!t.source)
    return {
      status: 'fail',
      output:
        'No subscription credentials found: run `ccproxy auth login`, or `claude /login`, or set CLAUDE_CODE_OAUTH_TOKEN.',
    };
  if (t.reloginRequired) return { status: 'fail', output: 'Re-login required: run `ccproxy auth login`.' };
  // The upstream rejected it (a revoked token): nothing is answered until it changes.
  const h = deps.accounts?.health();
  if (h && !h.ok && h.detail) return { status: 'fail', output: h.detail };
  return { status: 'pass', output: `Using ${t.source}.`, expires: t.expiresAt };
}

const HEALTH_JSON = 'application/health+json';

/** Uptime monitors often probe with HEAD: the same status, no body. */
export const HEAD_TOO = { exposeHeadRoute: true } as const;

export function registerHealth(app: FastifyInstance, deps: HealthDeps): void {
  app.get('/health', HEAD_TOO, async (_req, reply) => {
    const c = credentialsCheck(deps);
    const credentials = {
      componentType: 'system',
      status: c.status,
      output: c.output,
      observedValue: c.expires ? new Date(c.expires).toISOString() : undefined,
      observedUnit: c.expires ? 'expires_at' : undefined,
      time: new Date().toISOString(),
    };
    const checks: Record<string, unknown[]> = { 'credentials:login': [credentials] };
    for (const [mode, backend] of Object.entries(deps.backends)) {
      const h = await backend!.health();
      checks[`${mode}:backend`] = [
        {
          componentType: 'component',
          status: h.ok ? 'pass' : 'warn',
          output: h.detail,
          time: new Date().toISOString(),
        },
      ];
    }
    const statuses = Object.values(checks)
      .flat()
      .map((c) => (c as { status: string }).status);
    const status = statuses.includes('fail') ? 'fail' : statuses.includes('warn') ? 'warn' : 'pass';
    reply.code(status === 'fail' ? 503 : 200).type(HEALTH_JSON);
    return {
      status,
      version: deps.version,
      serviceId: 'ccproxy',
      description: 'Claude subscription proxy',
      checks,
    };
  });

  app.get('/health/live', HEAD_TOO, async (_req, reply) => {
    reply.type(HEALTH_JSON);
    return { status: 'pass' };
  });

  app.get('/health/ready', HEAD_TOO, async (_req, reply) => {
    const ready = credentialsCheck(deps).status !== 'fail';
    reply.code(ready ? 200 : 503).type(HEALTH_JSON);
    return {
      status: ready ? 'pass' : 'fail',
      output: ready ? undefined : 'No usable subscription credentials.',
    };
  });
}
