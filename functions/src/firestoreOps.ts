/**
 * The Firestore mechanics the reservation engine (reservations.ts) and its stores share:
 * document ids any uid can safely become, deadlines on every operation, and the `create()`
 * guards that keep counts exact without transaction isolation or atomic commits.
 *
 * Only the types of firebase-admin/firestore are imported here; values (FieldValue) are
 * loaded by the store that needs them, so that a cold start pays for Firestore only when used.
 */
import { createHash } from "node:crypto";
import type { CollectionReference, DocumentData } from "firebase-admin/firestore";

/** gRPC status of a failed `create()` precondition. */
const ALREADY_EXISTS = 6;

/** Longest document id Firestore accepts, in UTF-8 bytes. */
const MAX_ID_BYTES = 1500;

/**
 * A document id for an arbitrary string (a uid from a custom token may hold `/`, `.` or
 * anything else). Letters, digits and `-` stay as they are, so ordinary Firebase uids are their
 * own ids; every other character's UTF-8 bytes become `%XX` (a lone surrogate `%u` and its
 * code), and `%` is always escaped, so two strings never share an id and none can name another
 * path. Ids too long for Firestore become
 * a SHA-256 digest (`~` cannot come out of the escaping, so those cannot collide with it).
 */
export function docId(raw: string): string {
  if (raw === "") return "%";
  let id = "";
  for (const char of raw) {
    const unit = char.charCodeAt(0);
    if (/^[A-Za-z0-9-]$/.test(char)) id += char;
    // UTF-8 has no lone surrogate (it would become U+FFFD and collide with it).
    else if (char.length === 1 && unit >= 0xd800 && unit <= 0xdfff) id += `%u${unit.toString(16)}`;
    else {
      for (const byte of Buffer.from(char, "utf8")) {
        id += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
      }
    }
  }
  if (Buffer.byteLength(id, "utf8") <= MAX_ID_BYTES) return id;
  return `~${createHash("sha256").update(raw, "utf8").digest("hex")}`;
}

/** Zero-padded, so that ids sort in sequence order. */
export function seqId(seq: number): string {
  return String(seq).padStart(12, "0");
}

/** Options of the reservation engine and its stores (store.ts, minuteStore.ts). */
export interface StoreOptions {
  now?: () => number;
  /** Spreads concurrent callers over a network's free slots and jitters retries (tests pin it). */
  random?: () => number;
  /**
   * Attempts of a reservation whose sequence document a concurrent one took first. Each round
   * lets at least one contender through, so this bounds the burst one key can absorb at once.
   */
  maxRounds?: number;
  /** Deadline of each store call (FIRESTORE_TIMEOUT_MS). */
  timeoutMs?: number;
}

/** Firestore did not answer in time, or refused: the caller should answer `unavailable`. */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
}

/**
 * One deadline shared by every Firestore operation of one store call. An operation still
 * running when it passes is abandoned (its result, if it ever comes, is ignored), and the call
 * fails with {@link StoreUnavailableError}.
 */
export class Deadline {
  private readonly at: number;
  constructor(
    readonly ms: number,
    private readonly what: string,
  ) {
    this.at = Date.now() + ms;
  }

  /** Time left, in milliseconds (never negative). */
  remaining(): number {
    return Math.max(0, this.at - Date.now());
  }

  /** `operation`, or a {@link StoreUnavailableError} once the deadline passes. */
  async run<T>(operation: Promise<T>): Promise<T> {
    // A late rejection of an abandoned operation must not become an unhandled one.
    operation.catch(() => {});
    const left = this.remaining();
    if (left === 0) throw this.expired();
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        operation,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(this.expired()), left);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private expired(): StoreUnavailableError {
    return new StoreUnavailableError(`Firestore did not answer ${this.what} within ${this.ms} ms`);
  }
}

/** Whether a write failed because a `create()` found its document already there. */
export function isAlreadyExists(error: unknown): boolean {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as { code?: unknown }).code === ALREADY_EXISTS
  );
}

/**
 * The highest sequence number among a collection's guard documents (ids from {@link seqId}):
 * where to continue when a counter document was deleted or edited by hand and its `seq` fell
 * behind its guards. Reads ids only; this runs on that repair path alone.
 */
export async function highestSeq(
  collection: CollectionReference<DocumentData>,
  deadline: Deadline,
): Promise<number> {
  const snap = await deadline.run(collection.select().get());
  return Math.max(0, ...snap.docs.map((doc) => Number(doc.id)).filter(Number.isSafeInteger));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
