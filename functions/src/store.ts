/**
 * Firestore side of minting: reserve a mint against the limits, or refund it. The mechanics
 * (guards, collisions, repair, deadlines) are the reservation engine's (reservations.ts); the
 * rule is policy.ts's {@link mintRule}. This module says what a mint's record and refund hold.
 *
 * Layout (clients can read and write none of it; see firestore.rules). Document ids come from
 * {@link docId}, so no uid can name another document:
 * - `realtimeTokenUsers/{uid}`: the sequence (`seq`), the latest mint (`lastSeq`, `lastMintMs`,
 *   `prevMintMs`), the latest refund (`refundedSeq`) and one counter per UTC day (`d20261123`)
 * - `realtimeTokenUsers/{uid}/mints/{seq}`: the audit record of each mint (never the secret).
 *   `status` says what is known: `reserved` (charged; a secret of `model` living `ttlSeconds` was
 *   requested from OpenAI, from `network`, at `createdAt`, by a caller on `plan`), or `failed` (refunded, with the
 *   reason). A record
 *   that stays `reserved` is a mint the limits count: its secret was returned, or its refund
 *   never landed (see below)
 * - `realtimeTokenUsers/{uid}/outcomes/{seq}`: created by the refund, so a mint is refunded at
 *   most once however often it is asked
 * - the network's slot of the minute, `networkWindows/mint-{minute}/slots/{networkHash}-{k}`
 *   (networkSlots.ts)
 *
 * Every document carries `deleteAt` for Firestore's TTL: audit records and outcomes after
 * AUDIT_RETENTION_DAYS, slots a day after their minute, the user's document a day after its
 * newest record. Exactness, repair of a user document that fell behind, and what a write
 * abandoned at its deadline does: see reservations.ts.
 *
 * The successful path writes once, the reservation; nothing is written after the secret is
 * returned (on Cloud Functions the CPU is throttled once the answer is sent, so a write left in
 * flight then is unreliable). A failed mint is refunded before its error is answered. If that
 * refund cannot be written (Firestore went away between the reservation and the refund, or the
 * instance died), the mint stays charged: the user waits out the interval and has one mint
 * fewer today, and its record stays `reserved`. The limits therefore never count fewer mints
 * than secrets returned; the only inexactness is that one, logged as
 * `realtime_token_store_failed` (stage `refund`).
 */
import type { Firestore } from "firebase-admin/firestore";
import type { LimitReason } from "voice-contract";
import type { StoreOptions } from "./firestoreOps";
import type { HeldSlot } from "./networkSlots";
import { type Limits, mintRefund, mintRule } from "./policy";
import { createReservationEngine, type Settlement } from "./reservations";

export const USERS = "realtimeTokenUsers";

export interface ReserveInput {
  uid: string;
  /** Hashed client network (see network.ts), or null when the address is unknown. */
  network: string | null;
  limits: Limits;
  /**
   * What the audit record keeps: the model and secret lifetime requested, the caller's plan
   * at the time (for the operator's usage, usage.ts), and its retention.
   */
  audit: { model: string; ttlSeconds: number; retentionDays: number; plan?: string };
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

/** Why a reservation answered as failed, whose commit landed past its deadline, is refunded. */
const LATE = "store-unavailable";

/** A mint handed back: its record `failed`, a mint off its day, its slot deleted. */
function refunded(mint: Omit<Reservation, "remaining">, failure: string, atMs: number): Settlement {
  return {
    outcome: { status: "refunded", failure },
    atMs,
    deleteAtMs: mint.deleteAtMs,
    record: { status: "failed", failure },
    stampRecord: "refundedAt",
    user: mintRefund(mint),
    releaseSlot: mint.slot,
  };
}

/** A {@link MintStore} on Firestore (or its emulator, or the stand-in). */
export function createFirestoreStore(
  db: Firestore,
  options: FirestoreStoreOptions = {},
): MintStore {
  const engine = createReservationEngine(
    db,
    { users: USERS, records: "mints", outcomes: "outcomes", scope: "mint" },
    options,
  );
  return {
    async reserve(input) {
      const { uid, network, limits, audit } = input;
      const result = await engine.reserve(
        {
          uid,
          network: network === null ? null : { network, perWindow: limits.networkPerWindow },
          retentionDays: audit.retentionDays,
          ...(audit.plan !== undefined ? { tags: { plan: audit.plan } } : {}),
          rule: mintRule(uid, limits, { model: audit.model, ttlSeconds: audit.ttlSeconds }),
          abandoned: (held, atMs) => refunded(held, LATE, atMs),
        },
        engine.deadline("the reservation"),
      );
      if (!result.ok) return { ok: false, ...result.refusal };
      const { grant, ...held } = result.held;
      return { ok: true, reservation: { ...held, remaining: grant.remaining } };
    },
    async refund(held, failure) {
      const deadline = engine.deadline("the refund");
      await engine.settle(held, refunded(held, failure, engine.now()), deadline);
    },
  };
}
