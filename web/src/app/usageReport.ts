/*
 * The operator page's figures, from an `operatorUsage` answer: the chart's series, the tables'
 * rows and the totals, already formatted. Pure, so the page's numbers are unit-tested without a
 * DOM or a chart.
 */
import type { OperatorUsageResponse, PlanDayUsage, UsageDay } from "voice-contract";

/** Calls, minutes and cost summed over some days and plans. */
export interface UsageTotals {
  calls: number;
  usedSeconds: number;
  refundedSeconds: number;
  estimatedCostUsd: number;
}

const NO_USAGE: UsageTotals = { calls: 0, usedSeconds: 0, refundedSeconds: 0, estimatedCostUsd: 0 };

function add(a: UsageTotals, b: PlanDayUsage): UsageTotals {
  return {
    calls: a.calls + b.calls,
    usedSeconds: a.usedSeconds + b.usedSeconds,
    refundedSeconds: a.refundedSeconds + b.refundedSeconds,
    estimatedCostUsd: a.estimatedCostUsd + b.estimatedCostUsd,
  };
}

/** The totals of `days`, every plan together. */
export function totalsOf(days: readonly UsageDay[]): UsageTotals {
  return days.reduce((sum, day) => Object.values(day.byPlan).reduce(add, sum), NO_USAGE);
}

/**
 * The plans of `days`, heaviest first (by minutes over the range, then by name), each with its
 * totals: the legend's order, and the stack's from the bottom up.
 */
export function planTotals(days: readonly UsageDay[]): { plan: string; totals: UsageTotals }[] {
  const byPlan = new Map<string, UsageTotals>();
  for (const day of days) {
    for (const [plan, usage] of Object.entries(day.byPlan)) {
      byPlan.set(plan, add(byPlan.get(plan) ?? NO_USAGE, usage));
    }
  }
  return [...byPlan]
    .map(([plan, totals]) => ({ plan, totals }))
    .sort((a, b) => b.totals.usedSeconds - a.totals.usedSeconds || compare(a.plan, b.plan));
}

/** The stacked chart of minutes per day by plan. */
export interface ChartData {
  /** One per day, oldest first: `YYYY-MM-DD` (UTC). */
  days: string[];
  /** Heaviest first ({@link planTotals}): the bottom of the stack first. */
  plans: string[];
  /** `minutes[p][d]`: plan `plans[p]`'s minutes used on day `days[d]`. */
  minutes: number[][];
  /** `stacked[p][d]`: the minutes of plans `0..p` on day `d`, the top edge of plan p's bar. */
  stacked: number[][];
}

/** {@link ChartData} of `days` (the answer's days, oldest first). */
export function chartData(days: readonly UsageDay[]): ChartData {
  const plans = planTotals(days).map((p) => p.plan);
  const minutes = plans.map((plan) => days.map((day) => (day.byPlan[plan]?.usedSeconds ?? 0) / 60));
  const stacked: number[][] = [];
  minutes.forEach((series, p) => {
    const below = stacked[p - 1];
    stacked.push(series.map((value, d) => value + (below?.[d] ?? 0)));
  });
  return { days: days.map((day) => day.day), plans, minutes, stacked };
}

/** A row of the table of today's top users, formatted. */
export interface TopUserRow {
  /** The email, or the uid when the account has none. */
  who: string;
  uid: string;
  plan: string;
  calls: string;
  minutes: string;
}

/** The top-users table's rows, in the server's order (most minutes first). */
export function topUserRows(usage: OperatorUsageResponse): TopUserRow[] {
  return usage.topUsers.map((user) => ({
    who: user.email ?? user.uid,
    uid: user.uid,
    plan: user.plan,
    calls: formatCount(user.calls),
    minutes: formatMinutes(user.usedSeconds),
  }));
}

/** The refusals table's rows: most frequent first, then by reason; reasons never seen left out. */
export function refusalRows(usage: OperatorUsageResponse): { reason: string; count: string }[] {
  return Object.entries(usage.refusals)
    .filter(([, count]) => count > 0)
    .sort(([a, x], [b, y]) => y - x || compare(a, b))
    .map(([reason, count]) => ({ reason, count: formatCount(count) }));
}

/** The headline figures: the whole range and today (the last day of the answer). */
export interface UsageSummary {
  rangeDays: number;
  range: UsageTotals;
  today: UsageTotals;
  refusals: number;
}

export function summaryOf(usage: OperatorUsageResponse): UsageSummary {
  const last = usage.days.at(-1);
  return {
    rangeDays: usage.days.length,
    range: totalsOf(usage.days),
    today: last ? totalsOf([last]) : NO_USAGE,
    refusals: Object.values(usage.refusals).reduce((a, b) => a + b, 0),
  };
}

// Made once: the first Intl formatter of a page costs locale data (see ui/dom.ts).
const COUNT = new Intl.NumberFormat("en-US");
const MINUTES = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });
const USD = new Intl.NumberFormat("en-US", {
  style: "currency",
  currency: "USD",
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `1,234`. */
export function formatCount(value: number): string {
  return COUNT.format(value);
}

/** Seconds as minutes to a tenth: `0 min`, `0.5 min`, `1,234 min`. */
export function formatMinutes(seconds: number): string {
  return `${MINUTES.format(Math.round(seconds / 6) / 10)} min`;
}

/** `$12.34`; an amount that rounds to nothing but is not zero is `< $0.01`. */
export function formatUsd(usd: number): string {
  return usd > 0 && usd < 0.005 ? "< $0.01" : USD.format(usd);
}

/** `2026-12-07` (UTC) as `Dec 7`; anything else as it is. */
export function formatDay(day: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return day;
  const month = MONTHS[Number(match[2]) - 1];
  return month === undefined ? day : `${month} ${Number(match[3])}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
