/**
 * What the auth tests share: settings that point every OAuth and API URL at the fake upstream and
 * keep credential files in a temp dir; a scripted terminal for the auth commands; and a "browser"
 * that follows the authorize redirect the way a person clicking Authorize would.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { request } from 'undici';
import type { AuthContext, AuthIO } from '../../src/cli/auth/context.ts';
import { type Settings, settingsSchema } from '../../src/config/schema.ts';
import type { FakeUpstream } from '../support/fake-upstream.ts';

export interface AuthDir {
  dir: string;
  store: string;
  claudeFile: string;
  cleanup(): void;
}

export function tempDir(): AuthDir {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccproxy-auth-'));
  return {
    dir,
    store: path.join(dir, 'ccproxy', 'credentials.json'),
    claudeFile: path.join(dir, 'claude', '.credentials.json'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Settings fragments (for startProxy) that aim the OAuth endpoints and the API at the fake. */
export function fakeUrls(fake: FakeUpstream) {
  return {
    upstream: { base_url: fake.url },
    auth: {
      authorize_url: `${fake.url}/oauth/authorize`,
      token_url: `${fake.url}/v1/oauth/token`,
      profile_url: `${fake.url}/api/oauth/profile`,
      callback_port: 0,
    },
  };
}

export function authSettings(fake: FakeUpstream, d: AuthDir, over: Record<string, unknown> = {}): Settings {
  const urls = fakeUrls(fake);
  const base = {
    upstream: urls.upstream,
    auth: { ...urls.auth, credentials_file: d.store, claude_credentials_file: d.claudeFile },
  };
  const merged: Record<string, Record<string, unknown>> = structuredClone(base);
  for (const [k, v] of Object.entries(over)) merged[k] = { ...(merged[k] ?? {}), ...(v as object) };
  return settingsSchema.parse(merged);
}

export function writeJson(file: string, doc: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(doc), { mode: 0o600 });
}

export function oauthDoc(c: {
  accessToken: string;
  refreshToken?: string;
  expiresAt?: number;
  subscriptionType?: string;
  scopes?: string[];
}) {
  return { claudeAiOauth: { scopes: ['user:inference', 'user:profile'], ...c } };
}

export interface ScriptedIO extends AuthIO {
  stdout: string;
  stderr: string;
  prompts: string[];
  opened: string[];
  /** Settles when every browser visit started so far has finished. */
  browsed(): Promise<void>;
  /** Resolves once the output contains a match. */
  waitFor(re: RegExp): Promise<RegExpMatchArray>;
}

export interface ScriptOptions {
  /** Answers to readLine, in order; a function is called with the prompt. */
  answers?: Array<string | undefined | ((prompt: string) => Promise<string | undefined>)>;
  /** Plays the browser when the command opens a URL; returns whether it "opened". */
  browser?: (url: string) => unknown;
  interactive?: boolean;
}

export function scriptedIO(opts: ScriptOptions = {}): ScriptedIO {
  const answers = [...(opts.answers ?? [])];
  const visits: Promise<void>[] = [];
  const waiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  const check = () => {
    for (const w of [...waiters]) {
      const m = io.stdout.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  const io: ScriptedIO = {
    stdout: '',
    stderr: '',
    prompts: [],
    opened: [],
    interactive: opts.interactive ?? false,
    out(t) {
      io.stdout += t;
      check();
    },
    err(t) {
      io.stderr += t;
    },
    async readLine(prompt, signal) {
      io.prompts.push(prompt);
      const next = answers.shift();
      if (typeof next === 'function') return next(prompt);
      if (next !== undefined) return next;
      // Nobody types: wait until the command gives up.
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      return undefined;
    },
    async openBrowser(url) {
      io.opened.push(url);
      if (!opts.browser) return false;
      // The browser works on its own while the command waits.
      visits.push(
        new Promise((resolve) => setImmediate(resolve)).then(async () => {
          await opts.browser!(url);
        }),
      );
      return true;
    },
    async browsed() {
      await Promise.all(visits);
    },
    waitFor(re) {
      const m = io.stdout.match(re);
      if (m) return Promise.resolve(m);
      return new Promise((resolve) => waiters.push({ re, resolve }));
    },
  };
  return io;
}

export const silentLog = () => pino({ level: 'silent' });

export function context(
  settings: Settings,
  io: AuthIO,
  env: Record<string, string | undefined> = {},
): AuthContext {
  return { settings, env, io, log: silentLog() };
}

export interface BrowserVisit {
  /** Where the authorize page sent the browser. */
  redirect: URL;
  /** The callback page's answer, when the browser went there. */
  status?: number;
  page?: string;
}

/** Open the authorize URL, and (unless told not to) follow its redirect to the callback, optionally altered. */
export async function playBrowser(
  url: string,
  opts: { follow?: boolean; alter?: (u: URL) => void } = {},
): Promise<BrowserVisit> {
  const res = await request(url, { method: 'GET' });
  await res.body.text();
  const location = res.headers.location;
  if (res.statusCode !== 302 || typeof location !== 'string')
    throw new Error(`authorize answered ${res.statusCode} without a redirect`);
  const redirect = new URL(location);
  opts.alter?.(redirect);
  if (opts.follow === false) return { redirect };
  const back = await request(redirect.toString(), { method: 'GET' });
  return { redirect, status: back.statusCode, page: await back.body.text() };
}

export function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}
