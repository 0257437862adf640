/**
 * Reads what the operator's usage totals (usage.ts) from Firestore: the call and mint records
 * reserved in a range of days, the refusal counters of those days, and the kept rollups of
 * days that can no longer change.
 *
 * How it scales: a day that is over (by an hour) and holds no open call never changes again,
 * so the first read that sums it keeps its rollup (`voiceUsageDays/{day}`, one small document)
 * and later reads take that instead of the day's records. A month's report then reads 30
 * rollups and today's records. Records are read per user: the users whose document changed
 * since the range began (each reservation stamps `updatedAt` on its user's document, so every
 * user with a record in the range is among them), then each one's records by `createdAt`,
 * `concurrency` queries at a time. Every query is a range on one field, indexed by default: no
 * composite index. (A collection-group query would save the per-user queries, but needs a
 * collection-group index, and the offline Firestore stand-in answers such queries with nothing.)
 */
import { type Firestore, type Query, Timestamp } from "firebase-admin/firestore";
import { Deadline } from "./firestoreOps";
import { VOICE_USERS } from "./minuteStore";
import { REFUSALS } from "./refusalCount";
import { USERS } from "./store";
import { DAY_MS, utcDay } from "./calendar";
import {
  type DayRange,
  type DayRollup,
  daysOf,
  isFinal,
  rangeMs,
  readRollup,
  rollUpDays,
  readRefusalTally,
  readUsageCall,
  readUsageMint,
  type RefusalTally,
  type UsageCall,
  type UsageMint,
} from "./usage";

/** What a range's usage is totalled from. */
export interface UsageRecords {
  /** The records of the days without a kept rollup. */
  calls: UsageCall[];
  mints: UsageMint[];
  refusals: RefusalTally[];
  /** The kept rollups of the range's days (usage.ts `isFinal`). */
  rollups: DayRollup[];
}

/** Kept rollups: `voiceUsageDays/{YYYY-MM-DD}`, the day's {@link DayRollup} as JSON. */
export const USAGE_DAYS = "voiceUsageDays";

/** How long a kept rollup stays (the records it sums are gone after AUDIT_RETENTION_DAYS). */
const ROLLUP_RETENTION_DAYS = 400;

/** Options of {@link readUsage}. */
export interface UsageReadOptions {
  /** Deadline of each query (FIRESTORE_TIMEOUT_MS in the functions). */
  timeoutMs?: number;
  /** Queries in flight at once. */
  concurrency?: number;
  /** When the read happens: which days are over. */
  nowMs?: number;
  /** Keep the rollups of days that can no longer change, and use kept ones (default true). */
  rollups?: boolean;
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

/**
 * What the report of `range` needs: the kept rollups of its days, the records of the other
 * days, and its refusal counters. Days that can no longer change get their rollup kept for the
 * next read (best effort: a write that fails is tried again by the next read).
 */
export async function readUsage(
  db: Firestore,
  range: DayRange,
  options: UsageReadOptions = {},
): Promise<UsageRecords & { kept: string[] }> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const nowMs = options.nowMs ?? Date.now();
  const useRollups = options.rollups ?? true;
  const get = (query: Query, what: string) => new Deadline(timeoutMs, what).run(query.get());

  const [rollups, refusals] = await Promise.all([
    useRollups
      ? get(
          db.collection(USAGE_DAYS).where("day", ">=", range.from).where("day", "<=", range.to),
          "the kept usage rollups",
        ).then((snap) => snap.docs.flatMap((doc) => readRollup(doc.id, doc.get("rollup")) ?? []))
      : Promise.resolve([]),
    get(
      db.collection(REFUSALS).where("day", ">=", range.from).where("day", "<=", range.to),
      "the refusal counts",
    ).then((snap) => snap.docs.flatMap((doc) => readRefusalTally(doc.data()) ?? [])),
  ]);
  const rolled = new Set(rollups.map((rollup) => rollup.day));
  const missing = daysOf(range).filter((day) => !rolled.has(day));
  if (missing.length === 0) return { calls: [], mints: [], refusals, rollups, kept: [] };

  const rest = { from: missing[0] as string, to: missing.at(-1) as string };
  const { calls, mints } = await readRecords(db, rest, { ...options, timeoutMs });
  const inRest = (day: string) => !rolled.has(day);
  const kept: string[] = [];
  if (useRollups) {
    const fresh = [...rollUpDays(rest, calls, mints).values()].filter(
      (rollup) => inRest(rollup.day) && isFinal(rollup, nowMs),
    );
    await Promise.all(
      fresh.map(async (rollup) => {
        const write = db
          .collection(USAGE_DAYS)
          .doc(rollup.day)
          .set({
            day: rollup.day,
            rollup: JSON.stringify(rollup),
            deleteAt: Timestamp.fromMillis(Date.parse(rollup.day) + ROLLUP_RETENTION_DAYS * DAY_MS),
          });
        try {
          await new Deadline(timeoutMs, "a usage rollup").run(write);
          kept.push(rollup.day);
        } catch {
          // The next read sums that day's records again, and tries again.
        }
      }),
    );
  }
  const day = (ms: number) => utcDay(ms);
  return {
    calls: calls.filter((call) => inRest(day(call.reservedAtMs))),
    mints: mints.filter((mint) => inRest(day(mint.createdAtMs))),
    refusals,
    rollups,
    kept: kept.sort(),
  };
}

/** The call and mint records reserved in `range`. */
export async function readRecords(
  db: Firestore,
  range: DayRange,
  options: UsageReadOptions = {},
): Promise<{ calls: UsageCall[]; mints: UsageMint[] }> {
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

  const [calls, mints] = await Promise.all([
    recordsOf(VOICE_USERS, "calls", readUsageCall),
    recordsOf(USERS, "mints", readUsageMint),
  ]);
  return { calls, mints };
}
