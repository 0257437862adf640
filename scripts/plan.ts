/**
 * Sets and shows a user's plan (the `voicePlan` custom claim, see functions/src/plans.ts):
 *
 *   npm run plan -- set <uid|email> <plan> [--project <id>]
 *   npm run plan -- show <uid|email> [--project <id>]
 *   npm run plan -- admin <uid|email> [on|off] [--project <id>]
 *
 * `admin` sets (on), clears (off) or shows the operator claim (`voiceAdmin`, contract/src/usage.ts)
 * that the `operatorUsage` callable and the operator page require.
 *
 * Against the Auth emulator when FIREBASE_AUTH_EMULATOR_HOST is set (or with `--emulator`,
 * which uses firebase.json's port), else against the real project with application default
 * credentials (`gcloud auth application-default login`). The plans it accepts are those that
 * functions/.env and functions/.env.<project> declare in VOICE_PLANS, as a deploy reads them.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type App, deleteApp, initializeApp } from "firebase-admin/app";
import { getAuth, type UserRecord } from "firebase-admin/auth";
import { ADMIN_CLAIM } from "voice-contract";
import { DEFAULT_PLAN, parsePlans, PLAN_CLAIM, type PlanBook } from "../functions/src/plans.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** What the command line asks for. */
export type PlanCommand =
  | { kind: "set"; user: string; plan: string; project?: string; emulator: boolean }
  | { kind: "show"; user: string; project?: string; emulator: boolean }
  | { kind: "admin"; user: string; set?: boolean; project?: string; emulator: boolean };

const USAGE =
  "Usage: npm run plan -- set <uid|email> <plan> [--project <id>] [--emulator]\n" +
  "       npm run plan -- show <uid|email> [--project <id>] [--emulator]\n" +
  "       npm run plan -- admin <uid|email> [on|off] [--project <id>] [--emulator]";

/** Parses the arguments after `npm run plan --`; throws an Error whose message says what to fix. */
export function parsePlanArgs(argv: readonly string[]): PlanCommand {
  const positional: string[] = [];
  let project: string | undefined;
  let emulator = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--project") {
      project = argv[++i];
      if (project === undefined || project === "")
        throw new Error(`--project needs an id\n${USAGE}`);
    } else if (arg === "--emulator") emulator = true;
    else if (arg.startsWith("--")) throw new Error(`Unknown option ${arg}\n${USAGE}`);
    else positional.push(arg);
  }
  const [kind, user, plan, ...extra] = positional;
  if (extra.length > 0) throw new Error(`Too many arguments: ${extra.join(" ")}\n${USAGE}`);
  const base = { ...(project !== undefined ? { project } : {}), emulator };
  if (kind === "set" && user && plan) return { kind, user, plan, ...base };
  if (kind === "show" && user && plan === undefined) return { kind, user, ...base };
  if (kind === "admin" && user && plan === undefined) return { kind, user, ...base };
  if (kind === "admin" && user && (plan === "on" || plan === "off"))
    return { kind, user, set: plan === "on", ...base };
  throw new Error(USAGE);
}

/** KEY=VALUE lines of a dotenv file (quotes stripped), as the Functions runtime reads them. */
export function readDotenv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match === null) continue;
    const [, key = "", raw = ""] = match;
    values[key] = /^(["']).*\1$/.test(raw) ? raw.slice(1, -1) : raw;
  }
  return values;
}

/** The project `command` names, else the environment's, else .firebaserc's default. */
export function projectId(command: { project?: string }): string {
  if (command.project !== undefined) return command.project;
  const fromEnv = process.env.GCLOUD_PROJECT ?? process.env.GOOGLE_CLOUD_PROJECT;
  if (fromEnv) return fromEnv;
  const rc = JSON.parse(readFileSync(join(ROOT, ".firebaserc"), "utf8")) as {
    projects?: { default?: string };
  };
  const id = rc.projects?.default;
  if (!id) throw new Error("No project: pass --project <id> or set a default in .firebaserc");
  return id;
}

/** The plans VOICE_PLANS declares for `project`, as a deploy of functions/ would read them. */
function declaredPlans(project: string): PlanBook {
  let json = "{}";
  for (const file of [".env", `.env.${project}`]) {
    const path = join(ROOT, "functions", file);
    if (!existsSync(path)) continue;
    json = readDotenv(readFileSync(path, "utf8")).VOICE_PLANS ?? json;
  }
  return parsePlans(json);
}

