import { describe, expect, it } from "vitest";
import { END_CLAIM_BOUND_SECONDS } from "voice-contract";
import {
  type CallRecord,
  afterDeadlineHangup,
  claimedEndMs,
  decideDeadlineTask,
  endCall,
  endRecord,
  failCall,
  failRecord,
  isStranded,
  lastBack,
  MINUTE_PERIODS,
  type MinuteLimits,
  type MinuteState,
  minuteRefund,
  minuteRule,
  NOT_FOUND_RETRIES,
  readMinuteState,
  refundSeconds,
  remaining,
  reserveCall,
  sliceLimitedBy,
  startCall,
  STRANDED_AFTER_MS,
  usedSeconds,
} from "../src/minutes";

const at = (iso: string) => Date.parse(iso);
const LIMITS: MinuteLimits = { dailySeconds: 600, monthlySeconds: 3000, maxCallSeconds: 240 };
const NO_MONTH: MinuteLimits = { ...LIMITS, monthlySeconds: 0 };

/** Reserves or fails the test. */
function reserve(state: MinuteState | undefined, limits: MinuteLimits, nowMs: number) {
  const result = reserveCall(state, limits, "u1", nowMs);
  if (!result.ok) throw new Error(`refused: ${result.reason}`);
  return result;
}

/** Runs calls of `seconds` back to back from `startMs`; returns the state after them. */
function spend(
  state: MinuteState | undefined,
  limits: MinuteLimits,
  startMs: number,
  seconds: number[],
) {
  let s = state;
  let t = startMs;
  for (const used of seconds) {
    const r = reserve(s, limits, t);
    const live = startCall(r.record, `rtc_${r.record.seq}`, t);
    const ended = endCall(r.next, live, t + used * 1000, "user");
    if (!ended.changed) throw new Error("not ended");
    s = ended.state;
    t += used * 1000 + 1000;
  }
  return s;
}

