/**
 * Host header values, parsed strictly: the guard's DNS-rebinding check, its same-origin test and the
 * login's redirect_uri all read the same parts.
 */
import { isIPv6 } from 'node:net';

export interface HostPort {
  /** Lower-case name or IP address, IPv6 without brackets. */
  host: string;
  port?: number;
}

/**
 * A Host header (or `server.allowed_hosts` entry), parsed strictly: `name`, `IPv4` or `[IPv6]`, then
 * an optional `:port` (1–65535), nothing else. Userinfo (`localhost:1@evil.example`), text after `]`
 * (`[::1]evil.example`) and several colons outside brackets make it no host at all: a lenient split
 * would let such a value pass as localhost, and it would then be echoed into URLs (the login's
 * redirect_uri).
 */
export function parseHost(value: string): HostPort | undefined {
  const m = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9._~-]+))(?::(\d{1,5}))?$/.exec(value.trim().toLowerCase());
  if (!m) return undefined;
  if (m[1] !== undefined && !isIPv6(m[1])) return undefined;
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { host: m[1] ?? m[2]!, port };
}

/** The origin this server is reached at under a Host header (`http://host:port`), if it is one. */
export function servedOrigin(hostHeader: string | undefined): string | undefined {
  const p = hostHeader === undefined ? undefined : parseHost(hostHeader);
  if (!p) return undefined;
  const host = p.host.includes(':') ? `[${p.host}]` : p.host;
  return new URL(`http://${host}${p.port === undefined ? '' : `:${p.port}`}`).origin;
}
