/**
 * The ports the Fetch standard blocks (https://fetch.spec.whatwg.org/#port-blocking): browsers,
 * node's fetch and the JavaScript SDKs built on it refuse to connect to them ("fetch failed: bad
 * port"). A proxy listening on one would answer curl and Python but not the dashboard, the JS
 * clients or ccproxy's own commands, so a setting naming one is refused with this reason.
 */
const BLOCKED = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104,
  109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515,
  526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
  3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** Why clients cannot reach `port`, if fetch blocks it. */
export function blockedPortReason(port: number): string | undefined {
  if (!BLOCKED.has(port)) return undefined;
  return `port ${port} is one that browsers, node's fetch and the JavaScript SDKs refuse to connect to (the Fetch standard's blocked ports): choose another port`;
}

/** The blocked ports, for tests that compare them with undici's. */
export const FETCH_BLOCKED_PORTS: ReadonlySet<number> = BLOCKED;
