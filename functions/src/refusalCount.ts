/**
 * Counts refusals by reason for the operator's usage (usage.ts): one increment of a sharded
 * per-day counter document, `voiceRefusals/{day}_{reason}_{shard}`, written on the refusal
 * path only (pipeline.ts), never on a call or mint that succeeds.
 *
 * Refusals were only logged before; a counter is one write per refusal, and reading a month of
 * them is at most days × reasons × shards small documents, however many refusals there were.
 *
 * Like the stores, it loads Firestore's client on first use, never at import.
 */
import type { Firestore } from "firebase-admin/firestore";
import type * as FirestoreModule from "firebase-admin/firestore";
import { readRawSettings } from "./config";
import { Deadline } from "./firestoreOps";
import { DAY_MS, utcDay } from "./calendar";
import { resolveSettings } from "./settings";

/** Counters of refusals: `voiceRefusals/{day}_{reason}_{shard}` (see {@link refusalCounterDoc}). */
export const REFUSALS = "voiceRefusals";

/**
 * Documents per reason per day. One document takes about one sustained write a second; a
 * burst of one reason (a network hammering past its limit) spreads over this many.
 */
export const REFUSAL_SHARDS = 8;

/** How long refusal counters are kept: small (at most reasons × shards a day), so a year and more. */
export const REFUSAL_RETENTION_DAYS = 400;

/** The counter document one refusal increments, and what it holds besides `count`. */
export function refusalCounterDoc(
  reason: string,
  nowMs: number,
  random: () => number,
): { id: string; day: string; reason: string; deleteAtMs: number } {
  const day = utcDay(nowMs);
  const shard = Math.min(REFUSAL_SHARDS - 1, Math.floor(random() * REFUSAL_SHARDS));
  // Reasons come from this code (refusalKind), never from a caller: safe in an id.
  return {
    id: `${day}_${reason}_${shard}`,
    day,
    reason,
    deleteAtMs: Date.parse(day) + REFUSAL_RETENTION_DAYS * DAY_MS,
  };
}

/** Counts one refusal of `reason`; rejects when the write fails or misses its deadline. */
export type RefusalCounter = (reason: string) => Promise<void>;

/** A {@link RefusalCounter} on Firestore (or its emulator, or the stand-in). */
export function createRefusalCounter(
  db: Firestore,
  options: { timeoutMs?: number; now?: () => number; random?: () => number } = {},
): RefusalCounter {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const { FieldValue, Timestamp } = firestoreModule();
  return async (reason) => {
    const doc = refusalCounterDoc(reason, now(), random);
    const write = db
      .collection(REFUSALS)
      .doc(doc.id)
      .set(
        {
          day: doc.day,
          reason: doc.reason,
          count: FieldValue.increment(1),
          deleteAt: Timestamp.fromMillis(doc.deleteAtMs),
        },
        { merge: true },
      );
    await new Deadline(timeoutMs, "the refusal count").run(write);
  };
}

function firestoreModule(): typeof FirestoreModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("firebase-admin/firestore") as typeof FirestoreModule;
}

let counter: RefusalCounter | undefined;

/** Counts a refusal in the default Firestore database (the callables' {@link RefusalCounter}). */
export function countRefusal(reason: string): Promise<void> {
  counter ??= createRefusalCounter(firestoreModule().getFirestore(), {
    timeoutMs: resolveSettings(readRawSettings()).firestoreTimeoutMs,
  });
  return counter(reason);
}
