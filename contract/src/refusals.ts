/**
 * Why a callable refused, as its error's `details`, and the one user-facing text of each
 * refusal reason, shown by the client and sent by the server as the error's message.
 */
import type { RealtimeMode } from "./choices.js";
import type { VoiceApi } from "./live.js";
import {
  isMinuteLimitReason,
  MINUTE_BUDGETS,
  MINUTE_LIMIT_REASONS,
  type VoiceMinutes,
} from "./minutes.js";

/**
 * Why a mint was rate limited; `details.reason` of a `realtimeToken` `resource-exhausted`:
 * - `user-interval`: the same user minted less than `USER_MIN_INTERVAL_SECONDS` ago;
 * - `daily-quota`: the user used up `USER_DAILY_QUOTA` for the current UTC day;
 * - `ip-rate`: too many requests from the caller's network address in the current minute;
 * - `upstream-rate`: OpenAI itself rate limited the request (HTTP 429).
 */
export const LIMIT_REASONS = ["user-interval", "daily-quota", "ip-rate", "upstream-rate"] as const;
export type LimitReason = (typeof LIMIT_REASONS)[number];

/**
 * `details.reason` of a `realtimeCall` `resource-exhausted`: a spent budget, too many calls
 * from the caller's network this minute (`ip-rate`, `IP_CALLS_PER_MINUTE`), or OpenAI's 429.
 */
export const CALL_LIMIT_REASONS = [...MINUTE_LIMIT_REASONS, "ip-rate", "upstream-rate"] as const;
export type CallLimitReason = (typeof CALL_LIMIT_REASONS)[number];

/** Every reason a `resource-exhausted` refusal names, of either callable. */
export type RefusalReason = LimitReason | CallLimitReason;

/** A `resource-exhausted` refusal: why, and when a retry (or the budget) is back. */
export interface Refusal {
  reason: RefusalReason;
  /** Whole seconds until a retry can succeed (at least 1). */
  retryAfterSeconds: number;
}

/** `details` of a `resource-exhausted` error from `realtimeToken`. */
export interface RateLimitDetails extends Refusal {
  reason: LimitReason;
}

/** `details` of a `resource-exhausted` error from `realtimeCall`. */
export interface MinuteLimitDetails extends Refusal {
  reason: CallLimitReason;
  /** The caller's minutes, when the refusal concerns them (budgets and `ip-rate`). */
  minutes?: VoiceMinutes;
}

/** `details` of an `invalid-argument` error. */
export interface InvalidArgumentDetails {
  /** The offending request field, e.g. `"voice"`; `"(request)"` for the payload as a whole. */
  field: string;
}

/** `details` of the `failed-precondition` error of a callable whose mode is not served. */
export interface ModeNotServedDetails {
  reason: "mode-not-served";
  /** What the backend serves instead. */
  served: RealtimeMode[];
}

/**
 * `details` of the `failed-precondition` error of a `realtimeCall` whose `api` this backend
 * (`BROKERED_APIS`) or the caller's plan does not serve.
 */
export interface ApiNotServedDetails {
  reason: "api-not-served";
  /** What the caller may open instead; the first is the default. */
  served: VoiceApi[];
}

/**
 * `details.reason` of an `unavailable` error whose cause was OpenAI not answering the backend
 * within `OPENAI_TIMEOUT_MS`: the client then names OpenAI, not the backend, as the slow one.
 */
export const UPSTREAM_TIMEOUT_REASON = "upstream-timeout";

/** `details` of an `unavailable` error because OpenAI did not answer in time. */
export interface UpstreamTimeoutDetails {
  reason: typeof UPSTREAM_TIMEOUT_REASON;
}

/**
 * The user-facing text of a refusal. Rate limits say the wait in seconds; spent budgets say
 * it with {@link formatWait} and when they come back.
 */
export function refusalMessage(refusal: Refusal): string {
  const seconds = refusal.retryAfterSeconds;
  if (isMinuteLimitReason(refusal.reason)) {
    const budget = MINUTE_BUDGETS[refusal.reason];
    return `You have used ${budget.period} voice minutes. They come back ${budget.at}, in ${formatWait(seconds)}.`;
  }
  switch (refusal.reason) {
    case "user-interval":
      return `You are requesting tokens too fast. Try again in ${seconds} s.`;
    case "ip-rate":
      return `Too many calls from your network. Try again in ${seconds} s.`;
    case "upstream-rate":
      return `OpenAI is rate limiting this app. Try again in ${seconds} s.`;
    case "daily-quota":
      return `You have used today's realtime quota. It resets at midnight UTC, in ${formatWait(seconds)}.`;
  }
}

/** A wait for people: `45 s`, `12 min` (minutes rounded up), `3 h 5 min`. */
export function formatWait(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}
