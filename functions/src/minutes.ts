/**
 * The voice-minute budget of brokered calls. Pure: state in, decision and next state out, `now`
 * passed in.
 *
 * Each user has seconds per UTC day, seconds per UTC calendar month (0: no monthly cap) and a
 * longest single call. A call reserves its slice up front, the smallest of the three
 * remainders, charged to the day and month in which it was reserved (a call that crosses
 * midnight stays on the day it started); when it ends early the unused seconds go back to that
 * same day and month, unless they are already over. The deadline task hangs the call up when
 * the slice runs out.
 *
 * Exactness, as for mints (policy.ts): each reservation advances `seq`, and the reservation
 * engine (reservations.ts) `create()`s the call's record under that number in the same commit.
 * Two reservations decided from the same state collide on that document and only one commits,
 * even where transactions are not isolated. Refunds are idempotent because they are driven by
 * the call record's own transition to `ended` or `failed` (see {@link endRecord}).
 *
 * {@link minuteRule} is what the engine runs for a call: which fields of the user's document
 * (`voiceUsers/{uid}`) hold this state, and what a reservation and a refund change there.
 */

import type { Fields, Refusal, ReservationRule, UserChange } from "./budget";
import { counterValue, wholeNumber } from "./budget";
import type { MinuteLimitReason, SliceLimit } from "voice-contract";
import { nextUtcDayMs, nextUtcMonthMs, secondsUntil, utcDay, utcMonth } from "./calendar";
import { dayField } from "./policy";

/** The budget, in seconds. */
export interface MinuteLimits {
  /** Seconds per user per UTC day; at least 1. */
  dailySeconds: number;
  /** Seconds per user per UTC calendar month; 0 means no monthly cap. */
  monthlySeconds: number;
  /** The longest single call; at least 1. */
  maxCallSeconds: number;
}

/** Per-user budget state, one document per user. */
export interface MinuteState {
  /** Calls ever reserved by this user; never decreases. The next call's record id is `seq + 1`. */
  seq: number;
  /** The UTC day (`YYYY-MM-DD`) that `daySeconds` counts. */
  day: string;
  /** Seconds charged on `day`. */
  daySeconds: number;
  /** The UTC month (`YYYY-MM`) that `monthSeconds` counts. */
  month: string;
  /** Seconds charged in `month`. */
  monthSeconds: number;
}

/** Which budget refused a call; `details.reason` of the `resource-exhausted` error. */
export type { MinuteLimitReason };

/** What a reservation charged, as the call record keeps it. */
export interface Charge {
  /** The call's sequence number: its record's id. */
  seq: number;
  /** When the slice was reserved (unix ms): its day and month are the ones charged. */
  reservedAtMs: number;
  /** Seconds charged. */
  reservedSeconds: number;
}

/** Who or what ended a call. */
export type EndedBy =
  /** The user's page (the end-call callable). */
  | "user"
  /** The deadline task: the slice ran out. */
  | "deadline"
  /** Upstream ended it (the peer left, upstream's own cap); seen by whoever looked next. */
  | "upstream"
  /** The server, before the page got the call: its hang-up could not be scheduled. */
  | "server";

/**
 * A call's record, created at reservation. Each variant carries what exists in that phase:
 * - `reserved`: the slice is charged; upstream has not answered yet;
 * - `live`: upstream answered; the call has an id and a deadline;
 * - `failed`: upstream never opened it; the whole slice went back;
 * - `ended`: it ran and ended; unused seconds went back.
 */
export type CallRecord =
  | ({ status: "reserved"; uid: string } & Charge)
  | ({
      status: "live";
      uid: string;
      callId: string;
      startedAtMs: number;
      deadlineMs: number;
    } & Charge)
  | ({ status: "failed"; uid: string; failure: string } & Charge)
  | ({
      status: "ended";
      uid: string;
      callId: string;
      startedAtMs: number;
      deadlineMs: number;
      endedAtMs: number;
      endedBy: EndedBy;
      usedSeconds: number;
      /** `reservedSeconds - usedSeconds`: handed back unless its day or month was over. */
      unusedSeconds: number;
    } & Charge);

