/**
 * The per-network limit of the reservation engine (reservations.ts), for mints and brokered
 * calls alike, each with its own allowance: each accepted request from a client network claims
 * one numbered slot of the current minute with a `create()` in its reservation's commit, and a
 * refund deletes that slot again.
 *
 * Layout: `networkWindows/{scope}-{window}/slots/{networkHash}-{k}`, where `window` is the
 * epoch minute and `k` runs from 1 to the allowance. A slot records its network, `k`, the
 * reservation's claim marker and `deleteAt` (a day after its minute, for the TTL). The window
 * documents themselves are never written.
 *
 * Why slots and no counter: the claim is one small write in a commit the reservation makes
 * anyway, with no read on the way. A caller first tries a random slot; only a collision (the
 * slot is taken) costs a query for the slots taken in this window, after which it tries a free
 * one or is refused when the allowance is used up. Exact without transaction isolation: a slot
 * exists at most once, so a window never holds more claims than its allowance, and a refund
 * removes its own slot only. Nothing here can be wedged by a hand edit: a deleted slot is room
 * again, and a slot edited so that the query no longer finds it is remembered as taken when it
 * collides.
 */
import type {
  DocumentReference,
  DocumentSnapshot,
  Firestore,
  WriteBatch,
} from "firebase-admin/firestore";
import { Timestamp } from "firebase-admin/firestore";
import { type Deadline, docId } from "./firestoreOps";
import { DAY_MS } from "./calendar";
import { NETWORK_WINDOW_MS, type NetworkSlot, pickNetworkSlot } from "./policy";

export const NETWORK_WINDOWS = "networkWindows";

/** Which allowance a slot counts against: mints (`realtimeToken`) or brokered calls. */
export type NetworkScope = "mint" | "call";

/** A slot as a reservation holds it, enough to find and release it later. */
export interface HeldSlot extends NetworkSlot {
  scope: NetworkScope;
  network: string;
}

/** The slot document of a held slot. */
export function slotRef(db: Firestore, slot: HeldSlot): DocumentReference {
  return db
    .collection(NETWORK_WINDOWS)
    .doc(`${slot.scope}-${Math.floor(slot.windowStartMs / NETWORK_WINDOW_MS)}`)
    .collection("slots")
    .doc(`${docId(slot.network)}-${slot.k}`);
}

/** Adds the deletion of a held slot (a refund) to a commit. */
export function releaseSlotInto(db: Firestore, batch: WriteBatch, slot: HeldSlot): void {
  batch.delete(slotRef(db, slot));
}

export type SlotDecision =
  { ok: true; slot: HeldSlot } | { ok: false; reason: "ip-rate"; retryAfterSeconds: number };

/**
 * One reservation's claim on its network's allowance, across the rounds of its retry loop.
 * It knows which slots of the window it has seen taken, so it never tries one twice.
 */
export class NetworkClaim {
  private window = -1;
  private readonly taken = new Set<number>();
  /** The slot, once its `create()` landed and the rest of the commit did not. */
  held: HeldSlot | null = null;

  constructor(
    private readonly db: Firestore,
    private readonly scope: NetworkScope,
    readonly network: string,
    private readonly perWindow: number,
    private readonly claim: string,
    private readonly random: () => number = Math.random,
  ) {}

  /** The slot to try now, or the refusal when the window's allowance is used up. */
  pick(nowMs: number): SlotDecision {
    this.forgetOtherWindows(nowMs);
    const decided = pickNetworkSlot(this.taken, this.perWindow, nowMs, this.random);
    if (!decided.ok) {
      return { ok: false, reason: "ip-rate", retryAfterSeconds: decided.retryAfterSeconds };
    }
    return { ok: true, slot: { ...decided.next, scope: this.scope, network: this.network } };
  }

  /** Adds the slot's `create()` to a commit; put it first, so a taken slot stops the commit. */
  writeInto(batch: WriteBatch, slot: HeldSlot): DocumentReference {
    const ref = slotRef(this.db, slot);
    batch.create(ref, {
      network: slot.network,
      k: slot.k,
      windowStartMs: slot.windowStartMs,
      claim: this.claim,
      deleteAt: Timestamp.fromMillis(slot.windowStartMs + NETWORK_WINDOW_MS + DAY_MS),
    });
    return ref;
  }

  /**
   * After a commit that tried `slot` failed on a `create()`, with `snap` the slot's document
   * as it is now:
   * - another claim's: the slot was taken, and is remembered with what else is taken
   *   (`collided`); try another;
   * - this claim's: the slot landed and the rest did not (a commit that is not atomic, as the
   *   stand-in's): held from now on (`held`);
   * - absent: the commit failed as a whole on another guard, as Firestore's atomic commits
   *   do, so the slot is still free (`free`). Counting it as taken would refuse a network
   *   near its allowance for a collision that was never the network's.
   */
  async settle(
    slot: HeldSlot,
    snap: DocumentSnapshot | undefined,
    deadline: Deadline,
  ): Promise<"collided" | "held" | "free"> {
    if (!snap?.exists) return "free";
    if (snap.get("claim") === this.claim) {
      this.held = slot;
      return "held";
    }
    await this.collided(slot, deadline);
    return "collided";
  }

  /** The slot was taken by another caller: remember it, and learn what else is taken. */
  async collided(slot: HeldSlot, deadline: Deadline): Promise<void> {
    this.forgetOtherWindows(slot.windowStartMs);
    this.taken.add(slot.k);
    const snap = await deadline.run(
      slotRef(this.db, slot).parent.where("network", "==", this.network).get(),
    );
    for (const doc of snap.docs) {
      const k: unknown = doc.get("k");
      if (typeof k === "number" && Number.isSafeInteger(k)) this.taken.add(k);
    }
  }

  /** Hands back a slot held without the rest of its reservation (the caller was refused). */
  async release(deadline: Deadline): Promise<void> {
    if (this.held === null) return;
    const held = this.held;
    this.held = null;
    await deadline.run(slotRef(this.db, held).delete());
  }

  private forgetOtherWindows(ms: number): void {
    const window = Math.floor(ms / NETWORK_WINDOW_MS);
    if (window === this.window) return;
    this.window = window;
    this.taken.clear();
  }
}
