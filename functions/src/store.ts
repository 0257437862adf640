/**
 * Firestore side of minting: reserve a mint against the limits, or refund it.
 *
 * Layout (clients can read and write none of it; see firestore.rules). Document ids come from
 * {@link docId}, so no uid can name another document:
 * - `realtimeTokenUsers/{uid}`: the sequence (`seq`), the latest mint (`lastSeq`, `lastMintMs`,
 *   `prevMintMs`), the latest refund (`refundedSeq`) and one counter per UTC day (`d20261123`)
 * - `realtimeTokenUsers/{uid}/mints/{seq}`: the audit record of each mint (never the secret).
 *   `status` says what is known: `reserved` (charged; a secret of `model` living `ttlSeconds` was
 *   requested from OpenAI, from `network`, at `createdAt`), or `failed` (refunded, with the
 *   reason). A record
 *   that stays `reserved` is a mint the limits count: its secret was returned, or its refund
 *   never landed (see below)
 * - `realtimeTokenUsers/{uid}/outcomes/{seq}`: created by the refund, so a mint is refunded at
 *   most once however often it is asked
 * - the network's slot of the minute, `networkWindows/mint-{minute}/slots/{networkHash}-{k}`
 *   (networkSlots.ts)
 *
 * Every document carries `deleteAt` for Firestore's TTL (firestore.indexes.json): audit records
 * and outcomes after AUDIT_RETENTION_DAYS, slots a day after their minute, and the user's
 * document after a period of inactivity longer than anything it counts (it outlives its audit
 * records, so its sequence never restarts under records still kept).
 *
 * Exactness rests on two things only, which Firestore, its emulator and the offline stand-in
 * (no transaction isolation; a commit applies its writes in order and stops at the first
 * failing one) all honour: `create()` preconditions and increments.
 * - Each accepted mint `create()`s a free slot of its network's minute and the user's next
 *   sequence document, in that order, first in its commit; two reservations that decided from
 *   the same state collide there and only one commits. The network's half comes first: a burst
 *   on one address then fails on the first write and leaves nothing behind. When only the
 *   network's half landed (one user on two addresses at once), the user's half is claimed alone,
 *   and the slot handed back if the user is refused.
 * - Counts change by increments and slot deletions only: a reservation adds one to today's
 *   counter, a refund subtracts one from the counter its reservation added to and deletes its
 *   own slot. Nothing is written back from an earlier read, so a refund can never erase a
 *   concurrent reservation.
 * - A user document that was deleted or edited by hand (its `seq` behind its records) is
 *   repaired on the collision it causes: the next sequence number is taken from the highest
 *   record, so a user is never locked out. Its counts restart from what the document still says.
 *
 * The successful path writes once, the reservation; nothing is written after the secret is
 * returned (on Cloud Functions the CPU is throttled once the answer is sent, so a write left in
 * flight then is unreliable). A failed mint is refunded before its error is answered. If that
 * refund cannot be written (Firestore went away between the reservation and the refund, or the
 * instance died), the mint stays charged: the user waits out the interval and has one mint
 * fewer today, and its record stays `reserved`. The limits therefore never count fewer mints
 * than secrets returned; the only inexactness is that one, logged as
 * `realtime_token_store_failed` (stage `refund`).
 *
 * Deadlines: every call (reserve, refund) has one, FIRESTORE_TIMEOUT_MS; past it the call fails
 * with {@link StoreUnavailableError} and the handler answers `unavailable`. A write abandoned that
 * way may still land later (the Firestore client retries it): a reservation landing late counts
 * like a refund that never landed; a refund landing late hands the mint back after all.
 */
import { randomUUID } from "node:crypto";
import type {
  DocumentReference,
  DocumentSnapshot,
  Firestore,
  WriteBatch,
} from "firebase-admin/firestore";
import { FieldValue, Timestamp } from "firebase-admin/firestore";
import type { LimitReason } from "voice-contract";
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
import { type HeldSlot, NetworkClaim, releaseSlotInto, slotRef } from "./networkSlots";
import { DAY_MS, decideUserMint, type Limits, type UserLimitState, type UserMint } from "./policy";

