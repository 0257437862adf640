/**
 * Runs a command against the local stack with the web app built and served by the Hosting
 * emulator, for suites that drive a real browser:
 *
 *   tsx scripts/browser-stack.ts [--project demo-…] -- <command…>
 *
 * On Linux it runs everything inside a private network namespace with only loopback up:
 * in a machine's normal namespace headless Chromium may gather no ICE candidates for
 * 127.0.0.1, and the namespace also guarantees that nothing leaves the machine. Set
 * BROWSER_STACK_NETNS=off to skip it (macOS and Windows never use it). Either way the run gets
 * temporary and XDG directories of its own (scripts/private-dirs.ts).
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { functionsRegion } from "./functions-region.js";
import { privateDirs } from "./private-dirs.js";
import { shellQuote } from "./shell.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const INSIDE = "inside";

function main(): number {
  const argv = process.argv.slice(2);
  const separator = argv.indexOf("--");
  const own = separator === -1 ? argv : argv.slice(0, separator);
  const command = separator === -1 ? [] : argv.slice(separator + 1);
  let project = "demo-realtime-e2e";
  for (let i = 0; i < own.length; i++) {
    if (own[i] === "--project" && own[i + 1]?.startsWith("demo-")) project = own[++i] ?? project;
    else return usage(`unknown argument "${own[i] ?? ""}"`);
  }
  if (command.length === 0) return usage("needs -- <command…>");
  const dirs = privateDirs();
  Object.assign(process.env, dirs.env);
  // Ctrl-C reaches the children too (one process group): let them end, then clean up.
  process.on("SIGINT", () => undefined);
  try {
    return run(project, command);
  } finally {
    dirs.remove();
  }
}

function run(project: string, command: string[]): number {
  const netns = process.env.BROWSER_STACK_NETNS;
  if (netns !== INSIDE) {
    const build = spawnSync("npm", ["run", "build:emulator", "-w", "web"], {
      cwd: ROOT,
      stdio: "inherit",
      // Vite lets the environment override .env files: the page calls this project's function,
      // in the region the emulator serves it.
      env: {
        ...process.env,
        VITE_FIREBASE_PROJECT_ID: project,
        VITE_FUNCTIONS_REGION: functionsRegion(project),
      },
    });
    if (build.status !== 0) return build.status ?? 1;
    if (process.platform === "linux" && netns !== "off") return inNamespace(project, command);
  }

  const stack = spawnSync(
    "npx",
    [
      "tsx",
      join(ROOT, "scripts", "stack.ts"),
      "exec",
      "--hosting",
      "--project",
      project,
      "--",
      ...command,
    ],
    { cwd: ROOT, stdio: "inherit" },
  );
  return stack.status ?? 1;
}

/** Re-runs this script inside `unshare -n` (as root) or `unshare -rn` (as a user), loopback up. */
function inNamespace(project: string, command: string[]): number {
  const self = [
    "npx",
    "tsx",
    fileURLToPath(import.meta.url),
    "--project",
    project,
    "--",
    ...command,
  ];
  const script = `ip link set lo up && exec ${self.map(shellQuote).join(" ")}`;
  const flags = process.getuid?.() === 0 ? ["-n"] : ["-r", "-n"];
  const result = spawnSync("unshare", [...flags, "sh", "-c", script], {
    cwd: ROOT,
    stdio: "inherit",
    env: { ...process.env, BROWSER_STACK_NETNS: INSIDE },
  });
  if (result.error !== undefined) {
    console.error(
      `[browser-stack] could not create a network namespace (${result.error.message}). ` +
        "Install util-linux and iproute2, or set BROWSER_STACK_NETNS=off to run in this one.",
    );
    return 1;
  }
  return result.status ?? 1;
}

function usage(problem: string): number {
  console.error(
    `browser-stack: ${problem}\nusage: browser-stack.ts [--project demo-…] -- <command…>`,
  );
  return 2;
}

process.exit(main());
