/**
 * Reads what the operator's usage totals (usage.ts) from Firestore: the call and mint records
 * reserved in a range of days, and the refusal counters of those days.
 *
 * How it scales: it reads the users whose document changed since the range began (each
 * reservation stamps `updatedAt` on its user's document, so every user with a record in the
 * range is among them), then each of those users' records in the range, a range query on
 * `createdAt`; the refusal counters by `day`. Each is a single-field range on a field Firestore
 * indexes by default, so no composite index is needed. Reads grow with the range's records (one
 * document read each) plus one query per active user; the queries run `concurrency` at a time.
 * (A collection-group query over `calls` would save the user queries, but needs a
 * collection-group index and the offline Firestore stand-in does not run such queries.)
 */
import { type Firestore, type Query, Timestamp } from "firebase-admin/firestore";
import { Deadline } from "./firestoreOps";
import { VOICE_USERS } from "./minuteStore";
import { REFUSALS } from "./refusalCount";
import { USERS } from "./store";
import {
  type DayRange,
  rangeMs,
  readRefusalTally,
  readUsageCall,
  readUsageMint,
  type RefusalTally,
  type UsageCall,
  type UsageMint,
} from "./usage";

/** What a range's usage is totalled from. */
export interface UsageRecords {
  calls: UsageCall[];
  mints: UsageMint[];
  refusals: RefusalTally[];
}

/** Options of {@link readUsageRecords}. */
export interface UsageReadOptions {
  /** Deadline of each query (FIRESTORE_TIMEOUT_MS in the functions). */
  timeoutMs?: number;
  /** Queries in flight at once. */
  concurrency?: number;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>) {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      out[index] = await run(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** The call and mint records reserved in `range`, and its refusal counters. */
export async function readUsageRecords(
  db: Firestore,
  range: DayRange,
  options: UsageReadOptions = {},
): Promise<UsageRecords> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const concurrency = options.concurrency ?? 32;
  const { fromMs, toMs } = rangeMs(range);
  const from = Timestamp.fromMillis(fromMs);
  const to = Timestamp.fromMillis(toMs);
  const get = (query: Query, what: string) => new Deadline(timeoutMs, what).run(query.get());

  async function recordsOf<R>(
    users: string,
    records: string,
    read: (data: Record<string, unknown>) => R | undefined,
  ): Promise<R[]> {
    const active = await get(
      db.collection(users).where("updatedAt", ">=", from).select(),
      `the ${users} active since ${range.from}`,
    );
    const perUser = await mapLimit(active.docs, concurrency, async (user) => {
      const snap = await get(
        user.ref.collection(records).where("createdAt", ">=", from).where("createdAt", "<", to),
        `the ${records} of a user`,
      );
      return snap.docs.flatMap((doc) => read(doc.data()) ?? []);
    });
    return perUser.flat();
  }

  const [calls, mints, refusals] = await Promise.all([
    recordsOf(VOICE_USERS, "calls", readUsageCall),
    recordsOf(USERS, "mints", readUsageMint),
    get(
      db.collection(REFUSALS).where("day", ">=", range.from).where("day", "<=", range.to),
      "the refusal counts",
    ).then((snap) => snap.docs.flatMap((doc) => readRefusalTally(doc.data()) ?? [])),
  ]);
  return { calls, mints, refusals };
}
