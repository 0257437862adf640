/**
 * Firestore side of brokered calls: reserve a call's slice of the voice-minute budget, mark
 * the call live, hand the slice back when upstream never opened it, and end it (refunding the
 * unused seconds). The decisions are minutes.ts's; this module only reads, writes and guards.
 *
 * Layout (clients can read and write none of it; see firestore.rules). Ids come from
 * {@link docId} and {@link seqId}:
 * - `voiceUsers/{uid}`: the call sequence (`seq`) and seconds charged per UTC day
 *   (`d20261130`) and per UTC month (`m202611`)
 * - `voiceUsers/{uid}/calls/{seq}`: the call record: uid, status (`reserved` → `live` →
 *   `ended`, or `reserved` → `failed`), the reserved seconds and when, upstream's call id, when
 *   it started, its deadline, and once over the used and unused seconds and who ended it
 * - `voiceUsers/{uid}/callOutcomes/{seq}`: created by whichever of fail and end comes first;
 *   the other then finds it there, so a call is refunded at most once, whoever ends it and in
 *   whatever order (the end-call callable and the deadline task may both run)
 * - the network's slot of the minute, `networkWindows/call-{minute}/slots/{networkHash}-{k}`
 *   (networkSlots.ts, the same claim as mints' but its own allowance, IP_CALLS_PER_MINUTE):
 *   `create()`d first in the reservation's commit, deleted when upstream never opened the call
 *
 * Every document carries `deleteAt` for Firestore's TTL (firestore.indexes.json).
 *
 * Exactness rests on the same two things as the mint store (store.ts): a reservation
 * `create()`s its call record under the next sequence number, first in its commit, so two
 * reservations decided from the same state collide there and only one commits; and counts
 * change by increments only (a reservation adds its slice to today's and this month's
 * counters, a refund subtracts from the counters its reservation added to). A user document
 * whose `seq` fell behind its records (deleted or edited by hand) is repaired on the collision
 * it causes, from the highest record id.
 *
 * Deadlines: every call has one (FIRESTORE_TIMEOUT_MS) and then fails with
 * `StoreUnavailableError`. A reservation whose handler stopped before marking the call live
 * or failed stays charged: the user loses that slice, as when a page never says goodbye.
 */
import { randomUUID } from "node:crypto";
import type { DocumentReference, DocumentSnapshot, Firestore } from "firebase-admin/firestore";
import { FieldValue, Timestamp } from "firebase-admin/firestore";
import {
  counterValue,
  dayField,
  Deadline,
  docId,
  finiteNumber,
  highestSeq,
  isAlreadyExists,
  seqId,
  sleep,
  type StoreOptions,
  wholeNumber,
} from "./firestoreOps";
import {
  type CallRecord,
  type Charge,
  type LiveCall,
  endCall,
  type EndedBy,
  failCall,
  type MinuteLimitReason,
  type MinuteLimits,
  type MinuteState,
  remaining,
  type Remaining,
  reserveCall,
  reservedRecord,
  startCall,
  utcDay,
  utcMonth,
} from "./minutes";
import { type HeldSlot, NetworkClaim, releaseSlotInto, slotRef } from "./networkSlots";
import { DAY_MS } from "./policy";

export const VOICE_USERS = "voiceUsers";

/** A reserved slice, as the handler holds it until the call is live or failed. */
export interface HeldCall extends Charge {
  uid: string;
  /** When the TTL deletes the record (and its outcome). */
  deleteAtMs: number;
  /** The caller's network slot, handed back with the slice if upstream never opens the call. */
  slot?: HeldSlot | null;
}

/** The per-network limit of brokered calls: the caller's hashed network and its allowance. */
export interface CallNetwork {
  network: string;
  /** Calls per network per minute (IP_CALLS_PER_MINUTE). */
  perMinute: number;
}

export type ReserveCallResult =
  | { ok: true; held: HeldCall; remaining: Remaining }
  | {
      ok: false;
      reason: MinuteLimitReason | "ip-rate";
      retryAfterSeconds: number;
      remaining: Remaining;
    };

/** How a call's record ended up after an end or a fail. */
export type CallOutcome =
  /** This request ended it: the unused seconds went back. */
  | { kind: "ended"; record: Extract<CallRecord, { status: "ended" }> }
  /** It had already ended or failed (another request got there first): nothing changed. */
  | { kind: "already"; status: "ended" | "failed" }
  /** No record of that call: nothing to refund. */
  | { kind: "missing" };

