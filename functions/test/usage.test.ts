import { Timestamp } from "firebase-admin/firestore";
import { describe, expect, it } from "vitest";
import { estimateCallCostUsd } from "voice-contract";
import {
  aggregateUsage,
  dayRange,
  daysOf,
  lastDays,
  rangeMs,
  readRefusalTally,
  readUsageCall,
  readUsageMint,
  isFinal,
  readRollup,
  rollUpDays,
  topUsers,
  UNKNOWN_MODEL,
  UNRECORDED_PLAN,
  type UsageCall,
  type UsageMint,
} from "../src/usage";

const DAY1 = Date.UTC(2026, 11, 1);
const H = 3_600_000;

function call(overrides: Partial<UsageCall> = {}): UsageCall {
  return {
    uid: "u1",
    plan: "default",
    api: "realtime",
    model: "gpt-realtime-2",
    counted: true,
    open: false,
    reservedAtMs: DAY1 + H,
    usedSeconds: 60,
    refundedSeconds: 0,
    ...overrides,
  };
}

function mint(overrides: Partial<UsageMint> = {}): UsageMint {
  return {
    uid: "u1",
    plan: "default",
    model: "gpt-realtime-2",
    refunded: false,
    createdAtMs: DAY1 + H,
    ...overrides,
  };
}

const RANGE = dayRange("2026-12-01", "2026-12-03");

describe("usage: reading records", () => {
  const stored = {
    uid: "u1",
    seq: 3,
    reservedAtMs: DAY1,
    reservedSeconds: 60,
    plan: "pro",
    model: "gpt-realtime-mini",
    api: "realtime",
  };

  it("reads an ended call's used and unused seconds, a failed one's whole slice as refunded", () => {
    const ended = {
      ...stored,
      status: "ended",
      callId: "rtc_1",
      startedAtMs: DAY1,
      deadlineMs: DAY1 + 60_000,
      endedAtMs: DAY1 + 20_000,
      endedBy: "user",
      usedSeconds: 20,
      unusedSeconds: 40,
    };
    expect(readUsageCall(ended)).toEqual({
      uid: "u1",
      plan: "pro",
      api: "realtime",
      model: "gpt-realtime-mini",
      counted: true,
      open: false,
      reservedAtMs: DAY1,
      usedSeconds: 20,
      refundedSeconds: 40,
    });
    expect(readUsageCall({ ...stored, status: "failed", failure: "unavailable" })).toMatchObject({
      counted: false,
      open: false,
      usedSeconds: 0,
      refundedSeconds: 60,
    });
  });

  it("counts a reserved or live call's whole slice as used, and says it is open", () => {
    expect(readUsageCall({ ...stored, status: "reserved" })).toMatchObject({
      counted: true,
      open: true,
      usedSeconds: 60,
      refundedSeconds: 0,
    });
  });

  it("reads a record from before records kept their plan, model and API", () => {
    const { plan: _p, model: _m, api: _a, ...old } = stored;
    expect(readUsageCall({ ...old, status: "reserved" })).toMatchObject({
      plan: UNRECORDED_PLAN,
      model: UNKNOWN_MODEL,
      api: "realtime",
    });
    expect(readUsageCall({ ...stored, api: "sip", status: "reserved" })?.api).toBe("realtime");
    expect(readUsageCall({ ...stored, api: "live", status: "reserved" })?.api).toBe("live");
    expect(readUsageCall({ status: "ended" })).toBeUndefined();
  });

  it("reads mints by their creation time, refunded ones marked", () => {
    const created = Timestamp.fromMillis(DAY1 + 5);
    expect(
      readUsageMint({ uid: "u1", createdAt: created, status: "reserved", model: "m", plan: "p" }),
    ).toEqual({ uid: "u1", plan: "p", model: "m", refunded: false, createdAtMs: DAY1 + 5 });
    expect(readUsageMint({ uid: "u1", createdAt: created, status: "failed" })).toMatchObject({
      refunded: true,
      plan: UNRECORDED_PLAN,
    });
    expect(readUsageMint({ uid: "u1", createdAt: DAY1 })).toBeUndefined();
  });

  it("reads refusal counters, skipping hand-edited ones", () => {
    expect(readRefusalTally({ day: "2026-12-01", reason: "ip-rate", count: 3 })).toEqual({
      day: "2026-12-01",
      reason: "ip-rate",
      count: 3,
    });
    expect(readRefusalTally({ day: "2026-12-01", reason: "ip-rate", count: "3" })).toBeUndefined();
  });
});

