/**
 * The reservation engine both budgets run on (mints: store.ts; voice minutes: minuteStore.ts).
 * A budget brings its pure rule (budget.ts) and its layout; the engine does the Firestore
 * mechanics: reads, guarded commits, collisions, repair, back-off, settlement and deadlines.
 *
 * Layout of one budget (ids from {@link docId} and {@link seqId}, so no uid names another
 * document):
 * - `{users}/{uid}`: the sequence (`seq`) and whatever the rule keeps (counters per day, …)
 * - `{users}/{uid}/{records}/{seq}`: one record per reservation, with its `claim`, `network`,
 *   `networkSlot`, `createdAt` and `deleteAt`
 * - `{users}/{uid}/{outcomes}/{seq}`: created by the settlement, so a reservation is settled
 *   (refunded, ended) at most once however often and by whomever it is asked
 * - with a known network, its slot of the minute (networkSlots.ts, allowance of `scope`)
 *
 * Every document carries `deleteAt` for Firestore's TTL: records and outcomes after the
 * retention, the user's document a day after its newest record (it outlives them, so its
 * sequence never restarts under records still kept).
 *
 * Exactness rests on two things only, which Firestore, its emulator and the offline stand-in
 * (no transaction isolation; a commit applies its writes in order and stops at the first failing
 * one) all honour: `create()` preconditions and increments.
 * - A reservation `create()`s a free slot of its network's minute and the user's next record,
 *   in that order, first in its commit; two reservations decided from the same state collide
 *   there and only one commits. The network's half comes first: a burst on one address then
 *   fails on the first write and leaves nothing behind. When only the network's half landed
 *   (one user on two addresses at once), the user's half is claimed alone, and the slot handed
 *   back if the user is then refused.
 * - Counts change by increments and slot deletions only (budget.ts).
 * - A user document deleted or edited by hand (its `seq` behind its records) is repaired on the
 *   collision it causes: the next sequence is taken from the highest record, so a user is never
 *   locked out. Its counts restart from what the document still says; a counter that holds
 *   no number restarts from the reservation's charge ({@link counterWrites}).
 *
 * Deadlines: every engine call runs under a {@link Deadline} (FIRESTORE_TIMEOUT_MS); past it
 * the call fails with `StoreUnavailableError`. A write abandoned that way may still land later
 * (the Firestore client retries it). A settlement landing late hands the charge back after all.
 * A reservation landing late was answered as a failure, so nothing was bought with it: the
 * engine watches its commit and, once it lands, settles it as the budget's `abandoned` says
 * (refunded, slot handed back). That runs after the caller was answered, on an instance that
 * may be throttled or gone by then (Cloud Functions); a reservation it does not reach stays
 * charged, as one whose refund never landed.
 */
import { randomUUID } from "node:crypto";
import type {
  DocumentReference,
  DocumentSnapshot,
  Firestore,
  WriteBatch,
} from "firebase-admin/firestore";
import { FieldValue, Timestamp } from "firebase-admin/firestore";
import type { Fields, Refusal, ReservationRule, Tally, UserChange, Writes } from "./budget";
import { wholeNumber } from "./budget";
import {
  Deadline,
  docId,
  highestSeq,
  isAlreadyExists,
  seqId,
  sleep,
  type StoreOptions,
  StoreUnavailableError,
} from "./firestoreOps";
import {
  type HeldSlot,
  NetworkClaim,
  type NetworkScope,
  releaseSlotInto,
  slotRef,
} from "./networkSlots";
import { DAY_MS } from "./calendar";

/** Where one budget keeps its documents. */
export interface BudgetLayout {
  /** The collection of user documents. */
  users: string;
  /** Each user's reservation records. */
  records: string;
  /** Each user's settlement guards. */
  outcomes: string;
  /** Which network allowance a reservation's slot counts against. */
  scope: NetworkScope;
}

/** A client network and its allowance per minute, across all users. */
export interface NetworkAllowance {
  /** Hashed client network (network.ts). */
  network: string;
  perWindow: number;
}

/** One reservation to make. */
export interface ReserveRequest<S extends { seq: number }, G, R extends Refusal> {
  uid: string;
  /** The caller's network, or null when the address is unknown (no network limit). */
  network: NetworkAllowance | null;
  /** Days the record (and its outcome) are kept. */
  retentionDays: number;
  rule: ReservationRule<S, G, R>;
  /**
   * Fields the record keeps for the operator's usage (usage.ts: the plan, the model, the API),
   * written with it in the same `create()`; they decide nothing.
   */
  tags?: Writes;
  /**
   * The settlement of this reservation if its commit lands only after the caller was told it
   * failed (past its deadline). Without it, such a reservation stays charged.
   */
  abandoned?: (held: Held<G>, nowMs: number) => Settlement | undefined;
}