describe("reserveCall", () => {
  const NOW = at("2026-11-10T12:00:00Z");

  it("gives a new user the longest call, charged to today and this month", () => {
    const r = reserve(undefined, LIMITS, NOW);
    expect(r.record).toEqual({
      status: "reserved",
      uid: "u1",
      seq: 1,
      reservedAtMs: NOW,
      reservedSeconds: 240,
    });
    expect(r.next).toEqual({
      seq: 1,
      day: "2026-11-10",
      daySeconds: 240,
      month: "2026-11",
      monthSeconds: 240,
    });
  });

  it("slices the smallest of the three remainders", () => {
    // Today's remainder is the smallest.
    const day = reserve(
      { seq: 4, day: "2026-11-10", daySeconds: 500, month: "2026-11", monthSeconds: 500 },
      LIMITS,
      NOW,
    );
    expect(day.record.reservedSeconds).toBe(100);
    // This month's remainder is the smallest.
    const month = reserve(
      { seq: 4, day: "2026-11-10", daySeconds: 0, month: "2026-11", monthSeconds: 2950 },
      LIMITS,
      NOW,
    );
    expect(month.record.reservedSeconds).toBe(50);
    // The longest call is the smallest.
    const call = reserve(
      { seq: 4, day: "2026-11-10", daySeconds: 10, month: "2026-11", monthSeconds: 10 },
      LIMITS,
      NOW,
    );
    expect(call.record.reservedSeconds).toBe(240);
    // Without a monthly cap the month never limits, however much was used.
    const uncapped = reserve(
      { seq: 4, day: "2026-11-10", daySeconds: 0, month: "2026-11", monthSeconds: 10 ** 9 },
      NO_MONTH,
      NOW,
    );
    expect(uncapped.record.reservedSeconds).toBe(240);
    expect(uncapped.next.seq).toBe(5);
    expect(uncapped.record.seq).toBe(5);
  });

  it("with a budget of exactly k slices grants exactly k calls, then refuses", () => {
    const limits = { dailySeconds: 30, monthlySeconds: 0, maxCallSeconds: 10 };
    let state: MinuteState | undefined;
    const granted: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = reserveCall(state, limits, "u1", NOW + i);
      if (!r.ok) {
        expect(r.reason).toBe("daily-minutes");
        continue;
      }
      granted.push(r.record.reservedSeconds);
      state = r.next;
    }
    expect(granted).toEqual([10, 10, 10]);
  });

  it("refuses a spent day until UTC midnight, and serves again at midnight", () => {
    const state = {
      seq: 9,
      day: "2026-11-10",
      daySeconds: 600,
      month: "2026-11",
      monthSeconds: 600,
    };
    expect(reserveCall(state, LIMITS, "u1", at("2026-11-10T23:59:30Z"))).toEqual({
      ok: false,
      reason: "daily-minutes",
      retryAfterSeconds: 30,
    });
    expect(reserveCall(state, LIMITS, "u1", at("2026-11-10T23:59:59.500Z"))).toMatchObject({
      retryAfterSeconds: 1,
    });
    const next = reserve(state, LIMITS, at("2026-11-11T00:00:00Z"));
    expect(next.record.reservedSeconds).toBe(240);
    expect(next.next).toMatchObject({ day: "2026-11-11", daySeconds: 240, monthSeconds: 840 });
  });

  it("refuses a spent month until the 1st, naming the month even when the day is spent too", () => {
    const state = {
      seq: 9,
      day: "2026-11-30",
      daySeconds: 600,
      month: "2026-11",
      monthSeconds: 3000,
    };
    expect(reserveCall(state, LIMITS, "u1", at("2026-11-30T22:00:00Z"))).toEqual({
      ok: false,
      reason: "monthly-minutes",
      retryAfterSeconds: 7200,
    });
    const earlier = { ...state, day: "2026-11-20", daySeconds: 0 };
    expect(reserveCall(earlier, LIMITS, "u1", at("2026-11-20T00:00:00Z"))).toEqual({
      ok: false,
      reason: "monthly-minutes",
      retryAfterSeconds: 11 * 86_400,
    });
    expect(reserve(state, LIMITS, at("2026-12-01T00:00:00Z")).next).toMatchObject({
      day: "2026-12-01",
      daySeconds: 240,
      month: "2026-12",
      monthSeconds: 240,
    });
  });

  it("resets the month at the end of February, leap year or not", () => {
    const limits = { dailySeconds: 600, monthlySeconds: 60, maxCallSeconds: 240 };
    for (const [day, next] of [
      ["2028-02-29", "2028-03-01T00:00:00Z"],
      ["2027-02-28", "2027-03-01T00:00:00Z"],
    ] as const) {
      const state = { seq: 1, day, daySeconds: 60, month: day.slice(0, 7), monthSeconds: 60 };
      expect(reserveCall(state, limits, "u1", at(`${day}T23:00:00Z`))).toEqual({
        ok: false,
        reason: "monthly-minutes",
        retryAfterSeconds: 3600,
      });
      expect(reserve(state, limits, at(next)).record.reservedSeconds).toBe(60);
    }
  });

  it("reads a hand-edited or negative state without granting more than the budget", () => {
    const odd = { seq: 3, day: "2026-11-10", daySeconds: -500, month: "2026-11", monthSeconds: -5 };
    expect(reserve(odd, LIMITS, NOW).next).toMatchObject({ daySeconds: 240, monthSeconds: 240 });
    const over = { seq: 3, day: "2026-11-10", daySeconds: 9999, month: "2026-11", monthSeconds: 0 };
    expect(reserveCall(over, LIMITS, "u1", NOW)).toMatchObject({
      ok: false,
      reason: "daily-minutes",
    });
  });
});

describe("remaining", () => {
  it("reports today's and this month's seconds with their resets, read at the time given", () => {
    const state = {
      seq: 2,
      day: "2026-11-10",
      daySeconds: 100,
      month: "2026-11",
      monthSeconds: 1000,
    };
    expect(remaining(state, LIMITS, at("2026-11-10T08:00:00Z"))).toEqual({
      daySeconds: 500,
      dayResetsAtMs: at("2026-11-11T00:00:00Z"),
      monthSeconds: 2000,
      monthResetsAtMs: at("2026-12-01T00:00:00Z"),
      readAtMs: at("2026-11-10T08:00:00Z"),
    });
    expect(remaining(state, NO_MONTH, at("2026-11-11T08:00:00Z"))).toEqual({
      daySeconds: 600,
      dayResetsAtMs: at("2026-11-12T00:00:00Z"),
      monthSeconds: null,
      monthResetsAtMs: null,
      readAtMs: at("2026-11-11T08:00:00Z"),
    });
    expect(remaining(undefined, LIMITS, at("2026-12-01T00:00:00Z"))).toMatchObject({
      daySeconds: 600,
      monthSeconds: 3000,
    });
  });
});

