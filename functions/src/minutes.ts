/**
 * The voice-minute budget of brokered calls. Pure: state in, decision and next state out, `now`
 * passed in.
 *
 * Each user has a budget of seconds per period, one row of {@link MINUTE_PERIODS} each (a UTC
 * day; a UTC calendar month, 0 for no monthly cap), and a longest single call. A call reserves
 * its slice up front, the smallest of the remainders, charged to the periods in which it was
 * reserved (a call that crosses midnight stays on the day it started); when it ends early the
 * unused seconds go back to those same periods, unless they are already over. The deadline
 * task hangs the call up when the slice runs out.
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
import {
  END_CLAIM_BOUND_SECONDS,
  type MinuteLimitReason,
  type SliceLimit,
  type VoiceApi,
} from "voice-contract";
import { nextUtcDayMs, nextUtcMonthMs, secondsUntil, utcDay, utcMonth } from "./calendar";
import { dayField } from "./policy";
import type { HangupOutcome } from "./upstream";

/**
 * One budget period: everything that names it is here, so a new period (a weekly cap) is one
 * row of {@link MINUTE_PERIODS}, and the limits, the stored counters, what is left, the slice,
 * the refund and the user document's fields follow from the rows.
 */
export interface MinutePeriod {
  /**
   * Names its figures: `day` is {@link MinuteState}'s `day` (which period) and `daySeconds`
   * (charged in it), and {@link Remaining}'s `daySeconds` and `dayResetsAtMs`.
   */
  readonly name: string;
  /** The refusal and slice reason when this budget is spent. */
  readonly reason: MinuteLimitReason;
  /** Its budget's name in {@link MinuteLimits}, in seconds. */
  readonly limit: string;
  /**
   * Whether a budget of 0 turns it off (what is left then reads as null). A period that cannot
   * be off always reports a number: its budget is at least 1.
   */
  readonly canBeOff: boolean;
  /** The period that `nowMs` falls in, as stored beside its count: `2026-11-30`. */
  key(nowMs: number): string;
  /** The first millisecond of the next period: when its budget is back. */
  nextResetMs(nowMs: number): number;
  /** The user document's counter of the period of `ms`: `d20261130`. */
  field(ms: number): string;
}

/** Seconds charged in the UTC month of `ms`: `m` and the month's digits. */
export function minuteMonthField(ms: number): string {
  return `m${utcMonth(ms).replace("-", "")}`;
}

/**
 * The periods whose budgets a call is charged to, one row each. Their order does not matter:
 * which spent budget is named is decided by when each is back ({@link lastBack}).
 */
export const MINUTE_PERIODS = [
  {
    name: "day",
    reason: "daily-minutes",
    limit: "dailySeconds",
    canBeOff: false,
    key: utcDay,
    nextResetMs: nextUtcDayMs,
    // Named like the mints' day counter (policy.ts): theirs are in other user documents.
    field: dayField,
  },
  {
    name: "month",
    reason: "monthly-minutes",
    limit: "monthlySeconds",
    canBeOff: true,
    key: utcMonth,
    nextResetMs: nextUtcMonthMs,
    field: minuteMonthField,
  },
] as const satisfies readonly MinutePeriod[];

type Period = (typeof MINUTE_PERIODS)[number];

/** What is left of a period's budget: a number, or null for one that is off. */
type Figure<P extends Period> = P["canBeOff"] extends true ? number | null : number;

/** Spells out an intersection, so that editors show one object type. */
type Flat<T> = { [K in keyof T]: T[K] };

/**
 * The budget, in seconds: each period's under its row's `limit` (`dailySeconds`, at least 1;
 * `monthlySeconds`, 0 for no monthly cap), and the longest single call (at least 1).
 */
export type MinuteLimits = Flat<
  { [P in Period as P["limit"]]: number } & { maxCallSeconds: number }
>;

/**
 * Per-user budget state, one document per user: `seq`, the calls ever reserved by this user
 * (never decreases; the next call's record id is `seq + 1`), and for each period which one is
 * counted (`day`: `2026-11-30`, `month`: `2026-11`) and the seconds charged in it
 * (`daySeconds`, `monthSeconds`).
 */
export type MinuteState = Flat<
  { seq: number } & { [P in Period as P["name"]]: string } & {
    [P in Period as `${P["name"]}Seconds`]: number;
  }
>;

/** Which budget refused a call; `details.reason` of the `resource-exhausted` error. */
export type { MinuteLimitReason };