export type Reservation =
  | { ok: true; next: MinuteState; record: Extract<CallRecord, { status: "reserved" }> }
  | { ok: false; reason: MinuteLimitReason; retryAfterSeconds: number };

/** What is left, for the UI ("minutes left today, and this month when capped"). */
export interface Remaining {
  /** Seconds left today. */
  daySeconds: number;
  /** Start of the next UTC day (unix ms), when `daySeconds` is back to the daily budget. */
  dayResetsAtMs: number;
  /** Seconds left this month, or null without a monthly cap. */
  monthSeconds: number | null;
  /** Start of the next UTC month (unix ms), or null without a monthly cap. */
  monthResetsAtMs: number | null;
}

/** The state as of `nowMs`: counters of a past day or month read as zero. */
function current(state: MinuteState | undefined, nowMs: number): MinuteState {
  const day = utcDay(nowMs);
  const month = utcMonth(nowMs);
  return {
    seq: state?.seq ?? 0,
    day,
    daySeconds: state?.day === day ? Math.max(0, state.daySeconds) : 0,
    month,
    monthSeconds: state?.month === month ? Math.max(0, state.monthSeconds) : 0,
  };
}

/** Seconds left today and this month. */
export function remaining(
  state: MinuteState | undefined,
  limits: MinuteLimits,
  nowMs: number,
): Remaining {
  const now = current(state, nowMs);
  const capped = limits.monthlySeconds > 0;
  return {
    daySeconds: Math.max(0, limits.dailySeconds - now.daySeconds),
    dayResetsAtMs: nextUtcDayMs(nowMs),
    monthSeconds: capped ? Math.max(0, limits.monthlySeconds - now.monthSeconds) : null,
    monthResetsAtMs: capped ? nextUtcMonthMs(nowMs) : null,
  };
}

/**
 * Reserves a call's slice: the smallest of what is left today, this month and the longest
 * call. Refuses when today's or this month's budget is spent, naming the budget whose reset
 * comes last (the call cannot start before both are back).
 */
export function reserveCall(
  state: MinuteState | undefined,
  limits: MinuteLimits,
  uid: string,
  nowMs: number,
): Reservation {
  const now = current(state, nowMs);
  const left = remaining(state, limits, nowMs);
  const monthOut = left.monthSeconds !== null && left.monthSeconds <= 0;
  if (monthOut && left.monthResetsAtMs !== null) {
    return {
      ok: false,
      reason: "monthly-minutes",
      retryAfterSeconds: secondsUntil(left.monthResetsAtMs, nowMs),
    };
  }
  if (left.daySeconds <= 0) {
    return {
      ok: false,
      reason: "daily-minutes",
      retryAfterSeconds: secondsUntil(left.dayResetsAtMs, nowMs),
    };
  }
  const slice = Math.min(left.daySeconds, left.monthSeconds ?? Infinity, limits.maxCallSeconds);
  const seq = now.seq + 1;
  return {
    ok: true,
    next: {
      seq,
      day: now.day,
      daySeconds: now.daySeconds + slice,
      month: now.month,
      monthSeconds: now.monthSeconds + slice,
    },
    record: { status: "reserved", uid, seq, reservedAtMs: nowMs, reservedSeconds: slice },
  };
}

/**
 * Which bound set a reserved slice, from what is left right after the reservation: a budget
 * the slice spent to zero (the month first: its reset comes last), else the longest call. A
 * slice that both reached `maxCallSeconds` and emptied today's budget is the budget's: that
 * is what stops the user's next call too.
 */
export function sliceLimitedBy(after: Remaining): SliceLimit {
  if (after.monthSeconds !== null && after.monthSeconds <= 0) return "monthly-minutes";
  if (after.daySeconds <= 0) return "daily-minutes";
  return "call";
}

/** A call's record once upstream answered. */
export type LiveCall = Extract<CallRecord, { status: "live" }>;

/** The record a reserved charge stands for (the handler's held slice), still `reserved`. */
export function reservedRecord(
  charge: Charge & { uid: string },
): Extract<CallRecord, { status: "reserved" }> {
  const { uid, seq, reservedAtMs, reservedSeconds } = charge;
  return { status: "reserved", uid, seq, reservedAtMs, reservedSeconds };
}

