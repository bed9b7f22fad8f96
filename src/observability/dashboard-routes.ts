/**
 * Serves the dashboard's bundle (built by scripts/build-dashboard.mjs into dist/dashboard/) under
 * `/dashboard`. The files hold no data and no secrets, so the guard lets them through without a
 * token (PUBLIC_DASHBOARD_PATHS); the page then asks for the token and sends it on every API call.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';

/** Path prefixes the guard lets through without a token: `/dashboard` itself and everything under it. */
export const PUBLIC_DASHBOARD_PATHS: readonly string[] = ['/dashboard'];

/** True for `/dashboard`, `/dashboard/` and `/dashboard/<asset>` (query strings ignored). */
export function isPublicDashboardPath(url: string): boolean {
  const p = url.split('?', 1)[0]!;
  return PUBLIC_DASHBOARD_PATHS.some((prefix) => p === prefix || p.startsWith(`${prefix}/`));
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
};

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/**
 * Where the bundle is: run from dist/, it is dist/dashboard beside dist/observability; run from
 * src/ (tsx), it is the repo's dist/dashboard (src/dashboard holds only the sources and page.html).
 */
export function findDashboardDir(explicit?: string): string | undefined {
  const here = import.meta.dirname;
  const candidates = explicit
    ? [explicit]
    : [path.resolve(here, '..', 'dashboard'), path.resolve(here, '..', '..', 'dist', 'dashboard')];
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'index.html')));
}

interface Asset {
  body: Buffer;
  type: string;
  immutable: boolean;
}

/** Read the whole bundle once (a few hundred KB); only files found here are ever served. */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    const type = TYPES[path.extname(name)];
    if (!type || !fs.statSync(file).isFile()) continue;
    // Hashed names (app-4F2K7Q.js) never change content, so browsers may keep them.
    assets.set(name, { body: fs.readFileSync(file), type, immutable: /-[A-Z0-9]{8}\./.test(name) });
  }
  return assets;
}

export function registerDashboard(app: FastifyInstance, opts: { dir?: string; log: Logger }): void {
  const dir = findDashboardDir(opts.dir);
  const assets = dir ? loadAssets(dir) : new Map<string, Asset>();
  if (!dir) opts.log.warn('dashboard: no bundle found; run `npm run build` to build it');

  const page = async (_req: unknown, reply: FastifyReply) => {
    const index = assets.get('index.html');
    if (!index) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The dashboard is not built. Run `npm run build` in the ccproxy checkout, then reload.');
    }
    return reply
      .headers({ ...SECURITY_HEADERS, 'cache-control': 'no-cache' })
      .type(index.type)
      .send(index.body);
  };

  app.get('/dashboard', page);
  app.get<{ Params: { '*': string } }>('/dashboard/*', async (req, reply) => {
    const name = req.params['*'];
    if (name === '') return page(req, reply);
    const asset = name === 'index.html' ? undefined : assets.get(name);
    if (!asset) return reply.code(404).type('text/plain; charset=utf-8').send('Not found');
    return reply
      .headers({
        ...SECURITY_HEADERS,
        'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      })
      .type(asset.type)
      .send(asset.body);
  });
}
