/**
 * `npm run bench:usage`: seeds 30 days of call and mint records (over 10,000 calls, 200 users,
 * three plans, Realtime and Live models, ended, failed and open calls) and refusal counters
 * into a Firestore emulator, runs `npm run usage -- --from … --to … --json` against it twice
 * (cold: every record, keeping the rollups of the days that are over; warm: those rollups and
 * today's records), and prints JSON: each run's wall time (goal under 5 s) and whether every
 * printed figure equals the totals computed here from what was seeded.
 *
 * Records are written in the shape the reservation engine writes them (uid, seq, status,
 * reservedAtMs, reservedSeconds, createdAt, the plan, model and API; the phase's fields), in
 * batches: going through the engine for 10,000 calls would measure the seeding, not the read.
 * Uses FIRESTORE_EMULATOR_HOST when set, else starts the Firestore stand-in on a free port
 * (`package.json` runs it in a network namespace of its own).
 */
import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { deleteApp, initializeApp } from "firebase-admin/app";
import { type Firestore, getFirestore, Timestamp } from "firebase-admin/firestore";
import { estimateCallCostUsd, type VoiceApi } from "voice-contract";
import { startFirestoreStandin } from "./firestore-standin.js";
import type { UsageOutput } from "./usage.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const PROJECT = "demo-realtime-bench-usage";
const DAY_MS = 86_400_000;
const DAYS = 30;
const USERS = 200;
const CALLS = 10_500;
const MINTS = 2_000;
const GOAL_MS = 5_000;
const PLANS = ["default", "pro", "staff"] as const;
const MODELS: readonly { api: VoiceApi; model: string }[] = [
  { api: "realtime", model: "gpt-realtime-2" },
  { api: "realtime", model: "gpt-realtime-mini" },
  { api: "live", model: "gpt-live-1" },
];

/** A small deterministic generator, so every run seeds the same records. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === "object" && address ? address.port : 0;
}

interface Expected {
  /** `${day}|${plan}` → figures. */
  cells: Map<
    string,
    { calls: number; used: number; refunded: number; mints: number; seconds: Map<string, number> }
  >;
  refusals: Map<string, number>;
  users: Map<string, { calls: number; used: number }>;
}

function cell(expected: Expected, day: string, plan: string) {
  const key = `${day}|${plan}`;
  let entry = expected.cells.get(key);
  if (entry === undefined)
    expected.cells.set(
      key,
      (entry = { calls: 0, used: 0, refunded: 0, mints: 0, seconds: new Map() }),
    );
  return entry;
}

