/**
 * Firestore side of minting: reserve a mint against the limits, settle it once the secret
 * exists, or refund it.
 *
 * Layout (clients can read and write none of it; see firestore.rules). Document ids come from
 * {@link docId}, so no uid can name another document:
 * - `realtimeTokenUsers/{uid}`: the sequence (`seq`), the latest mint (`lastSeq`, `lastMintMs`,
 *   `prevMintMs`, `settleBy`), refund and settle markers (`refundedSeq`, `settledSeq`) and one
 *   counter per UTC day (`d20261123`)
 * - `realtimeTokenUsers/{uid}/mints/{seq}`: the audit record of each mint (never the secret).
 *   `status` says what is known: `reserved` (charged, secret requested), then `issued` (with
 *   OpenAI's `expiresAt`, once the secret exists) or `failed` (refunded, with the reason)
 * - `realtimeTokenUsers/{uid}/outcomes/{seq}`: created by whichever of settle and refund comes
 *   first; the other then fails, so a mint is never both returned and refunded, nor refunded twice
 * - `realtimeTokenNetworks/{networkHash}`: the sequence and one counter per minute (`m29591520`)
 * - `realtimeTokenNetworks/{networkHash}/slots/{seq}`: one marker per mint from that network
 *
 * Every document carries `deleteAt` for Firestore's TTL (firestore.indexes.json): audit records
 * and outcomes after AUDIT_RETENTION_DAYS, slots a day after their minute, and the limit
 * documents after a period of inactivity longer than anything they count (a user's outlives
 * its audit records, so its sequence never restarts under records still kept).
 *
 * Exactness rests on two things only, which Firestore, its emulator and the offline stand-in
 * (no transaction isolation; a commit applies its writes in order and stops at the first
 * failing one) all honour: `create()` preconditions and increments.
 * - Each accepted mint `create()`s the next sequence document of the network and of the user,
 *   first in its commit; two reservations that decided from the same state collide there and
 *   only one commits. The network's half comes first: a burst on one address or by one user
 *   then fails on the first write and leaves nothing behind. When only the network's half
 *   landed (one user on two addresses at once), the user's half is claimed alone, and the
 *   network's handed back if the user is refused.
 * - Counts change by increments only: a reservation adds one to today's and this minute's
 *   counters, a refund subtracts one from the counters its reservation added to. Nothing is
 *   written back from an earlier read, so a refund can never erase a concurrent reservation.
 * - A counter document that was deleted or edited by hand (its `seq` behind its guards) is
 *   repaired on the collision it causes: the next sequence number is taken from the highest
 *   guard document, so a user or an address is never locked out. Its counts restart from what
 *   the document still says.
 *
 * Deadlines: every call (reserve, settle, refund) has one, FIRESTORE_TIMEOUT_MS; past it the
 * call fails with {@link StoreUnavailableError} and the handler answers `unavailable`. A write
 * abandoned that way may still land later. A reservation that landed but was never settled or
 * refunded (it timed out on our side, or Firestore went away before the refund) is repaired by
 * the user's next call once its `settleBy` has passed: that call refunds it, through the same
 * outcome guard, so a late settle cannot then claim it.
 *
 * The handler sends the settle without waiting for it (the successful path waits on one
 * Firestore round trip, the reservation, as before). If that write is lost (the instance stops
 * before it leaves, or Firestore is down right then), the secret was returned but the record
 * says `reserved`, and the repair above refunds it: one mint the limits did not count, and the
 * function's log (`realtime_token_store_failed`, stage `settle`) the only trace.
 */
import { randomUUID } from "node:crypto";
import type {
  DocumentReference,
  DocumentSnapshot,
  Firestore,
  WriteBatch,
} from "firebase-admin/firestore";
import { FieldValue, Timestamp } from "firebase-admin/firestore";
import type { LimitReason } from "./contract";
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
  DAY_MS,
  decideNetworkMint,
  decideUserMint,
  type Limits,
  NETWORK_WINDOW_MS,
  type NetworkLimitState,
  type NetworkMint,
  type UserLimitState,
  type UserMint,
} from "./policy";

export const USERS = "realtimeTokenUsers";
export const NETWORKS = "realtimeTokenNetworks";

