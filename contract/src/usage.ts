/**
 * The operator's usage data: `operatorUsage` answers only callers whose ID token carries the
 * admin claim (checked on the server; the page hiding its link is a courtesy).
 */

/** The operator callable's name (see `functions/src/index.ts`). */
export const OPERATOR_USAGE_FUNCTION = "operatorUsage";

/** The custom claim that makes a user an operator; set with `npm run plan -- admin …`. */
export const ADMIN_CLAIM = "voiceAdmin";

/** An `operatorUsage` request: the last `days` UTC days up to and including today (1–31, default 30). */
export interface OperatorUsageRequest {
  days?: number;
}

/** Calls and minutes of one plan on one day. */
export interface PlanDayUsage {
  calls: number;
  /** Seconds charged (used), after refunds. */
  usedSeconds: number;
  /** Seconds reserved and handed back (early ends, failed opens). */
  refundedSeconds: number;
  /** Estimated USD from the dated price tables, for the calls' APIs and models. */
  estimatedCostUsd: number;
}

/** One UTC day, by plan. */
export interface UsageDay {
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  byPlan: Record<string, PlanDayUsage>;
}

/** One of today's heaviest users. */
export interface TopUser {
  uid: string;
  /** The account's email when it has one. */
  email: string | null;
  plan: string;
  calls: number;
  usedSeconds: number;
}

/** A successful `operatorUsage` result. */
export interface OperatorUsageResponse {
  /** Oldest first, one entry per day of the range, days without calls included. */
  days: UsageDay[];
  /** Today's (UTC) top users by `usedSeconds`, at most 10. */
  topUsers: TopUser[];
  /** Refusals in the range by reason (the `RefusalReason`s and the other refusal kinds). */
  refusals: Record<string, number>;
  /** When the server read the records (epoch ms). */
  generatedAtMs: number;
}
