/**
 * Keeping secrets out of what people and logs see: `scrubSecrets` for log lines (every line the
 * logger writes passes through it), `maskToken` for a token shown on purpose (`auth info`,
 * `config show`, the start banner). Plain string functions: config/, auth/ and cli/ all use them.
 */

/** Claude OAuth access/refresh tokens and API keys: `sk-ant-oat01-…`, `sk-ant-ort01-…`, `sk-ant-api03-…`. */
const TOKEN_SHAPE = /sk-ant-[a-z]{3}\d{2}-[A-Za-z0-9_-]{8,}/g;
/** A password in a URL's authority (`postgres://user:password@host`, an upstream proxy's too). */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"]*:)[^\s@/"]+@/gi;

/** A line with every Claude token (by shape), URL password and given secret replaced. */
export function scrubSecrets(line: string, secrets: readonly string[]): string {
  // Both patterns hold a literal that most lines lack; looking for it first is ~10× cheaper.
  let out = line.includes('sk-ant-') ? line.replace(TOKEN_SHAPE, (m) => `${m.slice(0, 14)}[REDACTED]`) : line;
  if (out.includes('://')) out = out.replace(URL_PASSWORD, '$1****@');
  for (const s of secrets) if (s.length >= 8 && out.includes(s)) out = out.replaceAll(s, '[REDACTED]');
  return out;
}

/** A token shown to people: first and last few characters only. */
export function maskToken(token: string | undefined): string {
  if (!token) return '(none)';
  if (token.length <= 12) return '****';
  return `${token.slice(0, 8)}…${token.slice(-4)}`;
}