export interface ReserveInput {
  uid: string;
  /** Hashed client network (see network.ts), or null when the address is unknown. */
  network: string | null;
  limits: Limits;
  audit: { model: string; retentionDays: number };
  /**
   * How long after the reservation the handler may still settle or refund it. Past that, the
   * user's next call treats a reservation with neither as abandoned and refunds it.
   */
  settleWithinMs: number;
}

/** A charged mint. */
export interface Reservation {
  uid: string;
  /** The network charged along with the user, or null. */
  network: string | null;
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

/** How a reservation ended: its secret was returned, or it was handed back. */
export type Outcome = "issued" | "refunded";

/** The store the handler needs. */
export interface MintStore {
  /** Checks every limit, charges the mint and writes its audit record. */
  reserve(input: ReserveInput): Promise<ReserveResult>;
  /**
   * Records that the secret was issued. `refunded` means the reservation had already been
   * refunded as abandoned: the secret must not be returned.
   */
  settle(reservation: Reservation, issued: { expiresAt: number }): Promise<Outcome>;
  /**
   * Hands a mint back to the user and the network and marks its audit record. Idempotent;
   * `issued` means its settle got there first (the secret may be returned after all).
   */
  refund(reservation: Reservation, failure: string): Promise<Outcome>;
}

/** Options of {@link createFirestoreStore}; `maxRounds` bounds the burst one network absorbs. */
export type FirestoreStoreOptions = StoreOptions;

/** The counter field of a network document for the window holding `ms`. */
export function windowField(ms: number): string {
  return `m${Math.floor(ms / NETWORK_WINDOW_MS)}`;
}

/** The user document, read defensively: a hand-edited or older document must not break minting. */
interface StoredUser {
  seq: number;
  lastSeq: number | undefined;
  settledSeq: number | undefined;
  settleByMs: number | undefined;
  state: UserLimitState;
}

/** A {@link MintStore} on Firestore (or its emulator, or the stand-in). */
export function createFirestoreStore(
  db: Firestore,
  options: FirestoreStoreOptions = {},
): MintStore {
  const now = options.now ?? Date.now;
  const maxRounds = options.maxRounds ?? 100;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const userRef = (uid: string) => db.collection(USERS).doc(docId(uid));
  const mintRef = (uid: string, seq: number) => userRef(uid).collection("mints").doc(seqId(seq));
  const outcomeRef = (uid: string, seq: number) =>
    userRef(uid).collection("outcomes").doc(seqId(seq));
  const networkRef = (network: string) => db.collection(NETWORKS).doc(docId(network));
  const slotRef = (network: string, seq: number) =>
    networkRef(network).collection("slots").doc(seqId(seq));
  const at = (ms: number) => Timestamp.fromMillis(ms);

  function readUser(snap: DocumentSnapshot | undefined, nowMs: number): StoredUser {
    const data = snap?.data() ?? {};
    const seq = wholeNumber(data.seq) ?? 0;
    const lastSeq = wholeNumber(data.lastSeq);
    const lastMintMs = finiteNumber(data.lastMintMs) ?? null;
    const refunded = lastSeq !== undefined && wholeNumber(data.refundedSeq) === lastSeq;
    return {
      seq,
      lastSeq,
      settledSeq: wholeNumber(data.settledSeq),
      settleByMs: finiteNumber(data.settleBy),
      state: {
        seq,
        lastMintMs: refunded ? (finiteNumber(data.prevMintMs) ?? null) : lastMintMs,
        dayCount: counterValue(data[dayField(nowMs)]),
      },
    };
  }

  function readNetwork(snap: DocumentSnapshot | undefined, nowMs: number): NetworkLimitState {
    const data = snap?.data() ?? {};
    return {
      seq: wholeNumber(data.seq) ?? 0,
      windowCount: counterValue(data[windowField(nowMs)]),
    };
  }

  function writeNetworkHalf(
    batch: WriteBatch,
    network: string,
    next: NetworkMint,
    claim: string,
    nowMs: number,
  ): void {
    batch.create(slotRef(network, next.seq), {
      seq: next.seq,
      windowStartMs: next.windowStartMs,
      claim,
      deleteAt: at(next.windowStartMs + NETWORK_WINDOW_MS + DAY_MS),
    });
    batch.set(
      networkRef(network),
      {
        seq: next.seq,
        [windowField(next.windowStartMs)]: FieldValue.increment(1),
        updatedAt: at(nowMs),
        // Outlives its slots; an idle address's document goes, and with it its hash.
        deleteAt: at(next.windowStartMs + NETWORK_WINDOW_MS + 2 * DAY_MS),
      },
      { merge: true },
    );
  }

  function writeUserHalf(
    batch: WriteBatch,
    input: ReserveInput,
    next: UserMint,
    claim: string,
  ): void {
    const { uid, audit } = input;
    const settleBy = next.reservedAtMs + input.settleWithinMs;
    batch.create(mintRef(uid, next.seq), {
      uid,
      seq: next.seq,
      status: "reserved",
      model: audit.model,
      network: input.network,
      claim,
      createdAt: at(next.reservedAtMs),
      settleBy: at(settleBy),
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
        settleBy,
        [dayField(next.reservedAtMs)]: FieldValue.increment(1),
        updatedAt: at(next.reservedAtMs),
        deleteAt: at(next.reservedAtMs + (audit.retentionDays + 1) * DAY_MS),
      },
      { merge: true },
    );
  }

  function reservation(input: ReserveInput, user: UserMint): Reservation {
    return {
      uid: input.uid,
      network: input.network,
      seq: user.seq,
      reservedAtMs: user.reservedAtMs,
      remaining: Math.max(0, input.limits.userDailyQuota - user.dayCount),
      deleteAtMs: user.reservedAtMs + input.audit.retentionDays * DAY_MS,
    };
  }

  /** Whose `create()` failed in a commit that wrote the given guards, in order. */
  async function collided(
    guards: DocumentReference[],
    claim: string,
    deadline: Deadline,
  ): Promise<{ index: number; landed: DocumentReference[] }> {
    const snaps = await deadline.run(db.getAll(...guards));
    const landed: DocumentReference[] = [];
    for (const [index, snap] of snaps.entries()) {
      if (snap.get("claim") !== claim) return { index, landed };
      landed.push(snap.ref);
    }
    return { index: guards.length, landed };
  }

  /** Refunds a reservation that reached Firestore, through its outcome guard. */
  async function refundReservation(
    held: Reservation,
    failure: string,
    deadline: Deadline,
  ): Promise<Outcome> {
    const nowMs = now();
    const batch = db.batch();
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
      {
        [dayField(held.reservedAtMs)]: FieldValue.increment(-1),
        refundedSeq: held.seq,
        settledSeq: held.seq,
      },
      { merge: true },
    );
    if (held.network !== null) {
      batch.set(
        networkRef(held.network),
        { [windowField(held.reservedAtMs)]: FieldValue.increment(-1) },
        { merge: true },
      );
    }
    try {
      await deadline.run(batch.commit());
      return "refunded";
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      return outcomeOf(held, deadline);
    }
  }

