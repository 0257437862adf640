/**
 * Pure UTC calendar arithmetic shared by both budgets: quotas reset and records expire on UTC
 * days and months, and every wait a caller is told is whole seconds, at least one.
 */

/** One UTC day in milliseconds: quotas reset and records expire on this unit. */
export const DAY_MS = 86_400_000;

/** The UTC calendar day of `nowMs`, as `YYYY-MM-DD`. */
export function utcDay(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}

/** The UTC calendar month of `nowMs`, as `YYYY-MM`. */
export function utcMonth(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 7);
}

/** The first millisecond of the UTC day after `nowMs`: when daily quotas reset. */
export function nextUtcDayMs(nowMs: number): number {
  return (Math.floor(nowMs / DAY_MS) + 1) * DAY_MS;
}

/** The first millisecond of the UTC month after `nowMs`. */
export function nextUtcMonthMs(nowMs: number): number {
  const date = new Date(nowMs);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
}

/** Whole seconds from `nowMs` until `targetMs`, rounded up and at least 1: a wait to tell. */
export function secondsUntil(targetMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((targetMs - nowMs) / 1000));
}
