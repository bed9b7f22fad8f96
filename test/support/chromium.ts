/**
 * The dashboard in a real browser: Debian's /usr/bin/chromium driven by playwright-core, and the
 * dashboard bundled from these sources (not dist/'s) for the test to serve.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** Screenshots and traces of a failed browser test. */
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

/** For `describe(…, { skip })`: why the browser tests cannot run here, or false. */
export const chromiumSkip: string | false = fs.existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing: install it with apt-get install -y chromium`;

/** Bundles the dashboard from src/ into `outdir` (scripts/build-dashboard.mjs); returns `outdir`. */
export function buildDashboard(outdir: string): string {
  const build = spawnSync(
    process.execPath,
    [path.join(ROOT, 'scripts', 'build-dashboard.mjs'), '--outdir', outdir],
    { encoding: 'utf8' },
  );
  assert.equal(build.status, 0, build.stderr);
  return outdir;
}

/** A headless Chromium with its own profile in `profileDir`, offline but for what the test serves. */
export function launchChromium(
  profileDir: string,
  opts: { width?: number; downloads?: boolean } = {},
): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: opts.width ?? 1400, height: 1100 },
    acceptDownloads: opts.downloads ?? false,
  });
}
