/**
 * Settings values as people may see them (`config show`, a settings error): secrets masked. The
 * proxy's token and the accounts' tokens and keys become `sk-ant-o…abcd`; a `${VAR}` reference is
 * shown as written (it names a variable, not a secret); a URL keeps everything but its password; an MCP
 * server's `env` and `headers` values are masked.
 */
import { maskToken } from '../redact.ts';
import { redactUrl } from '../storage/url.ts';
import { CREDENTIAL_KEYS, SECRET_KEYS, SECRET_URL_KEYS } from './schema.ts';

/** Keys whose value is a list of accounts, each holding a token or key. */
export const ACCOUNT_LIST_KEYS = new Set(['accounts.list']);

/** A credential as written: a whole `${VAR}` reference is no secret; anything else is masked. */
function maskCredential(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  return /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(v.trim()) ? v : maskToken(v);
}

/** An accounts list with its tokens and keys masked (file paths and names stay). */
export function maskAccounts(list: unknown): unknown {
  if (!Array.isArray(list)) return list;
  return list.map((a) => {
    if (!a || typeof a !== 'object') return a;
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const k of CREDENTIAL_KEYS)
      if (k !== 'credentials_file' && k in out) out[k] = maskCredential(out[k]);
    return out;
  });
}

/** MCP servers with the values of their `env` and `headers` masked: where their tokens go. */
function maskMcpServers(servers: unknown): unknown {
  if (!servers || typeof servers !== 'object' || Array.isArray(servers)) return servers;
  const out: Record<string, unknown> = {};
  for (const [name, server] of Object.entries(servers)) {
    if (!server || typeof server !== 'object') {
      out[name] = server;
      continue;
    }
    const copy: Record<string, unknown> = { ...(server as Record<string, unknown>) };
    for (const k of ['env', 'headers']) {
      const values = copy[k];
      if (values && typeof values === 'object' && !Array.isArray(values)) {
        copy[k] = Object.fromEntries(Object.entries(values).map(([n, v]) => [n, maskCredential(v)]));
      }
    }
    out[name] = copy;
  }
  return out;
}

/** A key's value fit to print: secrets masked, everything else as it is. */
export function displayValue(key: string, value: unknown): unknown {
  if (SECRET_KEYS.has(key)) return value ? maskToken(String(value)) : '';
  if (SECRET_URL_KEYS.has(key)) return redactUrl(String(value));
  if (ACCOUNT_LIST_KEYS.has(key)) return maskAccounts(value);
  if (key === 'claude.mcp_servers') return maskMcpServers(value);
  return value;
}
