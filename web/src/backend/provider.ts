import {
  checkResponse,
  RealtimeTokenResponseSchema,
  type RealtimeTokenRequest,
  type RealtimeTokenResponse,
} from "voice-contract";
import { toTokenError } from "./errors";
import { TokenError } from "./tokenError";
import type { SharedSecrets } from "./shared";

/** Calls the backend for a fresh secret. */
export type TokenFetcher = (request: RealtimeTokenRequest) => Promise<RealtimeTokenResponse>;

/** Told about each fresh response and the request it answers. */
export type TokenListener = (
  response: RealtimeTokenResponse,
  request: RealtimeTokenRequest,
) => void;

/**
 * Where a secret handed out by {@link CachedTokenProvider.get} came from: `cache` (this
 * page had it), `pending` (a request already on its way, e.g. a prefetch, brought it),
 * `shared` (another tab, or this page before a reload, minted it), `backend` (this call
 * minted it).
 */
export type TokenSource = "cache" | "pending" | "shared" | "backend";

/** A secret and where it came from. */
export interface TokenGrant {
  response: RealtimeTokenResponse;
  source: TokenSource;
}

/** Options of {@link CachedTokenProvider}. */
export interface CachedTokenProviderOptions {
  fetchToken: TokenFetcher;
  /** Wall-clock milliseconds (compared with the server's `expiresAtMs`). Default `Date.now`. */
  now?: () => number;
  /** A secret is not handed out within this many ms of its expiry. Default 10 000. */
  expirySkewMs?: number;
  /** Whether a user is signed in, to tell an App Check rejection from a missing sign-in. */
  isSignedIn?: () => boolean;
  /**
   * Secrets shared with the user's other tabs and with reloads, and `scope()`, the signed-in
   * user's uid (null: share nothing). Without them each page mints its own.
   */
  shared?: { secrets: SharedSecrets; scope: () => string | null };
  /**
   * After a `user-interval` refusal that asks for at most this many seconds, wait them out
   * and ask once more instead of failing (`onWait` is told first). Default 0: never.
   */
  waitForIntervalSeconds?: number;
  onWait?: (seconds: number) => void;
  /** Default `setTimeout`. */
  sleep?: (ms: number) => Promise<void>;
}

interface CacheEntry {
  response: RealtimeTokenResponse;
  expiresAtMs: number;
}

/**
 * Hands out ephemeral client secrets from the `realtimeToken` callable.
 *
 * A secret is reused until `expirySkewMs` before it expires (one secret can open several
 * calls, so a reconnect costs no mint); concurrent callers share one request; secrets are
 * keyed by the request, so a different voice gets its own. Failures become
 * {@link TokenError}s with a message for the user, and after a rate-limit answer the
 * provider waits out `retryAfterSeconds` locally instead of asking again.
 */
export class CachedTokenProvider {
  readonly #fetchToken: TokenFetcher;
  readonly #now: () => number;
  readonly #skewMs: number;
  readonly #isSignedIn: (() => boolean) | undefined;
  readonly #options: CachedTokenProviderOptions;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inFlight = new Map<string, Promise<TokenGrant>>();
  readonly #listeners = new Set<TokenListener>();
  #cooldown: { untilMs: number; error: TokenError } | null = null;
  #fetchCount = 0;
  #latest: RealtimeTokenResponse | null = null;

  constructor(options: CachedTokenProviderOptions) {
    this.#fetchToken = options.fetchToken;
    this.#now = options.now ?? Date.now;
    this.#skewMs = options.expirySkewMs ?? 10_000;
    this.#isSignedIn = options.isSignedIn;
    this.#options = options;
  }

  /** How many times the backend was called. */
  get fetchCount(): number {
    return this.#fetchCount;
  }

  /** The most recent successful response (for the voice allowlist and the quota). */
  get latest(): RealtimeTokenResponse | null {
    return this.#latest;
  }

  /** Returns a usable secret for `request`, from the cache when possible, and its source. */
  async get(request: RealtimeTokenRequest = {}): Promise<TokenGrant> {
    const key = requestKey(request);
    const cached = this.peek(request);
    if (cached) return { response: cached, source: "cache" };

    const pending = this.#inFlight.get(key);
    if (pending) return { response: (await pending).response, source: "pending" };

    const cooldown = this.#cooldown;
    if (cooldown) {
      const leftMs = cooldown.untilMs - this.#now();
      if (leftMs > 0) throw cooldown.error.withRetryAfter(Math.ceil(leftMs / 1000));
      this.#cooldown = null;
    }

    const request$ = this.#obtain(key, request);
    this.#inFlight.set(key, request$);
    return request$;
  }