describe("lastBack", () => {
  const HOUR = 3_600_000;
  const spent = (reason: "daily-minutes" | "monthly-minutes", back: number, then: number) => ({
    reason,
    resetsAtMs: back * HOUR,
    thenResetsAtMs: then * HOUR,
  });

  it("names whichever spent budget is back last, whatever the order", () => {
    // A shorter period may end after a longer one (a week that runs past the 1st): it is named.
    const day = spent("daily-minutes", 30, 54);
    const month = spent("monthly-minutes", 12, 12 + 31 * 24);
    expect(lastBack([day, month])).toBe(day);
    expect(lastBack([month, day])).toBe(day);
    expect(lastBack([spent("daily-minutes", 5, 29), month])).toBe(month);
  });

  it("names the longer period of two back at once: its next reset is later", () => {
    const day = spent("daily-minutes", 12, 36);
    const month = spent("monthly-minutes", 12, 12 + 31 * 24);
    expect(lastBack([day, month])).toBe(month);
    expect(lastBack([month, day])).toBe(month);
  });

  it("names none when nothing is spent", () => {
    expect(lastBack([])).toBeUndefined();
  });
});

describe("MINUTE_PERIODS", () => {
  it("has one row per budget, each with its own reason, limit, state name and field", () => {
    for (const key of ["reason", "limit", "name"] as const)
      expect(new Set(MINUTE_PERIODS.map((period) => period[key])).size).toBe(MINUTE_PERIODS.length);
    const NOW = at("2026-11-30T12:00:00Z");
    expect(new Set(MINUTE_PERIODS.map((period) => period.field(NOW))).size).toBe(
      MINUTE_PERIODS.length,
    );
  });

  it("resets each period after now, and keys a period by where it starts", () => {
    const NOW = at("2026-11-30T12:00:00Z");
    for (const period of MINUTE_PERIODS) {
      const next = period.nextResetMs(NOW);
      expect(next).toBeGreaterThan(NOW);
      expect(period.key(next - 1)).toBe(period.key(NOW));
      expect(period.key(next)).not.toBe(period.key(NOW));
    }
  });
});

describe("sliceLimitedBy", () => {
  const limitOf = (state: MinuteState | undefined, limits: MinuteLimits, nowMs: number) =>
    sliceLimitedBy(remaining(reserve(state, limits, nowMs).next, limits, nowMs));
  const NOW = at("2026-11-10T08:00:00Z");
  const used = (daySeconds: number, monthSeconds: number): MinuteState => ({
    seq: 1,
    day: "2026-11-10",
    daySeconds,
    month: "2026-11",
    monthSeconds,
  });

  it("is the longest call when both budgets have more than a call left", () => {
    expect(limitOf(undefined, LIMITS, NOW)).toBe("call");
    expect(limitOf(used(359, 359), LIMITS, NOW)).toBe("call");
  });

  it("is the daily budget when the slice spends today's seconds to zero", () => {
    expect(limitOf(used(500, 500), LIMITS, NOW)).toBe("daily-minutes");
    // Exactly a call's worth left today: the next call is refused by the day, so the day it is.
    expect(limitOf(used(360, 360), LIMITS, NOW)).toBe("daily-minutes");
    expect(limitOf(used(500, 0), NO_MONTH, NOW)).toBe("daily-minutes");
  });

  it("is the monthly budget when the slice spends this month's seconds to zero, even with the day", () => {
    expect(limitOf(used(0, 2900), LIMITS, NOW)).toBe("monthly-minutes");
    expect(limitOf(used(500, 2900), LIMITS, NOW)).toBe("monthly-minutes");
  });

  it("reads a past day's and month's counters as zero", () => {
    const yesterday = { ...used(600, 3000), day: "2026-11-09", month: "2026-10" };
    expect(limitOf(yesterday, LIMITS, NOW)).toBe("call");
  });
});

