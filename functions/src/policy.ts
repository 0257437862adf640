/**
 * The mint budget's rule, and the time and network-slot decisions both budgets share. Pure:
 * state in, decision and next state out, `now` passed in.
 *
 * Each accepted mint also advances a sequence number (`seq`) whose next value the store claims
 * with a `create()`; two callers that decided from the same state therefore collide on that
 * document and only one commits. A network's allowance per window is a set of numbered slots,
 * each claimed by one `create()`. That keeps the limits exact without transaction isolation.
 * Refunds are increments (and slot deletions) the store applies; nothing here computes a state
 * to write back.
 *
 * {@link mintRule} is what the reservation engine (reservations.ts) runs for a mint: which
 * fields of the user's document hold this state, and what a mint and its refund change there.
 */
import type { Fields, Refusal, ReservationRule, UserChange } from "./budget";
import { counterValue, finiteNumber, wholeNumber } from "./budget";
import { nextUtcDayMs, secondsUntil, utcDay } from "./calendar";
import type { LimitReason } from "voice-contract";

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

/**
 * One of a network's numbered slots in one window: slot `k` (1…the allowance) of the window
 * starting at `windowStartMs`. The store claims it with a `create()`, so a slot is held by at
 * most one caller and a window never holds more slots than its allowance.
 */
export interface NetworkSlot {
  windowStartMs: number;
  k: number;
}

export type Decision<S> =
  { ok: true; next: S } | { ok: false; reason: LimitReason; retryAfterSeconds: number };

/**
 * How far ahead of this instance's clock a stored mint time may be and still count as another
 * instance's clock skew. Further ahead it can only be a hand edit, which must not lock the user
 * out until that time.
 */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** The start of the network window holding `nowMs`. */
export function networkWindowStartMs(nowMs: number): number {
  return Math.floor(nowMs / NETWORK_WINDOW_MS) * NETWORK_WINDOW_MS;
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
      retryAfterSeconds: secondsUntil(nextUtcDayMs(nowMs), nowMs),
    };
  }
  return {
    ok: true,
    next: { seq: seq + 1, reservedAtMs: nowMs, prevMintMs: last, dayCount: dayCount + 1 },
  };
}

/**
 * Which slot of its network a caller should try to claim now, given the slots of the current
 * window known to be taken (none known: a fresh, optimistic try). Refuses once the allowance is
 * taken. `random` (in [0, 1)) spreads concurrent callers over the free slots, so that a burst
 * from one network collides on few of them.
 */
export function pickNetworkSlot(
  taken: ReadonlySet<number>,
  perWindow: number,
  nowMs: number,
  random: () => number,
): Decision<NetworkSlot> {
  const windowStartMs = networkWindowStartMs(nowMs);
  // Slots above a lowered allowance still count: the window holds at most `perWindow`.
  const free = perWindow - [...taken].filter((k) => k <= perWindow).length;
  if (free <= 0 || taken.size >= perWindow) {
    return {
      ok: false,
      reason: "ip-rate",
      retryAfterSeconds: secondsUntil(windowStartMs + NETWORK_WINDOW_MS, nowMs),
    };
  }
  const draw = () => 1 + Math.min(perWindow - 1, Math.floor(random() * perWindow));
  // Mostly free (the usual case, and a large allowance): draw until a free slot comes up.
  if (free * 2 >= perWindow) {
    for (let tries = 0; tries < 32; tries++) {
      const k = draw();
      if (!taken.has(k)) return { ok: true, next: { windowStartMs, k } };
    }
  }
  // Mostly taken: the n-th free slot, n drawn uniformly.
  let n = Math.min(free - 1, Math.floor(random() * free));
  for (let k = 1; k <= perWindow; k++) {
    if (taken.has(k)) continue;
    if (n-- === 0) return { ok: true, next: { windowStartMs, k } };
  }
  return { ok: true, next: { windowStartMs, k: perWindow } };
}

/** Clamps a configured secret lifetime to what OpenAI accepts (10–7200 s, whole seconds). */
export function boundTtlSeconds(seconds: number): number {
  if (!Number.isFinite(seconds)) return MIN_TTL_SECONDS;
  return Math.min(MAX_TTL_SECONDS, Math.max(MIN_TTL_SECONDS, Math.round(seconds)));
}

/** A per-day counter field of a user document: `d` and the UTC day's digits of `ms`. */
export function dayField(ms: number): string {
  return `d${utcDay(ms).replaceAll("-", "")}`;
}

/**
 * The mint state in a user document (`seq`, the latest mint `lastSeq`/`lastMintMs`/`prevMintMs`,
 * the latest refund `refundedSeq`, one counter per UTC day), read defensively: a hand-edited or
 * older document must not break minting.
 */
export function readMintState(data: Fields, nowMs: number): UserLimitState {
  const lastSeq = wholeNumber(data.lastSeq);
  const lastMintMs = finiteNumber(data.lastMintMs) ?? null;
  const refunded = lastSeq !== undefined && wholeNumber(data.refundedSeq) === lastSeq;
  return {
    seq: wholeNumber(data.seq) ?? 0,
    lastMintMs: refunded ? (finiteNumber(data.prevMintMs) ?? null) : lastMintMs,
    dayCount: counterValue(data[dayField(nowMs)]),
  };
}

/** What the caller learns of an accepted mint. */
export interface MintGrant {
  /** Mints left today after this one. */
  remaining: number;
}

/** The mint budget as the reservation engine runs it: one mint of `audit.model` for `uid`. */
export function mintRule(
  uid: string,
  limits: Limits,
  audit: { model: string; ttlSeconds: number },
): ReservationRule<UserLimitState, MintGrant, Refusal<LimitReason>> {
  return {
    read: readMintState,
    decide(state, nowMs) {
      const decided = decideUserMint(state, limits, nowMs);
      if (!decided.ok) return decided;
      const { next } = decided;
      return {
        ok: true,
        seq: next.seq,
        record: { uid, seq: next.seq, status: "reserved", ...audit },
        user: {
          set: { lastSeq: next.seq, lastMintMs: next.reservedAtMs, prevMintMs: next.prevMintMs },
          add: { [dayField(next.reservedAtMs)]: 1 },
        },
        grant: { remaining: Math.max(0, limits.userDailyQuota - next.dayCount) },
      };
    },
  };
}

/**
 * What a mint's refund changes in its user's document: one off the day it was charged to, and
 * `refundedSeq`, which hands its interval back when it is still the latest mint.
 */
export function mintRefund(mint: { seq: number; reservedAtMs: number }): UserChange {
  return { set: { refundedSeq: mint.seq }, add: { [dayField(mint.reservedAtMs)]: -1 } };
}
