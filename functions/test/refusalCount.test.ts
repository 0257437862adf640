/**
 * The refusal counter against the Firestore stand-in, started in-process.
 */
import { type Firestore } from "firebase-admin/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalFirestore, startLocalFirestore } from "./helpers/firestore";
import { HOOK_MS, REAL_TIME } from "./helpers/timeouts";
import { createRefusalCounter, REFUSALS, refusalCounterDoc } from "../src/refusalCount";

let firestore: LocalFirestore;
let db: Firestore;

beforeAll(async () => {
  firestore = await startLocalFirestore("demo-refusal-count-test");
  db = firestore.db;
}, HOOK_MS);

afterAll(() => firestore.stop(), HOOK_MS);

const DAY_MS = 86_400_000;

describe("refusal counts", REAL_TIME, () => {
  it("spreads one reason's refusals of a day over its shards", async () => {
    let r = 0;
    const count = createRefusalCounter(db, {
      now: () => Date.UTC(2026, 8, 9),
      random: () => (r++ % 8) / 8,
    });
    await Promise.all(Array.from({ length: 16 }, () => count("ip-rate")));
    const snap = await db.collection(REFUSALS).where("day", "==", "2026-09-09").get();
    expect(snap.size).toBe(8);
    expect(snap.docs.map((d) => d.get("count") as number)).toEqual(Array(8).fill(2));
    expect(refusalCounterDoc("ip-rate", Date.UTC(2026, 8, 9, 23), () => 0.99999)).toEqual({
      id: "2026-09-09_ip-rate_7",
      day: "2026-09-09",
      reason: "ip-rate",
      deleteAtMs: Date.UTC(2026, 8, 9) + 400 * DAY_MS,
    });
  });

  it("gives up at its deadline", async () => {
    const never = { collection: () => ({ doc: () => ({ set: () => new Promise(() => {}) }) }) };
    const count = createRefusalCounter(never as unknown as Firestore, { timeoutMs: 50 });
    await expect(count("ip-rate")).rejects.toThrow(/did not answer the refusal count within 50 ms/);
  });
});
