/**
 * realtimeToken under faults, on the emulators, called through the Firebase JS SDK: OpenAI
 * failing during a shared-address burst, Firestore refusing connections (through the fault
 * proxy `npm run test:integration` puts between the functions and Firestore), limit documents
 * deleted or edited by hand, a uid with `/`, a clock-skewed stored mint, an expired secret, a
 * refusal whose count Firestore refuses.
 *
 * After each: successes = secrets returned = audit records left `reserved` (nothing is written
 * after the answer); a refused user is uncharged; the next caller (the same user, the same
 * address) is served. The one documented exception, a refund Firestore refused, is tested as such.
 */
import { randomInt, randomUUID } from "node:crypto";
import { deleteApp, initializeApp } from "firebase-admin/app";
import { getAuth } from "firebase-admin/auth";
import { type Firestore, getFirestore } from "firebase-admin/firestore";
import { getAuth as clientAuth } from "firebase/auth";
import type { FunctionsError } from "firebase/functions";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RealtimeTokenResponse } from "voice-contract";
import { docId } from "../src/firestoreOps";
import { REFUSALS } from "../src/refusalCount";
import {
  callError,
  clearFaults,
  type Client,
  firestoreFault,
  injectFault,
  newClient,
  PROJECT_ID,
} from "./harness";

const INTERVAL_MS = 60_000;
/** FIRESTORE_TIMEOUT_MS of functions/.env.demo-realtime-test. */
const FIRESTORE_TIMEOUT_MS = 8_000;

const direct = process.env.FIRESTORE_DIRECT_HOST;
// The suite's own reads and writes go around the proxy, so they work while it refuses.
if (direct !== undefined) process.env.FIRESTORE_EMULATOR_HOST = direct;
const admin = initializeApp({ projectId: PROJECT_ID }, "faults-admin");
const db: Firestore = getFirestore(admin);

beforeAll(async () => {
  // A warm worker: the deadlines below are measured from the call, not from a cold start.
  await (await newClient()).call();
});
/**
 * The Firestore outage tests need the fault proxy, which the stack puts in front of the
 * Firestore stand-in only (the Functions emulator connects to the real emulator itself).
 */
const proxied = process.env.FIRESTORE_FAULTS_URL !== undefined;

afterEach(async () => {
  if (proxied) await firestoreFault({ mode: "pass" });
  await clearFaults();
});
afterAll(async () => {
  await deleteApp(admin);
});

/** A public address of its own (TEST-NET-3), shared by the clients of one test. */
function address(): string {
  return `203.0.113.${randomInt(1, 255)}`;
}

const userDoc = (uid: string) => db.collection("realtimeTokenUsers").doc(docId(uid));

async function records(uid: string): Promise<Record<string, unknown>[]> {
  const snap = await userDoc(uid).collection("mints").get();
  return snap.docs.map((d) => ({ id: d.id, ...d.data() }));
}

/** Mints charged to a user: the sum of its day counters. */
async function userCharge(uid: string): Promise<number> {
  return sumCounters((await userDoc(uid).get()).data(), "d");
}

function sumCounters(data: Record<string, unknown> | undefined, prefix: string): number {
  return Object.entries(data ?? {})
    .filter(
      ([key, value]) =>
        /^[dm]\d+$/.test(key) && key.startsWith(prefix) && typeof value === "number",
    )
    .reduce((sum, [, value]) => sum + (value as number), 0);
}

/** Mint slots a network holds in the minutes since `sinceMs` (networkSlots.ts). */
async function networkCharge(network: string, sinceMs: number): Promise<number> {
  let held = 0;
  for (let minute = Math.floor(sinceMs / 60_000); minute <= Date.now() / 60_000; minute++) {
    const snap = await db
      .collection("networkWindows")
      .doc(`mint-${minute}`)
      .collection("slots")
      .where("network", "==", network)
      .get();
    held += snap.size;
  }
  return held;
}

async function settle(clients: Client[]) {
  const settled = await Promise.allSettled(clients.map((c) => c.call()));
  const ok: { client: Client; result: RealtimeTokenResponse }[] = [];
  const failed: { client: Client; error: FunctionsError }[] = [];
  settled.forEach((s, i) => {
    const client = clients[i] as Client;
    if (s.status === "fulfilled") ok.push({ client, result: s.value });
    else failed.push({ client, error: s.reason as FunctionsError });
  });
  return { ok, failed };
}

