/**
 * The usage reader against the Firestore stand-in, started in-process: records written by the
 * real stores (minuteStore.ts, store.ts) keep what usage needs, and the reader finds exactly
 * the range's records and refusal counters.
 */
import { type Firestore } from "firebase-admin/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalFirestore, startLocalFirestore } from "./helpers/firestore";
import { HOOK_MS, REAL_TIME } from "./helpers/timeouts";
import { docId } from "../src/firestoreOps";
import { createMinuteStore, VOICE_USERS } from "../src/minuteStore";
import { liveCall, type MinuteLimits } from "../src/minutes";
import type { Limits } from "../src/policy";
import { createRefusalCounter } from "../src/refusalCount";
import { createFirestoreStore } from "../src/store";
import { aggregateUsage, dayRange } from "../src/usage";
import { readRecords, readUsage, USAGE_DAYS } from "../src/usageStore";

let firestore: LocalFirestore;
let db: Firestore;

beforeAll(async () => {
  firestore = await startLocalFirestore("demo-usage-store-test");
  db = firestore.db;
}, HOOK_MS);

afterAll(() => firestore.stop(), HOOK_MS);

const DAY1 = Date.UTC(2026, 11, 1, 10);
const minutes: MinuteLimits = { dailySeconds: 3600, monthlySeconds: 0, maxCallSeconds: 60 };
const mints: Limits = {
  userDailyQuota: 100,
  userMinIntervalMs: 0,
  networkPerWindow: 100,
};

function clock(start: number) {
  let now = start;
  return { now: () => now, set: (ms: number) => (now = ms) };
}

