/**
 * Prints what voice calls used, refunded and are estimated to cost, per day and plan, with
 * refusals by reason and the top users by minutes (functions/src/usage.ts totals the records
 * that functions/src/usageStore.ts reads; the operator page's `operatorUsage` does the same):
 *
 *   npm run usage -- [--day YYYY-MM-DD | --from YYYY-MM-DD --to YYYY-MM-DD] [--top N] [--json]
 *                    [--project <id>] [--emulator] [--no-emails] [--no-rollups]
 *
 * Without a day, today (UTC). Against the Firestore emulator when FIRESTORE_EMULATOR_HOST is
 * set (or with `--emulator`, which uses firebase.json's ports), else against the real project
 * with application default credentials (`gcloud auth application-default login`). Top users'
 * email addresses come from Auth (its emulator under `--emulator`); `--no-emails` skips them.
 * A day that can no longer change is summed once and its rollup kept (`voiceUsageDays`, the
 * only thing this writes); `--no-rollups` reads every record and keeps nothing.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { deleteApp, initializeApp } from "firebase-admin/app";
import { getAuth } from "firebase-admin/auth";
import { getFirestore } from "firebase-admin/firestore";
import { PRICES_AS_OF } from "voice-contract";
import {
  aggregateUsage,
  dayRange,
  type DayRange,
  type PlanUsage,
  type UsageReport,
} from "../functions/src/usage.js";
import { readUsage } from "../functions/src/usageStore.js";
import { projectId } from "./plan.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** What the command line asks for. */
export interface UsageCommand {
  range: DayRange;
  top: number;
  json: boolean;
  emails: boolean;
  /** Use and keep rollups of days that can no longer change (`--no-rollups`: records only). */
  rollups: boolean;
  emulator: boolean;
  project?: string;
}

const USAGE =
  "Usage: npm run usage -- [--day YYYY-MM-DD | --from YYYY-MM-DD --to YYYY-MM-DD] [--top N]\n" +
  "                        [--json] [--project <id>] [--emulator] [--no-emails] [--no-rollups]";

/** Parses the arguments after `npm run usage --`; throws an Error whose message says what to fix. */
export function parseUsageArgs(argv: readonly string[], nowMs: number): UsageCommand {
  const values: Record<string, string> = {};
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (["--day", "--from", "--to", "--top", "--project"].includes(arg)) {
      const value = argv[++i];
      if (value === undefined || value.startsWith("--"))
        throw new Error(`${arg} needs a value\n${USAGE}`);
      values[arg.slice(2)] = value;
    } else if (["--json", "--emulator", "--no-emails", "--no-rollups"].includes(arg))
      flags.add(arg.slice(2));
    else throw new Error(`Unknown argument ${arg}\n${USAGE}`);
  }
  const { day, from, to, top, project } = values;
  if (day !== undefined && (from !== undefined || to !== undefined))
    throw new Error(`Give --day or --from/--to, not both\n${USAGE}`);
  if ((from === undefined) !== (to === undefined))
    throw new Error(`--from and --to go together\n${USAGE}`);
  const today = new Date(nowMs).toISOString().slice(0, 10);
  let range: DayRange;
  try {
    range = dayRange(from ?? day ?? today, to ?? day ?? today);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
  const topUsers = top === undefined ? 10 : Number(top);
  if (!Number.isInteger(topUsers) || topUsers < 0 || topUsers > 1000)
    throw new Error(`--top must be a whole number from 0 to 1000, got ${top}\n${USAGE}`);
  return {
    range,
    top: topUsers,
    json: flags.has("json"),
    emails: !flags.has("no-emails"),
    rollups: !flags.has("no-rollups"),
    emulator: flags.has("emulator"),
    ...(project !== undefined ? { project } : {}),
  };
}

/** `npm run usage --json`'s output: the report, whose prices, and how long the read took. */
export interface UsageOutput extends Omit<UsageReport, "topUsers"> {
  source: string;
  pricesAsOf: string;
  /** Days taken from kept rollups, and days whose rollup this read kept. */
  rollups: { used: string[]; kept: string[] };
  readMs: number;
  topUsers: (UsageReport["topUsers"][number] & { email: string | null })[];
}

const minutes = (seconds: number) => (seconds / 60).toFixed(1);
const usd = (amount: number) => `$${amount.toFixed(amount !== 0 && amount < 1 ? 4 : 2)}`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i < 2 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

function usageCells(usage: PlanUsage): string[] {
  return [
    String(usage.calls),
    minutes(usage.usedSeconds),
    minutes(usage.refundedSeconds),
    String(usage.mints),
    usd(usage.estimatedCostUsd),
  ];
}

