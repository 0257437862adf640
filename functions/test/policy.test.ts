import { describe, expect, it } from "vitest";
import {
  boundTtlSeconds,
  dayField,
  decideUserMint,
  type Limits,
  MAX_CLOCK_SKEW_MS,
  mintRefund,
  mintRule,
  pickNetworkSlot,
  readMintState,
} from "../src/policy";

const limits: Limits = { userMinIntervalMs: 5_000, userDailyQuota: 3, networkPerWindow: 2 };
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

describe("decideUserMint", () => {
  it("lets a first mint through and starts the day's count", () => {
    expect(decideUserMint(undefined, limits, T0)).toEqual({
      ok: true,
      next: { seq: 1, reservedAtMs: T0, prevMintMs: null, dayCount: 1 },
    });
  });

  it("limits a second mint inside the interval, to the second it ends", () => {
    const state = { seq: 1, lastMintMs: T0, dayCount: 1 };
    expect(decideUserMint(state, limits, T0 + 1)).toEqual({
      ok: false,
      reason: "user-interval",
      retryAfterSeconds: 5,
    });
    expect(decideUserMint(state, limits, T0 + 4_001)).toEqual({
      ok: false,
      reason: "user-interval",
      retryAfterSeconds: 1,
    });
  });

  it("allows the next mint exactly when the interval has passed", () => {
    const state = { seq: 1, lastMintMs: T0, dayCount: 1 };
    expect(decideUserMint(state, limits, T0 + 5_000)).toEqual({
      ok: true,
      next: { seq: 2, reservedAtMs: T0 + 5_000, prevMintMs: T0, dayCount: 2 },
    });
  });

  it("reports the whole wait when the stored mint is ahead of this clock", () => {
    const state = { seq: 1, lastMintMs: T0 + 3_000, dayCount: 1 };
    const decision = decideUserMint(state, limits, T0);
    expect(decision).toEqual({ ok: false, reason: "user-interval", retryAfterSeconds: 8 });
    // The decision agrees with what it reported: refused a moment before, allowed at the time.
    expect(decideUserMint(state, limits, T0 + 7_999).ok).toBe(false);
    expect(decideUserMint(state, limits, T0 + 8_000).ok).toBe(true);
  });

  it("ignores a stored mint too far ahead to be clock skew (a hand edit)", () => {
    const ahead = T0 + limits.userMinIntervalMs + MAX_CLOCK_SKEW_MS;
    expect(decideUserMint({ seq: 1, lastMintMs: ahead, dayCount: 1 }, limits, T0).ok).toBe(false);
    expect(decideUserMint({ seq: 1, lastMintMs: ahead + 1, dayCount: 1 }, limits, T0)).toEqual({
      ok: true,
      next: { seq: 2, reservedAtMs: T0, prevMintMs: null, dayCount: 2 },
    });
  });

  it("refuses past the daily quota until UTC midnight", () => {
    const state = { seq: 7, lastMintMs: T0 - 60_000, dayCount: 3 };
    expect(decideUserMint(state, limits, T0)).toEqual({
      ok: false,
      reason: "daily-quota",
      retryAfterSeconds: 12 * 3600,
    });
  });

  it("checks the interval before the quota, so the shorter wait is reported", () => {
    const state = { seq: 3, lastMintMs: T0 - 1_000, dayCount: 3 };
    expect(decideUserMint(state, limits, T0)).toMatchObject({ reason: "user-interval" });
  });

  it("treats a zero quota as no mints at all", () => {
    expect(decideUserMint(undefined, { ...limits, userDailyQuota: 0 }, T0)).toMatchObject({
      ok: false,
      reason: "daily-quota",
    });
  });
});

describe("pickNetworkSlot", () => {
  const none = new Set<number>();
  it("picks a slot of the epoch-aligned minute, spread by the random draw", () => {
    expect(pickNetworkSlot(none, 2, T0 + 1_000, () => 0)).toEqual({
      ok: true,
      next: { windowStartMs: T0, k: 1 },
    });
    expect(pickNetworkSlot(none, 2, T0 + 1_000, () => 0.99)).toEqual({
      ok: true,
      next: { windowStartMs: T0, k: 2 },
    });
  });

  it("picks only free slots, and refuses until the minute's end once all are taken", () => {
    expect(pickNetworkSlot(new Set([1]), 2, T0 + 2_000, () => 0)).toMatchObject({
      ok: true,
      next: { k: 2 },
    });
    expect(pickNetworkSlot(new Set([1, 2]), 2, T0 + 30_000, () => 0)).toEqual({
      ok: false,
      reason: "ip-rate",
      retryAfterSeconds: 30,
    });
    expect(pickNetworkSlot(new Set([1, 2]), 2, T0 + 59_999, () => 0)).toMatchObject({
      retryAfterSeconds: 1,
    });
  });

  it("finds the last free slot of a large allowance", () => {
    const taken = new Set(Array.from({ length: 999 }, (_, i) => (i < 500 ? i + 1 : i + 2)));
    expect(pickNetworkSlot(taken, 1000, T0, Math.random)).toMatchObject({
      ok: true,
      next: { k: 501 },
    });
  });

  it("counts slots above a lowered allowance as taken", () => {
    expect(pickNetworkSlot(new Set([5, 6]), 2, T0, () => 0)).toMatchObject({
      ok: false,
      reason: "ip-rate",
    });
    expect(pickNetworkSlot(new Set([5]), 2, T0, () => 0)).toMatchObject({
      ok: true,
      next: { k: 1 },
    });
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

describe("the mint budget's documents", () => {
  const audit = { model: "gpt-realtime-2", ttlSeconds: 120 };

  it("reads a user document defensively, the interval handed back by a refund of the latest mint", () => {
    expect(readMintState({}, T0)).toEqual({ seq: 0, lastMintMs: null, dayCount: 0 });
    const doc = {
      seq: 3,
      lastSeq: 3,
      lastMintMs: T0 - 1_000,
      prevMintMs: T0 - 9_000,
      d20261123: 2,
    };
    expect(readMintState(doc, T0)).toEqual({ seq: 3, lastMintMs: T0 - 1_000, dayCount: 2 });
    expect(readMintState({ ...doc, refundedSeq: 3 }, T0)).toMatchObject({ lastMintMs: T0 - 9_000 });
    expect(readMintState({ seq: "seven", lastMintMs: "x", d20261123: "junk" }, T0)).toEqual({
      seq: 0,
      lastMintMs: null,
      dayCount: 0,
    });
  });

  it("charges a mint to today's counter by increment and records what was asked", () => {
    const rule = mintRule("u1", limits, audit);
    expect(rule.decide({ seq: 1, lastMintMs: null, dayCount: 1 }, T0)).toEqual({
      ok: true,
      seq: 2,
      record: { uid: "u1", seq: 2, status: "reserved", model: "gpt-realtime-2", ttlSeconds: 120 },
      user: { set: { lastSeq: 2, lastMintMs: T0, prevMintMs: null }, add: { d20261123: 1 } },
      grant: { remaining: 1 },
    });
    expect(rule.decide({ seq: 1, lastMintMs: T0, dayCount: 1 }, T0 + 1)).toEqual({
      ok: false,
      reason: "user-interval",
      retryAfterSeconds: 5,
    });
  });

  it("refunds a mint on the day it was charged to, whatever day it is now", () => {
    expect(mintRefund({ seq: 4, reservedAtMs: T0 })).toEqual({
      set: { refundedSeq: 4 },
      add: { [dayField(T0)]: -1 },
    });
    expect(dayField(T0)).toBe("d20261123");
  });
});
