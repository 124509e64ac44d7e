import type { Caller } from './caller.js';
import type { TokenKeys } from './keys.js';
import { CLOCK_TOLERANCE_SECONDS, verifiedToken } from './verify.js';

/** Most verified tokens kept; the oldest is dropped for a new one. */
export const TOKEN_CACHE_MAX_ENTRIES = 10_000;
/**
 * Longest a verified token is kept, whatever its `exp` says: a key removed from the key set
 * stops being honoured within this time.
 */
export const TOKEN_CACHE_MAX_AGE_MS = 5 * 60_000;

interface Entry {
  caller: Caller;
  /** The token's own `exp` and `nbf`, in seconds. */
  exp: number;
  nbf: number;
  /** When the entry stops being used, in milliseconds. */
  until: number;
}

export interface TokenCacheOptions {
  maxEntries?: number;
  maxAgeMs?: number;
  /** The clock, in milliseconds (tests move it). */
  now?: () => number;
}

/**
 * Verifies bearer tokens as `verifyToken` does, keeping each token that passed, by its exact
 * text, as Envoy's jwt_authn keeps verified tokens: a repeat of the same token costs a map
 * lookup instead of a signature check. An entry is used only while the token's own `exp` and
 * `nbf` (with the same clock tolerance) say it is valid, checked again at every use, and for
 * at most `maxAgeMs`; at most `maxEntries` are kept, the oldest dropped first. A token that
 * fails verification is never kept (a token whose signature differs is another key), and the
 * whole cache is dropped when the key set is fetched again.
 */
export class VerifiedTokens {
  readonly #keys: TokenKeys;
  readonly #maxEntries: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  /** Insertion order is age order: the first entry is the oldest. */
  readonly #entries = new Map<string, Entry>();
  #keySetVersion: number;

  constructor(keys: TokenKeys, opts: TokenCacheOptions = {}) {
    this.#keys = keys;
    this.#maxEntries = opts.maxEntries ?? TOKEN_CACHE_MAX_ENTRIES;
    this.#maxAgeMs = opts.maxAgeMs ?? TOKEN_CACHE_MAX_AGE_MS;
    this.#now = opts.now ?? Date.now;
    this.#keySetVersion = this.#currentKeySet();
  }

  /** How many verified tokens are kept. */
  get size(): number {
    return this.#entries.size;
  }

  /** The caller a valid token names; throws as `verifyToken` does otherwise. */
  async verify(token: string): Promise<Caller> {
    const version = this.#currentKeySet();
    if (version !== this.#keySetVersion) {
      this.#entries.clear();
      this.#keySetVersion = version;
    }
    const hit = this.#entries.get(token);
    if (hit) {
      const now = this.#now();
      if (now < hit.until && timelyAt(hit, now)) return hit.caller;
      this.#entries.delete(token);
    }
    const verified = await verifiedToken(this.#keys, token, this.#now());
    // A key set fetched during the verification may have dropped the key it used.
    if (this.#currentKeySet() === version) this.#keep(token, verified);
    return verified.caller;
  }

  #keep(token: string, verified: Omit<Entry, 'until'>): void {
    if (this.#maxEntries <= 0) return;
    while (this.#entries.size >= this.#maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(token, { ...verified, until: this.#now() + this.#maxAgeMs });
  }

  #currentKeySet(): number {
    return this.#keys.keySetVersion?.() ?? 0;
  }
}

/** jose's own test of `exp` and `nbf`, in whole seconds, with the same tolerance. */
function timelyAt(entry: { exp: number; nbf: number }, nowMs: number): boolean {
  const now = Math.floor(nowMs / 1000);
  return entry.exp > now - CLOCK_TOLERANCE_SECONDS && entry.nbf <= now + CLOCK_TOLERANCE_SECONDS;
}