/** What a reservation charged, as the call record keeps it. */
export interface Charge {
  /** The call's sequence number: its record's id. */
  seq: number;
  /** When the slice was reserved (unix ms): its periods (day, month) are the ones charged. */
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
 * On a settled record (`failed`, `ended`) whose call upstream had opened and whose hang-up was
 * not confirmed when it was settled: the call may still run, so the deadline task still hangs
 * it up ({@link decideDeadlineTask}). Absent when the call is known to be over.
 */
export interface MayRunOn {
  upstreamOpen?: true;
}

/**
 * Where a call runs, on its record, so that its end and its deadline task hang it up there.
 * Absent on records written before calls could run on GPT-Live: those are Realtime calls.
 */
export interface CallUpstream {
  api?: VoiceApi;
  /** The model the call runs. */
  model?: string;
}

/**
 * A call's record, created at reservation. Each variant carries what exists in that phase:
 * - `reserved`: the slice is charged; upstream has not answered yet;
 * - `live`: upstream answered; the call has an id and a deadline;
 * - `failed`: the caller never got the call (upstream never opened it, or it could not be
 *   marked live); the whole slice went back;
 * - `ended`: it ran and ended; unused seconds went back.
 *
 * `failed` and `ended` are settled: nothing changes them again. Only `reserved` becomes `live`
 * (the start write is refused once the record is settled, minuteStore.ts).
 */
export type CallRecord =
  | ({ status: "reserved"; uid: string } & Charge)
  | ({
      status: "live";
      uid: string;
      callId: string;
      startedAtMs: number;
      deadlineMs: number;
    } & Charge &
      CallUpstream)
  | ({ status: "failed"; uid: string; failure: string } & Charge & MayRunOn)
  | ({
      status: "ended";
      uid: string;
      callId: string;
      startedAtMs: number;
      deadlineMs: number;
      endedAtMs: number;
      endedBy: EndedBy;
      usedSeconds: number;
      /** `reservedSeconds - usedSeconds`: handed back to the periods not yet over. */
      unusedSeconds: number;
      /** Upstream's own count of the call's seconds, when it gave one: the charge. */
      upstreamSeconds?: number;
    } & Charge &
      CallUpstream &
      MayRunOn);

export type Reservation =
  | { ok: true; next: MinuteState; record: Extract<CallRecord, { status: "reserved" }> }
  | { ok: false; reason: MinuteLimitReason; retryAfterSeconds: number };

/**
 * What is left, for the UI ("minutes left today, and this month when capped"): for each period
 * the seconds left in it (`daySeconds`) and when it is back to its budget, the start of the
 * next period in unix ms (`dayResetsAtMs`); both null for a period whose budget is off.
 */
export type Remaining = Flat<
  { [P in Period as `${P["name"]}Seconds`]: Figure<P> } & {
    [P in Period as `${P["name"]}ResetsAtMs`]: Figure<P>;
  } & {
    /** The `nowMs` the state was read at: orders two answers' figures (the wire's `readAtMs`). */
    readAtMs: number;
  }
>;

/** One period's counter: which period, and the seconds charged in it. */
interface Counter {
  key: string;
  seconds: number;
}

/** A period's counter in `state`. */
function counterOf(state: MinuteState, period: Period): Counter {
  return { key: state[period.name], seconds: state[`${period.name}Seconds` as const] };
}

/** A state of `seq` with each period's counter from `counterFor`. */
function stateOf(seq: number, counterFor: (period: Period) => Counter): MinuteState {
  const state: Record<string, string | number> = { seq };
  for (const period of MINUTE_PERIODS) {
    const { key, seconds } = counterFor(period);
    state[period.name] = key;
    state[`${period.name}Seconds`] = seconds;
  }
  // Each period's two fields are set just above: the shape MinuteState derives from the rows.
  return state as MinuteState;
}

/** The state as of `nowMs`: counters of a past period read as zero. */
function current(state: MinuteState | undefined, nowMs: number): MinuteState {
  return stateOf(state?.seq ?? 0, (period) => {
    const key = period.key(nowMs);
    const stored = state === undefined ? undefined : counterOf(state, period);
    return { key, seconds: stored?.key === key ? Math.max(0, stored.seconds) : 0 };
  });
}

/** A period's budget, or null when it is off. */
function budgetOf(period: Period, limits: MinuteLimits): number | null {
  const budget = limits[period.limit];
  return period.canBeOff && budget <= 0 ? null : budget;
}

/** Seconds left in each period, with when each is back. */
export function remaining(
  state: MinuteState | undefined,
  limits: MinuteLimits,
  nowMs: number,
): Remaining {
  const now = current(state, nowMs);
  const left: Record<string, number | null> = { readAtMs: nowMs };
  for (const period of MINUTE_PERIODS) {
    const budget = budgetOf(period, limits);
    const charged = counterOf(now, period).seconds;
    left[`${period.name}Seconds`] = budget === null ? null : Math.max(0, budget - charged);
    left[`${period.name}ResetsAtMs`] = budget === null ? null : period.nextResetMs(nowMs);
  }
  // Null only for a period that can be off, which is what Remaining's types say.
  return left as Remaining;
}

/** What is left of one period's budget in `left`, with when it is back; null when off. */
function leftIn(left: Remaining, period: Period): { seconds: number; resetsAtMs: number } | null {
  const seconds = left[`${period.name}Seconds` as const];
  const resetsAtMs = left[`${period.name}ResetsAtMs` as const];
  return seconds === null || resetsAtMs === null ? null : { seconds, resetsAtMs };
}

/** A spent budget and when it is back. */
export interface SpentBudget {
  reason: MinuteLimitReason;
  /** When this budget is back (unix ms). */
  resetsAtMs: number;
  /** The reset after that one: of two budgets back at once, the longer period's comes later. */
  thenResetsAtMs: number;
}

/**
 * Which spent budget to name: the one back last, since a call cannot start before all are back.
 * Budgets back at the same moment (a month that ends at midnight) name the longer period: it
 * is the one that stays the caller's limit for longer afterwards.
 */
export function lastBack(spent: readonly SpentBudget[]): SpentBudget | undefined {
  let last: SpentBudget | undefined;
  for (const budget of spent) {
    const later =
      last === undefined ||
      budget.resetsAtMs > last.resetsAtMs ||
      (budget.resetsAtMs === last.resetsAtMs && budget.thenResetsAtMs > last.thenResetsAtMs);
    if (later) last = budget;
  }
  return last;
}

/** The budgets spent in `left`. */
function spentIn(left: Remaining): SpentBudget[] {
  const spent: SpentBudget[] = [];
  for (const period of MINUTE_PERIODS) {
    const figure = leftIn(left, period);
    if (figure === null || figure.seconds > 0) continue;
    const { resetsAtMs } = figure;
    spent.push({
      reason: period.reason,
      resetsAtMs,
      thenResetsAtMs: period.nextResetMs(resetsAtMs),
    });
  }
  return spent;
}

/**
 * Reserves a call's slice: the smallest of what is left in each period and the longest call.
 * Refuses when a period's budget is spent, naming the one back last ({@link lastBack}).
 */
export function reserveCall(
  state: MinuteState | undefined,
  limits: MinuteLimits,
  uid: string,
  nowMs: number,
): Reservation {
  const now = current(state, nowMs);
  const left = remaining(state, limits, nowMs);
  const out = lastBack(spentIn(left));
  if (out !== undefined) {
    return {
      ok: false,
      reason: out.reason,
      retryAfterSeconds: secondsUntil(out.resetsAtMs, nowMs),
    };
  }
  let slice = limits.maxCallSeconds;
  for (const period of MINUTE_PERIODS)
    slice = Math.min(slice, leftIn(left, period)?.seconds ?? Infinity);
  const seq = now.seq + 1;
  return {
    ok: true,
    next: stateOf(seq, (period) => {
      const { key, seconds } = counterOf(now, period);
      return { key, seconds: seconds + slice };
    }),
    record: { status: "reserved", uid, seq, reservedAtMs: nowMs, reservedSeconds: slice },
  };
}

/**
 * Which bound set a reserved slice, from what is left right after the reservation: a budget
 * the slice spent to zero (the one back last, as a refusal names it), else the longest call.
 * A slice that both reached `maxCallSeconds` and emptied a budget is the budget's: that is
 * what stops the user's next call too.
 */
export function sliceLimitedBy(after: Remaining): SliceLimit {
  return lastBack(spentIn(after))?.reason ?? "call";
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
  upstream: CallUpstream = {},
): LiveCall {
  return { ...startCall(reservedRecord(charge), callId, nowMs), ...upstream };
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
 * When a live call counts as ended, for its charge, as of its end request's `nowMs` (the
 * server has just hung it up). A page that says it ended the call `endedAfterSeconds` after it
 * opened is charged to then, but never to earlier than {@link END_CLAIM_BOUND_SECONDS} before
 * `nowMs`: a page that misstates it saves at most that much, while a truthful one is not
 * charged for the time its request took to arrive. Without a claim the call ended at `nowMs`.
 * Always within [`startedAtMs`, `nowMs`].
 */
export function claimedEndMs(
  startedAtMs: number,
  endedAfterSeconds: number | undefined,
  nowMs: number,
): number {
  if (nowMs <= startedAtMs) return startedAtMs;
  if (endedAfterSeconds === undefined) return nowMs;
  const earliest = Math.max(startedAtMs, nowMs - END_CLAIM_BOUND_SECONDS * 1000);
  return Math.min(nowMs, Math.max(earliest, startedAtMs + endedAfterSeconds * 1000));
}

/**
 * Hands `seconds` of a charge back to the periods it was charged to. A period that is already
 * over keeps its count: its budget is gone, and the current one must not grow from it.
 */
export function refundSeconds(state: MinuteState, charge: Charge, seconds: number): MinuteState {
  const back = Math.max(0, Math.min(seconds, charge.reservedSeconds));
  return stateOf(state.seq, (period) => {
    const { key, seconds: charged } = counterOf(state, period);
    const same = key === period.key(charge.reservedAtMs);
    return { key, seconds: same ? Math.max(0, charged - back) : charged };
  });
}

export type Transition<R extends CallRecord> =
  { changed: true; state: MinuteState; record: R } | { changed: false };

/** A record's own transition, and the seconds it hands back to the periods charged. */
export type RecordTransition<R extends CallRecord> =
  { changed: true; record: R; refundSeconds: number } | { changed: false };

/**
 * Upstream never opened the call: the whole slice goes back. Only a `reserved` record can
 * fail; anything else is left alone (`changed: false`), so a retried refund cannot pay twice.
 */
export function failRecord(
  record: CallRecord,
  failure: string,
  mayRunOn: MayRunOn = {},
): RecordTransition<Extract<CallRecord, { status: "failed" }>> {
  if (record.status !== "reserved") return { changed: false };
  const { uid, seq, reservedAtMs, reservedSeconds } = record;
  return {
    changed: true,
    refundSeconds: reservedSeconds,
    record: {
      status: "failed",
      uid,
      seq,
      reservedAtMs,
      reservedSeconds,
      failure,
      ...(mayRunOn.upstreamOpen === true ? { upstreamOpen: true } : {}),
    },
  };
}

/**
 * The call ended at `endedAtMs`: the unused seconds go back. Only a `live` record can end; an
 * ended or failed one is left alone (`changed: false`), so the end-call callable and the
 * deadline task may both run, in either order, and the user is refunded at most once.
 * `upstreamSeconds`, upstream's own count of the call (a Live session's usage), is the charge
 * where given: whole seconds started, at most the slice; else the time from start to end.
 */
export function endRecord(
  record: CallRecord,
  endedAtMs: number,
  endedBy: EndedBy,
  upstreamSeconds?: number,
): RecordTransition<Extract<CallRecord, { status: "ended" }>> {
  if (record.status !== "live") return { changed: false };
  const used =
    upstreamSeconds === undefined
      ? usedSeconds(record.startedAtMs, endedAtMs, record.reservedSeconds)
      : Math.min(record.reservedSeconds, Math.max(0, Math.ceil(upstreamSeconds)));
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
      ...(upstreamSeconds !== undefined ? { upstreamSeconds } : {}),
    },
  };
}