describe("a call's life: start, end, refund", () => {
  const NOW = at("2026-11-10T12:00:00Z");

  it("sets the deadline from the moment upstream answered", () => {
    const r = reserve(undefined, LIMITS, NOW);
    const live = startCall(r.record, "rtc_1", NOW + 700);
    expect(live).toMatchObject({
      status: "live",
      callId: "rtc_1",
      startedAtMs: NOW + 700,
      deadlineMs: NOW + 700 + 240_000,
    });
  });

  it("refunds the unused seconds of an early end, counting started seconds", () => {
    const r = reserve(undefined, LIMITS, NOW);
    const live = startCall(r.record, "rtc_1", NOW);
    const ended = endCall(r.next, live, NOW + 60_001, "user");
    expect(ended).toMatchObject({
      changed: true,
      state: { daySeconds: 61, monthSeconds: 61, seq: 1 },
      record: {
        status: "ended",
        endedBy: "user",
        usedSeconds: 61,
        unusedSeconds: 179,
        endedAtMs: NOW + 60_001,
      },
    });
  });

  it("charges upstream's own count of a call where it gives one, in whole seconds within the slice", () => {
    const r = reserve(undefined, LIMITS, NOW);
    const live = { ...startCall(r.record, "live_1", NOW), api: "live" as const, model: "m" };
    expect(endCall(r.next, live, NOW + 60_001, "user", 41.2)).toMatchObject({
      state: { daySeconds: 42 },
      record: { usedSeconds: 42, unusedSeconds: 198, upstreamSeconds: 41.2, api: "live" },
    });
    expect(endCall(r.next, live, NOW + 1_000, "deadline", 9_999)).toMatchObject({
      record: { usedSeconds: 240, unusedSeconds: 0 },
    });
    expect(endCall(r.next, live, NOW + 1_000, "user", 0)).toMatchObject({
      record: { usedSeconds: 0, unusedSeconds: 240 },
    });
  });

  it("charges the whole slice when the deadline ends the call, even when it ends late", () => {
    const r = reserve(undefined, LIMITS, NOW);
    const live = startCall(r.record, "rtc_1", NOW);
    const ended = endCall(r.next, live, live.deadlineMs + 1_800, "deadline");
    expect(ended).toMatchObject({
      state: { daySeconds: 240 },
      record: { usedSeconds: 240, unusedSeconds: 0, endedBy: "deadline" },
    });
  });

  it("refunds once: a second end, or a fail after the end, changes nothing", () => {
    const r = reserve(undefined, LIMITS, NOW);
    const live = startCall(r.record, "rtc_1", NOW);
    const first = endCall(r.next, live, NOW + 10_000, "user");
    if (!first.changed) throw new Error("not ended");
    expect(endCall(first.state, first.record, NOW + 240_000, "deadline")).toEqual({
      changed: false,
    });
    expect(failCall(first.state, first.record, "late failure")).toEqual({ changed: false });
    expect(endCall(first.state, r.record, NOW + 20_000, "user")).toEqual({ changed: false });
  });

  it("hands the whole slice back when upstream never opened the call", () => {
    const before = {
      seq: 1,
      day: "2026-11-10",
      daySeconds: 100,
      month: "2026-11",
      monthSeconds: 100,
    };
    const r = reserve(before, LIMITS, NOW);
    const failed = failCall(r.next, r.record, "upstream unavailable");
    expect(failed).toEqual({
      changed: true,
      state: { ...before, seq: 2 },
      record: {
        status: "failed",
        uid: "u1",
        seq: 2,
        reservedAtMs: NOW,
        reservedSeconds: 240,
        failure: "upstream unavailable",
      },
    });
    if (!failed.changed) throw new Error("not failed");
    expect(failCall(failed.state, failed.record, "again")).toEqual({ changed: false });
    expect(failCall(failed.state, startCall(r.record, "rtc_x", NOW), "live")).toEqual({
      changed: false,
    });
  });

  it("keeps the charge on the day a call started when it crosses midnight", () => {
    const start = at("2026-11-10T23:58:00Z");
    const r = reserve(undefined, LIMITS, start);
    const live = startCall(r.record, "rtc_1", start);
    // Ends early, after midnight. No call was reserved today yet, so the stored counters are
    // still the 10th's: the refund lands on the 10th (over, harmless) and on November.
    const ended = endCall(r.next, live, at("2026-11-11T00:01:00Z"), "user");
    expect(ended).toMatchObject({
      state: { day: "2026-11-10", daySeconds: 180, month: "2026-11", monthSeconds: 180 },
      record: { usedSeconds: 180, unusedSeconds: 60 },
    });
    if (!ended.changed) throw new Error("not ended");
    // Today's budget is untouched by yesterday's call.
    expect(remaining(ended.state, LIMITS, at("2026-11-11T00:01:00Z")).daySeconds).toBe(600);
  });

  it("does not refund into today a call from yesterday that ends after today's first call", () => {
    const start = at("2026-11-10T23:58:00Z");
    const r1 = reserve(undefined, LIMITS, start);
    const live1 = startCall(r1.record, "rtc_1", start);
    const r2 = reserve(r1.next, LIMITS, at("2026-11-11T00:00:30Z"));
    expect(r2.next).toMatchObject({ day: "2026-11-11", daySeconds: 240, monthSeconds: 480 });
    const ended = endCall(r2.next, live1, at("2026-11-11T00:01:00Z"), "user");
    expect(ended).toMatchObject({
      state: { day: "2026-11-11", daySeconds: 240, monthSeconds: 420 },
    });
  });

  it("refunds neither day nor month once a call that started on the last of the month ends in the next", () => {
    const start = at("2026-11-30T23:59:00Z");
    const r1 = reserve(undefined, LIMITS, start);
    const live = startCall(r1.record, "rtc_1", start);
    const r2 = reserve(r1.next, LIMITS, at("2026-12-01T00:00:10Z"));
    const ended = endCall(r2.next, live, at("2026-12-01T00:00:20Z"), "user");
    expect(ended).toMatchObject({
      state: { day: "2026-12-01", daySeconds: 240, month: "2026-12", monthSeconds: 240 },
      record: { usedSeconds: 80, unusedSeconds: 160 },
    });
  });

  it("never goes below zero, whatever the refund", () => {
    const state = { seq: 1, day: "2026-11-10", daySeconds: 30, month: "2026-11", monthSeconds: 20 };
    const charge = { seq: 1, reservedAtMs: NOW, reservedSeconds: 240 };
    expect(refundSeconds(state, charge, 240)).toEqual({ ...state, daySeconds: 0, monthSeconds: 0 });
    expect(refundSeconds(state, charge, -5)).toEqual(state);
    expect(refundSeconds(state, { ...charge, reservedSeconds: 10 }, 240)).toMatchObject({
      daySeconds: 20,
      monthSeconds: 10,
    });
  });

  it("gives back exactly what a day of short calls did not use", () => {
    const limits = { dailySeconds: 100, monthlySeconds: 0, maxCallSeconds: 60 };
    const state = spend(undefined, limits, NOW, [10, 20, 30]);
    expect(state).toMatchObject({ seq: 3, daySeconds: 60 });
    expect(remaining(state, limits, NOW + 100_000).daySeconds).toBe(40);
    expect(reserve(state, limits, NOW + 100_000).record.reservedSeconds).toBe(40);
  });
});