async function seed(db: Firestore, fromMs: number): Promise<Expected> {
  const random = prng(20261207);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const expected: Expected = { cells: new Map(), refusals: new Map(), users: new Map() };
  const seqs = new Map<string, number>();
  const latest = new Map<string, number>();
  const writes: [string, Record<string, unknown>][] = [];
  const userPlan = (uid: string) => PLANS[Number(uid.slice(5)) % PLANS.length] as string;

  // One call a day before the range, which must not count.
  for (let i = 0; i < CALLS + 1; i++) {
    const uid = `user-${Math.floor(random() * USERS)}`;
    const outside = i === CALLS;
    const atMs = outside ? fromMs - 1000 : fromMs + Math.floor(random() * DAYS * DAY_MS);
    const seq = (seqs.get(uid) ?? 0) + 1;
    seqs.set(uid, seq);
    latest.set(`voiceUsers/${uid}`, Math.max(latest.get(`voiceUsers/${uid}`) ?? 0, atMs));
    const { api, model } = pick(MODELS);
    const plan = userPlan(uid);
    const reservedSeconds = 60 + Math.floor(random() * 540);
    const roll = random();
    const base = {
      uid,
      seq,
      reservedAtMs: atMs,
      reservedSeconds,
      plan,
      model,
      api,
      claim: "bench",
      network: null,
      networkSlot: null,
      createdAt: Timestamp.fromMillis(atMs),
      deleteAt: Timestamp.fromMillis(atMs + 31 * DAY_MS),
    };
    let record: Record<string, unknown>;
    let used: number;
    let refunded: number;
    if (roll < 0.1) {
      record = { ...base, status: "failed", failure: "unavailable" };
      [used, refunded] = [0, reservedSeconds];
    } else if (roll < 0.3 && atMs >= fromMs + (DAYS - 1) * DAY_MS) {
      // Open calls only today: on a past day a live record has long been ended by its task.
      record = {
        ...base,
        status: "live",
        callId: `rtc_${uid}_${seq}`,
        startedAtMs: atMs,
        deadlineMs: atMs + reservedSeconds * 1000,
      };
      [used, refunded] = [reservedSeconds, 0];
    } else {
      used = 1 + Math.floor(random() * reservedSeconds);
      refunded = reservedSeconds - used;
      record = {
        ...base,
        status: "ended",
        callId: `rtc_${uid}_${seq}`,
        startedAtMs: atMs,
        deadlineMs: atMs + reservedSeconds * 1000,
        endedAtMs: atMs + used * 1000,
        endedBy: "user",
        usedSeconds: used,
        unusedSeconds: refunded,
      };
    }
    writes.push([`voiceUsers/${uid}/calls/${String(seq).padStart(12, "0")}`, record]);
    if (outside) continue;
    const day = new Date(atMs).toISOString().slice(0, 10);
    const figures = cell(expected, day, plan);
    if (record.status !== "failed") {
      figures.calls += 1;
      const user = expected.users.get(uid) ?? { calls: 0, used: 0 };
      expected.users.set(uid, { calls: user.calls + 1, used: user.used + used });
    }
    figures.used += used;
    figures.refunded += refunded;
    const key = `${api}|${model}`;
    figures.seconds.set(key, (figures.seconds.get(key) ?? 0) + used);
  }

  const mintSeqs = new Map<string, number>();
  for (let i = 0; i < MINTS; i++) {
    const uid = `user-${Math.floor(random() * USERS)}`;
    const atMs = fromMs + Math.floor(random() * DAYS * DAY_MS);
    const seq = (mintSeqs.get(uid) ?? 0) + 1;
    mintSeqs.set(uid, seq);
    const path = `realtimeTokenUsers/${uid}`;
    latest.set(path, Math.max(latest.get(path) ?? 0, atMs));
    const refunded = random() < 0.05;
    writes.push([
      `${path}/mints/${String(seq).padStart(12, "0")}`,
      {
        uid,
        seq,
        status: refunded ? "failed" : "reserved",
        model: "gpt-realtime-2",
        ttlSeconds: 120,
        plan: userPlan(uid),
        createdAt: Timestamp.fromMillis(atMs),
      },
    ]);
    if (!refunded) cell(expected, new Date(atMs).toISOString().slice(0, 10), userPlan(uid)).mints++;
  }

  for (let d = 0; d < DAYS; d++) {
    const day = new Date(fromMs + d * DAY_MS).toISOString().slice(0, 10);
    for (const reason of ["daily-minutes", "ip-rate", "plan-mode"]) {
      for (let shard = 0; shard < 3; shard++) {
        const count = Math.floor(random() * 20);
        writes.push([`voiceRefusals/${day}_${reason}_${shard}`, { day, reason, count }]);
        expected.refusals.set(reason, (expected.refusals.get(reason) ?? 0) + count);
      }
    }
  }
  for (const [path, atMs] of latest)
    writes.push([path, { seq: 0, updatedAt: Timestamp.fromMillis(atMs) }]);

  for (let i = 0; i < writes.length; i += 500) {
    const batch = db.batch();
    for (const [path, data] of writes.slice(i, i + 500)) batch.set(db.doc(path), data);
    await batch.commit();
  }
  return expected;
}