/** The readable report. */
export function formatUsage(output: UsageOutput): string {
  const { range } = output;
  const span = range.from === range.to ? range.from : `${range.from} to ${range.to}`;
  const head = ["", "Plan", "Calls", "Used min", "Refunded min", "Mints", "Est. cost"];
  const dayRows = output.days.flatMap(({ day, byPlan }) => {
    const plans = Object.entries(byPlan);
    return plans.length === 0
      ? [[day, "-", "0", "0.0", "0.0", "0", "$0.00"]]
      : plans.map(([plan, usage]) => [day, plan, ...usageCells(usage)]);
  });
  const planRows = [
    ...Object.entries(output.byPlan).map(([plan, usage]) => ["total", plan, ...usageCells(usage)]),
    ["total", "all plans", ...usageCells(output.total)],
  ];
  const refusals = Object.entries(output.refusals);
  const lines = [
    `Voice usage, ${span} (UTC), ${output.source}; read in ${(output.readMs / 1000).toFixed(2)} s` +
      ` (${output.rollups.used.length} days from kept rollups)`,
    "",
    table(["Day", ...head.slice(1)], [...dayRows, ...planRows]),
    "",
    `Estimated cost: prices as of ${output.pricesAsOf} (contract/src/prices.ts); a Realtime ` +
      "minute is priced as half user audio, half assistant audio, so long conversations cost more.",
  ];
  if (output.total.unpricedSeconds > 0)
    lines.push(
      `${minutes(output.total.unpricedSeconds)} min of models without a price are not in it.`,
    );
  if (output.openCalls > 0)
    lines.push(
      `${output.openCalls} calls are still open (or stranded): counted with their whole slice.`,
    );
  lines.push("", "Refusals by reason");
  lines.push(
    refusals.length === 0
      ? "  none"
      : table(
          ["  Reason", "", "Count"],
          refusals.map(([reason, count]) => [`  ${reason}`, "", String(count)]),
        ),
  );
  lines.push("", "Top users by minutes used");
  lines.push(
    output.topUsers.length === 0
      ? "  none"
      : table(
          ["  User", "Email", "Plan", "Calls", "Used min"],
          output.topUsers.map((u) => [
            `  ${u.uid}`,
            u.email ?? "",
            u.plan,
            String(u.calls),
            minutes(u.usedSeconds),
          ]),
        ),
  );
  return lines.join("\n");
}

function emulatorPorts(): { firestore: number; auth: number } {
  const firebase = JSON.parse(readFileSync(join(ROOT, "firebase.json"), "utf8")) as {
    emulators?: { firestore?: { port?: number }; auth?: { port?: number } };
  };
  return {
    firestore: firebase.emulators?.firestore?.port ?? 8080,
    auth: firebase.emulators?.auth?.port ?? 9099,
  };
}

/** Reads the range's records from the project's Firestore and totals them. */
export async function runUsage(command: UsageCommand): Promise<UsageOutput> {
  const project = projectId(command);
  if (command.emulator) {
    const ports = emulatorPorts();
    process.env.FIRESTORE_EMULATOR_HOST ??= `127.0.0.1:${ports.firestore}`;
    process.env.FIREBASE_AUTH_EMULATOR_HOST ??= `127.0.0.1:${ports.auth}`;
  }
  const emulated = process.env.FIRESTORE_EMULATOR_HOST;
  const app = initializeApp({ projectId: project }, `usage-${Date.now()}`);
  try {
    const started = Date.now();
    const { kept, ...records } = await readUsage(getFirestore(app), command.range, {
      timeoutMs: 60_000,
      nowMs: started,
      rollups: command.rollups,
    });
    const nowMs = Date.now();
    const report = aggregateUsage({
      ...records,
      range: command.range,
      nowMs,
      topUsers: command.top,
    });
    // An emulated Firestore without the Auth emulator has no accounts to name.
    const lookUp =
      command.emails &&
      report.topUsers.length > 0 &&
      (emulated === undefined || process.env.FIREBASE_AUTH_EMULATOR_HOST !== undefined);
    const emails = new Map<string, string>();
    if (lookUp) {
      for (let i = 0; i < report.topUsers.length; i += 100) {
        const batch = report.topUsers.slice(i, i + 100).map(({ uid }) => ({ uid }));
        const { users } = await getAuth(app).getUsers(batch);
        for (const user of users) if (user.email) emails.set(user.uid, user.email);
      }
    }
    return {
      ...report,
      source: emulated ? `Firestore emulator ${emulated}` : `project ${project}`,
      pricesAsOf: PRICES_AS_OF,
      readMs: nowMs - started,
      rollups: { used: records.rollups.map((rollup) => rollup.day).sort(), kept },
      topUsers: report.topUsers.map((user) => ({ ...user, email: emails.get(user.uid) ?? null })),
    };
  } finally {
    await deleteApp(app);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const command = parseUsageArgs(process.argv.slice(2), Date.now());
    const output = await runUsage(command);
    console.log(command.json ? JSON.stringify(output, null, 2) : formatUsage(output));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