/**
 * The live record of a reserved charge that upstream answered with `callId` at `nowMs`. Its
 * deadline is known before anything is written, so marking the call live and scheduling its
 * hang-up can go out together.
 */
export function liveCall(
  charge: Charge & { uid: string },
  callId: string,
  nowMs: number,
): LiveCall {
  return startCall(reservedRecord(charge), callId, nowMs);
}

/** The record once upstream answered: the call's id, and its deadline from now. */
export function startCall(
  record: Extract<CallRecord, { status: "reserved" }>,
  callId: string,
  nowMs: number,
): Extract<CallRecord, { status: "live" }> {
  return {
    ...record,
    status: "live",
    callId,
    startedAtMs: nowMs,
    deadlineMs: nowMs + record.reservedSeconds * 1000,
  };
}

/** Seconds a call used: whole seconds started, at most its slice. */
export function usedSeconds(
  startedAtMs: number,
  endedAtMs: number,
  reservedSeconds: number,
): number {
  const seconds = Math.ceil((endedAtMs - startedAtMs) / 1000);
  return Math.min(reservedSeconds, Math.max(0, seconds));
}

/**
 * Hands `seconds` of a charge back to the day and month it was charged to. A day or month that
 * is already over keeps its count: its budget is gone, and today's must not grow from it.
 */
export function refundSeconds(state: MinuteState, charge: Charge, seconds: number): MinuteState {
  const back = Math.max(0, Math.min(seconds, charge.reservedSeconds));
  const sameDay = state.day === utcDay(charge.reservedAtMs);
  const sameMonth = state.month === utcMonth(charge.reservedAtMs);
  return {
    ...state,
    daySeconds: sameDay ? Math.max(0, state.daySeconds - back) : state.daySeconds,
    monthSeconds: sameMonth ? Math.max(0, state.monthSeconds - back) : state.monthSeconds,
  };
}

export type Transition<R extends CallRecord> =
  { changed: true; state: MinuteState; record: R } | { changed: false };

/** A record's own transition, and the seconds it hands back to the day and month charged. */
export type RecordTransition<R extends CallRecord> =
  { changed: true; record: R; refundSeconds: number } | { changed: false };

/**
 * Upstream never opened the call: the whole slice goes back. Only a `reserved` record can
 * fail; anything else is left alone (`changed: false`), so a retried refund cannot pay twice.
 */
export function failRecord(
  record: CallRecord,
  failure: string,
): RecordTransition<Extract<CallRecord, { status: "failed" }>> {
  if (record.status !== "reserved") return { changed: false };
  const { uid, seq, reservedAtMs, reservedSeconds } = record;
  return {
    changed: true,
    refundSeconds: reservedSeconds,
    record: { status: "failed", uid, seq, reservedAtMs, reservedSeconds, failure },
  };
}

/**
 * The call ended at `endedAtMs`: the unused seconds go back. Only a `live` record can end; an
 * ended or failed one is left alone (`changed: false`), so the end-call callable and the
 * deadline task may both run, in either order, and the user is refunded at most once.
 */
export function endRecord(
  record: CallRecord,
  endedAtMs: number,
  endedBy: EndedBy,
): RecordTransition<Extract<CallRecord, { status: "ended" }>> {
  if (record.status !== "live") return { changed: false };
  const used = usedSeconds(record.startedAtMs, endedAtMs, record.reservedSeconds);
  const unused = record.reservedSeconds - used;
  return {
    changed: true,
    refundSeconds: unused,
    record: {
      ...record,
      status: "ended",
      endedAtMs,
      endedBy,
      usedSeconds: used,
      unusedSeconds: unused,
    },
  };
}

/** {@link failRecord}, with the refund applied to a user's state. */
export function failCall(
  state: MinuteState,
  record: CallRecord,
  failure: string,
): Transition<Extract<CallRecord, { status: "failed" }>> {
  return applied(state, record, failRecord(record, failure));
}

/** {@link endRecord}, with the refund applied to a user's state. */
export function endCall(
  state: MinuteState,
  record: CallRecord,
  endedAtMs: number,
  endedBy: EndedBy,
): Transition<Extract<CallRecord, { status: "ended" }>> {
  return applied(state, record, endRecord(record, endedAtMs, endedBy));
}