describe("usage: day ranges", () => {
  it("checks dates, their order and the length", () => {
    expect(dayRange("2026-12-01", "2026-12-01")).toEqual({ from: "2026-12-01", to: "2026-12-01" });
    expect(() => dayRange("2026-02-30", "2026-03-01")).toThrow(/from must be a date YYYY-MM-DD/);
    expect(() => dayRange("2026-12-02", "2026-12-01")).toThrow(/is after to/);
    expect(() => dayRange("2025-01-01", "2026-12-01")).toThrow(/at most 366 days/);
  });

  it("spans whole UTC days, across a month's and a year's end", () => {
    expect(daysOf(dayRange("2026-12-30", "2027-01-02"))).toEqual([
      "2026-12-30",
      "2026-12-31",
      "2027-01-01",
      "2027-01-02",
    ]);
    expect(rangeMs(dayRange("2026-12-01", "2026-12-01"))).toEqual({
      fromMs: DAY1,
      toMs: DAY1 + 24 * H,
    });
    expect(lastDays(30, DAY1 + 23 * H)).toEqual({ from: "2026-11-02", to: "2026-12-01" });
  });
});

describe("usage: aggregation", () => {
  it("totals an empty range as every day with nothing", () => {
    const report = aggregateUsage({ range: RANGE, calls: [], mints: [], refusals: [], nowMs: 7 });
    expect(report.days).toEqual([
      { day: "2026-12-01", byPlan: {} },
      { day: "2026-12-02", byPlan: {} },
      { day: "2026-12-03", byPlan: {} },
    ]);
    expect(report.total).toEqual({
      calls: 0,
      usedSeconds: 0,
      refundedSeconds: 0,
      estimatedCostUsd: 0,
      mints: 0,
      unpricedSeconds: 0,
    });
    expect(report).toMatchObject({ generatedAtMs: 7, topUsers: [], refusals: {}, openCalls: 0 });
  });

  it("totals calls per day and plan, failed opens refunded but not counted", () => {
    const report = aggregateUsage({
      range: RANGE,
      calls: [
        call({ usedSeconds: 20, refundedSeconds: 40 }),
        call({ plan: "pro", usedSeconds: 120 }),
        call({ counted: false, usedSeconds: 0, refundedSeconds: 60 }),
        call({ reservedAtMs: DAY1 + 24 * H + 5, usedSeconds: 30, refundedSeconds: 30 }),
      ],
      mints: [mint(), mint({ refunded: true }), mint({ plan: "pro", createdAtMs: DAY1 + 48 * H })],
      refusals: [],
      nowMs: 0,
    });
    const [d1, d2, d3] = report.days;
    expect(d1?.byPlan.default).toMatchObject({
      calls: 1,
      usedSeconds: 20,
      refundedSeconds: 100,
      mints: 1,
    });
    expect(d1?.byPlan.pro).toMatchObject({ calls: 1, usedSeconds: 120, refundedSeconds: 0 });
    expect(d2?.byPlan.default).toMatchObject({ calls: 1, usedSeconds: 30, refundedSeconds: 30 });
    expect(d3?.byPlan.pro).toMatchObject({ calls: 0, mints: 1 });
    expect(report.byPlan.default).toMatchObject({ calls: 2, usedSeconds: 50, mints: 1 });
    expect(report.total).toMatchObject({
      calls: 3,
      usedSeconds: 170,
      refundedSeconds: 130,
      mints: 2,
    });
  });

  it("puts a call on the UTC day of its reservation, and ignores records outside the range", () => {
    const report = aggregateUsage({
      range: RANGE,
      calls: [
        call({ reservedAtMs: DAY1 - 1 }),
        call({ reservedAtMs: DAY1 }),
        call({ reservedAtMs: DAY1 + 3 * 24 * H - 1 }),
        call({ reservedAtMs: DAY1 + 3 * 24 * H }),
      ],
      mints: [mint({ createdAtMs: DAY1 - 1 })],
      refusals: [
        { day: "2026-11-30", reason: "ip-rate", count: 9 },
        { day: "2026-12-03", reason: "ip-rate", count: 1 },
      ],
      nowMs: 0,
    });
    expect(report.days.map((d) => d.byPlan.default?.calls ?? 0)).toEqual([1, 0, 1]);
    expect(report.total).toMatchObject({ calls: 2, mints: 0 });
    expect(report.refusals).toEqual({ "ip-rate": 1 });
  });

  it("prices used seconds by API and model from the dated tables; unpriced seconds apart", () => {
    const report = aggregateUsage({
      range: RANGE,
      calls: [
        call({ usedSeconds: 90 }),
        call({ usedSeconds: 30 }),
        call({ model: "gpt-realtime-mini", usedSeconds: 60 }),
        call({ api: "live", model: "gpt-live-1", usedSeconds: 600 }),
        call({ model: "gpt-realtime-9", usedSeconds: 45 }),
      ],
      mints: [],
      refusals: [],
      nowMs: 0,
    });
    // gpt-realtime-2: 300 audio tokens in ($32/M) + 600 out ($64/M) a minute = $0.048.
    expect(estimateCallCostUsd("realtime", "gpt-realtime-2", 120)).toBe(0.096);
    expect(estimateCallCostUsd("realtime", "gpt-realtime-mini", 60)).toBe(0.015);
    expect(estimateCallCostUsd("live", "gpt-live-1", 600)).toBe(0.5);
    expect(estimateCallCostUsd("realtime", "gpt-live-1", 60)).toBeNull();
    expect(report.total.estimatedCostUsd).toBe(0.611);
    expect(report.total.unpricedSeconds).toBe(45);
    expect(report.total.usedSeconds).toBe(825);
  });

  it("rounds each model's cost once over its summed seconds, to a millionth of a dollar", () => {
    const calls = Array.from({ length: 7 }, () =>
      call({ api: "live", model: "gpt-live-1", usedSeconds: 1 }),
    );
    const report = aggregateUsage({ range: RANGE, calls, mints: [], refusals: [], nowMs: 0 });
    // 7 s at $0.05/min: 0.0058333… → 0.005833 (per call it would be 7 × 0.000833 = 0.005831).
    expect(report.total.estimatedCostUsd).toBe(0.005833);
  });

  it("counts open calls with their whole slice", () => {
    const report = aggregateUsage({
      range: RANGE,
      calls: [call({ open: true }), call()],
      mints: [],
      refusals: [],
      nowMs: 0,
    });
    expect(report.openCalls).toBe(1);
    expect(report.total.usedSeconds).toBe(120);
  });

  it("adds up refusals by reason over the days and shards, most first", () => {
    const report = aggregateUsage({
      range: RANGE,
      calls: [],
      mints: [],
      refusals: [
        { day: "2026-12-01", reason: "daily-minutes", count: 2 },
        { day: "2026-12-01", reason: "ip-rate", count: 2 },
        { day: "2026-12-02", reason: "ip-rate", count: 5 },
        { day: "2026-12-02", reason: "plan-mode", count: 1 },
      ],
      nowMs: 0,
    });
    expect(Object.entries(report.refusals)).toEqual([
      ["ip-rate", 7],
      ["daily-minutes", 2],
      ["plan-mode", 1],
    ]);
  });
});

