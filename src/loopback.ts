/** Whether a host names this machine: the guard, `ccproxy serve`'s exposure check, the upstream's proxy bypass. */

/** 127.0.0.0/8 as an IPv4 literal: a name like `127.0.0.1.nip.io` is not loopback (DNS rebinding). */
const LOOPBACK_V4 =
  /^127\.(25[0-5]|2[0-4]\d|1?\d?\d)\.(25[0-5]|2[0-4]\d|1?\d?\d)\.(25[0-5]|2[0-4]\d|1?\d?\d)$/;

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return h === 'localhost' || h === '::1' || LOOPBACK_V4.test(v4);
}
