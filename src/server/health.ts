/**
 * Health endpoints (draft-inadarei-api-health-check): `/health` with checks for credentials and
 * each mode, `/health/live` (the process answers), `/health/ready` (it can serve requests).
 *
 * As the draft says, the HTTP status carries the verdict for load balancers and container health
 * checks, which read nothing else: `pass` and `warn` are 200, `fail` is 503 (with the same body).
 */
import type { FastifyInstance } from 'fastify';
import type { TokenManager } from '../auth/token-manager.ts';
import type { Backend, Mode } from '../backends/backend.ts';

export interface HealthDeps {
  backends: Partial<Record<Mode, Backend>>;
  tokens: TokenManager;
  version: string;
}

const HEALTH_JSON = 'application/health+json';

export function registerHealth(app: FastifyInstance, deps: HealthDeps): void {
  app.get('/health', async (_req, reply) => {
    const t = deps.tokens.state();
    const credentials = {
      componentType: 'system',
      status: !t.source ? 'fail' : t.reloginRequired ? 'fail' : 'pass',
      output: !t.source
        ? 'No subscription credentials found: run `ccproxy auth login`, or `claude /login`, or set CLAUDE_CODE_OAUTH_TOKEN.'
        : t.reloginRequired
          ? 'Re-login required: run `ccproxy auth login`.'
          : `Using ${t.source}.`,
      observedValue: t.expiresAt ? new Date(t.expiresAt).toISOString() : undefined,
      observedUnit: t.expiresAt ? 'expires_at' : undefined,
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

  app.get('/health/live', async (_req, reply) => {
    reply.type(HEALTH_JSON);
    return { status: 'pass' };
  });

  app.get('/health/ready', async (_req, reply) => {
    const t = deps.tokens.state();
    const ready = t.source !== undefined && !t.reloginRequired;
    reply.code(ready ? 200 : 503).type(HEALTH_JSON);
    return {
      status: ready ? 'pass' : 'fail',
      output: ready ? undefined : 'No usable subscription credentials.',
    };
  });
}
