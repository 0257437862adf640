import { describe, expect, it } from "vitest";
import type { OperatorUsageResponse, PlanDayUsage, UsageDay } from "voice-contract";
import {
  chartData,
  formatDay,
  formatMinutes,
  formatUsd,
  planTotals,
  refusalRows,
  summaryOf,
  topUserRows,
  totalsOf,
} from "../../src/app/usageReport";

function usage(usedSeconds: number, extra: Partial<PlanDayUsage> = {}): PlanDayUsage {
  return { calls: 1, usedSeconds, refundedSeconds: 0, estimatedCostUsd: 0, ...extra };
}

const DAYS: UsageDay[] = [
  { day: "2026-12-05", byPlan: { free: usage(120), pro: usage(600, { calls: 2 }) } },
  { day: "2026-12-06", byPlan: {} },
  {
    day: "2026-12-07",
    byPlan: {
      free: usage(90, { refundedSeconds: 30, estimatedCostUsd: 0.25 }),
      staff: usage(60, { estimatedCostUsd: 1.5 }),
    },
  },
];

function response(overrides: Partial<OperatorUsageResponse> = {}): OperatorUsageResponse {
  return { days: DAYS, topUsers: [], refusals: {}, generatedAtMs: 0, ...overrides };
}

describe("planTotals", () => {
  it("orders the plans by minutes over the range, heaviest first, ties by name", () => {
    expect(planTotals(DAYS).map((p) => [p.plan, p.totals.usedSeconds])).toEqual([
      ["pro", 600],
      ["free", 210],
      ["staff", 60],
    ]);
    const tie: UsageDay[] = [{ day: "2026-12-07", byPlan: { b: usage(60), a: usage(60) } }];
    expect(planTotals(tie).map((p) => p.plan)).toEqual(["a", "b"]);
  });
});

describe("chartData", () => {
  it("gives each plan its minutes per day, zero where it had none, and the stack's top edges", () => {
    expect(chartData(DAYS)).toEqual({
      days: ["2026-12-05", "2026-12-06", "2026-12-07"],
      plans: ["pro", "free", "staff"],
      minutes: [
        [10, 0, 0],
        [2, 0, 1.5],
        [0, 0, 1],
      ],
      stacked: [
        [10, 0, 0],
        [12, 0, 1.5],
        [12, 0, 2.5],
      ],
    });
  });

  it("has no plans, and a day per day, when nobody called", () => {
    const quiet = [{ day: "2026-12-07", byPlan: {} }];
    expect(chartData(quiet)).toEqual({ days: ["2026-12-07"], plans: [], minutes: [], stacked: [] });
  });
});

describe("totals and summary", () => {
  it("sums every plan of every day, and today is the last day", () => {
    expect(totalsOf(DAYS)).toEqual({
      calls: 5,
      usedSeconds: 870,
      refundedSeconds: 30,
      estimatedCostUsd: 1.75,
    });
    expect(summaryOf(response({ refusals: { "daily-minutes": 3, "ip-rate": 2 } }))).toMatchObject({
      rangeDays: 3,
      today: { calls: 2, usedSeconds: 150, refundedSeconds: 30, estimatedCostUsd: 1.75 },
      refusals: 5,
    });
  });

  it("is all zero for an answer without days", () => {
    expect(summaryOf(response({ days: [] })).today).toEqual({
      calls: 0,
      usedSeconds: 0,
      refundedSeconds: 0,
      estimatedCostUsd: 0,
    });
  });
});

describe("rows", () => {
  it("names a top user by email, else by uid, in the server's order", () => {
    const rows = topUserRows(
      response({
        topUsers: [
          { uid: "u1", email: "ada@example.com", plan: "pro", calls: 1200, usedSeconds: 5430 },
          { uid: "u2", email: null, plan: "free", calls: 1, usedSeconds: 45 },
        ],
      }),
    );
    expect(rows).toEqual([
      { who: "ada@example.com", uid: "u1", plan: "pro", calls: "1,200", minutes: "90.5 min" },
      { who: "u2", uid: "u2", plan: "free", calls: "1", minutes: "0.8 min" },
    ]);
  });

  it("lists refusals most frequent first, then by reason, leaving out zeros", () => {
    const rows = refusalRows(
      response({ refusals: { "ip-rate": 2, "daily-minutes": 7, concurrent: 2, "mint-rate": 0 } }),
    );
    expect(rows).toEqual([
      { reason: "daily-minutes", count: "7" },
      { reason: "concurrent", count: "2" },
      { reason: "ip-rate", count: "2" },
    ]);
  });
});

describe("formatting", () => {
  it("shows minutes to a tenth, with thousands separated", () => {
    expect(formatMinutes(0)).toBe("0 min");
    expect(formatMinutes(30)).toBe("0.5 min");
    expect(formatMinutes(600)).toBe("10 min");
    expect(formatMinutes(74_043)).toBe("1,234.1 min");
  });

  it("shows dollars to the cent, and a tiny non-zero amount as such", () => {
    expect(formatUsd(0)).toBe("$0.00");
    expect(formatUsd(0.004)).toBe("< $0.01");
    expect(formatUsd(0.005)).toBe("$0.01");
    expect(formatUsd(1234.5)).toBe("$1,234.50");
  });

  it("shows a UTC day as month and day, and anything else as it is", () => {
    expect(formatDay("2026-12-07")).toBe("Dec 7");
    expect(formatDay("2026-01-31")).toBe("Jan 31");
    expect(formatDay("2026-13-01")).toBe("2026-13-01");
    expect(formatDay("yesterday")).toBe("yesterday");
  });
});