/** Successes = secrets returned = records left `reserved`; failures uncharged, their records `failed`. */
async function expectExact(
  ok: { client: Client; result: RealtimeTokenResponse }[],
  failed: { client: Client }[],
) {
  for (const { client, result } of ok) {
    const mine = await records(client.uid ?? "");
    expect(mine.filter((r) => r.status === "reserved")).toHaveLength(1);
    expect(result.token).toMatch(/^ek_/);
    expect(await userCharge(client.uid ?? "")).toBe(1);
  }
  for (const { client } of failed) {
    const mine = await records(client.uid ?? "");
    expect(
      mine.filter((r) => r.status !== "failed"),
      JSON.stringify(mine),
    ).toEqual([]);
    expect(await userCharge(client.uid ?? "")).toBe(0);
  }
}

/** The network document of an address: the one the users' records name. */
async function networkOf(uid: string): Promise<string> {
  const [record] = await records(uid);
  const network = record?.network;
  if (typeof network !== "string") throw new Error(`no network recorded for ${uid}`);
  return network;
}

describe("realtimeToken under faults", () => {
  it("keeps a shared address exact when OpenAI fails during a burst", async () => {
    // Ten idle workers first: a cold worker takes seconds to start on a small machine, and the
    // burst is about the store, not about the emulator starting ten processes.
    await settle(await Promise.all(Array.from({ length: 10 }, () => newClient())));
    const since = Date.now();
    const from = address();
    const clients = await Promise.all(
      Array.from({ length: 10 }, () => newClient({ forwardedFor: from })),
    );
    await injectFault({ kind: "status", status: 500 }, 4);
    const { ok, failed } = await settle(clients);
    expect(failed.map((f) => f.error.code)).toEqual(Array(4).fill("functions/unavailable"));
    expect(ok).toHaveLength(6);
    await expectExact(ok, failed);
    const network = await networkOf(ok[0]?.client.uid ?? "");
    expect(await networkCharge(network, since)).toBe(6);

    // The refused users may retry at once (their interval was handed back), and the address
    // is still open to newcomers.
    const again = await settle([
      ...failed.map((f) => f.client),
      await newClient({ forwardedFor: from }),
    ]);
    expect(again.failed.map((f) => f.error.message)).toEqual([]);
    expect(await networkCharge(network, since)).toBe(11);
    // Ten cold workers, then the burst: minutes on a loaded 2-core machine.
  }, 300_000);

  it("keeps a shared address exact when OpenAI hangs during a burst", async () => {
    const since = Date.now();
    const from = address();
    const clients = await Promise.all(
      Array.from({ length: 6 }, () => newClient({ forwardedFor: from })),
    );
    await injectFault({ kind: "hang" }, 3);
    const { ok, failed } = await settle(clients);
    expect(ok).toHaveLength(3);
    expect(failed.map((f) => f.error.code)).toEqual(Array(3).fill("functions/unavailable"));
    await expectExact(ok, failed);
    expect(await networkCharge(await networkOf(ok[0]?.client.uid ?? ""), since)).toBe(3);
    const again = await settle(failed.map((f) => f.client));
    expect(again.ok).toHaveLength(3);
  });

  it.runIf(proxied)(
    "answers unavailable within the deadline while Firestore refuses connections",
    async () => {
      const client = await newClient();
      await firestoreFault({ mode: "refuse" });
      const started = Date.now();
      const error = await callError(client.call());
      const elapsed = Date.now() - started;
      expect(error.code).toBe("functions/unavailable");
      expect(error.message).toMatch(/usage limits/);
      expect(elapsed).toBeLessThan(FIRESTORE_TIMEOUT_MS + 2_000);

      await firestoreFault({ mode: "pass" });
      await reconnected();
      // The refused call never reached a commit: the user is served at once, uncharged.
      const result = await client.call();
      expect(result.quota.remaining).toBe(99);
      await expectExact([{ client, result }], []);
    },
  );

  it.runIf(proxied)(
    "keeps a mint charged whose refund Firestore refused, and serves the user after the interval",
    async () => {
      const client = await newClient();
      const uid = client.uid ?? "";
      await injectFault({ kind: "hang" });
      const pending = callError(client.call());
      // Take Firestore away once the reservation is in, while OpenAI keeps the call waiting.
      await until(async () => (await records(uid)).length === 1);
      await firestoreFault({ mode: "refuse" });
      const error = await pending;
      expect(error.code).toBe("functions/unavailable");
      await firestoreFault({ mode: "pass" });
      await reconnected();

      // The documented exception (README, security model): the refund the function gave up on
      // may still be delivered by the Firestore client; if it was not, the mint stays charged.
      // Either way the user is never charged twice and is served once the interval is over.
      const [record] = await records(uid);
      const refundLanded = record?.status === "failed";
      expect(record?.status).toMatch(/^(reserved|failed)$/);
      expect(await userCharge(uid)).toBe(refundLanded ? 0 : 1);
      if (!refundLanded) {
        const refused = await callError(client.call());
        expect(refused.code).toBe("functions/resource-exhausted");
        expect((refused.details as { reason: string }).reason).toBe("user-interval");
        // Stands in for the interval passing.
        await userDoc(uid).set({ lastMintMs: Date.now() - INTERVAL_MS }, { merge: true });
      }
      const result = await client.call();
      // The refund may still land while this call is on its way (it is settled once it does,
      // reservations.ts): what counts is the first mint's record after the call.
      const after = await records(uid);
      const landed = after.some((r) => r.seq === record?.seq && r.status === "failed");
      expect(landed || !refundLanded).toBe(true);
      expect(result.quota.remaining).toBeGreaterThanOrEqual(landed && refundLanded ? 99 : 98);
      expect(result.quota.remaining).toBeLessThanOrEqual(99);
      expect(await userCharge(uid)).toBe(landed ? 1 : 2);
      expect(after.filter((r) => r.status === "reserved")).toHaveLength(landed ? 1 : 2);
    },
  );

  it.runIf(proxied)(
    "answers a refusal whole and in time while Firestore refuses its count, and counts the next",
    async () => {
      // A plan without secrets: refused from the ID token's claim, before any Firestore read,
      // so the refusal count is the one Firestore write on the way.
      const client = await newClient();
      await getAuth(admin).setCustomUserClaims(client.uid ?? "", { voicePlan: "brokeredOnly" });
      await clientAuth(client.app).currentUser?.getIdToken(true);
      const before = await refusalCount("plan-mode");
      await firestoreFault({ mode: "refuse" });
      const started = Date.now();
      const error = await callError(client.call());
      const elapsed = Date.now() - started;
      expect(error.code).toBe("functions/failed-precondition");
      expect(error.details).toEqual({ reason: "mode-not-served", served: ["brokered"] });
      // The count has the Firestore deadline, no more; then the refusal is answered as it was.
      expect(elapsed).toBeLessThan(FIRESTORE_TIMEOUT_MS + 2_000);

      await firestoreFault({ mode: "pass" });
      await reconnected();
      expect((await callError(client.call())).code).toBe("functions/failed-precondition");
      // The next one is counted. The first may be too: the Firestore client can still deliver
      // a write the function gave up on (as a refund, above); never more than the two.
      const after = await refusalCount("plan-mode");
      expect(after).toBeGreaterThanOrEqual(before + 1);
      expect(after).toBeLessThanOrEqual(before + 2);
      expect(await records(client.uid ?? "")).toEqual([]);
    },
  );

  it.runIf(proxied)(
    "answers unavailable when Firestore stops answering mid-call, and recovers",
    async () => {
      const client = await newClient();
      await firestoreFault({ mode: "hang" });
      const started = Date.now();
      const error = await callError(client.call());
      expect(error.code).toBe("functions/unavailable");
      expect(Date.now() - started).toBeLessThan(FIRESTORE_TIMEOUT_MS + 2_000);
      await firestoreFault({ mode: "pass" });
      await reconnected();
      await client.call();
      expect((await records(client.uid ?? "")).filter((r) => r.status === "reserved")).toHaveLength(
        1,
      );
    },
  );

  it("keeps serving a user whose limit document was deleted or hand-edited", async () => {
    const client = await newClient();
    const uid = client.uid ?? "";
    await client.call();
    await userDoc(uid).delete();
    await client.call();
    await userDoc(uid).set({ seq: "seven", lastMintMs: "yesterday" }, { merge: true });
    await client.call();
    const mine = await records(uid);
    expect(mine.map((r) => [r.id, r.status])).toEqual([
      ["000000000001", "reserved"],
      ["000000000002", "reserved"],
      ["000000000003", "reserved"],
    ]);
  });

  it("keeps serving a user whose limit document's seq and day counter hold garbage, no stray record", async () => {
    const client = await newClient();
    const uid = client.uid ?? "";
    await client.call();
    const today = new Date().toISOString().slice(0, 10).replaceAll("-", "");
    await userDoc(uid).update({ seq: "x", [`d${today}`]: "junk", lastMintMs: "x" });
    await expect(client.call()).resolves.toHaveProperty("token");
    const mine = await records(uid);
    expect(mine.map((r) => [r.id, r.status])).toEqual([
      ["000000000001", "reserved"],
      ["000000000002", "reserved"],
    ]);
    expect((await userDoc(uid).get()).get(`d${today}`)).toBe(1);
  });

  it("answers OpenAI's refusal of the caller's voice with invalid-argument naming it, refunded", async () => {
    const client = await newClient();
    await injectFault({
      kind: "status",
      status: 400,
      code: "invalid_value",
      param: "session.audio.output.voice",
    });
    const error = await callError(client.call({ voice: "marin" }));
    expect(error.code).toBe("functions/invalid-argument");
    expect(error.details).toEqual({ field: "voice" });
    const uid = client.uid ?? "";
    expect((await records(uid)).map((r) => r.status)).toEqual(["failed"]);
    expect(await userCharge(uid)).toBe(0);
    // Refunded with its interval: the next mint goes through at once.
    await expect(client.call()).resolves.toHaveProperty("token");
  });

  it("keeps serving an address whose slots were deleted or edited by hand", async () => {
    const from = address();
    const first = await newClient({ forwardedFor: from });
    await first.call();
    const second = await newClient({ forwardedFor: from });
    await second.call();
    const [one] = await records(first.uid ?? "");
    const [two] = await records(second.uid ?? "");
    await db.doc(String(one?.networkSlot)).delete();
    await db.doc(String(two?.networkSlot)).set({ network: "edited", k: "x" });
    const third = await newClient({ forwardedFor: from });
    await expect(third.call()).resolves.toHaveProperty("token");
  });

  it("keeps a uid with `/` inside its own documents", async () => {
    const victim = await newClient();
    await victim.call();
    const before = await records(victim.uid ?? "");
    const token = await getAuth(admin).createCustomToken(`${victim.uid}/mints/000000000001`);
    const attacker = await newClient({ customToken: token });
    expect(attacker.uid).toBe(`${victim.uid}/mints/000000000001`);
    await expect(attacker.call()).resolves.toHaveProperty("token");
    expect(await records(victim.uid ?? "")).toEqual(before);
    expect((await records(attacker.uid ?? "")).map((r) => r.status)).toEqual(["reserved"]);
  });

  it("reports the whole wait when the stored mint is ahead of the clock", async () => {
    const client = await newClient();
    await client.call();
    const ahead = Date.now() + 20_000;
    await userDoc(client.uid ?? "").set({ lastMintMs: ahead }, { merge: true });
    const error = await callError(client.call());
    expect(error.code).toBe("functions/resource-exhausted");
    const { retryAfterSeconds } = error.details as { retryAfterSeconds: number };
    expect(retryAfterSeconds).toBeGreaterThan((ahead + INTERVAL_MS - Date.now()) / 1000 - 2);
    expect(retryAfterSeconds).toBeLessThanOrEqual(
      Math.ceil((ahead + INTERVAL_MS - Date.now()) / 1000) + 1,
    );
  });

  it("does not pass on or charge for a secret that has already expired", async () => {
    const client = await newClient();
    const expired = {
      value: `ek_expired_${randomUUID()}`,
      expires_at: Math.floor(Date.now() / 1000) - 10,
      session: { type: "realtime", model: "gpt-realtime-2" },
    };
    await injectFault({ kind: "garbage", body: JSON.stringify(expired) });
    const error = await callError(client.call());
    expect(error.code).toBe("functions/unavailable");
    const result = await client.call();
    expect(result.token).not.toBe(expired.value);
    expect(result.quota.remaining).toBe(99);
    await expectExact([{ client, result }], []);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not reached");
    await sleep(20);
  }
}

/**
 * Waits until the functions reach Firestore again: after an outage their client reconnects
 * with its own backoff. Probes with fresh users, so the users under test make no extra calls.
 */
/** Refusals of `reason` counted so far (refusalCount.ts: one document per day, reason and shard). */
async function refusalCount(reason: string): Promise<number> {
  const snap = await db.collection(REFUSALS).where("reason", "==", reason).get();
  return snap.docs.reduce((sum, d) => sum + (Number(d.get("count")) || 0), 0);
}

async function reconnected(timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      await (await newClient()).call();
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== "functions/unavailable" || Date.now() > end) {
        throw error;
      }
      await sleep(250);
    }
  }
}
