/**
 * Firestore side of minting: reserve a mint against the limits, and refund it if it fails.
 *
 * Layout (clients can read and write none of it; see firestore.rules):
 * - `realtimeTokenUsers/{uid}`: {@link UserLimitState}
 * - `realtimeTokenUsers/{uid}/mints/{seq}`: the audit record of each mint (no secret in it),
 *   written complete with the reservation so that a successful mint costs no further write:
 *   `status` is `issued`, or `failed` with the reason once refunded
 * - `realtimeTokenNetworks/{networkHash}`: {@link NetworkLimitState}
 * - `realtimeTokenNetworks/{networkHash}/slots/{seq}`: one marker per mint from that network
 *
 * `mints` and `slots` carry a `deleteAt` timestamp for a Firestore TTL policy
 * (firestore.indexes.json declares it).
 *
 * Exactness does not rest on transaction isolation. Each accepted mint `create()`s the next
 * sequence document of the user and of the network; two reservations that decided from the same
 * state collide there and only one commits. Firestore commits atomically; the stand-in used
 * offline applies a commit's writes in order up to the first failing one, which the recovery in
 * {@link MintStore.reserve} accounts for.
 */
import { randomUUID } from "node:crypto";
import {
  type DocumentReference,
  type Firestore,
  Timestamp,
  type Transaction,
} from "firebase-admin/firestore";
import type { LimitReason } from "./contract";
import {
  DAY_MS,
  decideNetworkMint,
  decideUserMint,
  type Limits,
  NETWORK_WINDOW_MS,
  type NetworkLimitState,
  refundNetworkMint,
  refundUserMint,
  type UserLimitState,
} from "./policy";

export const USERS = "realtimeTokenUsers";
export const NETWORKS = "realtimeTokenNetworks";

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

/** A charged mint. */
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
  /** Checks every limit, charges the mint and writes its audit record. */
  reserve(input: ReserveInput): Promise<ReserveResult>;
  /** Hands a failed mint back to the user and the network, and marks its audit record. */
  refund(reservation: Reservation, failure: string): Promise<void>;
}

export interface FirestoreStoreOptions {
  now?: () => number;
  /**
   * Attempts of a reservation whose sequence document a concurrent one took first. Each round
   * lets at least one contender through, so this bounds the burst one network can absorb at
   * once, not the number of users.
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
  const slotRef = (network: string, seq: number) =>
    networkRef(network).collection("slots").doc(seqId(seq));

  /** Writes the user's half of a mint; its first write is the guard. */
  function writeUserHalf(
    tx: Transaction,
    input: ReserveInput,
    next: UserLimitState,
    nowMs: number,
    claim: string,
  ): void {
    const { audit } = input;
    tx.create(mintRef(input.uid, next.seq), {
      uid: input.uid,
      status: "issued",
      model: audit.model,
      network: input.network,
      createdAt: Timestamp.fromMillis(nowMs),
      // OpenAI counts the lifetime from its own receipt of the request, moments later.
      expiresAt: Timestamp.fromMillis(nowMs + audit.ttlSeconds * 1000),
      deleteAt: Timestamp.fromMillis(nowMs + audit.retentionDays * DAY_MS),
    });
    tx.set(userRef(input.uid), { ...next, claim, updatedAt: Timestamp.fromMillis(nowMs) });
  }

  /** Writes the network's half of a mint; its first write is the guard. */
  function writeNetworkHalf(tx: Transaction, network: string, next: NetworkLimitState): void {
    tx.create(slotRef(network, next.seq), {
      deleteAt: Timestamp.fromMillis(next.windowStartMs + NETWORK_WINDOW_MS + DAY_MS),
    });
    tx.set(networkRef(network), next);
  }

  function reservation(input: ReserveInput, user: UserLimitState, nowMs: number): Reservation {
    return {
      uid: input.uid,
      network: input.network,
      seq: user.seq,
      reservedAtMs: nowMs,
      remaining: Math.max(0, input.limits.userDailyQuota - user.dayCount),
    };
  }

