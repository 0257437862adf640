/**
 * Runs a command in a private network namespace with only loopback up (Linux: `unshare -n` as
 * root, `unshare -rn` otherwise), so suites that bind the stack's fixed ports neither clash
 * with a running `npm start` or another checkout's suites nor reach the network, and with
 * per-run temporary and XDG directories (scripts/private-dirs.ts), so they share no file
 * either. Elsewhere, or with IN_NETNS=off, it runs the command in this namespace (the
 * directories are still private).
 *
 *   tsx scripts/in-netns.ts -- <command…>
 */
import { spawnSync } from "node:child_process";
import { privateDirs } from "./private-dirs.js";
import { shellQuote } from "./shell.js";

const separator = process.argv.indexOf("--");
const command = separator === -1 ? [] : process.argv.slice(separator + 1);
if (command.length === 0) {
  console.error("usage: in-netns.ts -- <command…>");
  process.exit(2);
}
const inside = process.env.IN_NETNS === "inside" || process.env.IN_NETNS === "off";
const dirs = privateDirs();
// Ctrl-C reaches the command too (one process group): let it end, then remove the directories.
process.on("SIGINT", () => undefined);
const env = { ...process.env, ...dirs.env };
let result;
if (process.platform !== "linux" || inside) {
  result = spawnSync(command[0] ?? "", command.slice(1), { stdio: "inherit", env });
} else {
  const flags = process.getuid?.() === 0 ? ["-n"] : ["-r", "-n"];
  const script = `ip link set lo up && exec ${command.map(shellQuote).join(" ")}`;
  result = spawnSync("unshare", [...flags, "sh", "-c", script], {
    stdio: "inherit",
    env: { ...env, IN_NETNS: "inside" },
  });
}
dirs.remove();
if (result.error !== undefined) {
  console.error(`[in-netns] ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