export interface MinuteStore {
  /**
   * Reserves the next call's slice and, with a known network, a slot of that network's minute;
   * or says which limit refused it.
   */
  reserve(
    uid: string,
    limits: MinuteLimits,
    retentionDays: number,
    network?: CallNetwork | null,
  ): Promise<ReserveCallResult>;
  /**
   * Marks the call live: writes `live` (minutes.ts's `liveCall`: upstream's call id, when it
   * started, its deadline) over the call's reserved record.
   */
  start(live: LiveCall): Promise<void>;
  /** Upstream never opened the call: the whole slice goes back. Idempotent. */
  fail(held: HeldCall, failure: string): Promise<"failed" | "already">;
  /**
   * Ends a call at `endedAtMs` (default now) and hands back its unused seconds. Idempotent.
   * A record still `reserved` (the handler stopped before marking it live) is ended as having
   * used its whole slice, with the `fallback` call id and deadline the task carries.
   */
  end(
    ref: { uid: string; seq: number },
    endedBy: EndedBy,
    options?: { endedAtMs?: number; fallback?: { callId: string; deadlineMs: number } },
  ): Promise<CallOutcome>;
  /** A user's call record by upstream call id, among that user's calls only. */
  findCall(uid: string, callId: string): Promise<CallRecord | undefined>;
  /** A call record by its owner and sequence number. */
  getCall(uid: string, seq: number): Promise<CallRecord | undefined>;
  /** What a user has left. */
  remaining(uid: string, limits: MinuteLimits): Promise<Remaining>;
}

/** Options of {@link createMinuteStore}. */
export type MinuteStoreOptions = StoreOptions;

/** Seconds charged in the UTC month of `ms`: `m` and the month's digits. */
export function minuteMonthField(ms: number): string {
  return `m${utcMonth(ms).replace("-", "")}`;
}

