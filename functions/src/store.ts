/**
 * Firestore side of minting: reserve a mint against the limits, then confirm or refund it.
 *
 * Layout (clients can read and write none of it; see firestore.rules):
 * - `realtimeTokenUsers/{uid}`: {@link UserLimitState}
 * - `realtimeTokenUsers/{uid}/mints/{seq}`: the audit record of each mint (no secret in it)
 * - `realtimeTokenNetworks/{networkHash}`: {@link NetworkLimitState}
 * - `realtimeTokenNetworks/{networkHash}/slots/{seq}`: one marker per mint from that network
 *
 * `mints` and `slots` carry a `deleteAt` timestamp for a Firestore TTL policy
 * (firestore.indexes.json declares it).
 *
 * A reservation claims the user, then the network, each in its own transaction guarded by the
 * `create()` of the next sequence document. Those guards keep the limits exact even where
 * transactions are neither isolated nor atomic (the Firestore stand-in used offline).
 */
import { type DocumentReference, type Firestore, Timestamp } from "firebase-admin/firestore";
import {
  type Decision,
  decideNetworkMint,
  decideUserMint,
  type Limits,
  NETWORK_WINDOW_MS,
  type NetworkLimitState,
  refundNetworkMint,
  refundUserMint,
  type UserLimitState,
} from "./policy";
import type { LimitReason } from "./contract";

export const USERS = "realtimeTokenUsers";
export const NETWORKS = "realtimeTokenNetworks";

const DAY_MS = 86_400_000;
/** gRPC status of a failed `create()` precondition. */
const ALREADY_EXISTS = 6;

export interface ReserveInput {
  uid: string;
  /** Hashed client network (see network.ts), or null when the address is unknown. */
  network: string | null;
  limits: Limits;
  /** What the audit record says of the mint before it happens. */
  audit: { model: string; ttlSeconds: number; retentionDays: number };
}

/** A charged, not yet confirmed mint. */
export interface Reservation {
  uid: string;
  network: string | null;
  /** The user's mint sequence number: the audit record's id. */
  seq: number;
  reservedAtMs: number;
  /** Mints left today after this one. */
  remaining: number;
}

export type ReserveResult =
  | { ok: true; reservation: Reservation }
  | { ok: false; reason: LimitReason; retryAfterSeconds: number };

/** The store the handler needs. */
export interface MintStore {
  /** Checks every limit and charges the mint, atomically. */
  reserve(input: ReserveInput): Promise<ReserveResult>;
  /** Records a successful mint in its audit record. */
  confirm(reservation: Reservation, minted: { expiresAt: number; model: string }): Promise<void>;
  /** Hands a failed mint back to the user and the network, and marks its audit record. */
  refund(reservation: Reservation, failure: string): Promise<void>;
}

export interface FirestoreStoreOptions {
  now?: () => number;
  /**
   * Attempts of a claim when concurrent claims took the same sequence number first. Each
   * round lets at least one contender through, so this bounds the burst one network can
   * absorb at once, not the number of users.
   */
  maxRounds?: number;
}

