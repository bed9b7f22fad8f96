/**
 * Open a URL in the person's browser: `$BROWSER` when set, else the platform's opener (`open` on
 * macOS, `rundll32 url.dll,FileProtocolHandler` on Windows — no shell, so `&` in the URL is safe —
 * and `xdg-open` elsewhere). Resolves false when nothing could be started; the caller prints the URL
 * either way.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

export function browserCommand(
  url: string,
  env: Record<string, string | undefined> = process.env,
  platform: NodeJS.Platform = process.platform,
): [string, string[]] | undefined {
  const custom = env.BROWSER?.split(path.delimiter)[0]?.trim();
  if (custom) {
    const [cmd, ...args] = custom.split(/\s+/);
    return args.some((a) => a.includes('%s'))
      ? [cmd, args.map((a) => a.replaceAll('%s', url))]
      : [cmd, [...args, url]];
  }
  if (platform === 'darwin') return ['open', [url]];
  if (platform === 'win32') return ['rundll32', ['url.dll,FileProtocolHandler', url]];
  // No display: a terminal-only machine (SSH, container). xdg-open would fail or pick a text browser.
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return undefined;
  return ['xdg-open', [url]];
}

export function openBrowser(
  url: string,
  env: Record<string, string | undefined> = process.env,
): Promise<boolean> {
  const command = browserCommand(url, env);
  if (!command) return Promise.resolve(false);
  return new Promise((resolve) => {
    const child = spawn(command[0], command[1], { stdio: 'ignore', detached: true });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}