/** A reservation that committed. */
export interface Held<G> {
  uid: string;
  /** The record's id. */
  seq: number;
  reservedAtMs: number;
  /** When the TTL deletes the record (and its outcome). */
  deleteAtMs: number;
  /** The network slot charged along with the user, or null when the address is unknown. */
  slot: HeldSlot | null;
  grant: G;
}

/** The network's allowance for this minute is taken. */
export type NetworkRefusal = Refusal<"ip-rate">;

export type ReserveOutcome<S, G, R extends Refusal> =
  | { ok: true; held: Held<G> }
  | {
      ok: false;
      refusal: R | NetworkRefusal;
      /** The state the refusal was decided from, and when. */
      state: S;
      atMs: number;
    };

/** A reservation's record, by its owner and sequence number. */
export interface RecordRef {
  uid: string;
  seq: number;
}

/** One settlement: the record's last change, and the charge handed back. */
export interface Settlement {
  /** The outcome guard's fields (the engine adds `at` and `deleteAt`). */
  outcome: Fields;
  /** When it is settled (unix ms). */
  atMs: number;
  /** When the TTL deletes the outcome: the record's own `deleteAt`. */
  deleteAtMs: number;
  /** Merged into the record. */
  record: Writes;
  /** A record field that gets {@link atMs} as a timestamp (e.g. `refundedAt`). */
  stampRecord?: string;
  /** Counters handed back, and any plain fields, on the user's document. */
  user?: UserChange;
  /** The network slot to hand back with it (the reservation never counted for its network). */
  releaseSlot?: HeldSlot | null;
}

/** The engine of one budget. Every method runs under the deadline it is given. */
export interface ReservationEngine {
  /** A deadline of FIRESTORE_TIMEOUT_MS for one store call, named for its error message. */
  deadline(what: string): Deadline;
  now(): number;
  /**
   * Checks the network's allowance and the rule, charges both, and writes the record; or says
   * which limit refused, having charged nothing.
   */
  reserve<S extends { seq: number }, G, R extends Refusal>(
    request: ReserveRequest<S, G, R>,
    deadline: Deadline,
  ): Promise<ReserveOutcome<S, G, R>>;
  /** Applies a settlement once: a second one for the same record changes nothing (`already`). */
  settle(
    ref: RecordRef,
    settlement: Settlement,
    deadline: Deadline,
  ): Promise<"settled" | "already">;
  /** The record's stored fields, or undefined when there is none. */
  record(ref: RecordRef, deadline: Deadline): Promise<Fields | undefined>;
  /** The outcome guard's fields, or undefined when the record was never settled. */
  outcome(ref: RecordRef, deadline: Deadline): Promise<Fields | undefined>;
  /** The first of a user's records whose `field` equals `value` (among that user's only). */
  findRecord(
    uid: string,
    field: string,
    value: string,
    deadline: Deadline,
  ): Promise<Fields | undefined>;
  /** Up to `limit` of a user's records whose `field` equals `value`. */
  findRecords(
    uid: string,
    field: string,
    value: string,
    limit: number,
    deadline: Deadline,
  ): Promise<Fields[]>;
  /** Merges fields into a record. */
  updateRecord(ref: RecordRef, fields: Writes, deadline: Deadline): Promise<void>;
  /**
   * Writes fields over a record that exists and is not settled, in one commit whose first write
   * checks that the record's outcome guard is absent: once a settlement landed (before, or
   * while this commit waited), the commit writes nothing and answers `settled`, even when the
   * Firestore client delivers it after its caller gave up on it.
   */
  updateUnsettled(
    ref: RecordRef,
    fields: Writes,
    deadline: Deadline,
  ): Promise<"updated" | "settled" | "missing">;
  /** The user's state as `read` sees it now. */
  state<S>(
    uid: string,
    read: (data: Fields, nowMs: number) => S,
    deadline: Deadline,
  ): Promise<{ state: S; atMs: number }>;
}

function increments(tally: Tally | undefined): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const [field, by] of Object.entries(tally ?? {})) {
    if (by !== 0) out[field] = FieldValue.increment(by);
  }
  return out;
}

/**
 * A reservation's counter writes over the user document it read: increments, except where a
 * counter holds something that is not a number (edited by hand), which gets the amount itself,
 * as the rule read that counter as 0. Firestore's increment writes the same there; the offline
 * stand-in fails the commit instead, after the record's `create()` landed, so the user would
 * be refused on every try with a stray record each time. A concurrent reservation that read
 * the same document collides on the record first, so the plain value overwrites no count.
 */