/** A {@link MintStore} on Firestore (or its emulator, or the stand-in). */
export function createFirestoreStore(
  db: Firestore,
  options: FirestoreStoreOptions = {},
): MintStore {
  const now = options.now ?? Date.now;
  const maxRounds = options.maxRounds ?? 50;
  const userRef = (uid: string) => db.collection(USERS).doc(uid);
  const networkRef = (network: string) => db.collection(NETWORKS).doc(network);
  const mintRef = (uid: string, seq: number) => userRef(uid).collection("mints").doc(seqId(seq));

  /**
   * Runs `attempt` as a transaction until it stops colliding. A collision is a `create()` that
   * found its document taken: someone decided from the same state first, so decide again.
   */
  async function withRetries<T>(attempt: () => Promise<T>): Promise<T> {
    for (let round = 1; ; round++) {
      try {
        return await attempt();
      } catch (error) {
        if (!isAlreadyExists(error) || round >= maxRounds) throw error;
        await sleep(Math.random() * 10 * Math.min(round, 5));
      }
    }
  }

  // Each claim is its own transaction whose first write is the create() that guards it. The
  // stand-in applies a commit's writes in order and stops at the first failure, so a guard
  // placed after another write would leave that write behind when it fails.
  function claimUser(input: ReserveInput): Promise<ReserveResult> {
    return db.runTransaction(async (tx) => {
      const nowMs = now();
      const snap = await tx.get(userRef(input.uid));
      const user = decideUserMint(readUser(snap.data()), input.limits, nowMs);
      if (!user.ok) return user;
      const { audit } = input;
      tx.create(mintRef(input.uid, user.next.seq), {
        uid: input.uid,
        status: "reserved",
        model: audit.model,
        network: input.network,
        createdAt: Timestamp.fromMillis(nowMs),
        // Replaced by OpenAI's own expiry on confirm.
        expiresAt: Timestamp.fromMillis(nowMs + audit.ttlSeconds * 1000),
        deleteAt: Timestamp.fromMillis(nowMs + audit.retentionDays * DAY_MS),
      });
      tx.set(userRef(input.uid), { ...user.next, updatedAt: Timestamp.fromMillis(nowMs) });
      return {
        ok: true,
        reservation: {
          uid: input.uid,
          network: input.network,
          seq: user.next.seq,
          reservedAtMs: nowMs,
          remaining: Math.max(0, input.limits.userDailyQuota - user.next.dayCount),
        },
      };
    });
  }

  function claimNetwork(network: string, limits: Limits): Promise<Decision<NetworkLimitState>> {
    return db.runTransaction(async (tx) => {
      const nowMs = now();
      const snap = await tx.get(networkRef(network));
      const decision = decideNetworkMint(readNetwork(snap.data()), limits, nowMs);
      if (!decision.ok) return decision;
      const { next } = decision;
      tx.create(networkRef(network).collection("slots").doc(seqId(next.seq)), {
        deleteAt: Timestamp.fromMillis(next.windowStartMs + NETWORK_WINDOW_MS + DAY_MS),
      });
      tx.set(networkRef(network), next);
      return decision;
    });
  }

  /** Hands a charge back to the user and, if it got that far, to the network. */
  function release(reservation: Reservation, failure: string, network: boolean): Promise<void> {
    return db.runTransaction(async (tx) => {
      const refs: DocumentReference[] = [userRef(reservation.uid)];
      if (network && reservation.network !== null) refs.push(networkRef(reservation.network));
      const [userSnap, networkSnap] = await tx.getAll(...refs);
      const user = readUser(userSnap?.data());
      const networkState = readNetwork(networkSnap?.data());
      if (user !== undefined) {
        tx.set(userRef(reservation.uid), {
          ...refundUserMint(user, reservation.reservedAtMs),
          updatedAt: Timestamp.fromMillis(now()),
        });
      }
      if (network && reservation.network !== null && networkState !== undefined) {
        tx.set(
          networkRef(reservation.network),
          refundNetworkMint(networkState, reservation.reservedAtMs),
        );
      }
      tx.update(mintRef(reservation.uid, reservation.seq), {
        status: "failed",
        failure,
        refundedAt: Timestamp.fromMillis(now()),
      });
    });
  }

  return {
    // The user first: a user's own burst, the common case, is refused there without
    // touching the network's counter.
    async reserve(input) {
      const user = await withRetries(() => claimUser(input));
      if (!user.ok || input.network === null) return user;
      const { network } = input;
      const decision = await withRetries(() => claimNetwork(network, input.limits));
      if (decision.ok) return user;
      await release(user.reservation, decision.reason, false);
      return decision;
    },

    async confirm(reservation, minted) {
      await mintRef(reservation.uid, reservation.seq).update({
        status: "minted",
        model: minted.model,
        expiresAt: Timestamp.fromMillis(minted.expiresAt * 1000),
        confirmedAt: Timestamp.fromMillis(now()),
      });
    },

    refund(reservation, failure) {
      return release(reservation, failure, true);
    },
  };
}

/** Zero-padded so that ids sort in mint order. */
function seqId(seq: number): string {
  return String(seq).padStart(12, "0");
}

function isAlreadyExists(error: unknown): boolean {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as { code?: unknown }).code === ALREADY_EXISTS
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function numOrNull(value: unknown): number | null {
  return num(value) ?? null;
}

/** Reads stored state defensively: a hand-edited or older document must not break minting. */
function readUser(data: Record<string, unknown> | undefined): UserLimitState | undefined {
  if (data === undefined) return undefined;
  return {
    seq: num(data.seq) ?? 0,
    lastMintMs: numOrNull(data.lastMintMs),
    prevMintMs: numOrNull(data.prevMintMs),
    day: typeof data.day === "string" ? data.day : "",
    dayCount: num(data.dayCount) ?? 0,
  };
}

function readNetwork(data: Record<string, unknown> | undefined): NetworkLimitState | undefined {
  if (data === undefined) return undefined;
  return {
    seq: num(data.seq) ?? 0,
    windowStartMs: num(data.windowStartMs) ?? 0,
    count: num(data.count) ?? 0,
  };
}
