/**
 * The store against the Firestore stand-in (@firestore-emulator/server), started in-process.
 * The stand-in does not isolate transactions, so the concurrency cases here prove that the
 * limits rest on create() preconditions, not on isolation.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { FirestoreServer } from "@firestore-emulator/server";
import { type App, deleteApp, initializeApp } from "firebase-admin/app";
import { type Firestore, getFirestore, Timestamp } from "firebase-admin/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Limits } from "../src/policy";
import { createFirestoreStore, NETWORKS, type ReserveInput, USERS } from "../src/store";

let server: FirestoreServer;
let app: App;
let db: Firestore;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

beforeAll(async () => {
  const port = await freePort();
  server = new FirestoreServer();
  await server.start(port);
  process.env.FIRESTORE_EMULATOR_HOST = `127.0.0.1:${port}`;
  app = initializeApp({ projectId: "demo-store-test" }, "store-test");
  db = getFirestore(app);
});

afterAll(async () => {
  await deleteApp(app);
  server.stop();
});

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

async function mints(uid: string): Promise<Record<string, unknown>[]> {
  const snap = await db.collection(USERS).doc(uid).collection("mints").get();
  return snap.docs.map((d) => ({ id: d.id, ...d.data() }));
}

describe("Firestore store", () => {
  it("charges a mint and writes its audit record, secret-free, with a TTL", async () => {
    const store = createFirestoreStore(db, { now: clock().now });
    const request = input();
    const result = await store.reserve(request);
    expect(result).toEqual({
      ok: true,
      reservation: {
        uid: request.uid,
        network: request.network,
        seq: 1,
        reservedAtMs: T0,
        remaining: 2,
      },
    });
    const [record] = await mints(request.uid);
    expect(record).toEqual({
      id: "000000000001",
      uid: request.uid,
      status: "issued",
      model: "gpt-realtime-2",
      network: request.network,
      createdAt: Timestamp.fromMillis(T0),
      expiresAt: Timestamp.fromMillis(T0 + 120_000),
      deleteAt: Timestamp.fromMillis(T0 + 30 * 86_400_000),
    });
    const user = (await db.collection(USERS).doc(request.uid).get()).data();
    expect(user).toMatchObject({ seq: 1, lastMintMs: T0, dayCount: 1, day: "2026-11-23" });
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
      ["000000000002", "issued"],
    ]);
    expect(records[0]).toMatchObject({ failure: "unavailable" });
    const network = (
      await db
        .collection(NETWORKS)
        .doc(request.network ?? "")
        .get()
    ).data();
    expect(network).toMatchObject({ seq: 2, count: 1 });
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
      const store = createFirestoreStore(db, { now: clock().now });
      const request = input();
      const results = await Promise.all(Array.from({ length: 20 }, () => store.reserve(request)));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok && r.reason === "user-interval")).toHaveLength(19);
      expect(await mints(request.uid)).toHaveLength(1);
    });

    it("lets exactly the network's allowance of 20 users through", async () => {
      const store = createFirestoreStore(db, { now: clock().now });
      const network = `net-${randomUUID()}`;
      const tight = { ...limits, networkPerWindow: 5 };
      const requests = Array.from({ length: 20 }, () => input({ network, limits: tight }));
      const results = await Promise.all(requests.map((r) => store.reserve(r)));
      expect(results.filter((r) => r.ok)).toHaveLength(5);
      expect(results.filter((r) => !r.ok && r.reason === "ip-rate")).toHaveLength(15);
      // Losers whose user half landed alone (the stand-in commits partially) were handed back.
      let recovered = 0;
      for (const [i, result] of results.entries()) {
        if (result.ok) continue;
        const uid = requests[i]?.uid ?? "";
        const user = (await db.collection(USERS).doc(uid).get()).data();
        expect(user?.dayCount ?? 0).toBe(0);
        for (const record of await mints(uid)) expect(record.status).toBe("failed");
        recovered += (await mints(uid)).length;
      }
      // The burst did take the partial-commit path, so the lines above tested something.
      expect(recovered).toBeGreaterThan(0);
      const slots = await db.collection(NETWORKS).doc(network).collection("slots").get();
      expect(slots.size).toBe(5);
      expect((await db.collection(NETWORKS).doc(network).get()).data()).toMatchObject({
        seq: 5,
        count: 5,
      });
    });

    it("lets 20 different users on one network all through", async () => {
      const store = createFirestoreStore(db, { now: clock().now });
      const network = `net-${randomUUID()}`;
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.reserve(input({ network }))),
      );
      expect(results.filter((r) => !r.ok)).toEqual([]);
      expect(results.filter((r) => r.ok)).toHaveLength(20);
    });
  });
});