describe("usedSeconds", () => {
  it.each([
    [0, 0, 0],
    [1, 240, 1],
    [999, 240, 1],
    [1000, 240, 1],
    [1001, 240, 2],
    [-5000, 240, 0],
    [10_000_000, 240, 240],
  ])("%d ms of a %d s slice → %d s", (ms, reserved, used) => {
    expect(usedSeconds(1_000_000, 1_000_000 + ms, reserved)).toBe(used);
  });
});

describe("claimedEndMs", () => {
  const START = 1_000_000;
  const BOUND_MS = END_CLAIM_BOUND_SECONDS * 1000;

  it("states a bound of 15 s, as the README does", () => {
    expect(END_CLAIM_BOUND_SECONDS).toBe(15);
  });

  it("charges to the page's end, not to when its request arrived", () => {
    // Ended 8 s in; the request arrived 9.9 s later (a cold function): charged 8 s, not 17.9 s.
    const endedAtMs = claimedEndMs(START, 8, START + 17_900);
    expect(endedAtMs).toBe(START + 8_000);
    expect(usedSeconds(START, endedAtMs, 30)).toBe(8);
  });

  it("never charges to earlier than the bound before the request arrived", () => {
    // A page that says 0 s, 40 s into the call, is charged 25 s.
    expect(claimedEndMs(START, 0, START + 40_000)).toBe(START + 40_000 - BOUND_MS);
    expect(claimedEndMs(START, 10, START + 40_000)).toBe(START + 40_000 - BOUND_MS);
    expect(claimedEndMs(START, 30, START + 40_000)).toBe(START + 30_000);
  });

  it("stays within the call: never before its start, never after the request", () => {
    expect(claimedEndMs(START, 0, START + 5_000)).toBe(START);
    expect(claimedEndMs(START, 60, START + 5_000)).toBe(START + 5_000);
    expect(claimedEndMs(START, 3, START - 1)).toBe(START);
  });

  it("without a claim, the call ended when the request arrived", () => {
    expect(claimedEndMs(START, undefined, START + 17_900)).toBe(START + 17_900);
  });
});

