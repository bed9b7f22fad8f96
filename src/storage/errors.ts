/**
 * The one error a storage backend throws when the database cannot be reached right now (refused,
 * reset, timed out, shutting down). It means "try again later", not "this data is bad": the
 * access-log writer keeps the rows and retries with backoff, and a shared-state caller may fall
 * back to what it knows locally.
 */
export class StorageUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}

/** `withLock` gave up waiting for another holder (its `timeoutMs` passed). */
export class LockTimeoutError extends Error {
  constructor(readonly key: string) {
    super(`Timed out waiting for the shared lock on ${JSON.stringify(key)}.`);
    this.name = 'LockTimeoutError';
  }
}
