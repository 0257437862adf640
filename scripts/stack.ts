/**
 * The local stack: Firebase emulators, Firestore (emulator or stand-in), the OpenAI stand-in
 * and the web dev server, with no account and no network.
 *
 *   tsx scripts/stack.ts start                       # npm start: run until Ctrl-C
 *   tsx scripts/stack.ts exec [--project ID] [--hosting] -- <command…>
 *                                                    # run a command against the stack, exit with its code
 *
 * Under `exec` the command also gets STANDIN_URL (the OpenAI stand-in) and STACK_LOG_FILE
 * (everything the emulators printed, for tests that check what was logged). With
 * `--firestore-faults` (stand-in only) the functions reach Firestore through
 * scripts/fault-proxy.ts: the command gets FIRESTORE_FAULTS_URL to control it and
 * FIRESTORE_DIRECT_HOST to reach Firestore around it. With `--tasks-faults` the functions
 * enqueue Cloud Tasks through another fault proxy (redirected inside each function worker by
 * scripts/tasks-via-proxy.cjs): the command gets TASKS_FAULTS_URL to control it.
 *
 * OpenAI: if functions/.secret.local holds a real key, `start` talks to OpenAI itself;
 * otherwise (and always under `exec`, so tests never spend money) the local stand-in answers.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { functionsRegion } from "./functions-region.js";
import { describePortHolder } from "./port-holder.js";
import { shellQuote } from "./shell.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const FIREBASE_JSON = JSON.parse(readFileSync(join(ROOT, "firebase.json"), "utf8")) as {
  emulators: Record<string, { host?: string; port?: number }>;
};
const DEFAULT_PROJECT = (
  JSON.parse(readFileSync(join(ROOT, ".firebaserc"), "utf8")) as { projects: { default: string } }
).projects.default;

/** The OpenAI stand-in's fixed port, so the web app's committed config can name it. */
export const STANDIN_PORT = 8790;
const WEB_PORT = 5173;
const SECRET_FILE = join(ROOT, "functions", ".secret.local");
const GUARD = join(ROOT, "scripts", "child-guard.mjs");
const TASKS_PRELOAD = join(ROOT, "scripts", "tasks-via-proxy.cjs");
/** firebase-tools' port of the Cloud Tasks emulator when firebase.json names none. */
const TASKS_DEFAULT_PORT = 9499;
/** Written to functions/.secret.local when there is none: it only opens the local stand-in. */
const STANDIN_KEY = "sk-local-standin-not-a-real-key";

interface Options {
  mode: "start" | "exec";
  project: string;
  hosting: boolean;
  /** Put a controllable fault proxy between the functions and the Firestore stand-in. */
  firestoreFaults: boolean;
  /** Put a controllable fault proxy between the functions and the Cloud Tasks emulator. */
  tasksFaults: boolean;
  command: string[];
}

function parseArgs(argv: string[]): Options {
  const [mode, ...rest] = argv;
  if (mode !== "start" && mode !== "exec") usage(`unknown mode "${mode ?? ""}"`);
  const options: Options = {
    mode,
    project: DEFAULT_PROJECT,
    hosting: false,
    firestoreFaults: false,
    tasksFaults: false,
    command: [],
  };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === "--") {
      options.command = rest.slice(i + 1);
      break;
    } else if (arg === "--project") {
      const value = rest[++i];
      if (value === undefined || !value.startsWith("demo-")) usage("--project needs a demo-… id");
      options.project = value;
    } else if (arg === "--hosting") {
      options.hosting = true;
    } else if (arg === "--firestore-faults") {
      options.firestoreFaults = true;
    } else if (arg === "--tasks-faults") {
      options.tasksFaults = true;
    } else {
      usage(`unknown argument "${arg}"`);
    }
  }
  if (mode === "exec" && options.command.length === 0) usage("exec needs -- <command>");
  return options;
}

function usage(problem: string): never {
  console.error(
    `stack: ${problem}\nusage: stack.ts start | stack.ts exec [--project demo-…] [--hosting] [--firestore-faults] [--tasks-faults] -- <command…>`,
  );
  process.exit(2);
}

function say(line: string): void {
  console.log(`[stack] ${line}`);
}

