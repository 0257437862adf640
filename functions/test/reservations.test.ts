/**
 * The reservation engine with a budget of its own (a few units per user, one record per call),
 * against the Firestore stand-in, whose commits apply their writes in order and stop at the
 * first failing one. What the mint and minute stores add on top is tested in their own files.
 */
import { randomUUID } from "node:crypto";
import { FieldValue, type Firestore, Timestamp } from "firebase-admin/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  eventually,
  type LocalFirestore,
  startLocalFirestore,
  withAtomicCommits,
  withLateCommits,
} from "./helpers/firestore";
import { BURST_DEADLINE_MS, HOOK_MS, REAL_TIME } from "./helpers/timeouts";
import { counterValue, type Fields, type ReservationRule, wholeNumber } from "../src/budget";
import { docId, seqId, StoreUnavailableError } from "../src/firestoreOps";
import { NETWORK_WINDOWS } from "../src/networkSlots";
import {
  type BudgetLayout,
  counterWrites,
  createReservationEngine,
  type Held,
} from "../src/reservations";

let firestore: LocalFirestore;
let db: Firestore;

beforeAll(async () => {
  firestore = await startLocalFirestore("demo-reservations-test");
  db = firestore.db;
}, HOOK_MS);

afterAll(() => firestore.stop(), HOOK_MS);

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const LAYOUT: BudgetLayout = { users: "units", records: "uses", outcomes: "done", scope: "mint" };

interface Units {
  seq: number;
  used: number;
}

const readUnits = (data: Fields): Units => ({
  seq: wholeNumber(data.seq) ?? 0,
  used: counterValue(data.used),
});

/** `cap` units per user, ever; refuses once a user's sequence reaches `maxSeq`. */
function unitRule(uid: string, cap: number, maxSeq = Infinity) {
  const rule: ReservationRule<
    Units,
    { left: number },
    { reason: "spent"; retryAfterSeconds: number }
  > = {
    read: readUnits,
    decide(state) {
      if (state.used >= cap || state.seq >= maxSeq)
        return { ok: false, reason: "spent", retryAfterSeconds: 60 };
      const seq = state.seq + 1;
      return {
        ok: true,
        seq,
        record: { uid, seq, status: "reserved" },
        user: { set: { last: seq }, add: { used: 1 } },
        grant: { left: cap - state.used - 1 },
      };
    },
  };
  return rule;
}

const userDoc = (uid: string) => db.collection(LAYOUT.users).doc(docId(uid));
const recordDoc = (uid: string, seq: number) =>
  userDoc(uid).collection(LAYOUT.records).doc(seqId(seq));

async function slotsOf(network: string): Promise<Record<string, unknown>[]> {
  const snap = await db
    .collection(NETWORK_WINDOWS)
    .doc(`mint-${Math.floor(T0 / 60_000)}`)
    .collection("slots")
    .where("network", "==", network)
    .get();
  return snap.docs.map((d) => ({ id: d.id, ...d.data() }));
}

function engine(on: Firestore = db) {
  return createReservationEngine(on, LAYOUT, { now: () => T0, timeoutMs: BURST_DEADLINE_MS });
}

function held<G>(result: { ok: true; held: Held<G> } | { ok: false }): Held<G> {
  if (!result.ok) throw new Error("refused");
  return result.held;
}