  async function outcomeOf(held: Reservation, deadline: Deadline): Promise<Outcome> {
    const snap = await deadline.run(outcomeRef(held.uid, held.seq).get());
    return snap.get("status") === "issued" ? "issued" : "refunded";
  }

  /** Hands back a network half whose user half never landed. */
  async function releaseNetworkHalf(
    network: string,
    slot: NetworkMint,
    deadline: Deadline,
  ): Promise<void> {
    const batch = db.batch();
    batch.set(
      networkRef(network),
      { [windowField(slot.windowStartMs)]: FieldValue.increment(-1) },
      { merge: true },
    );
    batch.set(slotRef(network, slot.seq), { status: "released" }, { merge: true });
    await deadline.run(batch.commit());
  }

  /**
   * The user's latest reservation was neither settled nor refunded before its `settleBy`:
   * refund it (the outcome guard decides if its handler settles at the same moment).
   */
  async function repairAbandoned(uid: string, seq: number, deadline: Deadline): Promise<void> {
    const [record, outcome] = await deadline.run(
      db.getAll(mintRef(uid, seq), outcomeRef(uid, seq)),
    );
    const createdAt = timestampOf(record?.get("createdAt"));
    const deleteAt = timestampOf(record?.get("deleteAt"));
    if (outcome?.exists === true || record?.exists !== true || createdAt === undefined) {
      // Settled after all, or nothing left to refund: stop looking at it.
      await deadline.run(userRef(uid).set({ settledSeq: seq }, { merge: true }));
      return;
    }
    const network = record.get("network") as unknown;
    await refundReservation(
      {
        uid,
        seq,
        network: typeof network === "string" ? network : null,
        reservedAtMs: createdAt.toMillis(),
        remaining: 0,
        deleteAtMs: deleteAt?.toMillis() ?? createdAt.toMillis() + 31 * DAY_MS,
      },
      "abandoned",
      deadline,
    );
  }