/** A {@link MinuteStore} on Firestore (or its emulator, or the stand-in). */
export function createMinuteStore(db: Firestore, options: MinuteStoreOptions = {}): MinuteStore {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const maxRounds = options.maxRounds ?? 100;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const userRef = (uid: string) => db.collection(VOICE_USERS).doc(docId(uid));
  const callRef = (uid: string, seq: number) => userRef(uid).collection("calls").doc(seqId(seq));
  const outcomeRef = (uid: string, seq: number) =>
    userRef(uid).collection("callOutcomes").doc(seqId(seq));
  const at = (ms: number) => Timestamp.fromMillis(ms);

  function readState(snap: DocumentSnapshot | undefined, nowMs: number): MinuteState {
    const data = snap?.data() ?? {};
    return {
      seq: wholeNumber(data.seq) ?? 0,
      day: utcDay(nowMs),
      daySeconds: counterValue(data[dayField(nowMs)]),
      month: utcMonth(nowMs),
      monthSeconds: counterValue(data[minuteMonthField(nowMs)]),
    };
  }

  /** Subtracts `seconds` from the day and month a charge was made in. */
  function refundFields(charge: Charge, seconds: number): Record<string, FieldValue> {
    if (seconds <= 0) return {};
    return {
      [dayField(charge.reservedAtMs)]: FieldValue.increment(-seconds),
      [minuteMonthField(charge.reservedAtMs)]: FieldValue.increment(-seconds),
    };
  }

  async function reserve(
    uid: string,
    limits: MinuteLimits,
    retentionDays: number,
    callNetwork: CallNetwork | null,
    deadline: Deadline,
  ): Promise<ReserveCallResult> {
    const claim = randomUUID();
    let floor = 0;
    const network =
      callNetwork === null
        ? null
        : new NetworkClaim(db, "call", callNetwork.network, callNetwork.perMinute, claim, random);
    for (let round = 1; round <= maxRounds; round++) {
      const nowMs = now();
      const snap = await deadline.run(userRef(uid).get());
      const stored = readState(snap, nowMs);
      const state = { ...stored, seq: Math.max(stored.seq, floor) };
      const decided = reserveCall(state, limits, uid, nowMs);
      if (!decided.ok) {
        await network?.release(deadline);
        return { ...decided, remaining: remaining(state, limits, nowMs) };
      }
      const { record } = decided;
      const deleteAtMs = nowMs + retentionDays * DAY_MS;
      const batch = db.batch();
      const guards: DocumentReference[] = [];
      let trying: HeldSlot | null = null;
      if (network !== null && network.held === null) {
        const picked = network.pick(nowMs);
        if (!picked.ok) return { ...picked, remaining: remaining(state, limits, nowMs) };
        trying = picked.slot;
        // First in the commit: a network at its allowance stops here and leaves nothing behind.
        guards.push(network.writeInto(batch, trying));
      }
      const slot = trying ?? network?.held ?? null;
      // Next: the guard that lets one of two same-state reservations through.
      const callDoc = callRef(uid, record.seq);
      guards.push(callDoc);
      batch.create(callDoc, {
        ...record,
        claim,
        network: callNetwork?.network ?? null,
        networkSlot: slot === null ? null : slotRef(db, slot).path,
        createdAt: at(nowMs),
        deleteAt: at(deleteAtMs),
      });
      batch.set(
        userRef(uid),
        {
          uid,
          seq: record.seq,
          [dayField(nowMs)]: FieldValue.increment(record.reservedSeconds),
          [minuteMonthField(nowMs)]: FieldValue.increment(record.reservedSeconds),
          updatedAt: at(nowMs),
          // Outlives its call records, so its sequence never restarts under records still kept.
          deleteAt: at(deleteAtMs + DAY_MS),
        },
        { merge: true },
      );
      try {
        await deadline.run(batch.commit());
        return {
          ok: true,
          held: {
            uid,
            seq: record.seq,
            reservedAtMs: nowMs,
            reservedSeconds: record.reservedSeconds,
            deleteAtMs,
            slot,
          },
          remaining: remaining(decided.next, limits, nowMs),
        };
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
      }
      if (network !== null && trying !== null) {
        const [slotSnap] = await deadline.run(db.getAll(...guards));
        if ((await network.settle(trying, slotSnap, deadline)) === "collided") continue;
      }
      // Collided on the call record. When the counter does not know the record it collided
      // with (deleted or edited by hand), continue after the highest record instead of
      // colliding until its TTL.
      const counter = await deadline.run(userRef(uid).get());
      if ((wholeNumber(counter.get("seq")) ?? 0) < record.seq) {
        floor = await highestSeq(userRef(uid).collection("calls"), deadline);
        continue;
      }
      await sleep(random() * 10 * Math.min(round, 5));
    }
    await network?.release(deadline);
    throw new Error(`call reservation still contended after ${maxRounds} rounds`);
  }

  async function getCall(
    uid: string,
    seq: number,
    deadline: Deadline,
  ): Promise<CallRecord | undefined> {
    const snap = await deadline.run(callRef(uid, seq).get());
    return snap.exists ? readRecord(snap.data() ?? {}) : undefined;
  }

  async function end(
    ref: { uid: string; seq: number },
    endedBy: EndedBy,
    options: { endedAtMs?: number; fallback?: { callId: string; deadlineMs: number } },
    deadline: Deadline,
  ): Promise<CallOutcome> {
    const record = await getCall(ref.uid, ref.seq, deadline);
    if (record === undefined) return { kind: "missing" };
    if (record.status === "ended" || record.status === "failed")
      return { kind: "already", status: record.status };
    const endedAtMs = options.endedAtMs ?? now();
    let live: Extract<CallRecord, { status: "live" }>;
    if (record.status === "live") live = record;
    else {
      // Never marked live: count it from its reservation, its whole slice used.
      const fallback = options.fallback;
      live = {
        ...startCall(record, fallback?.callId ?? "", record.reservedAtMs),
        ...(fallback !== undefined ? { deadlineMs: fallback.deadlineMs } : {}),
      };
    }
    const transition = endCall(
      { seq: ref.seq, day: "", daySeconds: 0, month: "", monthSeconds: 0 },
      live,
      record.status === "live" ? endedAtMs : live.startedAtMs + live.reservedSeconds * 1000,
      endedBy,
    );
    if (!transition.changed) return { kind: "already", status: "ended" };
    const ended = { ...transition.record, endedAtMs };
    const batch = db.batch();
    batch.create(outcomeRef(ref.uid, ref.seq), {
      status: "ended",
      endedBy,
      at: at(endedAtMs),
      deleteAt: at(recordDeleteAt(record)),
    });
    batch.set(callRef(ref.uid, ref.seq), ended, { merge: true });
    const refund = refundFields(ended, ended.unusedSeconds);
    if (Object.keys(refund).length > 0) batch.set(userRef(ref.uid), refund, { merge: true });
    try {
      await deadline.run(batch.commit());
      return { kind: "ended", record: ended };
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      const outcome = await deadline.run(outcomeRef(ref.uid, ref.seq).get());
      return { kind: "already", status: outcome.get("status") === "failed" ? "failed" : "ended" };
    }
  }

  /** When a record's TTL deletes it: its own `deleteAt`, else a month after its reservation. */
  function recordDeleteAt(record: CallRecord & { deleteAtMs?: number }): number {
    return record.deleteAtMs ?? record.reservedAtMs + 31 * DAY_MS;
  }

  return {
    reserve(uid, limits, retentionDays, network = null) {
      return reserve(
        uid,
        limits,
        retentionDays,
        network,
        new Deadline(timeoutMs, "the call reservation"),
      );
    },

    async start(live) {
      const deadline = new Deadline(timeoutMs, "the call start");
      await deadline.run(callRef(live.uid, live.seq).set(live, { merge: true }));
    },

    async fail(held, failure) {
      const deadline = new Deadline(timeoutMs, "the call refund");
      const transition = failCall(
        { seq: held.seq, day: "", daySeconds: 0, month: "", monthSeconds: 0 },
        reservedRecord(held),
        failure,
      );
      if (!transition.changed) return "already";
      const nowMs = now();
      const batch = db.batch();
      batch.create(outcomeRef(held.uid, held.seq), {
        status: "failed",
        failure,
        at: at(nowMs),
        deleteAt: at(held.deleteAtMs),
      });
      batch.set(
        callRef(held.uid, held.seq),
        { ...transition.record, refundedAt: at(nowMs) },
        { merge: true },
      );
      batch.set(userRef(held.uid), refundFields(held, held.reservedSeconds), { merge: true });
      // The call never opened, so it does not count against its network either.
      if (held.slot) releaseSlotInto(db, batch, held.slot);
      try {
        await deadline.run(batch.commit());
        return "failed";
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
        return "already";
      }
    },

    end(ref, endedBy, endOptions = {}) {
      return end(ref, endedBy, endOptions, new Deadline(timeoutMs, "the call end"));
    },

    async findCall(uid, callId) {
      const deadline = new Deadline(timeoutMs, "the call lookup");
      const snap = await deadline.run(
        userRef(uid).collection("calls").where("callId", "==", callId).limit(1).get(),
      );
      const doc = snap.docs[0];
      return doc === undefined ? undefined : readRecord(doc.data());
    },

    getCall(uid, seq) {
      return getCall(uid, seq, new Deadline(timeoutMs, "the call lookup"));
    },

    async remaining(uid, limits) {
      const deadline = new Deadline(timeoutMs, "the minute lookup");
      const nowMs = now();
      const snap = await deadline.run(userRef(uid).get());
      return remaining(readState(snap, nowMs), limits, nowMs);
    },
  };
}

