import { describe, expect, it } from "vitest";
import {
  boundTtlSeconds,
  decideNetworkMint,
  decideUserMint,
  type Limits,
  nextUtcMidnightMs,
  refundNetworkMint,
  refundUserMint,
  utcDay,
} from "../src/policy";

const limits: Limits = { userMinIntervalMs: 5_000, userDailyQuota: 3, networkPerWindow: 2 };
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

describe("decideUserMint", () => {
  it("lets a first mint through and starts the day's count", () => {
    const decision = decideUserMint(undefined, limits, T0);
    expect(decision).toEqual({
      ok: true,
      next: { seq: 1, lastMintMs: T0, prevMintMs: null, day: "2026-11-23", dayCount: 1 },
    });
  });

  it("limits a second mint inside the interval, to the second it ends", () => {
    const first = decideUserMint(undefined, limits, T0);
    if (!first.ok) throw new Error("first mint refused");
    expect(decideUserMint(first.next, limits, T0 + 1)).toEqual({
      ok: false,
      reason: "user-interval",
      retryAfterSeconds: 5,
    });
    expect(decideUserMint(first.next, limits, T0 + 4_001)).toEqual({
      ok: false,
      reason: "user-interval",
      retryAfterSeconds: 1,
    });
  });

  it("allows the next mint exactly when the interval has passed", () => {
    const first = decideUserMint(undefined, limits, T0);
    if (!first.ok) throw new Error("first mint refused");
    const second = decideUserMint(first.next, limits, T0 + 5_000);
    expect(second).toMatchObject({ ok: true, next: { seq: 2, dayCount: 2, prevMintMs: T0 } });
  });

  it("never asks a caller with a lagging clock to wait longer than the interval", () => {
    const state = {
      seq: 1,
      lastMintMs: T0 + 60_000,
      prevMintMs: null,
      day: "2026-11-23",
      dayCount: 1,
    };
    expect(decideUserMint(state, limits, T0)).toEqual({
      ok: false,
      reason: "user-interval",
      retryAfterSeconds: 5,
    });
  });

  it("refuses past the daily quota until UTC midnight", () => {
    const state = {
      seq: 7,
      lastMintMs: T0 - 60_000,
      prevMintMs: null,
      day: "2026-11-23",
      dayCount: 3,
    };
    expect(decideUserMint(state, limits, T0)).toEqual({
      ok: false,
      reason: "daily-quota",
      retryAfterSeconds: 12 * 3600,
    });
  });

  it("resets the quota at UTC midnight, not before", () => {
    const lastBeforeMidnight = Date.UTC(2026, 10, 23, 23, 59, 50);
    const state = {
      seq: 3,
      lastMintMs: lastBeforeMidnight,
      prevMintMs: null,
      day: "2026-11-23",
      dayCount: 3,
    };
    const justBefore = Date.UTC(2026, 10, 23, 23, 59, 59, 999);
    expect(decideUserMint(state, limits, justBefore)).toMatchObject({
      ok: false,
      reason: "daily-quota",
      retryAfterSeconds: 1,
    });
    const midnight = Date.UTC(2026, 10, 24);
    expect(decideUserMint(state, limits, midnight)).toEqual({
      ok: true,
      next: {
        seq: 4,
        lastMintMs: midnight,
        prevMintMs: lastBeforeMidnight,
        day: "2026-11-24",
        dayCount: 1,
      },
    });
  });

  it("checks the interval before the quota, so the shorter wait is reported", () => {
    const state = {
      seq: 3,
      lastMintMs: T0 - 1_000,
      prevMintMs: null,
      day: "2026-11-23",
      dayCount: 3,
    };
    expect(decideUserMint(state, limits, T0)).toMatchObject({ reason: "user-interval" });
  });

  it("treats a zero quota as no mints at all", () => {
    expect(decideUserMint(undefined, { ...limits, userDailyQuota: 0 }, T0)).toMatchObject({
      ok: false,
      reason: "daily-quota",
    });
  });
});

describe("decideNetworkMint", () => {
  it("counts within an epoch-aligned minute and refuses past the limit", () => {
    const a = decideNetworkMint(undefined, limits, T0 + 1_000);
    if (!a.ok) throw new Error("refused");
    expect(a.next).toEqual({ seq: 1, windowStartMs: T0, count: 1 });
    const b = decideNetworkMint(a.next, limits, T0 + 2_000);
    if (!b.ok) throw new Error("refused");
    expect(b.next).toEqual({ seq: 2, windowStartMs: T0, count: 2 });
    expect(decideNetworkMint(b.next, limits, T0 + 30_000)).toEqual({
      ok: false,
      reason: "ip-rate",
      retryAfterSeconds: 30,
    });
  });

  it("opens a new window on the minute", () => {
    const full = { seq: 9, windowStartMs: T0, count: 2 };
    expect(decideNetworkMint(full, limits, T0 + 59_999)).toMatchObject({
      ok: false,
      retryAfterSeconds: 1,
    });
    expect(decideNetworkMint(full, limits, T0 + 60_000)).toEqual({
      ok: true,
      next: { seq: 10, windowStartMs: T0 + 60_000, count: 1 },
    });
  });
});

describe("refunds", () => {
  it("give the interval and the quota back for the latest mint", () => {
    const state = {
      seq: 4,
      lastMintMs: T0,
      prevMintMs: T0 - 10_000,
      day: "2026-11-23",
      dayCount: 2,
    };
    expect(refundUserMint(state, T0)).toEqual({
      seq: 4,
      lastMintMs: T0 - 10_000,
      prevMintMs: null,
      day: "2026-11-23",
      dayCount: 1,
    });
  });

  it("keep a later mint's interval and a new day's count", () => {
    const nextDay = Date.UTC(2026, 10, 24, 0, 0, 1);
    const state = { seq: 5, lastMintMs: nextDay, prevMintMs: T0, day: "2026-11-24", dayCount: 1 };
    expect(refundUserMint(state, T0)).toEqual(state);
  });

  it("return a network slot only in the window it was taken", () => {
    expect(refundNetworkMint({ seq: 3, windowStartMs: T0, count: 2 }, T0 + 10)).toEqual({
      seq: 3,
      windowStartMs: T0,
      count: 1,
    });
    expect(refundNetworkMint({ seq: 3, windowStartMs: T0 + 60_000, count: 1 }, T0 + 10)).toEqual({
      seq: 3,
      windowStartMs: T0 + 60_000,
      count: 1,
    });
  });
});

describe("time helpers", () => {
  it("name the UTC day and its end", () => {
    expect(utcDay(Date.UTC(2026, 0, 1, 0, 0, 0))).toBe("2026-01-01");
    expect(utcDay(Date.UTC(2025, 11, 31, 23, 59, 59, 999))).toBe("2025-12-31");
    expect(nextUtcMidnightMs(Date.UTC(2026, 1, 28, 13))).toBe(Date.UTC(2026, 2, 1));
  });
});

describe("boundTtlSeconds", () => {
  it.each([
    [120, 120],
    [10, 10],
    [7200, 7200],
    [9, 10],
    [0, 10],
    [-5, 10],
    [7201, 7200],
    [90.4, 90],
    [Number.NaN, 10],
  ])("%s -> %s", (input, expected) => {
    expect(boundTtlSeconds(input)).toBe(expected);
  });
});
