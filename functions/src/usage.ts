/**
 * The operator's usage figures, pure: call and mint records and the refusal counters in,
 * per-day per-plan calls, seconds and estimated cost, top users and refusals by reason out.
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

/** Sums of one bucket, with used seconds kept by what prices them. */
class Bucket {
  calls = 0;
  usedSeconds = 0;
  refundedSeconds = 0;
  mints = 0;
  readonly seconds = new Map<string, { api: VoiceApi; model: string; seconds: number }>();

  addCall(call: UsageCall): void {
    if (call.counted) this.calls += 1;
    this.usedSeconds += call.usedSeconds;
    this.refundedSeconds += call.refundedSeconds;
    if (call.usedSeconds === 0) return;
    const key = `${call.api}\n${call.model}`;
    const entry = this.seconds.get(key) ?? { api: call.api, model: call.model, seconds: 0 };
    entry.seconds += call.usedSeconds;
    this.seconds.set(key, entry);
  }

  /** The figures; the cost is priced once per model over the bucket's summed seconds. */
  usage(): PlanUsage {
    let micro = 0;
    let unpricedSeconds = 0;
    for (const { api, model, seconds } of this.seconds.values()) {
      const usd = estimateCallCostUsd(api, model, seconds);
      if (usd === null) unpricedSeconds += seconds;
      else micro += Math.round(usd * 1_000_000);
    }
    return {
      calls: this.calls,
      usedSeconds: this.usedSeconds,
      refundedSeconds: this.refundedSeconds,
      estimatedCostUsd: micro / 1_000_000,
      mints: this.mints,
      unpricedSeconds,
    };
  }
}

function bucketIn(map: Map<string, Bucket>, key: string): Bucket {
  let bucket = map.get(key);
  if (bucket === undefined) map.set(key, (bucket = new Bucket()));
  return bucket;
}

function usageOf(map: Map<string, Bucket>): Record<string, PlanUsage> {
  const out: Record<string, PlanUsage> = {};
  for (const plan of [...map.keys()].sort()) out[plan] = (map.get(plan) as Bucket).usage();
  return out;
}

/** The `limit` users with the most used seconds among `calls` (ties: more calls, then uid). */
export function topUsers(calls: readonly UsageCall[], limit: number): UserUsage[] {
  const users = new Map<string, UserUsage & { latestMs: number }>();
  for (const call of calls) {
    if (!call.counted) continue;
    const user = users.get(call.uid) ?? {
      uid: call.uid,
      plan: call.plan,
      calls: 0,
      usedSeconds: 0,
      latestMs: -Infinity,
    };
    user.calls += 1;
    user.usedSeconds += call.usedSeconds;
    if (call.reservedAtMs >= user.latestMs) {
      user.latestMs = call.reservedAtMs;
      user.plan = call.plan;
    }
    users.set(call.uid, user);
  }
  return [...users.values()]
    .sort(
      (a, b) =>
        b.usedSeconds - a.usedSeconds ||
        b.calls - a.calls ||
        (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0),
    )
    .slice(0, limit)
    .map(({ latestMs: _, ...user }) => user);
}

/**
 * The report of `range` from its records. Records outside the range are ignored (a reader may
 * hand over more); `nowMs` is when they were read.
 */
export function aggregateUsage(input: {
  range: DayRange;
  calls: readonly UsageCall[];
  mints: readonly UsageMint[];
  refusals: readonly RefusalTally[];
  nowMs: number;
  topUsers?: number;
}): UsageReport {
  const days = daysOf(input.range);
  const perDay = new Map<string, Map<string, Bucket>>(days.map((day) => [day, new Map()]));
  const perPlan = new Map<string, Bucket>();
  const total = new Bucket();
  const inRange: UsageCall[] = [];
  let openCalls = 0;

  for (const call of input.calls) {
    const plans = perDay.get(utcDay(call.reservedAtMs));
    if (plans === undefined) continue;
    inRange.push(call);
    for (const bucket of [bucketIn(plans, call.plan), bucketIn(perPlan, call.plan), total])
      bucket.addCall(call);
    if (call.open) openCalls += 1;
  }
  for (const mint of input.mints) {
    const plans = perDay.get(utcDay(mint.createdAtMs));
    if (plans === undefined || mint.refunded) continue;
    for (const bucket of [bucketIn(plans, mint.plan), bucketIn(perPlan, mint.plan), total])
      bucket.mints += 1;
  }
  const refusals = new Map<string, number>();
  for (const tally of input.refusals) {
    if (!perDay.has(tally.day)) continue;
    refusals.set(tally.reason, (refusals.get(tally.reason) ?? 0) + tally.count);
  }

  return {
    range: input.range,
    generatedAtMs: input.nowMs,
    days: days.map((day) => ({ day, byPlan: usageOf(perDay.get(day) as Map<string, Bucket>) })),
    byPlan: usageOf(perPlan),
    total: total.usage(),
    openCalls,
    topUsers: topUsers(inRange, input.topUsers ?? 10),
    refusals: Object.fromEntries([...refusals].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))),
  };
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