/** The key in functions/.secret.local, creating the file with the stand-in key if absent. */
function openAiKey(): string {
  if (!existsSync(SECRET_FILE)) {
    writeFileSync(
      SECRET_FILE,
      "# Read by the Functions emulator only; never commit it (it is gitignored).\n" +
        "# This placeholder opens the local OpenAI stand-in. Put your real key here to make\n" +
        "# `npm start` talk to OpenAI: OPENAI_API_KEY=sk-...\n" +
        `OPENAI_API_KEY=${STANDIN_KEY}\n`,
    );
    say("wrote functions/.secret.local with a placeholder key for the local OpenAI stand-in");
  }
  const match = /^\s*OPENAI_API_KEY\s*=\s*"?([^"\s]*)"?\s*$/m.exec(
    readFileSync(SECRET_FILE, "utf8"),
  );
  return match?.[1] ?? "";
}

function javaMajor(): number {
  const result = spawnSync("java", ["-version"], { encoding: "utf8" });
  const match = /version "(\d+)/.exec(`${result.stderr ?? ""}${result.stdout ?? ""}`);
  return match?.[1] === undefined ? 0 : Number(match[1]);
}

async function assertPortFree(port: number, what: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const probe = createServer();
    probe.once("error", () => {
      console.error(`[stack] ${describePortHolder(port, what)}`);
      process.exit(1);
    });
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
  });
}

/**
 * Starts a child through scripts/child-guard.mjs, which ends it (and everything it started)
 * when this process goes away, even by SIGKILL: the guard watches the stdin pipe held here.
 */