/** {@link failRecord}, with the refund applied to a user's state. */
export function failCall(
  state: MinuteState,
  record: CallRecord,
  failure: string,
  mayRunOn: MayRunOn = {},
): Transition<Extract<CallRecord, { status: "failed" }>> {
  return applied(state, record, failRecord(record, failure, mayRunOn));
}

/** {@link endRecord}, with the refund applied to a user's state. */
export function endCall(
  state: MinuteState,
  record: CallRecord,
  endedAtMs: number,
  endedBy: EndedBy,
  upstreamSeconds?: number,
): Transition<Extract<CallRecord, { status: "ended" }>> {
  return applied(state, record, endRecord(record, endedAtMs, endedBy, upstreamSeconds));
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
  /** Nothing to do: the call is known to be over (it never opened, or its end was confirmed). */
  | { action: "nothing"; why: "failed" | "ended" };

/**
 * Decides what the deadline task does. A record that is missing, or still `reserved` (the
 * callable stopped between upstream's answer and marking the call live, its start write failed
 * and so did the refund, or an early dispatch read it before the start write, which goes out
 * with the enqueue, landed), is hung up at the task's deadline all the same: ending a call
 * twice is harmless, leaving one open is not. So is a settled record that says its call may
 * still run ({@link MayRunOn}): the task exists because upstream opened the call, and only a
 * confirmed hang-up stands it down.
 */
export function decideDeadlineTask(
  task: { deadlineMs: number },
  record: CallRecord | undefined,
  nowMs: number,
  maxWaitMs: number,
): DeadlineAction {
  if ((record?.status === "ended" || record?.status === "failed") && !record.upstreamOpen)
    return { action: "nothing", why: record.status };
  const deadlineMs = record?.status === "live" ? record.deadlineMs : task.deadlineMs;
  const early = deadlineMs - nowMs;
  if (early <= 0) return { action: "hang-up" };
  if (early <= maxWaitMs) return { action: "wait", ms: early };
  return { action: "retry-later", inMs: early };
}

/**
 * How often the deadline task asks again when upstream answers its hang-up with 404: Cloud
 * Tasks' retry count of the attempt that may take the 404 as final.
 */
export const NOT_FOUND_RETRIES = 3;

/** What the deadline task does after its hang-up. */
export type AfterHangup =
  /** End the record (nothing is refunded at the deadline: the slice is used up). */
  | { action: "end"; confirmed: boolean }
  /** Ask again later (Cloud Tasks' retry). */
  | { action: "retry" };

/**
 * After the deadline task's hang-up: a 2xx (`ended`) confirms the end. A 404 (`not-found`:
 * upstream knows no call of that id here) does not prove the call is over, so it is asked again
 * on the task's next {@link NOT_FOUND_RETRIES} attempts; after that nothing more can be done
 * with that id, and the record is ended unconfirmed (logged). `retryCount` is Cloud Tasks'
 * (0 on the first attempt; unknown counts as 0).
 */
export function afterDeadlineHangup(
  outcome: HangupOutcome,
  retryCount: number | undefined,
): AfterHangup {
  if (outcome === "ended") return { action: "end", confirmed: true };
  if ((retryCount ?? 0) < NOT_FOUND_RETRIES) return { action: "retry" };
  return { action: "end", confirmed: false };
}

/**
 * How long after its deadline a record still `reserved` is left to the request that opened the
 * call. That request gives up on its start write by the deadline at the latest, hangs the call
 * up and hands the slice back (callOpen.ts); the callable runs at most 30 s (config.ts), which
 * this outlasts. A record still `reserved` after it was left by a request that stopped, and is
 * charged its whole slice.
 */
export const OPENER_GRACE_MS = 60_000;

/**
 * Whether the deadline task, having hung the call up, leaves the record to its opener for now
 * (and asks again later): it is still `reserved` within {@link OPENER_GRACE_MS} of the
 * deadline. Otherwise the task ending it first would charge the whole slice of a call whose
 * caller was told `unavailable`.
 */
export function leaveToOpener(
  record: CallRecord | undefined,
  deadlineMs: number,
  nowMs: number,
): boolean {
  return record?.status === "reserved" && nowMs < deadlineMs + OPENER_GRACE_MS;
}

/**
 * The minute state in a user document (`seq`, and the seconds charged in each period under its
 * row's field: per UTC day `d20261130`, per UTC month `m202611`), read defensively: a
 * hand-edited value counts as nothing charged.
 */
export function readMinuteState(data: Fields, nowMs: number): MinuteState {
  return stateOf(wholeNumber(data.seq) ?? 0, (period) => ({
    key: period.key(nowMs),
    seconds: counterValue(data[period.field(nowMs)]),
  }));
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

/** Adds `seconds` to each period of a charge (negative: hands them back). */
function minuteCharge(charge: Charge, seconds: number): Record<string, number> {
  return Object.fromEntries(
    MINUTE_PERIODS.map((period) => [period.field(charge.reservedAtMs), seconds]),
  );
}

/**
 * What handing `seconds` of a charge back changes in its user's document: the periods it was
 * charged to (a period already over keeps its count in effect: nothing reads it any more).
 */
export function minuteRefund(charge: Charge, seconds: number): UserChange {
  return seconds > 0 ? { add: minuteCharge(charge, -seconds) } : {};
}

/**
 * How long after its slice would have ended a record still `reserved` counts as stranded: by
 * then the handler that reserved it is long gone, and the deadline task of any call it did open
 * has run and given up retrying (its retries span about this long), so failing the record
 * cannot leave a call running that nobody would hang up.
 */
export const STRANDED_AFTER_MS = 30 * 60_000;

/**
 * A reservation nobody will settle: still `reserved` {@link STRANDED_AFTER_MS} after its
 * slice would have ended (its commit landed after the caller was answered `unavailable`, and
 * the instance stopped before settling it). Its whole slice goes back.
 */
export function isStranded(record: CallRecord, nowMs: number): boolean {
  return (
    record.status === "reserved" &&
    nowMs >= record.reservedAtMs + record.reservedSeconds * 1000 + STRANDED_AFTER_MS
  );
}
