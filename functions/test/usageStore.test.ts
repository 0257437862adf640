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
import { readUsageRecords } from "../src/usageStore";

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
    const { mints: read } = await readUsageRecords(db, dayRange("2026-12-01", "2026-12-01"));
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
    const records = await readUsageRecords(db, range, { concurrency: 2 });
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
});