export const USERS = "realtimeTokenUsers";

export interface ReserveInput {
  uid: string;
  /** Hashed client network (see network.ts), or null when the address is unknown. */
  network: string | null;
  limits: Limits;
  /** What the audit record keeps: the model and secret lifetime requested, and its retention. */
  audit: { model: string; ttlSeconds: number; retentionDays: number };
}

/** A charged mint. */
export interface Reservation {
  uid: string;
  /** The network slot charged along with the user, or null when the address is unknown. */
  slot: HeldSlot | null;
  /** The user's mint sequence number: the audit record's id. */
  seq: number;
  reservedAtMs: number;
  /** Mints left today after this one. */
  remaining: number;
  /** When the TTL deletes its audit record (and its outcome). */
  deleteAtMs: number;
}

export type ReserveResult =
  | { ok: true; reservation: Reservation }
  | { ok: false; reason: LimitReason; retryAfterSeconds: number };

/** The store the handler needs. */
export interface MintStore {
  /** Checks every limit, charges the mint and writes its audit record (`reserved`). */
  reserve(input: ReserveInput): Promise<ReserveResult>;
  /**
   * Hands a mint back to the user and the network and marks its audit record `failed`.
   * Idempotent: a mint is refunded at most once.
   */
  refund(reservation: Reservation, failure: string): Promise<void>;
}

/** Options of {@link createFirestoreStore}; `maxRounds` bounds the burst one network absorbs. */
export type FirestoreStoreOptions = StoreOptions;

/** The user document, read defensively: a hand-edited or older document must not break minting. */
function readUser(snap: DocumentSnapshot | undefined, nowMs: number): UserLimitState {
  const data = snap?.data() ?? {};
  const lastSeq = wholeNumber(data.lastSeq);
  const lastMintMs = finiteNumber(data.lastMintMs) ?? null;
  const refunded = lastSeq !== undefined && wholeNumber(data.refundedSeq) === lastSeq;
  return {
    seq: wholeNumber(data.seq) ?? 0,
    lastMintMs: refunded ? (finiteNumber(data.prevMintMs) ?? null) : lastMintMs,
    dayCount: counterValue(data[dayField(nowMs)]),
  };
}

