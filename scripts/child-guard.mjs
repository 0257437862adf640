/**
 * Runs one child of the local stack so that it cannot outlive the supervisor (scripts/stack.ts):
 *
 *   node scripts/child-guard.mjs <command> [args…]
 *
 * The command runs in a process group of its own (it and everything it starts: emulator
 * workers, Java, esbuild). The supervisor holds this process's stdin open; when that pipe
 * closes — the supervisor exited, however it died, SIGKILL included — the whole group is
 * sent SIGTERM, then SIGKILL after a grace period. SIGINT and SIGTERM sent to this process
 * are passed on to the group. It exits with the command's code.
 *
 * Node has no prctl(PR_SET_PDEATHSIG); the pipe's end of file is the signal every platform
 * delivers when a parent dies.
 */
import { spawn } from "node:child_process";

const GRACE_MS = 3000;
const [command, ...args] = process.argv.slice(2);
if (command === undefined) {
  console.error("usage: child-guard.mjs <command> [args…]");
  process.exit(2);
}

const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"], detached: true });
let killTimer;

/** Signals the command's whole process group; false once it is gone. */
function signalGroup(signal) {
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false;
  }
}

function stop(signal) {
  if (!signalGroup(signal)) return;
  killTimer ??= setTimeout(() => signalGroup("SIGKILL"), GRACE_MS);
}

process.stdin.on("end", () => stop("SIGTERM"));
process.stdin.on("close", () => stop("SIGTERM"));
process.stdin.on("error", () => stop("SIGTERM"));
process.stdin.resume();
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));

child.on("error", (error) => {
  console.error(`[stack] could not start ${command}: ${error.message}`);
  process.exit(127);
});
child.on("exit", (code, signal) => {
  // Whatever the command left behind in its group goes with it.
  signalGroup("SIGKILL");
  clearTimeout(killTimer);
  process.exit(code ?? (signal === null ? 1 : 128));
});
