/**
 * How an auth command fails: one kind per thing a person can act on, each with its own exit code
 * (documented in docs/auth.md, stable for scripts).
 */

export type AuthErrorKind =
  /** Anything else: the token endpoint answered 5xx or garbage, a file could not be written… */
  | 'failed'
  /** Bad command line or settings. */
  | 'usage'
  /** Nobody came back from the browser (or pasted a code) in time. */
  | 'timeout'
  /** The callback's `state` is not the one this login sent: possibly a forged or stale redirect. */
  | 'state_mismatch'
  /** The person declined on the consent page. */
  | 'denied'
  /** The authorization code (or the refresh token) was rejected: expired, used, or revoked. */
  | 'invalid_grant'
  /** `--file` names an existing file that is not ccproxy's own store, and `--force` was not given. */
  | 'file_exists'
  /** The OAuth server or the upstream could not be reached. */
  | 'unreachable'
  /** Ctrl-C, or the input ended before a code was pasted. */
  | 'cancelled';

export const EXIT_CODES: Record<AuthErrorKind, number> = {
  failed: 1,
  usage: 2,
  timeout: 3,
  state_mismatch: 4,
  denied: 5,
  invalid_grant: 6,
  file_exists: 7,
  unreachable: 8,
  cancelled: 130,
};

export class AuthError extends Error {
  readonly kind: AuthErrorKind;

  constructor(kind: AuthErrorKind, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AuthError';
    this.kind = kind;
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}
