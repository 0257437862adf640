/**
 * The store against the Firestore stand-in (@firestore-emulator/server), started in-process.
 * The stand-in does not isolate transactions, so the concurrency cases here prove that the
 * limits rest on create() preconditions, not on isolation.
 */
import { randomUUID } from "node:crypto";
import { type Firestore, Timestamp } from "firebase-admin/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  eventually,
  type LocalFirestore,
  startHungFirestore,
  startLocalFirestore,
  withAtomicCommits,
  withLateCommits,
} from "./helpers/firestore";
import { BURST_DEADLINE_MS, HOOK_MS, REAL_TIME } from "./helpers/timeouts";
import type { Limits } from "../src/policy";
import { docId } from "../src/firestoreOps";
import { NETWORK_WINDOWS } from "../src/networkSlots";
import { createFirestoreStore, type Reservation, type ReserveInput, USERS } from "../src/store";

let firestore: LocalFirestore;
let db: Firestore;

beforeAll(async () => {
  firestore = await startLocalFirestore("demo-store-test");
  db = firestore.db;
}, HOOK_MS);

afterAll(() => firestore.stop(), HOOK_MS);

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const limits: Limits = { userMinIntervalMs: 5_000, userDailyQuota: 3, networkPerWindow: 30 };

function input(overrides: Partial<ReserveInput> = {}): ReserveInput {
  return {
    uid: `user-${randomUUID()}`,
    network: `net-${randomUUID()}`,
    limits,
    audit: { model: "gpt-realtime-2", ttlSeconds: 120, retentionDays: 30 },
    ...overrides,
  };
}

function clock(start = T0) {
  let now = start;
  return { now: () => now, set: (ms: number) => (now = ms), advance: (ms: number) => (now += ms) };
}

/** The mint slots a network holds in the minute of `ms`. */
async function slots(network: string, ms = T0): Promise<Record<string, unknown>[]> {
  const snap = await db
    .collection(NETWORK_WINDOWS)
    .doc(`mint-${Math.floor(ms / 60_000)}`)
    .collection("slots")
    .where("network", "==", network)
    .get();
  return snap.docs.map((d) => ({ id: d.id, ...d.data() }));
}

async function mints(uid: string): Promise<Record<string, unknown>[]> {
  const snap = await db.collection(USERS).doc(docId(uid)).collection("mints").get();
  return snap.docs.map((d) => ({ id: d.id, ...d.data() }));
}

