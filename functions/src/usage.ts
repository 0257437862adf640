/**
 * The operator's usage figures, pure: call and mint records (or the kept rollups of days that
 * can no longer change) and the refusal counters in, per-day per-plan calls, seconds and
 * estimated cost, top users and refusals by reason out.
 * `npm run usage` (scripts/usage.ts) and the `operatorUsage` callable (operatorUsage.ts) both
 * read the records with usageStore.ts and total them here, so they print the same figures.
 *
 * A call counts on the UTC day of its reservation, as the minute budget charges it
 * (minutes.ts). Its seconds, by its record's phase:
 * - `ended`: `usedSeconds` used, `unusedSeconds` refunded;
 * - `failed` (upstream never opened it, or its reservation was stranded): not a call; its whole
 *   slice refunded;
 * - `reserved` or `live` (still running, or stranded until the user's next visit): its whole
 *   slice used, as the budget holds it until the call ends.
 */
import {
  estimateCallCostUsd,
  type OperatorUsageResponse,
  type PlanDayUsage,
  type VoiceApi,
} from "voice-contract";
import { isVoiceApi } from "voice-contract";
import { DAY_MS, utcDay } from "./calendar";
import { readRecord } from "./minuteStore";

/** The plan of records written before records kept their plan. Plan names cannot hold `(`. */
export const UNRECORDED_PLAN = "(unrecorded)";

/** The model of records that name none: no price table knows it. */
export const UNKNOWN_MODEL = "(unknown)";

/** The most days one report covers. */
export const MAX_USAGE_DAYS = 366;

/** A range of whole UTC days, both ends included. */
export interface DayRange {
  from: string;
  to: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Whether `day` is a real `YYYY-MM-DD` date. */
export function isDay(day: string): boolean {
  return DAY.test(day) && utcDay(Date.parse(day)) === day;
}

/**
 * The range from `from` to `to`, checked: real dates, in order, at most {@link MAX_USAGE_DAYS}.
 * Throws an Error whose message says what to fix.
 */
export function dayRange(from: string, to: string): DayRange {
  for (const [name, day] of [
    ["from", from],
    ["to", to],
  ] as const)
    if (!isDay(day)) throw new Error(`${name} must be a date YYYY-MM-DD, got "${day}"`);
  const days = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1;
  if (days < 1) throw new Error(`from (${from}) is after to (${to})`);
  if (days > MAX_USAGE_DAYS) throw new Error(`at most ${MAX_USAGE_DAYS} days at once, got ${days}`);
  return { from, to };
}

/** The last `days` UTC days up to and including the day of `nowMs`. */
export function lastDays(days: number, nowMs: number): DayRange {
  return { from: utcDay(nowMs - (days - 1) * DAY_MS), to: utcDay(nowMs) };
}

/** The range's first millisecond and the first one after it. */
export function rangeMs(range: DayRange): { fromMs: number; toMs: number } {
  return { fromMs: Date.parse(range.from), toMs: Date.parse(range.to) + DAY_MS };
}

/** Every day of the range, oldest first. */
export function daysOf(range: DayRange): string[] {
  const { fromMs, toMs } = rangeMs(range);
  const days: string[] = [];
  for (let at = fromMs; at < toMs; at += DAY_MS) days.push(utcDay(at));
  return days;
}

/** A call record as usage reads it. */
export interface UsageCall {
  uid: string;
  plan: string;
  api: VoiceApi;
  model: string;
  /** Whether it counts as a call (everything but a `failed` record). */
  counted: boolean;
  /** Still `reserved` or `live`: its whole slice counts as used until it ends. */
  open: boolean;
  reservedAtMs: number;
  usedSeconds: number;
  refundedSeconds: number;
}

/** A mint record as usage reads it. */
export interface UsageMint {
  uid: string;
  plan: string;
  model: string;
  /** Handed back (its secret never reached the caller): not counted. */
  refunded: boolean;
  createdAtMs: number;
}

/** One refusal counter document. */
export interface RefusalTally {
  day: string;
  reason: string;
  count: number;
}

function text(value: unknown, fallback: string): string {
  return typeof value === "string" && value !== "" ? value : fallback;
}

/** A stored call record, or undefined when it is not one (minuteStore.ts's reader decides its phase). */
export function readUsageCall(data: Record<string, unknown>): UsageCall | undefined {
  const record = readRecord(data);
  if (record === undefined) return undefined;
  const base = {
    uid: record.uid,
    plan: text(data.plan, UNRECORDED_PLAN),
    // Records from before the API was kept are all Realtime calls.
    api: isVoiceApi(data.api) ? data.api : ("realtime" as const),
    model: text(data.model, UNKNOWN_MODEL),
    reservedAtMs: record.reservedAtMs,
  };
  switch (record.status) {
    case "failed":
      return {
        ...base,
        counted: false,
        open: false,
        usedSeconds: 0,
        refundedSeconds: record.reservedSeconds,
      };
    case "ended":
      return {
        ...base,
        counted: true,
        open: false,
        usedSeconds: record.usedSeconds,
        refundedSeconds: record.unusedSeconds,
      };
    default:
      return {
        ...base,
        counted: true,
        open: true,
        usedSeconds: record.reservedSeconds,
        refundedSeconds: 0,
      };
  }
}

/** Epoch ms of a Firestore Timestamp (anything with `toMillis()`), or undefined. */
function millis(value: unknown): number | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const toMillis = (value as { toMillis?: unknown }).toMillis;
  if (typeof toMillis !== "function") return undefined;
  const ms: unknown = toMillis.call(value);
  return typeof ms === "number" && Number.isFinite(ms) ? ms : undefined;
}

