/** Voice minutes of brokered calls: what is left, and which budget ran out. */

/**
 * Why a brokered call was refused or ended by the budget: today's (`daily-minutes`) or this
 * month's (`monthly-minutes`) voice minutes are spent.
 */
export const MINUTE_LIMIT_REASONS = ["daily-minutes", "monthly-minutes"] as const;
export type MinuteLimitReason = (typeof MINUTE_LIMIT_REASONS)[number];

/** The caller's voice minutes, in seconds, with when each budget comes back. */
export interface VoiceMinutes {
  /** Seconds left today (after this call's slice, in a `realtimeCall` result). */
  daySeconds: number;
  /** Start of the next UTC day (epoch ms). */
  dayResetsAtMs: number;
  /** Seconds left this month, or null when there is no monthly cap. */
  monthSeconds: number | null;
  /** Start of the next UTC month (epoch ms), or null without a monthly cap. */
  monthResetsAtMs: number | null;
}

/**
 * What set a brokered call's slice: the longest single call, or the daily or monthly budget
 * that the slice spends to zero.
 */
export type SliceLimit = "call" | MinuteLimitReason;