  async function reserve(input: ReserveInput, deadline: Deadline): Promise<ReserveResult> {
    // Marks this reservation's guard documents, to tell a partial commit of ours from another's.
    const claim = randomUUID();
    const floors = { user: 0, network: 0 };
    /** The network half, once it landed without the user's. */
    let heldSlot: NetworkMint | null = null;
    const network = input.network;

    for (let round = 1; round <= maxRounds; round++) {
      const nowMs = now();
      const claimNetwork = network !== null && heldSlot === null;
      const refs = [userRef(input.uid), ...(claimNetwork ? [networkRef(network)] : [])];
      const [userSnap, networkSnap] = await deadline.run(db.getAll(...refs));
      const stored = readUser(userSnap, nowMs);

      if (
        stored.lastSeq !== undefined &&
        stored.lastSeq !== stored.settledSeq &&
        stored.settleByMs !== undefined &&
        nowMs > stored.settleByMs
      ) {
        await repairAbandoned(input.uid, stored.lastSeq, deadline);
        continue;
      }

      const user = decideUserMint(
        { ...stored.state, seq: Math.max(stored.seq, floors.user) },
        input.limits,
        nowMs,
      );
      if (!user.ok) {
        if (network !== null && heldSlot !== null) {
          await releaseNetworkHalf(network, heldSlot, deadline);
        }
        return user;
      }
      let slot: NetworkMint | null = heldSlot;
      if (claimNetwork) {
        const state = readNetwork(networkSnap, nowMs);
        const decided = decideNetworkMint(
          { ...state, seq: Math.max(state.seq, floors.network) },
          input.limits,
          nowMs,
        );
        if (!decided.ok) return decided;
        slot = decided.next;
      }

      const batch = db.batch();
      const guards: DocumentReference[] = [];
      if (claimNetwork && slot !== null) {
        writeNetworkHalf(batch, network, slot, claim, nowMs);
        guards.push(slotRef(network, slot.seq));
      }
      writeUserHalf(batch, input, user.next, claim);
      guards.push(mintRef(input.uid, user.next.seq));
      try {
        await deadline.run(batch.commit());
        return { ok: true, reservation: reservation(input, user.next) };
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
      }

      const { index } = await collided(guards, claim, deadline);
      if (claimNetwork && slot !== null && index > 0) heldSlot = slot;
      const lost = guards[index];
      if (lost !== undefined) {
        // A collision with a document the counter does not know of: the counter fell behind
        // (deleted or edited by hand). Continue after the highest guard instead of colliding
        // with it until its TTL.
        const owner = lost.parent.parent;
        if (owner !== null) {
          const counter = await deadline.run(owner.get());
          const seq = wholeNumber(counter.get("seq")) ?? 0;
          if (seq < Number(lost.id)) {
            const highest = await highestSeq(lost.parent, deadline);
            if (lost.parent.id === "slots") floors.network = highest;
            else floors.user = highest;
            continue;
          }
        }
      }
      await sleep(Math.random() * 10 * Math.min(round, 5));
    }
    if (network !== null && heldSlot !== null) {
      await releaseNetworkHalf(network, heldSlot, deadline);
    }
    throw new Error(`reservation still contended after ${maxRounds} rounds`);
  }

  return {
    reserve(input) {
      return reserve(input, new Deadline(timeoutMs, "the reservation"));
    },

    async settle(held, issued) {
      const deadline = new Deadline(timeoutMs, "the settle");
      const nowMs = now();
      const batch = db.batch();
      batch.create(outcomeRef(held.uid, held.seq), {
        status: "issued",
        at: at(nowMs),
        deleteAt: at(held.deleteAtMs),
      });
      batch.set(
        mintRef(held.uid, held.seq),
        { status: "issued", expiresAt: at(issued.expiresAt * 1000), issuedAt: at(nowMs) },
        { merge: true },
      );
      batch.set(userRef(held.uid), { settledSeq: held.seq }, { merge: true });
      try {
        await deadline.run(batch.commit());
        return "issued";
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
        return outcomeOf(held, deadline);
      }
    },

    refund(held, failure) {
      return refundReservation(held, failure, new Deadline(timeoutMs, "the refund"));
    },
  };
}

function timestampOf(value: unknown): Timestamp | undefined {
  return value instanceof Timestamp ? value : undefined;
}
