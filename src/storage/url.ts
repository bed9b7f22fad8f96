/**
 * The storage URL, shown without its password: `config show`, `/logs/status` and every log line
 * name the database as `postgres://ccproxy:****@db:5432/ccproxy`, so an operator can still see
 * which server and user are meant.
 */

const MASK = '****';

/** The URL with its password (in the authority or as a `password` parameter) replaced by `****`. */
export function redactUrl(url: string): string {
  if (!url) return url;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Not a URL we can take apart: without an `@` it holds no password; else the scheme at most.
    if (!url.includes('@')) return url;
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0];
    return scheme ? `${scheme}${MASK}` : MASK;
  }
  if (u.password) u.password = MASK;
  for (const key of [...u.searchParams.keys()]) {
    if (/^(password|sslpassword)$/i.test(key)) u.searchParams.set(key, MASK);
  }
  // URL encodes the mask's asterisks in the query; keep it readable.
  return u.toString().replaceAll('%2A%2A%2A%2A', MASK);
}

/** The password a URL carries, if any (for the logger's exact-string scrubbing). */
export function urlPassword(url: string): string | undefined {
  try {
    const u = new URL(url);
    const p = u.password ? decodeURIComponent(u.password) : u.searchParams.get('password');
    return p || undefined;
  } catch {
    return undefined;
  }
}
