/**
 * Rate-limit and quota decisions. Pure: state in, decision and next state out, `now` passed in.
 *
 * The store runs these inside a Firestore transaction. Each accepted mint also advances a
 * sequence number (`seq`) whose next value the store claims with a `create()`; two callers that
 * decided from the same state therefore collide on that document and only one commits. That keeps
 * the limits exact even on a Firestore that does not isolate transactions.
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

/** Per-user limit state, stored as one document per user. */
export interface UserLimitState {
  /** Number of mints ever reserved by this user; never decreases. */
  seq: number;
  /** When the latest charged mint was reserved (ms), or null if none. */
  lastMintMs: number | null;
  /** `lastMintMs` before the latest mint, so a failed mint can hand the interval back. */
  prevMintMs: number | null;
  /** The UTC day (`YYYY-MM-DD`) that `dayCount` counts. */
  day: string;
  /** Charged mints on `day`. */
  dayCount: number;
}

/** Per-network limit state, stored as one document per hashed network. */
export interface NetworkLimitState {
  /** Number of mints ever reserved from this network; never decreases. */
  seq: number;
  /** Start of the window that `count` counts (ms). */
  windowStartMs: number;
  /** Charged mints in that window. */
  count: number;
}

export type Decision<S> =
  { ok: true; next: S } | { ok: false; reason: LimitReason; retryAfterSeconds: number };

/** The UTC calendar day of `nowMs`, as `YYYY-MM-DD`. */
export function utcDay(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}

/** The first millisecond of the UTC day after `nowMs`: when daily quotas reset. */
export function nextUtcMidnightMs(nowMs: number): number {
  return (Math.floor(nowMs / DAY_MS) + 1) * DAY_MS;
}

function secondsUntil(targetMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((targetMs - nowMs) / 1000));
}

/** Whether a user may mint now, and their state after the mint if so. */
export function decideUserMint(
  state: UserLimitState | undefined,
  limits: Limits,
  nowMs: number,
): Decision<UserLimitState> {
  const today = utcDay(nowMs);
  const seq = state?.seq ?? 0;
  const last = state?.lastMintMs ?? null;
  if (last !== null && nowMs - last < limits.userMinIntervalMs) {
    // A clock behind the stored one must not turn into a wait longer than the interval.
    const wait = Math.min(last + limits.userMinIntervalMs, nowMs + limits.userMinIntervalMs);
    return { ok: false, reason: "user-interval", retryAfterSeconds: secondsUntil(wait, nowMs) };
  }
  const dayCount = state !== undefined && state.day === today ? state.dayCount : 0;
  if (dayCount >= limits.userDailyQuota) {
    return {
      ok: false,
      reason: "daily-quota",
      retryAfterSeconds: secondsUntil(nextUtcMidnightMs(nowMs), nowMs),
    };
  }
  return {
    ok: true,
    next: { seq: seq + 1, lastMintMs: nowMs, prevMintMs: last, day: today, dayCount: dayCount + 1 },
  };
}

/** Whether a client network may mint now, and its state after the mint if so. */
export function decideNetworkMint(
  state: NetworkLimitState | undefined,
  limits: Limits,
  nowMs: number,
): Decision<NetworkLimitState> {
  const windowStartMs = Math.floor(nowMs / NETWORK_WINDOW_MS) * NETWORK_WINDOW_MS;
  const seq = state?.seq ?? 0;
  const count = state !== undefined && state.windowStartMs === windowStartMs ? state.count : 0;
  if (count >= limits.networkPerWindow) {
    return {
      ok: false,
      reason: "ip-rate",
      retryAfterSeconds: secondsUntil(windowStartMs + NETWORK_WINDOW_MS, nowMs),
    };
  }
  return { ok: true, next: { seq: seq + 1, windowStartMs, count: count + 1 } };
}

/**
 * The user's state after handing back a mint reserved at `reservedAtMs` that never reached
 * the user. The sequence stays (its document exists); the quota and the interval are returned.
 */
export function refundUserMint(state: UserLimitState, reservedAtMs: number): UserLimitState {
  const sameDay = state.day === utcDay(reservedAtMs);
  // Only the latest mint can give its interval back; a later one has moved lastMintMs on.
  const isLatest = state.lastMintMs === reservedAtMs;
  return {
    seq: state.seq,
    lastMintMs: isLatest ? state.prevMintMs : state.lastMintMs,
    prevMintMs: isLatest ? null : state.prevMintMs,
    day: state.day,
    dayCount: sameDay ? Math.max(0, state.dayCount - 1) : state.dayCount,
  };
}

/** The network's state after handing back a mint reserved at `reservedAtMs`. */
export function refundNetworkMint(
  state: NetworkLimitState,
  reservedAtMs: number,
): NetworkLimitState {
  const sameWindow =
    state.windowStartMs === Math.floor(reservedAtMs / NETWORK_WINDOW_MS) * NETWORK_WINDOW_MS;
  return { ...state, count: sameWindow ? Math.max(0, state.count - 1) : state.count };
}

/** Clamps a configured secret lifetime to what OpenAI accepts (10–7200 s, whole seconds). */
export function boundTtlSeconds(seconds: number): number {
  if (!Number.isFinite(seconds)) return MIN_TTL_SECONDS;
  return Math.min(MAX_TTL_SECONDS, Math.max(MIN_TTL_SECONDS, Math.round(seconds)));
}