function applied<R extends CallRecord>(
  state: MinuteState,
  charge: Charge,
  transition: RecordTransition<R>,
): Transition<R> {
  if (!transition.changed) return { changed: false };
  const next = refundSeconds(state, charge, transition.refundSeconds);
  return { changed: true, state: next, record: transition.record };
}

/** What the deadline task does with a call. */
export type DeadlineAction =
  /** The slice is up (or the call's state is unknown): hang up, then end the record. */
  | { action: "hang-up" }
  /** Dispatched early (the emulator ignores the schedule): wait this long, then hang up. */
  | { action: "wait"; ms: number }
  /** Dispatched far too early to wait in one invocation: fail so that Cloud Tasks retries. */
  | { action: "retry-later"; inMs: number }
  /** Nothing to do: the call never opened or has ended. */
  | { action: "nothing"; why: "failed" | "ended" };

/**
 * Decides what the deadline task does. A record that is missing, or still `reserved` (the
 * callable stopped between upstream's answer and marking the call live, its start write failed
 * and so did the refund, or an early dispatch read it before the start write, which goes out
 * with the enqueue, landed), is hung up at the task's deadline all the same: ending a call
 * twice is harmless, leaving one open is not.
 */
export function decideDeadlineTask(
  task: { deadlineMs: number },
  record: CallRecord | undefined,
  nowMs: number,
  maxWaitMs: number,
): DeadlineAction {
  if (record?.status === "ended" || record?.status === "failed")
    return { action: "nothing", why: record.status };
  const deadlineMs = record?.status === "live" ? record.deadlineMs : task.deadlineMs;
  const early = deadlineMs - nowMs;
  if (early <= 0) return { action: "hang-up" };
  if (early <= maxWaitMs) return { action: "wait", ms: early };
  return { action: "retry-later", inMs: early };
}

/** Seconds charged in the UTC month of `ms`: `m` and the month's digits. */
export function minuteMonthField(ms: number): string {
  return `m${utcMonth(ms).replace("-", "")}`;
}

/**
 * The minute state in a user document (`seq`, seconds per UTC day `d20261130` and per UTC
 * month `m202611`), read defensively: a hand-edited value counts as nothing charged.
 */
export function readMinuteState(data: Fields, nowMs: number): MinuteState {
  return {
    seq: wholeNumber(data.seq) ?? 0,
    day: utcDay(nowMs),
    daySeconds: counterValue(data[dayField(nowMs)]),
    month: utcMonth(nowMs),
    monthSeconds: counterValue(data[minuteMonthField(nowMs)]),
  };
}

/** What the caller learns of a reserved slice. */
export interface MinuteGrant {
  reservedSeconds: number;
  /** What is left right after this reservation. */
  remaining: Remaining;
}

/** The minute budget as the reservation engine runs it: one call's slice for `uid`. */
export function minuteRule(
  uid: string,
  limits: MinuteLimits,
): ReservationRule<MinuteState, MinuteGrant, Refusal<MinuteLimitReason>> {
  return {
    read: readMinuteState,
    decide(state, nowMs) {
      const decided = reserveCall(state, limits, uid, nowMs);
      if (!decided.ok) return decided;
      const { record } = decided;
      return {
        ok: true,
        seq: record.seq,
        record,
        user: { add: minuteCharge(record, record.reservedSeconds) },
        grant: {
          reservedSeconds: record.reservedSeconds,
          remaining: remaining(decided.next, limits, nowMs),
        },
      };
    },
  };
}

/** Adds `seconds` to the day and month of a charge (negative: hands them back). */
function minuteCharge(charge: Charge, seconds: number): Record<string, number> {
  return {
    [dayField(charge.reservedAtMs)]: seconds,
    [minuteMonthField(charge.reservedAtMs)]: seconds,
  };
}

/**
 * What handing `seconds` of a charge back changes in its user's document: the day and month it
 * was charged to (a day already over keeps its count in effect: nothing reads it any more).
 */
export function minuteRefund(charge: Charge, seconds: number): UserChange {
  return seconds > 0 ? { add: minuteCharge(charge, -seconds) } : {};
}