describe("decideDeadlineTask", () => {
  const NOW = at("2026-11-10T12:00:00Z");
  const r = reserve(undefined, LIMITS, NOW);
  const live = startCall(r.record, "rtc_1", NOW);
  const task = { deadlineMs: live.deadlineMs };

  it("hangs up at or after the record's deadline", () => {
    expect(decideDeadlineTask(task, live, live.deadlineMs, 60_000)).toEqual({ action: "hang-up" });
    expect(decideDeadlineTask(task, live, live.deadlineMs + 5_000, 60_000)).toEqual({
      action: "hang-up",
    });
  });

  it("waits out an early dispatch up to the bound, and asks for a retry beyond it", () => {
    expect(decideDeadlineTask(task, live, live.deadlineMs - 2_500, 60_000)).toEqual({
      action: "wait",
      ms: 2_500,
    });
    expect(decideDeadlineTask(task, live, live.deadlineMs - 60_001, 60_000)).toEqual({
      action: "retry-later",
      inMs: 60_001,
    });
  });

  it("leaves ended and failed calls alone", () => {
    const ended = endCall(r.next, live, NOW + 1_000, "user");
    if (!ended.changed) throw new Error("not ended");
    expect(decideDeadlineTask(task, ended.record, live.deadlineMs, 60_000)).toEqual({
      action: "nothing",
      why: "ended",
    });
    const failed = failCall(r.next, r.record, "x");
    if (!failed.changed) throw new Error("not failed");
    expect(decideDeadlineTask(task, failed.record, live.deadlineMs, 60_000)).toMatchObject({
      why: "failed",
    });
  });

  it("still hangs up a settled call whose hang-up was not confirmed", () => {
    const failed = failCall(r.next, r.record, "store-unavailable", { upstreamOpen: true });
    if (!failed.changed) throw new Error("not failed");
    expect(failed.record).toMatchObject({ status: "failed", upstreamOpen: true });
    expect(decideDeadlineTask(task, failed.record, live.deadlineMs, 60_000)).toEqual({
      action: "hang-up",
    });
    expect(decideDeadlineTask(task, failed.record, live.deadlineMs - 1_000, 60_000)).toEqual({
      action: "wait",
      ms: 1_000,
    });
    const ended = endCall(r.next, live, NOW, "server");
    if (!ended.changed) throw new Error("not ended");
    expect(
      decideDeadlineTask(task, { ...ended.record, upstreamOpen: true }, live.deadlineMs, 60_000),
    ).toEqual({ action: "hang-up" });
  });

  it("hangs up a call whose record is missing or still reserved, at the task's deadline", () => {
    expect(decideDeadlineTask(task, undefined, live.deadlineMs - 1_000, 60_000)).toEqual({
      action: "wait",
      ms: 1_000,
    });
    expect(decideDeadlineTask(task, r.record, live.deadlineMs, 60_000)).toEqual({
      action: "hang-up",
    });
  });
});

