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
  /**
   * The server's clock when these figures were read (epoch ms): of two answers for one user,
   * the one read later is the newer, whichever arrives first. Pages keep the newest and share
   * it between their tabs.
   */
  readAtMs: number;
}

/** Whether `reason` names a minute budget (any of {@link MINUTE_LIMIT_REASONS}). */
export function isMinuteLimitReason(reason: unknown): reason is MinuteLimitReason {
  return (MINUTE_LIMIT_REASONS as readonly unknown[]).includes(reason);
}

/** How texts speak of one minute budget, and where a caller's minutes say when it is back. */
export interface MinuteBudgetWords {
  /** Whose minutes: "today's". */
  period: string;
  /** When it comes back, as a noun: "midnight UTC". */
  when: string;
  /** The same in a sentence: "at midnight UTC". */
  at: string;
  /** Its reset in a caller's minutes; null where they carry none. */
  resetsAtMs: (minutes: VoiceMinutes) => number | null;
  /** Its seconds left in a caller's minutes; null where it is off. */
  secondsLeft: (minutes: VoiceMinutes) => number | null;
}

/**
 * The words of each minute budget, one row per reason: the server's refusal texts and the
 * page's banners read them, so a new budget (a weekly cap) is one row here.
 */
export const MINUTE_BUDGETS: Record<MinuteLimitReason, MinuteBudgetWords> = {
  "daily-minutes": {
    period: "today's",
    when: "midnight UTC",
    at: "at midnight UTC",
    resetsAtMs: (minutes) => minutes.dayResetsAtMs,
    secondsLeft: (minutes) => minutes.daySeconds,
  },
  "monthly-minutes": {
    period: "this month's",
    when: "the 1st of the month, UTC",
    at: "on the 1st (UTC)",
    resetsAtMs: (minutes) => minutes.monthResetsAtMs,
    secondsLeft: (minutes) => minutes.monthSeconds,
  },
};

/**
 * What set a brokered call's slice: the longest single call, or the daily or monthly budget
 * that the slice spends to zero.
 */
export type SliceLimit = "call" | MinuteLimitReason;
