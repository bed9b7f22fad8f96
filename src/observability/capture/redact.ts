/**
 * Redaction before a capture is stored. Headers that carry credentials keep their name and lose
 * their value; every other header value and every body is scrubbed of token-shaped strings (Claude
 * OAuth tokens and API keys, URL passwords: redact.ts's scrubSecrets) and of the secrets ccproxy
 * knows by value: the proxy's own token, the subscription's access and refresh tokens, the bearer
 * token each upstream call carried and the credentials each client presented. A body cut at the cap
 * may end in the first characters of a secret: that tail goes too.
 */
import { scrubSecrets } from '../../redact.ts';

export const REDACTED = '[REDACTED]';

/** Headers whose value is a credential, whatever it looks like. */
const CREDENTIAL_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'cookie',
  'set-cookie',
  'x-auth-token',
  'x-ccproxy-token',
]);
/** …and any header named like one (`x-goog-api-key`, `x-session-token`, `x-client-secret`). */
const CREDENTIAL_NAME = /(^|-)(token|secret|password|passwd|api-?key|apikey|credentials?)($|-)/;

const TOKEN_TAIL = /sk-ant-[A-Za-z0-9_-]*$/;

export class Redactor {
  private readonly secrets: string[];

  constructor(secrets: Iterable<string | undefined>) {
    const all = new Set<string>();
    for (const s of secrets) {
      if (!s || s.length < 8) continue;
      all.add(s);
      // The same secret as it appears inside a JSON string or a URL.
      all.add(JSON.stringify(s).slice(1, -1));
      all.add(encodeURIComponent(s));
    }
    // Longest first, so that a secret containing another is replaced whole.
    this.secrets = [...all].sort((a, b) => b.length - a.length);
  }

  /** Whether `text` may hold a secret (cheap scans; scrubSecrets's expressions only run then). */
  private mayHold(text: string): boolean {
    if (text.includes('sk-ant-') || text.includes('://')) return true;
    for (const s of this.secrets) if (text.includes(s)) return true;
    return false;
  }

  /** Text with every secret replaced; `cut`: the text was truncated, so a secret's start at its end goes too. */
  text(text: string, cut = false): string {
    let out = this.mayHold(text) ? scrubSecrets(text, this.secrets) : text;
    if (cut) {
      out = out.replace(TOKEN_TAIL, (m) => (m.length > 7 ? `${m.slice(0, 7)}${REDACTED}` : m));
      for (const s of this.secrets) {
        for (let n = Math.min(s.length - 1, out.length); n >= 4; n--) {
          if (out.endsWith(s.slice(0, n))) {
            out = out.slice(0, -n) + REDACTED;
            break;
          }
        }
      }
    }
    return out;
  }

  /** A header's value: a credential header keeps only its scheme (`Bearer [REDACTED]`). */
  header(name: string, value: string): string {
    const n = name.toLowerCase();
    if (CREDENTIAL_HEADERS.has(n) || CREDENTIAL_NAME.test(n)) {
      const scheme = /^(bearer|basic|token)\s+/i.exec(value)?.[1];
      return scheme ? `${scheme} ${REDACTED}` : REDACTED;
    }
    return this.text(value);
  }

  headers(headers: Record<string, unknown> | undefined): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers ?? {})) {
      if (v === undefined || v === null) continue;
      out[k.toLowerCase()] = this.header(k, Array.isArray(v) ? v.join(', ') : String(v));
    }
    return out;
  }
}

/** The credentials a request's headers carry (its client's key, the bearer sent upstream). */
export function credentialsIn(headers: Record<string, unknown> | undefined): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(headers ?? {})) {
    const n = k.toLowerCase();
    if (typeof v !== 'string' || !(CREDENTIAL_HEADERS.has(n) || CREDENTIAL_NAME.test(n))) continue;
    out.push(v.replace(/^(bearer|basic|token)\s+/i, '').trim());
  }
  return out;
}