describe("isStranded", () => {
  const NOW = at("2026-11-10T12:00:00Z");
  const r = reserve(undefined, LIMITS, NOW);
  const sliceEnd = NOW + r.record.reservedSeconds * 1000;

  it("is a reservation still reserved the grace after its slice would have ended", () => {
    expect(isStranded(r.record, sliceEnd + STRANDED_AFTER_MS - 1)).toBe(false);
    expect(isStranded(r.record, sliceEnd + STRANDED_AFTER_MS)).toBe(true);
  });

  it("never is a live, ended or failed call, however old", () => {
    const live = startCall(r.record, "rtc_1", NOW);
    const ended = endCall(r.next, live, NOW + 1_000, "user");
    const failed = failCall(r.next, r.record, "x");
    if (!ended.changed || !failed.changed) throw new Error("no transition");
    for (const record of [live, ended.record, failed.record])
      expect(isStranded(record, sliceEnd + 10 * STRANDED_AFTER_MS)).toBe(false);
  });
});

describe("afterDeadlineHangup", () => {
  it("ends the record on a confirmed hang-up, whatever the attempt", () => {
    expect(afterDeadlineHangup("ended", 0)).toEqual({ action: "end", confirmed: true });
    expect(afterDeadlineHangup("ended", 12)).toEqual({ action: "end", confirmed: true });
  });

  it("asks again after a 404 on the first attempts, then ends the record unconfirmed", () => {
    expect(afterDeadlineHangup("not-found", undefined)).toEqual({ action: "retry" });
    for (let retry = 0; retry < NOT_FOUND_RETRIES; retry++)
      expect(afterDeadlineHangup("not-found", retry)).toEqual({ action: "retry" });
    expect(afterDeadlineHangup("not-found", NOT_FOUND_RETRIES)).toEqual({
      action: "end",
      confirmed: false,
    });
  });
});

// Typecheck: a record's variants carry what exists in that phase.
function phases(record: CallRecord): string {
  // @ts-expect-error a reserved call has no call id yet
  if (record.status === "reserved") return record.callId;
  if (record.status === "live" || record.status === "ended") return record.callId;
  return record.failure;
}
void phases;

describe("the minute budget's documents", () => {
  const NOW = at("2026-11-30T12:00:00Z");

  it("reads a user document defensively: a hand edit counts as nothing charged", () => {
    expect(readMinuteState({ seq: 2, d20261130: 120, m202611: 300 }, NOW)).toEqual({
      seq: 2,
      day: "2026-11-30",
      daySeconds: 120,
      month: "2026-11",
      monthSeconds: 300,
    });
    expect(readMinuteState({ seq: "x", d20261130: "junk" }, NOW)).toMatchObject({
      seq: 0,
      daySeconds: 0,
    });
  });

  it("charges a slice to the day and month by increment, and says what is left", () => {
    const decided = minuteRule("u1", LIMITS).decide(readMinuteState({ seq: 1 }, NOW), NOW);
    expect(decided).toEqual({
      ok: true,
      seq: 2,
      record: { status: "reserved", uid: "u1", seq: 2, reservedAtMs: NOW, reservedSeconds: 240 },
      user: { add: { d20261130: 240, m202611: 240 } },
      grant: {
        reservedSeconds: 240,
        remaining: expect.objectContaining({ daySeconds: 360, monthSeconds: 2760 }),
      },
    });
  });

  it("hands seconds back to the day and month charged, and nothing for none", () => {
    const charge = { seq: 1, reservedAtMs: at("2026-10-31T23:59:00Z"), reservedSeconds: 60 };
    expect(minuteRefund(charge, 45)).toEqual({ add: { d20261031: -45, m202610: -45 } });
    expect(minuteRefund(charge, 0)).toEqual({});
  });

  it("transitions a record without a state: what goes back, once", () => {
    const reserved = reserve(undefined, LIMITS, NOW).record;
    expect(failRecord(reserved, "unavailable")).toMatchObject({
      changed: true,
      refundSeconds: 240,
      record: { status: "failed", failure: "unavailable" },
    });
    const live = startCall(reserved, "rtc_1", NOW);
    expect(failRecord(live, "late")).toEqual({ changed: false });
    const ended = endRecord(live, NOW + 10_500, "user");
    expect(ended).toMatchObject({ changed: true, refundSeconds: 229, record: { usedSeconds: 11 } });
    if (!ended.changed) throw new Error("not ended");
    expect(endRecord(ended.record, NOW + 20_000, "deadline")).toEqual({ changed: false });
  });
});