/** A stored mint record, or undefined when it is not one. */
export function readUsageMint(data: Record<string, unknown>): UsageMint | undefined {
  const createdAtMs = millis(data.createdAt);
  if (typeof data.uid !== "string" || createdAtMs === undefined) return undefined;
  return {
    uid: data.uid,
    plan: text(data.plan, UNRECORDED_PLAN),
    model: text(data.model, UNKNOWN_MODEL),
    refunded: data.status === "failed",
    createdAtMs,
  };
}

/** A refusal counter, or undefined when it is not one. */
export function readRefusalTally(data: Record<string, unknown>): RefusalTally | undefined {
  const { day, reason, count } = data;
  if (typeof day !== "string" || typeof reason !== "string") return undefined;
  if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 0) return undefined;
  return { day, reason, count };
}

/** One plan's figures on one day (or over the range): the contract's, and the mints. */
export interface PlanUsage extends PlanDayUsage {
  /** Secrets minted (refunded mints not counted); their sessions' cost is not known here. */
  mints: number;
  /** Used seconds of models no price table knows, left out of `estimatedCostUsd`. */
  unpricedSeconds: number;
}

/** A user's figures over a set of calls. */
export interface UserUsage {
  uid: string;
  /** The plan of the user's latest call among them. */
  plan: string;
  calls: number;
  usedSeconds: number;
}

/** Everything `npm run usage` prints. */
export interface UsageReport {
  range: DayRange;
  generatedAtMs: number;
  /** Oldest first, every day of the range, days without calls included. */
  days: { day: string; byPlan: Record<string, PlanUsage> }[];
  /** The range's figures by plan, and over every plan. */
  byPlan: Record<string, PlanUsage>;
  total: PlanUsage;
  /** Calls still `reserved` or `live`: counted with their whole slice. */
  openCalls: number;
  /** The range's top users by used seconds. */
  topUsers: UserUsage[];
  /** Refusals in the range by reason, most first. */
  refusals: Record<string, number>;
}

/** One plan's sums of one day: what a {@link DayRollup} keeps, in whole numbers. */
export interface PlanSums {
  calls: number;
  usedSeconds: number;
  refundedSeconds: number;
  mints: number;
  /** Used seconds by what prices them: `${api}\n${model}`. */
  seconds: Record<string, number>;
}

/** One user's sums of one day. */
export interface UserSums {
  calls: number;
  usedSeconds: number;
  /** The plan of the user's latest call that day, and when it was reserved. */
  plan: string;
  latestMs: number;
}

/**
 * Everything the report needs of one UTC day, summed from its records. A day that is over and
 * holds no open call never changes again, so usageStore.ts keeps its rollup
 * (`voiceUsageDays/{day}`) and later reads take it instead of the day's records.
 */
export interface DayRollup {
  day: string;
  plans: Record<string, PlanSums>;
  users: Record<string, UserSums>;
  /** Calls still `reserved` or `live`: counted with their whole slice. */
  openCalls: number;
}

/** How long after its end a day's rollup may be kept: reservations that commit late land by then. */
export const ROLLUP_AFTER_MS = 60 * 60_000;

/** Whether `rollup` can no longer change: its day ended {@link ROLLUP_AFTER_MS} ago, no call open. */
export function isFinal(rollup: DayRollup, nowMs: number): boolean {
  return rollup.openCalls === 0 && Date.parse(rollup.day) + DAY_MS + ROLLUP_AFTER_MS <= nowMs;
}