/**
 * A stored call record, read defensively: a record edited by hand or written by an older
 * version becomes the phase its fields support, or undefined when nothing usable is there.
 */
export function readRecord(
  data: Record<string, unknown>,
): (CallRecord & { deleteAtMs?: number }) | undefined {
  const uid = typeof data.uid === "string" ? data.uid : undefined;
  const seq = wholeNumber(data.seq);
  const reservedAtMs = finiteNumber(data.reservedAtMs);
  const reservedSeconds = wholeNumber(data.reservedSeconds);
  if (uid === undefined || seq === undefined || reservedAtMs === undefined) return undefined;
  if (reservedSeconds === undefined) return undefined;
  const deleteAt = data.deleteAt instanceof Timestamp ? data.deleteAt.toMillis() : undefined;
  const charge = {
    uid,
    seq,
    reservedAtMs,
    reservedSeconds,
    ...(deleteAt !== undefined ? { deleteAtMs: deleteAt } : {}),
  };
  const callId = typeof data.callId === "string" ? data.callId : undefined;
  const startedAtMs = finiteNumber(data.startedAtMs);
  const deadlineMs = finiteNumber(data.deadlineMs);
  switch (data.status) {
    case "failed":
      return {
        ...charge,
        status: "failed",
        failure: typeof data.failure === "string" ? data.failure : "unknown",
      };
    case "ended":
    case "live":
      if (callId === undefined || startedAtMs === undefined || deadlineMs === undefined)
        return { ...charge, status: "reserved" };
      if (data.status === "live")
        return { ...charge, status: "live", callId, startedAtMs, deadlineMs };
      return {
        ...charge,
        status: "ended",
        callId,
        startedAtMs,
        deadlineMs,
        endedAtMs: finiteNumber(data.endedAtMs) ?? deadlineMs,
        endedBy: isEndedBy(data.endedBy) ? data.endedBy : "upstream",
        usedSeconds: wholeNumber(data.usedSeconds) ?? reservedSeconds,
        unusedSeconds: wholeNumber(data.unusedSeconds) ?? 0,
      };
    default:
      return { ...charge, status: "reserved" };
  }
}

function isEndedBy(value: unknown): value is EndedBy {
  return value === "user" || value === "deadline" || value === "upstream" || value === "server";
}