describe("usage: top users", () => {
  it("ranks by used seconds, then calls, then uid, with the plan of the latest call", () => {
    const calls = [
      call({ uid: "a", usedSeconds: 10 }),
      call({ uid: "b", usedSeconds: 30, plan: "free", reservedAtMs: DAY1 }),
      call({ uid: "b", usedSeconds: 30, plan: "pro", reservedAtMs: DAY1 + H }),
      call({ uid: "c", usedSeconds: 5 }),
      call({ uid: "c", usedSeconds: 5 }),
      call({ uid: "d", usedSeconds: 10 }),
      call({ uid: "e", counted: false, usedSeconds: 0, refundedSeconds: 60 }),
    ];
    expect(topUsers(calls, 3)).toEqual([
      { uid: "b", plan: "pro", calls: 2, usedSeconds: 60 },
      { uid: "c", plan: "default", calls: 2, usedSeconds: 10 },
      { uid: "a", plan: "default", calls: 1, usedSeconds: 10 },
    ]);
    expect(topUsers([], 10)).toEqual([]);
  });
});

describe("usage: day rollups", () => {
  const day = (calls: UsageCall[]) => rollUpDays(dayRange("2026-12-01", "2026-12-01"), calls, []);

  it("is final an hour after its day ended, and only without open calls", () => {
    const closed = day([call()]).get("2026-12-01");
    if (closed === undefined) throw new Error("no rollup");
    expect(isFinal(closed, DAY1 + 25 * H - 1)).toBe(false);
    expect(isFinal(closed, DAY1 + 25 * H)).toBe(true);
    const open = day([call({ open: true })]).get("2026-12-01");
    expect(open !== undefined && isFinal(open, DAY1 + 48 * H)).toBe(false);
  });

  it("takes a day from its rollup instead of its records, and reads back what it kept", () => {
    const kept = day([call({ usedSeconds: 600, uid: "kept-user" })]).get("2026-12-01");
    if (kept === undefined) throw new Error("no rollup");
    const stored = readRollup("2026-12-01", JSON.stringify(kept));
    expect(stored).toEqual(JSON.parse(JSON.stringify(kept)));
    const report = aggregateUsage({
      range: RANGE,
      calls: [call({ usedSeconds: 1 }), call({ reservedAtMs: DAY1 + 24 * H, usedSeconds: 7 })],
      mints: [],
      refusals: [],
      rollups: stored === undefined ? [] : [stored],
      nowMs: 0,
    });
    expect(report.days.map((d) => d.byPlan.default?.usedSeconds ?? 0)).toEqual([600, 7, 0]);
    expect(report.topUsers[0]).toEqual({
      uid: "kept-user",
      plan: "default",
      calls: 1,
      usedSeconds: 600,
    });
  });

  it("ignores a stored rollup of another day, an open day, or a hand-edited one", () => {
    const kept = day([call()]).get("2026-12-01");
    const json = JSON.stringify(kept);
    expect(readRollup("2026-12-02", json)).toBeUndefined();
    expect(
      readRollup("2026-12-01", json.replace('"openCalls":0', '"openCalls":1')),
    ).toBeUndefined();
    expect(readRollup("2026-12-01", json.replace('"calls":1', '"calls":"1"'))).toBeUndefined();
    expect(readRollup("2026-12-01", "{")).toBeUndefined();
    expect(readRollup("2026-12-01", 5)).toBeUndefined();
  });

  it("keeps a plan or a user named __proto__ as any other", () => {
    const report = aggregateUsage({
      range: RANGE,
      calls: [call({ plan: "__proto__", uid: "__proto__" })],
      mints: [],
      refusals: [],
      nowMs: 0,
    });
    expect(Object.keys(report.byPlan)).toEqual(["__proto__"]);
    expect(report.total.calls).toBe(1);
    expect(report.topUsers.map((u) => u.uid)).toEqual(["__proto__"]);
  });
});