/** A record keyed by names that may be anything, `__proto__` included. */
function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function emptyPlan(): PlanSums {
  return { calls: 0, usedSeconds: 0, refundedSeconds: 0, mints: 0, seconds: dict() };
}

function addPlan(into: PlanSums, from: PlanSums): void {
  into.calls += from.calls;
  into.usedSeconds += from.usedSeconds;
  into.refundedSeconds += from.refundedSeconds;
  into.mints += from.mints;
  for (const [key, seconds] of Object.entries(from.seconds))
    into.seconds[key] = (into.seconds[key] ?? 0) + seconds;
}

function planIn(plans: Record<string, PlanSums>, plan: string): PlanSums {
  if (!Object.hasOwn(plans, plan)) plans[plan] = emptyPlan();
  return plans[plan] as PlanSums;
}

/** The rollup of every day of `range` from its records (records outside it are ignored). */
export function rollUpDays(
  range: DayRange,
  calls: readonly UsageCall[],
  mints: readonly UsageMint[],
): Map<string, DayRollup> {
  const days = new Map<string, DayRollup>(
    daysOf(range).map((day) => [day, { day, plans: dict(), users: dict(), openCalls: 0 }]),
  );
  for (const call of calls) {
    const rollup = days.get(utcDay(call.reservedAtMs));
    if (rollup === undefined) continue;
    const plan = planIn(rollup.plans, call.plan);
    if (call.counted) plan.calls += 1;
    plan.usedSeconds += call.usedSeconds;
    plan.refundedSeconds += call.refundedSeconds;
    if (call.usedSeconds > 0) {
      const key = `${call.api}\n${call.model}`;
      plan.seconds[key] = (plan.seconds[key] ?? 0) + call.usedSeconds;
    }
    if (call.open) rollup.openCalls += 1;
    if (!call.counted) continue;
    const user = Object.hasOwn(rollup.users, call.uid)
      ? (rollup.users[call.uid] as UserSums)
      : (rollup.users[call.uid] = { calls: 0, usedSeconds: 0, plan: call.plan, latestMs: -1 });
    user.calls += 1;
    user.usedSeconds += call.usedSeconds;
    if (call.reservedAtMs >= user.latestMs) {
      user.latestMs = call.reservedAtMs;
      user.plan = call.plan;
    }
  }
  for (const mint of mints) {
    const rollup = days.get(utcDay(mint.createdAtMs));
    if (rollup === undefined || mint.refunded) continue;
    planIn(rollup.plans, mint.plan).mints += 1;
  }
  return days;
}

/** The report's figures of summed plans; the cost is priced once per model over its seconds. */
function usageOf(sums: PlanSums): PlanUsage {
  let micro = 0;
  let unpricedSeconds = 0;
  for (const [key, seconds] of Object.entries(sums.seconds)) {
    const cut = key.indexOf("\n");
    const api = key.slice(0, cut);
    const usd = isVoiceApi(api) ? estimateCallCostUsd(api, key.slice(cut + 1), seconds) : null;
    if (usd === null) unpricedSeconds += seconds;
    else micro += Math.round(usd * 1_000_000);
  }
  return {
    calls: sums.calls,
    usedSeconds: sums.usedSeconds,
    refundedSeconds: sums.refundedSeconds,
    estimatedCostUsd: micro / 1_000_000,
    mints: sums.mints,
    unpricedSeconds,
  };
}

function usageByPlan(plans: Record<string, PlanSums>): Record<string, PlanUsage> {
  const out = dict<PlanUsage>();
  for (const plan of Object.keys(plans).sort()) out[plan] = usageOf(plans[plan] as PlanSums);
  return out;
}

/** The `limit` users with the most used seconds (ties: more calls, then uid). */
function rankUsers(users: Map<string, UserSums>, limit: number): UserUsage[] {
  return [...users]
    .sort(
      ([a, x], [b, y]) =>
        y.usedSeconds - x.usedSeconds || y.calls - x.calls || (a < b ? -1 : a > b ? 1 : 0),
    )
    .slice(0, limit)
    .map(([uid, { plan, calls, usedSeconds }]) => ({ uid, plan, calls, usedSeconds }));
}

/** The `limit` users with the most used seconds among `calls` (ties: more calls, then uid). */
export function topUsers(calls: readonly UsageCall[], limit: number): UserUsage[] {
  const users = new Map<string, UserSums>();
  for (const rollup of rollUpDays(spanOf(calls), calls, []).values()) addUsers(users, rollup);
  return rankUsers(users, limit);
}