  /**
   * Starts fetching a secret for `request` unless one is cached or on its way, so that a
   * later `get()` (e.g. on Connect) does not wait for the backend. Never rejects.
   */
  async prefetch(request: RealtimeTokenRequest = {}): Promise<void> {
    try {
      await this.get(request);
    } catch {
      // The error comes back (from the cooldown, if it was a limit) on the next get().
    }
  }

  /** The cached secret for `request` if it is still usable, without fetching. */
  peek(request: RealtimeTokenRequest = {}): RealtimeTokenResponse | null {
    const key = requestKey(request);
    const entry = this.#cache.get(key);
    if (!entry) return null;
    if (entry.expiresAtMs - this.#skewMs > this.#now()) return entry.response;
    this.#cache.delete(key);
    return null;
  }

  /**
   * Forgets cached secrets, here and in the shared store: the one for `request` (OpenAI
   * rejected it), or all of them, every user's (the user changed or signed out).
   */
  invalidate(request?: RealtimeTokenRequest): void {
    const shared = this.#options.shared;
    if (request) {
      const key = requestKey(request);
      this.#cache.delete(key);
      const scope = shared?.scope();
      if (scope) shared?.secrets.remove(scope, key);
    } else {
      this.#cache.clear();
      shared?.secrets.remove();
    }
  }

  /** Calls `listener` with every fresh response; returns the function that unsubscribes. */
  onResponse(listener: TokenListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A secret from the shared store, or else from the backend; one tab at a time. */
  async #obtain(key: string, request: RealtimeTokenRequest): Promise<TokenGrant> {
    try {
      const shared = this.#options.shared;
      const scope = shared?.scope();
      if (!shared || !scope) return await this.#mint(key, request);
      return await shared.secrets.exclusive(`realtime-secret:${scope}`, async () => {
        const stored = shared.secrets.read(scope, key);
        if (stored && this.#usable(stored)) {
          this.#remember(key, request, stored);
          return { response: stored, source: "shared" as const };
        }
        const grant = await this.#mint(key, request);
        shared.secrets.write(scope, key, grant.response);
        return grant;
      });
    } finally {
      this.#inFlight.delete(key);
    }
  }

  async #mint(key: string, request: RealtimeTokenRequest): Promise<TokenGrant> {
    for (let waited = false; ; waited = true) {
      this.#fetchCount += 1;
      try {
        const response = parseTokenResponse(await this.#fetchToken(request));
        this.#remember(key, request, response);
        return { response, source: "backend" };
      } catch (error) {
        const tokenError = toTokenError(error, { signedIn: this.#isSignedIn?.() });
        const seconds = tokenError.details.retryAfterSeconds;
        const maxWait = this.#options.waitForIntervalSeconds ?? 0;
        if (
          !waited &&
          tokenError.details.reason === "user-interval" &&
          seconds !== undefined &&
          seconds <= maxWait
        ) {
          // Only the interval since this user's last mint stands between them and a secret:
          // waiting it out is kinder than an error, and asks the server nothing more.
          this.#options.onWait?.(seconds);
          await (this.#options.sleep ?? sleep)(seconds * 1000);
          continue;
        }
        if (seconds !== undefined) {
          this.#cooldown = { untilMs: this.#now() + seconds * 1000, error: tokenError };
        }
        throw tokenError;
      }
    }
  }

  #usable(response: RealtimeTokenResponse): boolean {
    return response.expiresAtMs - this.#skewMs > this.#now();
  }

  #remember(key: string, request: RealtimeTokenRequest, response: RealtimeTokenResponse): void {
    this.#cache.set(key, { response, expiresAtMs: response.expiresAtMs });
    this.#latest = response;
    for (const listener of this.#listeners) listener(response, request);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A stable key: same fields, same key, whatever the property order. */
export function requestKey(request: RealtimeTokenRequest): string {
  const entries = Object.entries(request)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(entries);
}

/**
 * Checks a `realtimeToken` result against its schema: the callable's data crosses a network
 * boundary, so it is validated rather than trusted to match the type.
 */
export function parseTokenResponse(data: unknown): RealtimeTokenResponse {
  const checked = checkResponse(RealtimeTokenResponseSchema, data);
  if (checked.ok) return checked.value;
  throw new TokenError(
    "misconfigured",
    `The token service sent an unexpected answer (${checked.problem}). If you run this app, check that the web client and the function are the same version.`,
    { code: "invalid-response" },
  );
}