describe("usage records", REAL_TIME, () => {
  it("keeps the plan, the model and the API on a call's record, and the plan on a mint's", async () => {
    const time = clock(DAY1);
    const calls = createMinuteStore(db, { now: time.now });
    const reserved = await calls.reserve("tags-user", minutes, 30, null, {
      plan: "pro",
      model: "gpt-realtime-mini",
      api: "realtime",
    });
    if (!reserved.ok) throw new Error("refused");
    // The record's later writes (live, ended) keep the tags.
    await calls.start(liveCall(reserved.held, "rtc_tags", DAY1));
    time.set(DAY1 + 10_000);
    await calls.end({ uid: "tags-user", seq: reserved.held.seq }, "user");
    const record = await db
      .collection(VOICE_USERS)
      .doc(docId("tags-user"))
      .collection("calls")
      .doc(String(reserved.held.seq).padStart(12, "0"))
      .get();
    expect(record.data()).toMatchObject({
      plan: "pro",
      model: "gpt-realtime-mini",
      api: "realtime",
      status: "ended",
      usedSeconds: 10,
    });

    const store = createFirestoreStore(db, { now: time.now });
    const minted = await store.reserve({
      uid: "tags-user",
      network: null,
      limits: mints,
      audit: { model: "gpt-realtime-2", ttlSeconds: 60, retentionDays: 30, plan: "pro" },
    });
    expect(minted.ok).toBe(true);
    const { mints: read } = await readRecords(db, dayRange("2026-12-01", "2026-12-01"));
    expect(read.filter((m) => m.uid === "tags-user")).toEqual([
      {
        uid: "tags-user",
        plan: "pro",
        model: "gpt-realtime-2",
        refunded: false,
        createdAtMs: DAY1 + 10_000,
      },
    ]);
  });

  it("reads exactly the range's calls, mints and refusal counts, users active before it left out", async () => {
    const time = clock(Date.UTC(2026, 9, 1));
    const calls = createMinuteStore(db, { now: time.now });
    const tags = { plan: "free", model: "gpt-realtime-2", api: "realtime" } as const;
    const reserveAt = async (uid: string, atMs: number) => {
      time.set(atMs);
      const reserved = await calls.reserve(uid, minutes, 90, null, tags);
      if (!reserved.ok) throw new Error("refused");
      return reserved.held;
    };
    // Before, on the edges of, inside and after the range 2026-10-02..2026-10-03.
    await reserveAt("old-user", Date.UTC(2026, 9, 1, 12));
    await reserveAt("range-user", Date.UTC(2026, 9, 1, 23, 59, 59));
    await reserveAt("range-user", Date.UTC(2026, 9, 2));
    const failed = await reserveAt("range-user", Date.UTC(2026, 9, 3, 23, 59, 59));
    await calls.fail(failed, "unavailable");
    await reserveAt("other-user", Date.UTC(2026, 9, 3, 8));
    await reserveAt("range-user", Date.UTC(2026, 9, 4));

    const count = createRefusalCounter(db, { now: () => Date.UTC(2026, 9, 2, 5) });
    await Promise.all(Array.from({ length: 12 }, () => count("daily-minutes")));
    await createRefusalCounter(db, { now: () => Date.UTC(2026, 9, 4) })("daily-minutes");

    const range = dayRange("2026-10-02", "2026-10-03");
    const { kept: _, ...records } = await readUsage(db, range, { concurrency: 2, rollups: false });
    expect(records.calls.map((c) => [c.uid, c.reservedAtMs]).sort()).toEqual(
      [
        ["other-user", Date.UTC(2026, 9, 3, 8)],
        ["range-user", Date.UTC(2026, 9, 2)],
        ["range-user", Date.UTC(2026, 9, 3, 23, 59, 59)],
      ].sort(),
    );
    const report = aggregateUsage({ range, ...records, nowMs: 0 });
    expect(report.total).toMatchObject({ calls: 2, usedSeconds: 120, refundedSeconds: 60 });
    expect(report.refusals).toEqual({ "daily-minutes": 12 });
  });

  it("keeps the rollup of a day that can no longer change, and later reads take it", async () => {
    const time = clock(Date.UTC(2026, 7, 1));
    const calls = createMinuteStore(db, { now: time.now });
    const tags = { plan: "kept", model: "gpt-realtime-2", api: "realtime" } as const;
    const call = async (uid: string, atMs: number, endAfterMs?: number) => {
      time.set(atMs);
      const reserved = await calls.reserve(uid, minutes, 90, null, tags);
      if (!reserved.ok) throw new Error("refused");
      await calls.start(liveCall(reserved.held, `rtc_${uid}_${atMs}`, atMs));
      if (endAfterMs === undefined) return;
      time.set(atMs + endAfterMs);
      await calls.end({ uid, seq: reserved.held.seq }, "user");
    };
    await call("rollup-a", Date.UTC(2026, 7, 1, 9), 30_000);
    await call("rollup-b", Date.UTC(2026, 7, 1, 10), 20_000);
    // Still live on the next day: that day is not final.
    await call("rollup-a", Date.UTC(2026, 7, 2, 9));
    const range = dayRange("2026-08-01", "2026-08-03");
    const nowMs = Date.UTC(2026, 7, 3, 12);

    const first = await readUsage(db, range, { nowMs });
    expect(first.kept).toEqual(["2026-08-01"]);
    const cold = aggregateUsage({ range, ...first, nowMs });
    const kept = await db.collection(USAGE_DAYS).doc("2026-08-01").get();
    expect(kept.get("day")).toBe("2026-08-01");

    // Removing a summed record by hand changes nothing now: the day is read from its rollup.
    await db
      .collection(VOICE_USERS)
      .doc("rollup-b")
      .collection("calls")
      .doc("000000000001")
      .delete();
    const second = await readUsage(db, range, { nowMs });
    expect(second.rollups.map((r) => r.day)).toEqual(["2026-08-01"]);
    expect(second.kept).toEqual([]);
    expect(second.calls.every((c) => c.reservedAtMs >= Date.UTC(2026, 7, 2))).toBe(true);
    const warm = aggregateUsage({ range, ...second, nowMs });
    expect(warm).toEqual(cold);
    expect(warm.byPlan.kept).toMatchObject({ calls: 3, usedSeconds: 30 + 20 + 60 });
    expect(warm.openCalls).toBe(1);

    const recordsOnly = await readUsage(db, range, { nowMs, rollups: false });
    expect(aggregateUsage({ range, ...recordsOnly, nowMs }).byPlan.kept?.calls).toBe(2);
  });
});