export function counterWrites(
  tally: Tally | undefined,
  stored: Fields,
): Record<string, FieldValue | number> {
  const out: Record<string, FieldValue | number> = increments(tally);
  for (const field of Object.keys(out)) {
    const value = stored[field];
    if (value !== undefined && typeof value !== "number") out[field] = tally?.[field] ?? 0;
  }
  return out;
}

/** gRPC statuses of a failed precondition (an absence check may answer either) and of an update of a missing document. */
const FAILED_PRECONDITION = 9;
const NOT_FOUND = 5;

function hasCode(error: unknown, code: number): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === code;
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

/** The engine of the budget laid out as `layout`, on Firestore (or its emulator, or the stand-in). */
export function createReservationEngine(
  db: Firestore,
  layout: BudgetLayout,
  options: StoreOptions = {},
): ReservationEngine {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const maxRounds = options.maxRounds ?? 100;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const userRef = (uid: string) => db.collection(layout.users).doc(docId(uid));
  const recordRef = (ref: RecordRef) =>
    userRef(ref.uid).collection(layout.records).doc(seqId(ref.seq));
  const outcomeRef = (ref: RecordRef) =>
    userRef(ref.uid).collection(layout.outcomes).doc(seqId(ref.seq));
  const at = (ms: number) => Timestamp.fromMillis(ms);

  /** Adds the user's half (record, then counters) to a commit; returns the record's guard. */
  function writeUserHalf(
    batch: WriteBatch,
    uid: string,
    decided: { seq: number; record: Writes; user: UserChange },
    stored: Fields,
    context: {
      tags: Writes | undefined;
      nowMs: number;
      deleteAtMs: number;
      network: string | null;
      slot: HeldSlot | null;
      claim: string;
    },
  ): DocumentReference {
    const ref = recordRef({ uid, seq: decided.seq });
    batch.create(ref, {
      ...context.tags,
      ...decided.record,
      claim: context.claim,
      network: context.network,
      networkSlot: context.slot === null ? null : slotRef(db, context.slot).path,
      createdAt: at(context.nowMs),
      deleteAt: at(context.deleteAtMs),
    });
    batch.set(
      userRef(uid),
      {
        uid,
        seq: decided.seq,
        ...decided.user.set,
        ...counterWrites(decided.user.add, stored),
        updatedAt: at(context.nowMs),
        deleteAt: at(context.deleteAtMs + DAY_MS),
      },
      { merge: true },
    );
    return ref;
  }

  async function reserve<S extends { seq: number }, G, R extends Refusal>(
    request: ReserveRequest<S, G, R>,
    deadline: Deadline,
  ): Promise<ReserveOutcome<S, G, R>> {
    const { uid, rule } = request;
    // Marks this reservation's guard documents, to tell a partial commit of ours from another's.
    const claim = randomUUID();
    const allowance = request.network;
    const network =
      allowance === null
        ? null
        : new NetworkClaim(db, layout.scope, allowance.network, allowance.perWindow, claim, random);
    let floor = 0;

    for (let round = 1; round <= maxRounds; round++) {
      const nowMs = now();
      const [userSnap] = await deadline.run(db.getAll(userRef(uid)));
      const fields: Fields = userSnap?.data() ?? {};
      const stored = rule.read(fields, nowMs);
      const state: S = { ...stored, seq: Math.max(stored.seq, floor) };
      const decided = rule.decide(state, nowMs);
      if (!decided.ok) {
        await network?.release(deadline);
        return { ok: false, refusal: decided, state, atMs: nowMs };
      }

      const batch = db.batch();
      const guards: DocumentReference[] = [];
      let trying: HeldSlot | null = null;
      if (network !== null && network.held === null) {
        const picked = network.pick(nowMs);
        if (!picked.ok) return { ok: false, refusal: picked, state, atMs: nowMs };
        trying = picked.slot;
        guards.push(network.writeInto(batch, trying));
      }
      const slot = trying ?? network?.held ?? null;
      const deleteAtMs = nowMs + request.retentionDays * DAY_MS;
      guards.push(
        writeUserHalf(batch, uid, decided, fields, {
          tags: request.tags,
          nowMs,
          deleteAtMs,
          network: allowance?.network ?? null,
          slot,
          claim,
        }),
      );
      const held = { uid, seq: decided.seq, reservedAtMs: nowMs, deleteAtMs, slot };
      const commit = batch.commit();
      try {
        await deadline.run(commit);
        return { ok: true, held: { ...held, grant: decided.grant } };
      } catch (error) {
        const { abandoned } = request;
        if (error instanceof StoreUnavailableError && abandoned !== undefined) {
          settleOnceLanded(commit, held, () => abandoned({ ...held, grant: decided.grant }, now()));
        }
        if (!isAlreadyExists(error)) throw error;
      }

      const snaps = await deadline.run(db.getAll(...guards));
      if (network !== null && trying !== null) {
        if ((await network.settle(trying, snaps[0], deadline)) === "collided") continue;
      }
      // The user's record collided. When the user document does not know the record (deleted
      // or edited by hand), continue after the highest record instead of colliding until its TTL.
      const lost = guards[collidedAt(snaps, claim)];
      if (lost !== undefined) {
        const counter = await deadline.run(userRef(uid).get());
        if ((wholeNumber(counter.get("seq")) ?? 0) < Number(lost.id)) {
          floor = await highestSeq(lost.parent, deadline);
          continue;
        }
      }
      await sleep(random() * 10 * Math.min(round, 5));
    }
    await network?.release(deadline);
    throw new Error(`${layout.records} reservation still contended after ${maxRounds} rounds`);
  }

  async function settle(
    ref: RecordRef,
    settlement: Settlement,
    deadline: Deadline,
  ): Promise<"settled" | "already"> {
    const batch = db.batch();
    // First: a second settlement of the same record stops here and changes nothing.
    batch.create(outcomeRef(ref), {
      ...settlement.outcome,
      at: at(settlement.atMs),
      deleteAt: at(settlement.deleteAtMs),
    });
    const stamp = settlement.stampRecord;
    batch.set(
      recordRef(ref),
      { ...settlement.record, ...(stamp === undefined ? {} : { [stamp]: at(settlement.atMs) }) },
      { merge: true },
    );
    const user = { ...settlement.user?.set, ...increments(settlement.user?.add) };
    if (Object.keys(user).length > 0) batch.set(userRef(ref.uid), user, { merge: true });
    if (settlement.releaseSlot) releaseSlotInto(db, batch, settlement.releaseSlot);
    try {
      await deadline.run(batch.commit());
      return "settled";
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      return "already";
    }
  }

  /** Settles a reservation given up at its deadline if its commit still lands. */
  function settleOnceLanded(
    commit: Promise<unknown>,
    ref: RecordRef,
    settlement: () => Settlement | undefined,
  ): void {
    commit
      .then(() => {
        const late = settlement();
        const deadline = new Deadline(timeoutMs, "the settlement of a late reservation");
        return late === undefined ? undefined : settle(ref, late, deadline);
      })
      // Nobody waits for this any more: a reservation left unsettled stays charged.
      .catch(() => {});
  }

  async function findRecords(
    uid: string,
    field: string,
    value: string,
    limit: number,
    deadline: Deadline,
  ): Promise<Fields[]> {
    const snap = await deadline.run(
      userRef(uid).collection(layout.records).where(field, "==", value).limit(limit).get(),
    );
    return snap.docs.map((doc) => doc.data());
  }

  async function data(ref: DocumentReference, deadline: Deadline): Promise<Fields | undefined> {
    const snap = await deadline.run(ref.get());
    return snap.exists ? (snap.data() ?? {}) : undefined;
  }

  return {
    deadline: (what) => new Deadline(timeoutMs, what),
    now,
    reserve,
    settle,
    record: (ref, deadline) => data(recordRef(ref), deadline),
    outcome: (ref, deadline) => data(outcomeRef(ref), deadline),
    findRecord: async (uid, field, value, deadline) =>
      (await findRecords(uid, field, value, 1, deadline))[0],
    findRecords,
    async updateRecord(ref, fields, deadline) {
      await deadline.run(recordRef(ref).set(fields, { merge: true }));
    },
    async updateUnsettled(ref, fields, deadline) {
      const batch = db.batch();
      // A delete that only asserts absence: `create()` would leave a document behind.
      batch.delete(outcomeRef(ref), { exists: false });
      // update(), not set(): a record deleted meanwhile (by hand, by its TTL) is not re-created.
      batch.update(recordRef(ref), { ...fields });
      try {
        await deadline.run(batch.commit());
        return "updated";
      } catch (error) {
        if (isAlreadyExists(error) || hasCode(error, FAILED_PRECONDITION)) return "settled";
        if (hasCode(error, NOT_FOUND)) return "missing";
        throw error;
      }
    },
    async state(uid, read, deadline) {
      const atMs = now();
      const stored = await data(userRef(uid), deadline);
      return { state: read(stored ?? {}, atMs), atMs };
    },
  };
}