function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  logFile?: string,
): ChildProcess {
  const guarded = [GUARD, command, ...args];
  if (logFile === undefined) {
    return spawn(process.execPath, guarded, {
      cwd: ROOT,
      env,
      stdio: ["pipe", "inherit", "inherit"],
    });
  }
  // Tee: the terminal sees everything, and tests can read what the emulators printed.
  const child = spawn(process.execPath, guarded, {
    cwd: ROOT,
    env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const log = createWriteStream(logFile);
  child.stdout?.on("data", (chunk: Buffer) => {
    process.stdout.write(chunk);
    log.write(chunk);
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    process.stderr.write(chunk);
    log.write(chunk);
  });
  child.once("exit", () => log.end());
  return child;
}

/** firebase.json's port for an emulator. */
function port(name: string): number {
  const value = FIREBASE_JSON.emulators[name]?.port;
  if (value === undefined) throw new Error(`firebase.json has no emulators.${name}.port`);
  return value;
}

/** What the services started so far add to the emulators' environment, and how to stop them. */
interface Wiring {
  env: NodeJS.ProcessEnv;
  cleanups: (() => Promise<void> | void)[];
}

/** Firestore: the emulator with Java 21+, else the Node stand-in (STACK_FIRESTORE forces one). */
function firestoreMode(): { mode: "emulator" | "standin"; forced: boolean } {
  const forced = process.env.STACK_FIRESTORE;
  if (forced !== undefined && forced !== "emulator" && forced !== "standin") {
    usage(`STACK_FIRESTORE must be "emulator" or "standin", not "${forced}"`);
  }
  return {
    mode: forced ?? (javaMajor() >= 21 ? "emulator" : "standin"),
    forced: forced !== undefined,
  };
}

async function assertPortsFree(options: Options, useVite: boolean): Promise<void> {
  const ports: [number, string][] = [
    [port("auth"), "Auth emulator"],
    [port("functions"), "Functions emulator"],
    [port("firestore"), "Firestore"],
    [port("hub"), "emulator hub"],
    [port("logging"), "emulator logging"],
    [STANDIN_PORT, "OpenAI stand-in"],
  ];
  if (options.hosting) ports.push([port("hosting"), "Hosting emulator"]);
  if (useVite) ports.push([WEB_PORT, "web dev server"]);
  for (const [p, what] of ports) await assertPortFree(p, what);
}

/**
 * The real API when `start` finds a real key in functions/.secret.local, else the local
 * stand-in. Returns whether it is the real API.
 */
async function wireOpenAi(options: Options, wiring: Wiring): Promise<boolean> {
  const { env } = wiring;
  const key = openAiKey();
  if (options.mode === "start" && key.startsWith("sk-") && key !== STANDIN_KEY) {
    say("OpenAI: the real API (api.openai.com), with the key in functions/.secret.local");
    delete env.OPENAI_BASE_URL;
    // The web app's .env.emulator points WebRTC at the stand-in; the environment wins over it.
    env.VITE_OPENAI_CALLS_URL = "https://api.openai.com/v1/realtime/calls";
    return true;
  }
  const { startStandin } = await import("../standin/src/server.js");
  const standin = await startStandin({ port: STANDIN_PORT });
  wiring.cleanups.push(() => standin.close());
  env.OPENAI_BASE_URL = standin.baseUrl;
  env.STANDIN_URL = standin.url;
  say(`OpenAI: the local stand-in at ${standin.url} (no key, no network, no cost)`);
  return false;
}

/** Starts Firestore's stand-in (and its fault proxy) or names the emulator; returns the emulators to run. */
async function wireFirestore(
  options: Options,
  firestore: { mode: "emulator" | "standin"; forced: boolean },
  wiring: Wiring,
): Promise<string[]> {
  const { env, cleanups } = wiring;
  if (firestore.mode === "emulator") {
    say(`Firestore: the Firestore emulator on port ${port("firestore")}`);
    if (options.firestoreFaults) say("Firestore: no fault proxy in front of the emulator");
    return ["firestore"];
  }
  const { startFirestoreStandin } = await import("./firestore-standin.js");
  const standin = await startFirestoreStandin(port("firestore"));
  cleanups.push(() => standin.stop());
  env.FIRESTORE_EMULATOR_HOST = `127.0.0.1:${port("firestore")}`;
  if (options.firestoreFaults) {
    // The functions reach Firestore through the proxy; the test's own checks go direct.
    const { startFaultProxy } = await import("./fault-proxy.js");
    const proxy = await startFaultProxy(env.FIRESTORE_EMULATOR_HOST);
    cleanups.push(() => proxy.close());
    env.FIRESTORE_DIRECT_HOST = env.FIRESTORE_EMULATOR_HOST;
    env.FIRESTORE_EMULATOR_HOST = proxy.address;
    env.FIRESTORE_FAULTS_URL = proxy.controlUrl;
    say(`Firestore: functions connect through a fault proxy at ${proxy.address}`);
  }
  const why = firestore.forced
    ? "STACK_FIRESTORE=standin"
    : "the Firestore emulator needs Java 21+";
  say(
    `Firestore: the Node stand-in on port ${port("firestore")} (${why}; it does not enforce ` +
      "security rules or isolate transactions)",
  );
  return [];
}

/** A fault proxy between the functions and the Cloud Tasks emulator. */
async function wireTasksFaults(wiring: Wiring): Promise<void> {
  const { env } = wiring;
  // firebase-tools starts its Cloud Tasks emulator beside the Functions emulator.
  const tasks = `127.0.0.1:${FIREBASE_JSON.emulators.tasks?.port ?? TASKS_DEFAULT_PORT}`;
  const { startFaultProxy } = await import("./fault-proxy.js");
  const proxy = await startFaultProxy(tasks);
  wiring.cleanups.push(() => proxy.close());
  env.STACK_TASKS_VIA = proxy.address;
  env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ""} --require ${JSON.stringify(TASKS_PRELOAD)}`.trim();
  env.TASKS_FAULTS_URL = proxy.controlUrl;
  say(`Cloud Tasks: functions enqueue through a fault proxy at ${proxy.address}`);
}

/**
 * The children and how everything stops: the first reason to stop decides the exit code
 * (Ctrl-C: 130), even when a child's exit, which that stop causes, asks to stop again.
 */
function supervise(cleanups: Wiring["cleanups"]): {
  children: ChildProcess[];
  stop: (code: number) => Promise<never>;
} {
  const children: ChildProcess[] = [];
  let stopping: Promise<never> | undefined;
  const stop = (code: number): Promise<never> =>
    (stopping ??= (async () => {
      for (const child of children) if (child.exitCode === null) child.kill("SIGINT");
      await Promise.all(children.map((c) => (c.exitCode === null ? onExit(c) : c.exitCode)));
      for (const cleanup of cleanups.reverse()) await cleanup();
      process.exit(code);
    })());
  process.on("SIGINT", () => void stop(130));
  process.on("SIGTERM", () => void stop(143));
  return { children, stop };
}

/**
 * Prints the banner once every service answers. Ready means answering, not merely listening:
 * the Functions emulator accepts connections well before it has loaded realtimeToken (it
 * answers 404 until then), and a page opened in that gap would see its first call fail.
 */
function announceWhenReady(functionUrl: string, useVite: boolean, openAi: string): void {
  const ready = [
    answers(`http://127.0.0.1:${port("auth")}/`, {}, (status) => status === 200),
    answers(functionUrl, CALLABLE_PROBE, functionAnswered),
    ...(useVite ? [answers(`http://127.0.0.1:${WEB_PORT}/`, {}, (status) => status === 200)] : []),
  ];
  void Promise.all(ready).then(() => {
    say(
      [
        "ready. Open the web app; Ctrl-C stops everything.",
        useVite
          ? `  web app    http://127.0.0.1:${WEB_PORT}`
          : "  web app    (none: web/index.html is missing)",
        `  function   ${functionUrl}`,
        `  OpenAI     ${openAi}`,
      ].join("\n"),
    );
  });
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const useVite = options.mode === "start" && existsSync(join(ROOT, "web", "index.html"));
  const firestore = firestoreMode();
  await assertPortsFree(options, useVite);

  say("building functions");
  const build = spawnSync("npm", ["run", "build", "-w", "functions"], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (build.status !== 0) process.exit(build.status ?? 1);

  const wiring: Wiring = { env: { ...process.env }, cleanups: [] };
  const { env } = wiring;
  // The Functions emulator gives a new worker 30 s to load, then fails the request ("Failed to
  // load function."). Measured: a cold 20-call burst of realtimeCall, whose deadline tasks start
  // workers of their own, took longer than that on 2 loaded cores for 15 of 20 workers.
  env.FUNCTIONS_DISCOVERY_TIMEOUT ??= "120";
  // The web app and the command call the functions where the emulator serves them.
  const region = functionsRegion(options.project);
  env.VITE_FUNCTIONS_REGION = region;
  env.STACK_FUNCTIONS_REGION = region;

  const realOpenAi = await wireOpenAi(options, wiring);
  const only = ["auth", "functions", ...(await wireFirestore(options, firestore, wiring))];
  if (options.hosting) only.push("hosting");
  if (options.tasksFaults) await wireTasksFaults(wiring);

  const { children, stop } = supervise(wiring.cleanups);
  const firebase = join(ROOT, "node_modules", ".bin", "firebase");
  const common = ["--only", only.join(","), "--project", options.project];
  if (options.mode === "exec") {
    mkdirSync(join(ROOT, ".stack"), { recursive: true });
    const logFile = join(ROOT, ".stack", `${options.project}.log`);
    env.STACK_LOG_FILE = logFile;
    const script = options.command.map(shellQuote).join(" ");
    const child = run(firebase, ["emulators:exec", ...common, script], env, logFile);
    children.push(child);
    await stop(await onExit(child));
  }

  children.push(run(firebase, ["emulators:start", ...common], env));
  if (useVite) {
    const dev = ["run", "dev", "-w", "web", "--", "--port", String(WEB_PORT), "--strictPort"];
    children.push(run("npm", dev, env));
  }
  const functionUrl = `http://127.0.0.1:${port("functions")}/${options.project}/${region}/realtimeToken`;
  announceWhenReady(
    functionUrl,
    useVite,
    realOpenAi ? "api.openai.com, with your key" : `local stand-in, ${env.STANDIN_URL}`,
  );
  const code = await Promise.race(children.map(onExit));
  await stop(code);
}

/**
 * A call the function itself answers, without minting: no auth and no App Check token, so
 * realtimeToken refuses it with UNAUTHENTICATED. The emulator answers 404 until the function
 * is loaded, and the first real answer also means a worker is up for the user's first call.
 */
const CALLABLE_PROBE: RequestInit = {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ data: {} }),
};

function functionAnswered(status: number, body: string): boolean {
  if (status === 404) return false;
  try {
    const parsed = JSON.parse(body) as { error?: { status?: unknown }; result?: unknown };
    return parsed.error?.status !== undefined || parsed.result !== undefined;
  } catch {
    return false;
  }
}

/** Resolves once `url` gives an answer `accept` takes; each try is bounded by 10 s. */
async function answers(
  url: string,
  init: RequestInit,
  accept: (status: number, body: string) => boolean,
): Promise<void> {
  for (;;) {
    try {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
      if (accept(response.status, await response.text())) return;
    } catch {
      // Not listening yet, or too slow: try again.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function onExit(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

await main();