describe("Firestore store", REAL_TIME, () => {
  it("charges a mint and writes its audit record, secret-free, with a TTL", async () => {
    const store = createFirestoreStore(db, { now: clock().now });
    const request = input();
    const result = await store.reserve(request);
    expect(result).toEqual({
      ok: true,
      reservation: {
        uid: request.uid,
        slot: {
          scope: "mint",
          network: request.network,
          windowStartMs: T0,
          k: expect.any(Number),
        },
        seq: 1,
        reservedAtMs: T0,
        remaining: 2,
        deleteAtMs: T0 + 30 * 86_400_000,
      },
    });
    const [record] = await mints(request.uid);
    expect(record).toEqual({
      id: "000000000001",
      seq: 1,
      uid: request.uid,
      status: "reserved",
      model: "gpt-realtime-2",
      ttlSeconds: 120,
      network: request.network,
      networkSlot: expect.stringMatching(/^networkWindows\/mint-\d+\/slots\/net-[0-9a-f-]+-\d+$/),
      claim: expect.any(String),
      createdAt: Timestamp.fromMillis(T0),
      deleteAt: Timestamp.fromMillis(T0 + 30 * 86_400_000),
    });
    const user = (await db.collection(USERS).doc(request.uid).get()).data();
    expect(user).toMatchObject({ seq: 1, lastSeq: 1, lastMintMs: T0, d20261123: 1 });
    const [slot] = await slots(request.network ?? "");
    expect(`${NETWORK_WINDOWS}/mint-${Math.floor(T0 / 60_000)}/slots/${slot?.id}`).toBe(
      record?.networkSlot,
    );
    expect(slot).toMatchObject({
      network: request.network,
      windowStartMs: T0,
      deleteAt: Timestamp.fromMillis(T0 + 60_000 + 86_400_000),
    });
  });

  it("limits a second mint inside the interval and writes nothing for it", async () => {
    const time = clock();
    const store = createFirestoreStore(db, { now: time.now });
    const request = input();
    await store.reserve(request);
    time.advance(1_200);
    expect(await store.reserve(request)).toEqual({
      ok: false,
      reason: "user-interval",
      retryAfterSeconds: 4,
    });
    expect(await mints(request.uid)).toHaveLength(1);
    time.advance(3_800);
    expect(await store.reserve(request)).toMatchObject({
      ok: true,
      reservation: { seq: 2, remaining: 1 },
    });
  });

  it("refunds a failed mint: the user may mint again at once, with the quota back", async () => {
    const time = clock();
    const store = createFirestoreStore(db, { now: time.now });
    const request = input();
    const first = await store.reserve(request);
    if (!first.ok) throw new Error("refused");
    time.advance(100);
    await store.refund(first.reservation, "unavailable");
    time.advance(100);
    const second = await store.reserve(request);
    expect(second).toMatchObject({ ok: true, reservation: { seq: 2, remaining: 2 } });
    const records = await mints(request.uid);
    expect(records.map((r) => [r.id, r.status])).toEqual([
      ["000000000001", "failed"],
      ["000000000002", "reserved"],
    ]);
    expect(records[0]).toMatchObject({ failure: "unavailable" });
    // The refund deleted its own slot; the second mint holds one.
    expect((await slots(request.network ?? "")).map((slot) => slot.claim)).toEqual([
      records[1]?.claim,
    ]);
  });

  it("enforces the daily quota and resets it at UTC midnight", async () => {
    const time = clock(Date.UTC(2026, 10, 23, 23, 0, 0));
    const store = createFirestoreStore(db, { now: time.now });
    const request = input({ limits: { ...limits, userMinIntervalMs: 0 } });
    for (let i = 0; i < 3; i++) expect((await store.reserve(request)).ok).toBe(true);
    expect(await store.reserve(request)).toEqual({
      ok: false,
      reason: "daily-quota",
      retryAfterSeconds: 3600,
    });
    time.set(Date.UTC(2026, 10, 24, 0, 0, 0));
    expect(await store.reserve(request)).toMatchObject({
      ok: true,
      reservation: { seq: 4, remaining: 2 },
    });
  });

  it("limits a network across users, per minute", async () => {
    const time = clock(T0 + 50_000);
    const store = createFirestoreStore(db, { now: time.now });
    const network = `net-${randomUUID()}`;
    const tight = { ...limits, networkPerWindow: 2 };
    expect((await store.reserve(input({ network, limits: tight }))).ok).toBe(true);
    expect((await store.reserve(input({ network, limits: tight }))).ok).toBe(true);
    expect(await store.reserve(input({ network, limits: tight }))).toEqual({
      ok: false,
      reason: "ip-rate",
      retryAfterSeconds: 10,
    });
    time.advance(10_000);
    expect((await store.reserve(input({ network, limits: tight }))).ok).toBe(true);
  });

  it("charges nothing, and writes nothing, when the network refuses", async () => {
    const time = clock(T0);
    const store = createFirestoreStore(db, { now: time.now });
    const network = `net-${randomUUID()}`;
    const one = { ...limits, networkPerWindow: 1 };
    expect((await store.reserve(input({ network, limits: one }))).ok).toBe(true);
    const refused = input({ network, limits: one });
    expect(await store.reserve(refused)).toMatchObject({ ok: false, reason: "ip-rate" });
    expect(await mints(refused.uid)).toEqual([]);
    time.advance(10);
    expect(await store.reserve({ ...refused, network: `net-${randomUUID()}` })).toMatchObject({
      ok: true,
      reservation: { seq: 1, remaining: 2 },
    });
  });

  it("skips the network limit when the address is unknown", async () => {
    const store = createFirestoreStore(db, { now: clock().now });
    expect(await store.reserve(input({ network: null }))).toMatchObject({ ok: true });
  });

  describe("under concurrency, on a Firestore that does not isolate transactions", () => {
    it("lets exactly one of 20 simultaneous mints by one user through", async () => {
      const store = createFirestoreStore(db, { now: clock().now, timeoutMs: BURST_DEADLINE_MS });
      const request = input();
      const results = await Promise.all(Array.from({ length: 20 }, () => store.reserve(request)));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok && r.reason === "user-interval")).toHaveLength(19);
      expect(await mints(request.uid)).toHaveLength(1);
    });

    it("lets exactly the network's allowance of 20 users through", async () => {
      const store = createFirestoreStore(db, { now: clock().now, timeoutMs: BURST_DEADLINE_MS });
      const network = `net-${randomUUID()}`;
      const tight = { ...limits, networkPerWindow: 5 };
      const requests = Array.from({ length: 20 }, () => input({ network, limits: tight }));
      const results = await Promise.all(requests.map((r) => store.reserve(r)));
      expect(results.filter((r) => r.ok)).toHaveLength(5);
      expect(results.filter((r) => !r.ok && r.reason === "ip-rate")).toHaveLength(15);
      // The network's guard is the first write: a refused user has nothing written at all.
      for (const [i, result] of results.entries()) {
        if (result.ok) continue;
        expect(await mints(requests[i]?.uid ?? "")).toEqual([]);
      }
      expect(await slots(network)).toHaveLength(5);
    });

    it("lets exactly 10 of 30 users on one address through, with an allowance of 10", async () => {
      const store = createFirestoreStore(db, { now: clock().now, timeoutMs: BURST_DEADLINE_MS });
      const network = `net-${randomUUID()}`;
      const ten = { ...limits, networkPerWindow: 10 };
      const results = await Promise.all(
        Array.from({ length: 30 }, () => store.reserve(input({ network, limits: ten }))),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(10);
      expect(results.filter((r) => !r.ok && r.reason === "ip-rate")).toHaveLength(20);
      expect(
        (await slots(network)).map((slot) => slot.k).sort((a, b) => Number(a) - Number(b)),
      ).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });

    it("lets 20 different users on one network all through", async () => {
      const store = createFirestoreStore(db, { now: clock().now, timeoutMs: BURST_DEADLINE_MS });
      const network = `net-${randomUUID()}`;
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.reserve(input({ network }))),
      );
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(results.filter((r) => r.ok)).toHaveLength(20);
    });
  });

  describe("under faults", () => {
    it("never lets a refund erase a reservation committed meanwhile", async () => {
      const store = createFirestoreStore(db, { now: clock().now, timeoutMs: BURST_DEADLINE_MS });
      const network = `net-${randomUUID()}`;
      const ten = { ...limits, networkPerWindow: 10 };
      const first = await Promise.all(
        Array.from({ length: 5 }, () => store.reserve(input({ network, limits: ten }))),
      );
      const held = first.map((r) => (r.ok ? r.reservation : undefined));
      expect(held.every((r) => r !== undefined)).toBe(true);
      // Refunds and new reservations on the same network document, all at once.
      const [, second] = await Promise.all([
        Promise.all(held.map((r) => r && store.refund(r, "unavailable"))),
        Promise.all(
          Array.from({ length: 5 }, () => store.reserve(input({ network, limits: ten }))),
        ),
      ]);
      expect(second.filter((r) => r.ok)).toHaveLength(5);
      // Five are charged now; exactly five more fit, and the address is not wedged.
      const third = await Promise.all(
        Array.from({ length: 7 }, () => store.reserve(input({ network, limits: ten }))),
      );
      expect(third.filter((r) => r.ok)).toHaveLength(5);
      expect(third.filter((r) => !r.ok && r.reason === "ip-rate")).toHaveLength(2);
    });

    it("leaves no charge on a user whose reservation failed or was refused", async () => {
      const store = createFirestoreStore(db, { now: clock().now, maxRounds: 3 });
      const network = `net-${randomUUID()}`;
      const requests = Array.from({ length: 15 }, () =>
        input({ network, limits: { ...limits, networkPerWindow: 10 } }),
      );
      const results = await Promise.allSettled(requests.map((r) => store.reserve(r)));
      let charged = 0;
      for (const [i, result] of results.entries()) {
        const uid = requests[i]?.uid ?? "";
        const records = await mints(uid);
        const counted = records.filter((r) => r.status !== "failed").length;
        if (result.status === "fulfilled" && result.value.ok) {
          charged += 1;
          expect(counted).toBe(1);
        } else {
          expect(counted, `user ${i}: ${JSON.stringify(result)}`).toBe(0);
        }
      }
      expect(charged).toBeLessThanOrEqual(10);
    });

    it("keeps serving a user whose limit document was deleted or hand-edited", async () => {
      const time = clock();
      const store = createFirestoreStore(db, { now: time.now });
      const request = input();
      expect((await store.reserve(request)).ok).toBe(true);
      const userDoc = db.collection(USERS).doc(request.uid);
      await userDoc.delete();
      time.advance(10_000);
      expect(await store.reserve(request)).toMatchObject({ ok: true });
      await userDoc.set({ seq: "seven" }, { merge: true });
      time.advance(10_000);
      expect(await store.reserve(request)).toMatchObject({ ok: true });
      const ids = (await mints(request.uid)).map((r) => r.id);
      expect(new Set(ids).size).toBe(3);
    });

    it("serves a user whose limit document's seq and counter hold garbage, leaving no stray record", async () => {
      // Firestore's increment over a string, on the stand-in, fails the commit after the
      // record's create() landed: a stray record and an error, on every try.
      const time = clock();
      const store = createFirestoreStore(db, { now: time.now });
      const request = input();
      expect((await store.reserve(request)).ok).toBe(true);
      const userDoc = db.collection(USERS).doc(docId(request.uid));
      await userDoc.update({ seq: "x", d20261123: "junk", lastMintMs: "x" });
      time.advance(10_000);
      expect(await store.reserve(request)).toMatchObject({
        ok: true,
        reservation: { seq: 2, remaining: 2 },
      });
      expect((await mints(request.uid)).map((r) => r.seq)).toEqual([1, 2]);
      expect((await userDoc.get()).data()).toMatchObject({ seq: 2, d20261123: 1 });
    });

    it("with atomic commits, repairs a user document that fell behind without spending its network's slots", async () => {
      // On Firestore the slot's create() is undone with the user's record: the slot is free.
      const time = clock();
      const store = createFirestoreStore(withAtomicCommits(db), { now: time.now });
      const request = input({ limits: { ...limits, networkPerWindow: 2 } });
      expect((await store.reserve(request)).ok).toBe(true);
      await db.collection(USERS).doc(docId(request.uid)).delete();
      time.advance(60_000);
      expect(await store.reserve(request)).toMatchObject({ ok: true });
      expect(await slots(request.network ?? "", T0 + 60_000)).toHaveLength(1);
      expect(new Set((await mints(request.uid)).map((r) => r.id)).size).toBe(2);
    });

    it("keeps a network exact and open when its slots were deleted or edited by hand", async () => {
      const time = clock();
      const store = createFirestoreStore(db, { now: time.now });
      const network = `net-${randomUUID()}`;
      const three = { ...limits, networkPerWindow: 3 };
      for (let i = 0; i < 3; i++) {
        expect((await store.reserve(input({ network, limits: three }))).ok).toBe(true);
      }
      const [first, second] = await slots(network);
      // An edited slot is invisible to the query, yet still taken: it is learned on collision.
      await db
        .collection(NETWORK_WINDOWS)
        .doc(`mint-${Math.floor(T0 / 60_000)}`)
        .collection("slots")
        .doc(String(first?.id))
        .set({ network: "someone-else", k: "seven" });
      expect(await store.reserve(input({ network, limits: three }))).toMatchObject({
        ok: false,
        reason: "ip-rate",
      });
      // A deleted slot is room for one more, not a lockout.
      await db
        .collection(NETWORK_WINDOWS)
        .doc(`mint-${Math.floor(T0 / 60_000)}`)
        .collection("slots")
        .doc(String(second?.id))
        .delete();
      expect((await store.reserve(input({ network, limits: three }))).ok).toBe(true);
      expect((await store.reserve(input({ network, limits: three }))).ok).toBe(false);
      time.advance(60_000);
      expect((await store.reserve(input({ network, limits: three }))).ok).toBe(true);
    });

    it("keeps a uid with slashes inside its own document", async () => {
      const store = createFirestoreStore(db, { now: clock().now });
      const victim = input();
      expect((await store.reserve(victim)).ok).toBe(true);
      const before = await mints(victim.uid);
      const attacker = input({ uid: `${victim.uid}/mints/000000000001` });
      expect(await store.reserve(attacker)).toMatchObject({ ok: true });
      expect(await mints(victim.uid)).toEqual(before);
      const dots = input({ uid: ".." });
      expect(await store.reserve(dots)).toMatchObject({ ok: true });
    });

    it("records a reservation as reserved, never as issued", async () => {
      const store = createFirestoreStore(db, { now: clock().now });
      const request = input();
      expect((await store.reserve(request)).ok).toBe(true);
      const [record] = await mints(request.uid);
      expect(record?.status).toBe("reserved");
    });

    it("gives limit documents a TTL after inactivity", async () => {
      const store = createFirestoreStore(db, { now: clock().now });
      const request = input();
      expect((await store.reserve(request)).ok).toBe(true);
      const user = (await db.collection(USERS).doc(request.uid).get()).data();
      const [slot] = await slots(request.network ?? "");
      // The user document outlives its audit records (30 days); a slot goes a day after its minute.
      expect(user?.deleteAt?.toMillis()).toBeGreaterThan(T0 + 30 * 86_400_000);
      expect((slot?.deleteAt as Timestamp | undefined)?.toMillis()).toBe(T0 + 60_000 + 86_400_000);
    });

    it("gives up within its deadline when Firestore does not answer", async () => {
      const hung = await startHungFirestore("demo-store-test");
      try {
        const store = createFirestoreStore(hung.db, { now: clock().now, timeoutMs: 300 });
        const started = Date.now();
        await expect(
          Promise.race([
            store.reserve(input()),
            new Promise((resolve) => setTimeout(() => resolve("still waiting"), 5_000)),
          ]),
        ).rejects.toThrow(/Firestore/);
        expect(Date.now() - started).toBeLessThan(2_000);
      } finally {
        await hung.stop();
      }
    });

    it("refunds a mint answered as unavailable whose commit landed after its deadline", async () => {
      const time = clock();
      const late = createFirestoreStore(withLateCommits(db, 600), {
        now: time.now,
        timeoutMs: 300,
      });
      const request = input();
      await expect(late.reserve(request)).rejects.toThrow(/Firestore/);
      await eventually(
        () => mints(request.uid),
        (records) => records[0]?.status === "failed",
      );
      expect((await db.collection(USERS).doc(request.uid).get()).get("d20261123")).toBe(0);
      expect(await slots(request.network ?? "")).toEqual([]);
      // No secret was returned for it: the user may mint again at once, the quota whole.
      time.advance(100);
      expect(await reserved(late.reserve(request))).toMatchObject({ seq: 2, remaining: 2 });
    }, 20_000);

    it("refunds a reservation once, however many times it is asked", async () => {
      const time = clock();
      const store = createFirestoreStore(db, { now: time.now });
      const request = input();
      const held = await reserved(store.reserve(request));
      // Another user's mint from the same network must survive the refunds.
      const other = await reserved(store.reserve(input({ network: request.network })));
      await Promise.all([
        store.refund(held, "unavailable"),
        store.refund(held, "unavailable"),
        store.refund(held, "unavailable"),
      ]);
      const user = (await db.collection(USERS).doc(request.uid).get()).data();
      expect(user?.d20261123).toBe(0);
      expect((await slots(request.network ?? "")).map((slot) => slot.k)).toEqual([other.slot?.k]);
      expect((await mints(request.uid)).map((r) => r.status)).toEqual(["failed"]);
    });

    it("keeps a reservation that was never refunded charged, and serves the user after the interval", async () => {
      const time = clock();
      const store = createFirestoreStore(db, { now: time.now });
      const request = input();
      // Reserved, then nothing: its secret was returned, or its refund never landed.
      await reserved(store.reserve(request));
      time.advance(4_000);
      expect(await store.reserve(request)).toMatchObject({ ok: false, reason: "user-interval" });
      time.advance(1_000);
      expect(await reserved(store.reserve(request))).toMatchObject({ seq: 2, remaining: 1 });
      expect((await mints(request.uid)).map((r) => r.status)).toEqual(["reserved", "reserved"]);
    });

    it("charges one user calling from two networks at once exactly once", async () => {
      const store = createFirestoreStore(db, { now: clock().now, timeoutMs: BURST_DEADLINE_MS });
      const uid = `user-${randomUUID()}`;
      const nets = [`net-${randomUUID()}`, `net-${randomUUID()}`];
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.reserve(input({ uid, network: nets[i % 2] }))),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      let slotsCharged = 0;
      for (const net of nets) slotsCharged += (await slots(net)).length;
      expect(slotsCharged).toBe(1);
    });
  });
});

async function reserved(
  result: Promise<Awaited<ReturnType<ReturnType<typeof createFirestoreStore>["reserve"]>>>,
): Promise<Reservation> {
  const value = await result;
  if (!value.ok) throw new Error(`refused: ${value.reason}`);
  return value.reservation;
}
