/**
 * State that several ccproxy instances share: small JSON values by key (an account's cooldown, its
 * latest rate-limit readings, its rotated tokens), a lock per key for "exactly one instance does
 * this" (refreshing an account's token), and change notices so every instance learns a change
 * within a second. One instance uses `MemorySharedState`; with `storage.url` the instances share
 * PostgreSQL (`postgres/shared-state.ts`). Callers see the same contract either way.
 *
 * Meant for tens to hundreds of keys, each a small value: not a cache, not a queue.
 */
import { LockTimeoutError } from './errors.ts';

export interface SharedEntry<T = unknown> {
  value: T;
  /** Grows with every write to any key; compare-and-set with `ifVersion`. Opaque otherwise. */
  version: number;
  /** When it was written, epoch ms (for PostgreSQL, the database's clock). */
  updatedAt: number;
}

export interface SetOptions {
  /** Write only if the key's version is this one (0 = only if the key does not exist). */
  ifVersion?: number;
}

/** Reads and writes; inside `withLock`, they belong to the lock's transaction. */
export interface SharedOps {
  get<T = unknown>(key: string): Promise<SharedEntry<T> | undefined>;
  /** The new entry, or undefined when `ifVersion` did not match (nothing was written). */
  set<T = unknown>(key: string, value: T, opts?: SetOptions): Promise<SharedEntry<T> | undefined>;
  /** True when the key existed. */
  delete(key: string): Promise<boolean>;
}

export type SharedListener = (key: string, entry: SharedEntry | undefined) => void;

export interface SharedState extends SharedOps {
  readonly kind: 'memory' | 'postgres';
  /** Every key starting with `prefix`, in key order. */
  list<T = unknown>(prefix: string): Promise<Array<SharedEntry<T> & { key: string }>>;
  /**
   * Run `fn` holding the lock on `key`, exclusive across every instance sharing this state. Its
   * reads and writes through `tx` commit together when `fn` resolves, and are discarded when it
   * throws; the lock is released either way (with PostgreSQL, also when the connection dies).
   * Not reentrant: do not take the same key again inside `fn`. With `timeoutMs`, gives up waiting
   * with a LockTimeoutError.
   */
  withLock<R>(key: string, fn: (tx: SharedOps) => Promise<R>, opts?: { timeoutMs?: number }): Promise<R>;
  /**
   * Hear about every change to keys starting with `prefix`, made by any instance (this one too),
   * usually within a second: the key and its new entry, or undefined when it was deleted. Changes
   * are heard from the moment the listener is connected: to start from the current state, call
   * `list(prefix)` after subscribing. A change made while the database was unreachable is delivered
   * once it is back; a listener may hear an unchanged value again, so it should be idempotent.
   * Returns the unsubscribe function.
   */
  subscribe(prefix: string, listener: SharedListener): () => void;
  close(): Promise<void>;
}

/** The JSON copy that is stored: later changes to the caller's object do not leak in. */
export function toJson<T>(key: string, value: T): T {
  const text = value === undefined ? undefined : JSON.stringify(value);
  if (text === undefined) throw new TypeError(`Shared state ${JSON.stringify(key)}: the value is not JSON.`);
  return JSON.parse(text) as T;
}

/** Listeners by prefix, each called on its own so one that throws cannot silence the others. */
export class Listeners {
  private readonly all = new Set<{ prefix: string; fn: SharedListener }>();

  add(prefix: string, fn: SharedListener): () => void {
    const l = { prefix, fn };
    this.all.add(l);
    return () => this.all.delete(l);
  }

  get size(): number {
    return this.all.size;
  }

  wants(key: string): boolean {
    for (const l of this.all) if (key.startsWith(l.prefix)) return true;
    return false;
  }

  emit(key: string, entry: SharedEntry | undefined): void {
    for (const l of this.all) {
      if (!key.startsWith(l.prefix)) continue;
      try {
        l.fn(key, entry && { ...entry, value: structuredClone(entry.value) });
      } catch {
        // A listener's own failure is its own business.
      }
    }
  }

  clear(): void {
    this.all.clear();
  }
}

/** A wait that gives up after `ms` (undefined = never). */
export function within<T>(p: Promise<T>, ms: number | undefined, onTimeout: () => Error): Promise<T> {
  if (ms === undefined) return p;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** One process's shared state: a map, a lock per key, listeners told on the next microtask. */
export class MemorySharedState implements SharedState {
  readonly kind = 'memory';
  private readonly entries = new Map<string, SharedEntry>();
  private readonly locks = new Map<string, Promise<void>>();
  private readonly listeners = new Listeners();
  private seq = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async get<T>(key: string): Promise<SharedEntry<T> | undefined> {
    const e = this.entries.get(key);
    return e && ({ ...e, value: structuredClone(e.value) } as SharedEntry<T>);
  }

  async set<T>(key: string, value: T, opts: SetOptions = {}): Promise<SharedEntry<T> | undefined> {
    const tx = this.tx();
    const e = await tx.ops.set(key, value, opts);
    tx.commit();
    return e;
  }

  async delete(key: string): Promise<boolean> {
    const tx = this.tx();
    const existed = await tx.ops.delete(key);
    tx.commit();
    return existed;
  }

  async list<T>(prefix: string): Promise<Array<SharedEntry<T> & { key: string }>> {
    return [...this.entries.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort()
      .map((key) => ({
        key,
        ...this.entries.get(key)!,
        value: structuredClone(this.entries.get(key)!.value),
      }))
      .map((e) => e as SharedEntry<T> & { key: string });
  }

  async withLock<R>(
    key: string,
    fn: (tx: SharedOps) => Promise<R>,
    opts: { timeoutMs?: number } = {},
  ): Promise<R> {
    const before = this.locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Whoever comes next waits for us, and we for whoever came before (even if we stop waiting).
    const tail = before.then(() => mine);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    try {
      await within(before, opts.timeoutMs, () => new LockTimeoutError(key));
      const tx = this.tx();
      const result = await fn(tx.ops);
      tx.commit();
      return result;
    } finally {
      release();
    }
  }

  subscribe(prefix: string, listener: SharedListener): () => void {
    return this.listeners.add(prefix, listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  /** Writes staged until `commit`, read back by the same transaction. */
  private tx(): { ops: SharedOps; commit(): void } {
    const staged = new Map<string, SharedEntry | undefined>();
    const current = (key: string) => (staged.has(key) ? staged.get(key) : this.entries.get(key));
    const ops: SharedOps = {
      get: async <T>(key: string) => {
        const e = current(key);
        return e && ({ ...e, value: structuredClone(e.value) } as SharedEntry<T>);
      },
      set: async <T>(key: string, value: T, opts: SetOptions = {}) => {
        const copy = toJson(key, value);
        if (opts.ifVersion !== undefined && (current(key)?.version ?? 0) !== opts.ifVersion) return undefined;
        const e: SharedEntry<T> = { value: copy, version: ++this.seq, updatedAt: this.now() };
        staged.set(key, e);
        return { ...e, value: structuredClone(copy) };
      },
      delete: async (key: string) => {
        const existed = current(key) !== undefined;
        staged.set(key, undefined);
        return existed;
      },
    };
    const commit = () => {
      for (const [key, e] of staged) {
        const existed = this.entries.has(key);
        if (e) this.entries.set(key, e);
        else this.entries.delete(key);
        if (e || existed) queueMicrotask(() => this.listeners.emit(key, e));
      }
    };
    return { ops, commit };
  }
}