/** A {@link MintStore} on Firestore (or its emulator, or the stand-in). */
export function createFirestoreStore(
  db: Firestore,
  options: FirestoreStoreOptions = {},
): MintStore {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const maxRounds = options.maxRounds ?? 100;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const userRef = (uid: string) => db.collection(USERS).doc(docId(uid));
  const mintRef = (uid: string, seq: number) => userRef(uid).collection("mints").doc(seqId(seq));
  const outcomeRef = (uid: string, seq: number) =>
    userRef(uid).collection("outcomes").doc(seqId(seq));
  const at = (ms: number) => Timestamp.fromMillis(ms);

  function writeUserHalf(
    batch: WriteBatch,
    input: ReserveInput,
    next: UserMint,
    slot: HeldSlot | null,
    claim: string,
  ): DocumentReference {
    const { uid, audit } = input;
    const ref = mintRef(uid, next.seq);
    batch.create(ref, {
      uid,
      seq: next.seq,
      status: "reserved",
      model: audit.model,
      ttlSeconds: audit.ttlSeconds,
      network: input.network,
      networkSlot: slot === null ? null : slotRef(db, slot).path,
      claim,
      createdAt: at(next.reservedAtMs),
      deleteAt: at(next.reservedAtMs + audit.retentionDays * DAY_MS),
    });
    batch.set(
      userRef(uid),
      {
        uid,
        seq: next.seq,
        lastSeq: next.seq,
        lastMintMs: next.reservedAtMs,
        prevMintMs: next.prevMintMs,
        [dayField(next.reservedAtMs)]: FieldValue.increment(1),
        updatedAt: at(next.reservedAtMs),
        deleteAt: at(next.reservedAtMs + (audit.retentionDays + 1) * DAY_MS),
      },
      { merge: true },
    );
    return ref;
  }

  /** Whose `create()` failed in a commit that wrote guards with these snapshots, in order. */
  function collidedAt(snaps: DocumentSnapshot[], claim: string): number {
    for (const [index, snap] of snaps.entries()) {
      // Only a document that is there can have failed a create(); guards before it are
      // absent when the commit failed as a whole (atomic), or ours when it landed in part.
      if (snap.exists && snap.get("claim") !== claim) return index;
    }
    return snaps.length;
  }

  async function refund(held: Reservation, failure: string, deadline: Deadline): Promise<void> {
    const nowMs = now();
    const batch = db.batch();
    // First: a second refund of the same mint stops here and changes nothing.
    batch.create(outcomeRef(held.uid, held.seq), {
      status: "refunded",
      failure,
      at: at(nowMs),
      deleteAt: at(held.deleteAtMs),
    });
    batch.set(
      mintRef(held.uid, held.seq),
      { status: "failed", failure, refundedAt: at(nowMs) },
      { merge: true },
    );
    batch.set(
      userRef(held.uid),
      { [dayField(held.reservedAtMs)]: FieldValue.increment(-1), refundedSeq: held.seq },
      { merge: true },
    );
    if (held.slot !== null) releaseSlotInto(db, batch, held.slot);
    try {
      await deadline.run(batch.commit());
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
  }

  async function reserve(input: ReserveInput, deadline: Deadline): Promise<ReserveResult> {
    // Marks this reservation's guard documents, to tell a partial commit of ours from another's.
    const claim = randomUUID();
    let floor = 0;
    const network =
      input.network === null
        ? null
        : new NetworkClaim(db, "mint", input.network, input.limits.networkPerWindow, claim, random);

    for (let round = 1; round <= maxRounds; round++) {
      const nowMs = now();
      const [userSnap] = await deadline.run(db.getAll(userRef(input.uid)));
      const stored = readUser(userSnap, nowMs);
      const user = decideUserMint(
        { ...stored, seq: Math.max(stored.seq, floor) },
        input.limits,
        nowMs,
      );
      if (!user.ok) {
        await network?.release(deadline);
        return user;
      }

      const batch = db.batch();
      const guards: DocumentReference[] = [];
      let trying: HeldSlot | null = null;
      if (network !== null && network.held === null) {
        const picked = network.pick(nowMs);
        if (!picked.ok) return picked;
        trying = picked.slot;
        guards.push(network.writeInto(batch, trying));
      }
      guards.push(writeUserHalf(batch, input, user.next, trying ?? network?.held ?? null, claim));
      try {
        await deadline.run(batch.commit());
        return {
          ok: true,
          reservation: {
            uid: input.uid,
            slot: trying ?? network?.held ?? null,
            seq: user.next.seq,
            reservedAtMs: user.next.reservedAtMs,
            remaining: Math.max(0, input.limits.userDailyQuota - user.next.dayCount),
            deleteAtMs: user.next.reservedAtMs + input.audit.retentionDays * DAY_MS,
          },
        };
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
      }

      const snaps = await deadline.run(db.getAll(...guards));
      const index = collidedAt(snaps, claim);
      if (network !== null && trying !== null) {
        if ((await network.settle(trying, snaps[0], deadline)) === "collided") continue;
      }
      // The user's record collided. When the user document does not know the record (deleted
      // or edited by hand), continue after the highest record instead of colliding until its TTL.
      const lost = guards[index];
      if (lost !== undefined) {
        const counter = await deadline.run(userRef(input.uid).get());
        if ((wholeNumber(counter.get("seq")) ?? 0) < Number(lost.id)) {
          floor = await highestSeq(lost.parent, deadline);
          continue;
        }
      }
      await sleep(random() * 10 * Math.min(round, 5));
    }
    await network?.release(deadline);
    throw new Error(`reservation still contended after ${maxRounds} rounds`);
  }

  return {
    reserve(input) {
      return reserve(input, new Deadline(timeoutMs, "the reservation"));
    },
    refund(held, failure) {
      return refund(held, failure, new Deadline(timeoutMs, "the refund"));
    },
  };
}
