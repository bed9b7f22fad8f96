/** A proxy with request capture on, in front of the fake upstream, and a reader of its captures. */
import { Writable } from 'node:stream';
import type { Settings } from '../../src/config/schema.ts';
import type { RequestDetail } from '../../src/observability/capture/types.ts';
import type { AppOptions } from '../../src/server/app.ts';
import { type DeepPartial, startProxy, type TestProxy } from '../helpers/proxy.ts';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.ts';

/** Not token-shaped on purpose: only redaction by value can catch these. */
export const PROXY_TOKEN = 'proxy-secret-Zq7Hk2Lm9Np4Rs6Tv8';
export const OAUTH_ACCESS = 'opaque-oauth-access-Xw3Yv5Ub7Tc9';
export const OAUTH_REFRESH = 'opaque-oauth-refresh-Ja2Kb4Lc6Md8';

export interface CaptureRig {
  fake: FakeUpstream;
  proxy: TestProxy;
  /** `GET /logs/requests/{id}` with the proxy token. */
  detail(
    id: string,
  ): Promise<{ status: number; body: RequestDetail & { error?: { type: string; message: string } } }>;
  close(): Promise<void>;
}

export async function startCaptureRig(
  settings: DeepPartial<Settings> = {},
  app: Partial<AppOptions> = {},
  auth: { accessTokens?: string[]; apiKeys?: string[] } = {},
): Promise<CaptureRig> {
  const fake = await startFakeUpstream({ accessTokens: [OAUTH_ACCESS], ...auth });
  const proxy = await startProxy({
    settings: {
      upstream: { base_url: fake.url, retry: { max_attempts: 1 } },
      security: { auth_token: PROXY_TOKEN },
      ...settings,
      observability: { capture: 'all', flush_interval_ms: 20, ...settings.observability },
    },
    credentials: {
      claudeAiOauth: {
        accessToken: OAUTH_ACCESS,
        refreshToken: OAUTH_REFRESH,
        expiresAt: Date.now() + 24 * 3_600_000,
        scopes: ['user:inference'],
      },
    },
    logLevel: 'warn',
    app,
  });
  return {
    fake,
    proxy,
    async detail(id) {
      const res = await fetch(`${proxy.url}/logs/requests/${encodeURIComponent(id)}`, {
        headers: { authorization: `Bearer ${PROXY_TOKEN}` },
      });
      return { status: res.status, body: (await res.json()) as never };
    },
    async close() {
      await proxy.close();
      await fake.close();
    },
  };
}

export const json = (text: string | undefined): unknown => JSON.parse(text ?? 'null');

/** A writable that keeps what it is given (a command's stdout or stderr). */
export function sink() {
  let text = '';
  const stream = new Writable({
    write(chunk, _e, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => text };
}
