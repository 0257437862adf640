/**
 * Rate-limit and quota decisions. Pure: state in, decision and next state out, `now` passed in.
 *
 * Each accepted mint also advances a sequence number (`seq`) whose next value the store claims
 * with a `create()`; two callers that decided from the same state therefore collide on that
 * document and only one commits. That keeps the limits exact without transaction isolation.
 * Refunds are increments the store applies; nothing here computes a state to write back.
 */
import type { LimitReason } from "./contract";

/** One UTC day in milliseconds: quotas reset and records expire on this unit. */
export const DAY_MS = 86_400_000;

/** The network window is a fixed, epoch-aligned minute. */
export const NETWORK_WINDOW_MS = 60_000;

export const MIN_TTL_SECONDS = 10;
export const MAX_TTL_SECONDS = 7200;

export interface Limits {
  /** Minimum time between two mints by one user. */
  userMinIntervalMs: number;
  /** Mints per user per UTC day. */
  userDailyQuota: number;
  /** Mints per client network per {@link NETWORK_WINDOW_MS}. */
  networkPerWindow: number;
}

/**
 * A user's limit state as the store reads it at `now`: refunds already applied, anything
 * unreadable in the stored document already replaced by what a fresh document would say.
 */
export interface UserLimitState {
  /** The highest mint sequence number taken by this user; the next mint takes `seq + 1`. */
  seq: number;
  /** When the latest mint still charged was reserved (ms), or null if none. */
  lastMintMs: number | null;
  /** Charged mints on the UTC day of `now`. */
  dayCount: number;
}

/** What an accepted user mint takes. */
export interface UserMint {
  seq: number;
  reservedAtMs: number;
  /** The charged mint before this one, so a refund of this one can hand the interval back. */
  prevMintMs: number | null;
  /** Charged mints today, this one included. */
  dayCount: number;
}

/** A network's limit state as the store reads it at `now`. */
export interface NetworkLimitState {
  /** The highest slot sequence number taken from this network. */
  seq: number;
  /** Charged mints in the window of `now`. */
  windowCount: number;
}

/** What an accepted network mint takes. */
export interface NetworkMint {
  seq: number;
  windowStartMs: number;
}

export type Decision<S> =
  { ok: true; next: S } | { ok: false; reason: LimitReason; retryAfterSeconds: number };

/**
 * How far ahead of this instance's clock a stored mint time may be and still count as another
 * instance's clock skew. Further ahead it can only be a hand edit, which must not lock the user
 * out until that time.
 */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** The UTC calendar day of `nowMs`, as `YYYY-MM-DD`. */
export function utcDay(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}

/** The first millisecond of the UTC day after `nowMs`: when daily quotas reset. */
export function nextUtcMidnightMs(nowMs: number): number {
  return (Math.floor(nowMs / DAY_MS) + 1) * DAY_MS;
}

/** The start of the network window holding `nowMs`. */
export function networkWindowStartMs(nowMs: number): number {
  return Math.floor(nowMs / NETWORK_WINDOW_MS) * NETWORK_WINDOW_MS;
}

function secondsUntil(targetMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((targetMs - nowMs) / 1000));
}

/** Whether a user may mint now, and what the mint takes if so. */
export function decideUserMint(
  state: UserLimitState | undefined,
  limits: Limits,
  nowMs: number,
): Decision<UserMint> {
  const seq = state?.seq ?? 0;
  const stored = state?.lastMintMs ?? null;
  const last =
    stored !== null && stored > nowMs + limits.userMinIntervalMs + MAX_CLOCK_SKEW_MS
      ? null
      : stored;
  if (last !== null && nowMs < last + limits.userMinIntervalMs) {
    // A mint stamped by a clock ahead of this one blocks until its own time plus the interval;
    // the wait reported is exactly that.
    return {
      ok: false,
      reason: "user-interval",
      retryAfterSeconds: secondsUntil(last + limits.userMinIntervalMs, nowMs),
    };
  }
  const dayCount = state?.dayCount ?? 0;
  if (dayCount >= limits.userDailyQuota) {
    return {
      ok: false,
      reason: "daily-quota",
      retryAfterSeconds: secondsUntil(nextUtcMidnightMs(nowMs), nowMs),
    };
  }
  return {
    ok: true,
    next: { seq: seq + 1, reservedAtMs: nowMs, prevMintMs: last, dayCount: dayCount + 1 },
  };
}

/** Whether a client network may mint now, and what the mint takes if so. */
export function decideNetworkMint(
  state: NetworkLimitState | undefined,
  limits: Limits,
  nowMs: number,
): Decision<NetworkMint> {
  const windowStartMs = networkWindowStartMs(nowMs);
  if ((state?.windowCount ?? 0) >= limits.networkPerWindow) {
    return {
      ok: false,
      reason: "ip-rate",
      retryAfterSeconds: secondsUntil(windowStartMs + NETWORK_WINDOW_MS, nowMs),
    };
  }
  return { ok: true, next: { seq: (state?.seq ?? 0) + 1, windowStartMs } };
}

/** Clamps a configured secret lifetime to what OpenAI accepts (10–7200 s, whole seconds). */
export function boundTtlSeconds(seconds: number): number {
  if (!Number.isFinite(seconds)) return MIN_TTL_SECONDS;
  return Math.min(MAX_TTL_SECONDS, Math.max(MIN_TTL_SECONDS, Math.round(seconds)));
}