function spanOf(calls: readonly UsageCall[]): DayRange {
  if (calls.length === 0) return { from: "1970-01-01", to: "1970-01-01" };
  const times = calls.map((call) => call.reservedAtMs);
  return { from: utcDay(Math.min(...times)), to: utcDay(Math.max(...times)) };
}

function addUsers(users: Map<string, UserSums>, rollup: DayRollup): void {
  for (const [uid, day] of Object.entries(rollup.users)) {
    const user = users.get(uid);
    if (user === undefined) users.set(uid, { ...day });
    else {
      user.calls += day.calls;
      user.usedSeconds += day.usedSeconds;
      if (day.latestMs >= user.latestMs) [user.plan, user.latestMs] = [day.plan, day.latestMs];
    }
  }
}

/**
 * The report of `range` from its records, and from `rollups` kept of its days: a day with a
 * rollup is taken from it, its records ignored. Records outside the range are ignored (a reader
 * may hand over more); `nowMs` is when they were read.
 */
export function aggregateUsage(input: {
  range: DayRange;
  calls: readonly UsageCall[];
  mints: readonly UsageMint[];
  refusals: readonly RefusalTally[];
  rollups?: readonly DayRollup[];
  nowMs: number;
  topUsers?: number;
}): UsageReport {
  const days = rollUpDays(input.range, input.calls, input.mints);
  for (const rollup of input.rollups ?? []) if (days.has(rollup.day)) days.set(rollup.day, rollup);
  const perPlan = dict<PlanSums>();
  const total = emptyPlan();
  const users = new Map<string, UserSums>();
  let openCalls = 0;
  for (const rollup of days.values()) {
    for (const [plan, sums] of Object.entries(rollup.plans)) {
      addPlan(planIn(perPlan, plan), sums);
      addPlan(total, sums);
    }
    addUsers(users, rollup);
    openCalls += rollup.openCalls;
  }
  const refusals = new Map<string, number>();
  for (const tally of input.refusals) {
    if (!days.has(tally.day)) continue;
    refusals.set(tally.reason, (refusals.get(tally.reason) ?? 0) + tally.count);
  }

  return {
    range: input.range,
    generatedAtMs: input.nowMs,
    days: [...days.values()].map(({ day, plans }) => ({ day, byPlan: usageByPlan(plans) })),
    byPlan: usageByPlan(perPlan),
    total: usageOf(total),
    openCalls,
    topUsers: rankUsers(users, input.topUsers ?? 10),
    refusals: Object.fromEntries([...refusals].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))),
  };
}

/** A stored rollup (its JSON), or undefined when it is not one this version wrote. */
export function readRollup(day: string, json: unknown): DayRollup | undefined {
  if (typeof json !== "string") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const rollup = parsed as Partial<DayRollup>;
  const whole = (n: unknown) => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
  const plansOk =
    typeof rollup.plans === "object" &&
    rollup.plans !== null &&
    Object.values(rollup.plans).every(
      (p) =>
        whole(p.calls) &&
        whole(p.usedSeconds) &&
        whole(p.refundedSeconds) &&
        whole(p.mints) &&
        typeof p.seconds === "object" &&
        p.seconds !== null &&
        Object.values(p.seconds).every(whole),
    );
  const usersOk =
    typeof rollup.users === "object" &&
    rollup.users !== null &&
    Object.values(rollup.users).every(
      (u) =>
        whole(u.calls) &&
        whole(u.usedSeconds) &&
        typeof u.plan === "string" &&
        typeof u.latestMs === "number",
    );
  if (rollup.day !== day || !plansOk || !usersOk || rollup.openCalls !== 0) return undefined;
  return rollup as DayRollup;
}

/** The contract's figures of one plan: the report's, without what only `npm run usage` prints. */
function contractUsage({ calls, usedSeconds, refundedSeconds, estimatedCostUsd }: PlanUsage) {
  return { calls, usedSeconds, refundedSeconds, estimatedCostUsd };
}

/**
 * The `operatorUsage` answer: `report`'s days and refusals, and `todayTop` (today's top users,
 * see {@link topUsers}) with their email addresses where `emails` knows them.
 */
export function toOperatorResponse(
  report: UsageReport,
  todayTop: readonly UserUsage[],
  emails: ReadonlyMap<string, string>,
): OperatorUsageResponse {
  return {
    days: report.days.map(({ day, byPlan }) => ({
      day,
      byPlan: Object.fromEntries(
        Object.entries(byPlan).map(([plan, usage]) => [plan, contractUsage(usage)]),
      ),
    })),
    topUsers: todayTop.map((user) => ({ ...user, email: emails.get(user.uid) ?? null })),
    refusals: report.refusals,
    generatedAtMs: report.generatedAtMs,
  };
}