/** Where the printed figures differ from the seeded ones (empty: they match exactly). */
function compare(output: UsageOutput, expected: Expected): string[] {
  const wrong: string[] = [];
  const seen = new Set<string>();
  for (const { day, byPlan } of output.days) {
    for (const [plan, usage] of Object.entries(byPlan)) {
      const key = `${day}|${plan}`;
      seen.add(key);
      const want = expected.cells.get(key);
      let cost = 0;
      for (const [priced, seconds] of want?.seconds ?? []) {
        const [api, model] = priced.split("|") as [VoiceApi, string];
        cost += Math.round((estimateCallCostUsd(api, model, seconds) ?? 0) * 1e6);
      }
      const got = [usage.calls, usage.usedSeconds, usage.refundedSeconds, usage.mints];
      const exp = [want?.calls, want?.used, want?.refunded, want?.mints];
      if (JSON.stringify(got) !== JSON.stringify(exp) || usage.estimatedCostUsd !== cost / 1e6)
        wrong.push(`${key}: printed ${JSON.stringify(usage)}, seeded ${JSON.stringify(exp)}`);
    }
  }
  for (const key of expected.cells.keys()) if (!seen.has(key)) wrong.push(`${key}: not printed`);
  const refusals = Object.fromEntries([...expected.refusals].sort());
  const printed = Object.fromEntries(Object.entries(output.refusals).sort());
  if (JSON.stringify(printed) !== JSON.stringify(refusals))
    wrong.push(`refusals: printed ${JSON.stringify(printed)}, seeded ${JSON.stringify(refusals)}`);
  const top = [...expected.users]
    .sort(([a, x], [b, y]) => y.used - x.used || y.calls - x.calls || (a < b ? -1 : 1))
    .slice(0, 10)
    .map(([uid, u]) => `${uid}:${u.calls}:${u.used}`);
  const topPrinted = output.topUsers.map((u) => `${u.uid}:${u.calls}:${u.usedSeconds}`);
  if (JSON.stringify(top) !== JSON.stringify(topPrinted))
    wrong.push(`top users: printed ${topPrinted.join(",")}, seeded ${top.join(",")}`);
  return wrong;
}

async function main(): Promise<void> {
  let standin: { stop(): void } | undefined;
  if (!process.env.FIRESTORE_EMULATOR_HOST) {
    const port = await freePort();
    standin = await startFirestoreStandin(port);
    process.env.FIRESTORE_EMULATOR_HOST = `127.0.0.1:${port}`;
  }
  const app = initializeApp({ projectId: PROJECT }, "bench-usage");
  try {
    const todayMs = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const fromMs = todayMs - (DAYS - 1) * DAY_MS;
    const seedStarted = Date.now();
    const expected = await seed(getFirestore(app), fromMs);
    const seedMs = Date.now() - seedStarted;
    const from = new Date(fromMs).toISOString().slice(0, 10);
    const to = new Date(todayMs).toISOString().slice(0, 10);

    const usage = async () => {
      const started = Date.now();
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          "--import",
          "tsx",
          join(ROOT, "scripts", "usage.ts"),
          ...["--from", from, "--to", to, "--json", "--no-emails"],
        ],
        {
          cwd: ROOT,
          env: { ...process.env, GCLOUD_PROJECT: PROJECT },
          maxBuffer: 64 * 1024 * 1024,
          timeout: 120_000,
        },
      );
      const wallMs = Date.now() - started;
      const output = JSON.parse(stdout) as UsageOutput;
      const mismatches = compare(output, expected);
      return {
        wallMs,
        readMs: output.readMs,
        underGoal: wallMs < GOAL_MS,
        daysFromRollups: output.rollups.used.length,
        rollupsKept: output.rollups.kept.length,
        printedCalls: output.total.calls,
        printedUsedSeconds: output.total.usedSeconds,
        totalsMatch: mismatches.length === 0,
        mismatches: mismatches.slice(0, 5),
      };
    };
    // The first read sums every record and keeps the rollups of the 29 days that are over;
    // the next reads take those and sum today's records only.
    const cold = await usage();
    const warm = await usage();
    console.log(
      JSON.stringify(
        {
          seeded: { days: DAYS, users: USERS, calls: CALLS, mints: MINTS, outsideRange: 1 },
          seedMs,
          goalMs: GOAL_MS,
          cold,
          warm,
          totalsMatch: cold.totalsMatch && warm.totalsMatch,
        },
        null,
        2,
      ),
    );
    if (!cold.totalsMatch || !warm.totalsMatch || !warm.underGoal) process.exitCode = 1;
  } finally {
    await deleteApp(app);
    standin?.stop();
  }
}

await main();