describe("reservation engine", REAL_TIME, () => {
  it("writes the rule's record with its claim, network slot, times and TTL, and counts by increment", async () => {
    const reservations = engine();
    const uid = `u-${randomUUID()}`;
    const network = `net-${randomUUID()}`;
    const reserved = held(
      await reservations.reserve(
        { uid, network: { network, perWindow: 5 }, retentionDays: 30, rule: unitRule(uid, 2) },
        reservations.deadline("the test"),
      ),
    );
    expect(reserved).toEqual({
      uid,
      seq: 1,
      reservedAtMs: T0,
      deleteAtMs: T0 + 30 * 86_400_000,
      slot: { scope: "mint", network, windowStartMs: T0, k: expect.any(Number) },
      grant: { left: 1 },
    });
    const [slot] = await slotsOf(network);
    expect((await recordDoc(uid, 1).get()).data()).toEqual({
      uid,
      seq: 1,
      status: "reserved",
      claim: slot?.claim,
      network,
      networkSlot: `${NETWORK_WINDOWS}/mint-${Math.floor(T0 / 60_000)}/slots/${slot?.id}`,
      createdAt: Timestamp.fromMillis(T0),
      deleteAt: Timestamp.fromMillis(T0 + 30 * 86_400_000),
    });
    expect((await userDoc(uid).get()).data()).toEqual({
      uid,
      seq: 1,
      last: 1,
      used: 1,
      updatedAt: Timestamp.fromMillis(T0),
      deleteAt: Timestamp.fromMillis(T0 + 31 * 86_400_000),
    });
    const deadline = reservations.deadline("the test");
    expect(await reservations.state(uid, readUnits, deadline)).toEqual({
      state: { seq: 1, used: 1 },
      atMs: T0,
    });
  });

  it("refuses as the rule says, writes nothing, and returns the state it decided from", async () => {
    const reservations = engine();
    const uid = `u-${randomUUID()}`;
    await userDoc(uid).set({ seq: 4, used: 2 });
    expect(
      await reservations.reserve(
        { uid, network: null, retentionDays: 30, rule: unitRule(uid, 2) },
        reservations.deadline("the test"),
      ),
    ).toEqual({
      ok: false,
      refusal: { ok: false, reason: "spent", retryAfterSeconds: 60 },
      state: { seq: 4, used: 2 },
      atMs: T0,
    });
    expect((await userDoc(uid).collection(LAYOUT.records).get()).empty).toBe(true);
  });

  it("lets exactly the rule's allowance of 20 concurrent reservations through", async () => {
    const reservations = engine();
    const uid = `u-${randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        reservations.reserve(
          { uid, network: null, retentionDays: 30, rule: unitRule(uid, 3) },
          reservations.deadline("the test"),
        ),
      ),
    );
    expect(results.filter((r) => r.ok).map((r) => r.ok && r.held.seq)).toHaveLength(3);
    expect((await userDoc(uid).get()).get("used")).toBe(3);
    expect((await userDoc(uid).collection(LAYOUT.records).get()).size).toBe(3);
    // Real sockets and back-off: room for a loaded machine.
  }, 20_000);

  describe("a commit that landed in part (the stand-in's non-atomic commits)", () => {
    /** A record the user's document does not know of: the document fell behind it. */
    async function strayRecord(uid: string) {
      await recordDoc(uid, 1).set({ uid, seq: 1, claim: "someone else's" });
    }

    it("keeps the network slot that landed, and claims the user's half alone after the highest record", async () => {
      const reservations = engine();
      const uid = `u-${randomUUID()}`;
      const network = `net-${randomUUID()}`;
      await strayRecord(uid);
      const reserved = held(
        await reservations.reserve(
          { uid, network: { network, perWindow: 5 }, retentionDays: 30, rule: unitRule(uid, 5) },
          reservations.deadline("the test"),
        ),
      );
      expect(reserved.seq).toBe(2);
      const slots = await slotsOf(network);
      expect(slots).toHaveLength(1);
      expect(slots[0]?.k).toBe(reserved.slot?.k);
      expect((await recordDoc(uid, 2).get()).get("claim")).toBe(slots[0]?.claim);
    });

    it("hands the slot that landed back when the rule refuses the user on the next round", async () => {
      const reservations = engine();
      const uid = `u-${randomUUID()}`;
      const network = `net-${randomUUID()}`;
      await strayRecord(uid);
      const result = await reservations.reserve(
        // Past the stray record, the user may not reserve at all.
        { uid, network: { network, perWindow: 5 }, retentionDays: 30, rule: unitRule(uid, 5, 1) },
        reservations.deadline("the test"),
      );
      expect(result).toMatchObject({ ok: false, refusal: { reason: "spent" } });
      expect(await slotsOf(network)).toEqual([]);
    });

    it("with atomic commits, counts the slot that never landed as free", async () => {
      const reservations = engine(withAtomicCommits(db));
      const uid = `u-${randomUUID()}`;
      const network = `net-${randomUUID()}`;
      await strayRecord(uid);
      const reserved = held(
        await reservations.reserve(
          { uid, network: { network, perWindow: 1 }, retentionDays: 30, rule: unitRule(uid, 5) },
          reservations.deadline("the test"),
        ),
      );
      expect(reserved).toMatchObject({ seq: 2, slot: { k: 1 } });
      expect(await slotsOf(network)).toHaveLength(1);
    });
  });

  it("settles a record once: the charge and the slot go back once, however often it is asked", async () => {
    const reservations = engine();
    const uid = `u-${randomUUID()}`;
    const network = `net-${randomUUID()}`;
    const reserved = held(
      await reservations.reserve(
        { uid, network: { network, perWindow: 5 }, retentionDays: 30, rule: unitRule(uid, 5) },
        reservations.deadline("the test"),
      ),
    );
    const settle = () =>
      reservations.settle(
        reserved,
        {
          outcome: { status: "refunded" },
          atMs: T0 + 1_000,
          deleteAtMs: reserved.deleteAtMs,
          record: { status: "failed" },
          stampRecord: "refundedAt",
          user: { set: { refunded: reserved.seq }, add: { used: -1 } },
          releaseSlot: reserved.slot,
        },
        reservations.deadline("the test"),
      );
    expect((await Promise.all([settle(), settle(), settle()])).sort()).toEqual([
      "already",
      "already",
      "settled",
    ]);
    expect((await userDoc(uid).get()).data()).toMatchObject({ used: 0, refunded: 1 });
    expect(await slotsOf(network)).toEqual([]);
    const deadline = reservations.deadline("the test");
    expect(await reservations.record(reserved, deadline)).toMatchObject({
      status: "failed",
      refundedAt: Timestamp.fromMillis(T0 + 1_000),
    });
    expect(await reservations.outcome(reserved, deadline)).toEqual({
      status: "refunded",
      at: Timestamp.fromMillis(T0 + 1_000),
      deleteAt: Timestamp.fromMillis(reserved.deleteAtMs),
    });
    expect(await reservations.outcome({ uid, seq: 2 }, deadline)).toBeUndefined();
  });

  it("finds and updates a user's records, and no other user's", async () => {
    const reservations = engine();
    const uid = `u-${randomUUID()}`;
    const reserved = held(
      await reservations.reserve(
        { uid, network: null, retentionDays: 30, rule: unitRule(uid, 5) },
        reservations.deadline("the test"),
      ),
    );
    const deadline = reservations.deadline("the test");
    await reservations.updateRecord(reserved, { callId: "rtc_1" }, deadline);
    expect(await reservations.findRecord(uid, "callId", "rtc_1", deadline)).toMatchObject({
      seq: 1,
      status: "reserved",
      callId: "rtc_1",
    });
    expect(await reservations.findRecord(`u-${randomUUID()}`, "callId", "rtc_1", deadline)).toBe(
      undefined,
    );
  });

  it("settles a reservation given up at its deadline once its commit lands after all", async () => {
    const reservations = createReservationEngine(withLateCommits(db, 600), LAYOUT, {
      now: () => T0,
      timeoutMs: 300,
    });
    const uid = `u-${randomUUID()}`;
    const network = `net-${randomUUID()}`;
    await expect(
      reservations.reserve(
        {
          uid,
          network: { network, perWindow: 5 },
          retentionDays: 30,
          rule: unitRule(uid, 5),
          abandoned: (late, atMs) => ({
            outcome: { status: "refunded", failure: "late" },
            atMs,
            deleteAtMs: late.deleteAtMs,
            record: { status: "failed" },
            user: { add: { used: -1 } },
            releaseSlot: late.slot,
          }),
        },
        reservations.deadline("the test"),
      ),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
    // The commit lands 600 ms after it was sent; then the engine hands it back.
    const record = await eventually(
      async () => (await recordDoc(uid, 1).get()).data(),
      (data) => data?.status === "failed",
    );
    expect(record).toMatchObject({ status: "failed" });
    expect((await userDoc(uid).get()).get("used")).toBe(0);
    expect(await slotsOf(network)).toEqual([]);
  }, 20_000);
});

describe("counterWrites", () => {
  it("increments a counter that holds a number or nothing, and writes the charge over one that holds garbage", () => {
    const writes = counterWrites(
      { d1: 5, d2: -1, d3: 2, m1: 5, zero: 0 },
      { d1: "junk", d2: 3, m1: { edited: true }, zero: "x" },
    );
    expect(writes).toEqual({
      d1: 5,
      d2: FieldValue.increment(-1),
      d3: FieldValue.increment(2),
      m1: 5,
    });
    expect(counterWrites(undefined, { d1: "junk" })).toEqual({});
  });
});