async function findUser(app: App, user: string): Promise<UserRecord> {
  const auth = getAuth(app);
  try {
    return user.includes("@") ? await auth.getUserByEmail(user) : await auth.getUser(user);
  } catch (error) {
    if ((error as { code?: string }).code === "auth/user-not-found")
      throw new Error(`No user ${user} in this project (give a uid or an email address).`);
    throw error;
  }
}

function describePlan(book: PlanBook, name: string): string {
  const plan = book[name];
  const overrides = plan === undefined ? "" : JSON.stringify(plan);
  return overrides === "{}" ? "the params' limits" : `overrides ${overrides}`;
}

/** Runs `command` against the project's Auth and returns what to print. */
export async function runPlan(command: PlanCommand): Promise<string> {
  const project = projectId(command);
  if (command.emulator && !process.env.FIREBASE_AUTH_EMULATOR_HOST) {
    const firebase = JSON.parse(readFileSync(join(ROOT, "firebase.json"), "utf8")) as {
      emulators?: { auth?: { port?: number } };
    };
    process.env.FIREBASE_AUTH_EMULATOR_HOST = `127.0.0.1:${firebase.emulators?.auth?.port ?? 9099}`;
  }
  const book = declaredPlans(project);
  const app = initializeApp({ projectId: project }, `plan-${Date.now()}`);
  try {
    const where = process.env.FIREBASE_AUTH_EMULATOR_HOST
      ? `the Auth emulator (${process.env.FIREBASE_AUTH_EMULATOR_HOST})`
      : `project ${project}`;
    if (command.kind === "set" && !Object.hasOwn(book, command.plan))
      throw new Error(
        `No plan "${command.plan}" in VOICE_PLANS of ${project} (functions/.env, ` +
          `functions/.env.${project}); declared: ${Object.keys(book).join(", ")}.`,
      );
    const user = await findUser(app, command.user);
    const claims = { ...(user.customClaims ?? {}) };
    if (command.kind === "admin") return await admin(app, user, claims, command.set, where);
    const current = typeof claims[PLAN_CLAIM] === "string" ? String(claims[PLAN_CLAIM]) : undefined;
    if (command.kind === "show") {
      const name = current !== undefined && Object.hasOwn(book, current) ? current : DEFAULT_PLAN;
      const note =
        current === undefined
          ? " (no claim)"
          : name === current
            ? ""
            : ` (the claim names "${current}", which is not declared)`;
      return `${user.uid} ${user.email ?? ""} in ${where}: plan ${name}${note}: ${describePlan(book, name)}`;
    }
    // The default plan is the absence of a claim: clearing it keeps the token small.
    if (command.plan === DEFAULT_PLAN) delete claims[PLAN_CLAIM];
    else claims[PLAN_CLAIM] = command.plan;
    await getAuth(app).setCustomUserClaims(user.uid, claims);
    return (
      `${user.uid} ${user.email ?? ""} in ${where}: plan ${current ?? DEFAULT_PLAN} -> ${command.plan}.\n` +
      "It applies from the user's next ID token: the page's token refreshes within an hour, " +
      "or at once when the user signs in again (or the app calls getIdToken(true))."
    );
  } finally {
    await deleteApp(app);
  }
}

/** Shows, sets or clears the operator claim, keeping the user's other claims. */
async function admin(
  app: App,
  user: UserRecord,
  claims: Record<string, unknown>,
  set: boolean | undefined,
  where: string,
): Promise<string> {
  const who = `${user.uid} ${user.email ?? ""} in ${where}`;
  const was = claims[ADMIN_CLAIM] === true;
  if (set === undefined)
    return `${who}: ${was ? "an operator" : "not an operator"} (${ADMIN_CLAIM}).`;
  if (set) claims[ADMIN_CLAIM] = true;
  else delete claims[ADMIN_CLAIM];
  await getAuth(app).setCustomUserClaims(user.uid, claims);
  return (
    `${who}: operator ${was ? "on" : "off"} -> ${set ? "on" : "off"} (${ADMIN_CLAIM}).\n` +
    "It applies from the user's next ID token: sign in again, or wait for the page's token " +
    "to refresh (within an hour)."
  );
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    console.log(await runPlan(parsePlanArgs(process.argv.slice(2))));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