  /** Both halves in one transaction: the path every uncontended reservation takes. */
  function reserveOnce(input: ReserveInput, claim: string): Promise<ReserveResult> {
    return db.runTransaction(async (tx) => {
      const nowMs = now();
      const refs: DocumentReference[] = [userRef(input.uid)];
      if (input.network !== null) refs.push(networkRef(input.network));
      const [userSnap, networkSnap] = await tx.getAll(...refs);
      const user = decideUserMint(readUser(userSnap?.data()), input.limits, nowMs);
      if (!user.ok) return user;
      let network = null;
      if (input.network !== null) {
        network = decideNetworkMint(readNetwork(networkSnap?.data()), input.limits, nowMs);
        if (!network.ok) return network;
      }
      // The user's half first: a user's own burst, the common collision, then fails on its
      // very first write and leaves nothing behind even where commits are not atomic.
      writeUserHalf(tx, input, user.next, nowMs, claim);
      if (input.network !== null && network !== null) {
        writeNetworkHalf(tx, input.network, network.next);
      }
      return { ok: true, reservation: reservation(input, user.next, nowMs) };
    });
  }

  /**
   * The user's half landed without the network's (a partial commit on the stand-in): claim the
   * network on its own, and hand the user's charge back if the network refuses.
   */
  async function finishNetworkHalf(
    input: ReserveInput & { network: string },
    held: Reservation,
  ): Promise<ReserveResult> {
    const decision = await untilNoCollision(() =>
      db.runTransaction(async (tx) => {
        const snap = await tx.get(networkRef(input.network));
        const network = decideNetworkMint(readNetwork(snap.data()), input.limits, now());
        if (network.ok) writeNetworkHalf(tx, input.network, network.next);
        return network;
      }),
    );
    if (decision.ok) return { ok: true, reservation: held };
    await release(held, decision.reason, false);
    return decision;
  }

  /** Reruns `attempt` while a `create()` finds its document taken: decide again, afresh. */
  async function untilNoCollision<T>(
    attempt: () => Promise<T>,
    onCollision?: () => Promise<T | undefined>,
  ): Promise<T> {
    for (let round = 1; ; round++) {
      try {
        return await attempt();
      } catch (error) {
        if (!isAlreadyExists(error) || round >= maxRounds) throw error;
        const settled = await onCollision?.();
        if (settled !== undefined) return settled;
        await sleep(Math.random() * 10 * Math.min(round, 5));
      }
    }
  }

  /** Hands a charge back to the user and, unless told otherwise, to the network. */
  function release(held: Reservation, failure: string, network: boolean): Promise<void> {
    return db.runTransaction(async (tx) => {
      const refs: DocumentReference[] = [userRef(held.uid)];
      if (network && held.network !== null) refs.push(networkRef(held.network));
      const [userSnap, networkSnap] = await tx.getAll(...refs);
      const user = readUser(userSnap?.data());
      const networkState = readNetwork(networkSnap?.data());
      if (user !== undefined) {
        tx.set(
          userRef(held.uid),
          { ...refundUserMint(user, held.reservedAtMs), updatedAt: Timestamp.fromMillis(now()) },
          { merge: true },
        );
      }
      if (network && held.network !== null && networkState !== undefined) {
        tx.set(networkRef(held.network), refundNetworkMint(networkState, held.reservedAtMs));
      }
      tx.update(mintRef(held.uid, held.seq), {
        status: "failed",
        failure,
        refundedAt: Timestamp.fromMillis(now()),
      });
    });
  }

  return {
    reserve(input) {
      // Marks this reservation's writes, to tell a partial commit of ours from someone else's.
      const claim = randomUUID();
      return untilNoCollision(
        () => reserveOnce(input, claim),
        async () => {
          if (input.network === null) return undefined;
          const data = (await userRef(input.uid).get()).data();
          const user = readUser(data);
          if (data?.claim !== claim || user === undefined || user.lastMintMs === null) {
            return undefined;
          }
          const held = reservation(input, user, user.lastMintMs);
          return finishNetworkHalf({ ...input, network: input.network }, held);
        },
      );
    },

    refund(held, failure) {
      return release(held, failure, true);
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

/** Reads stored state defensively: a hand-edited or older document must not break minting. */
function readUser(data: Record<string, unknown> | undefined): UserLimitState | undefined {
  if (data === undefined) return undefined;
  return {
    seq: num(data.seq) ?? 0,
    lastMintMs: num(data.lastMintMs) ?? null,
    prevMintMs: num(data.prevMintMs) ?? null,
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
