/**
 * Who holds a TCP port, for the stack's "port in use" message: on Linux, from
 * /proc/net/tcp{,6} (the listening socket's inode) and /proc/<pid>/fd (who has it open).
 */
import { readFileSync, readdirSync, readlinkSync } from "node:fs";

/** A process listening on a port. */
export interface PortHolder {
  pid: number;
  /** Its command line, shortened. */
  command: string;
}

/** The processes listening on `port` that this user may inspect; [] where /proc is absent. */
export function findPortHolders(port: number): PortHolder[] {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      // State 0A is LISTEN; the local address ends in the port in hex.
      if (fields[3] !== "0A" || local === undefined) continue;
      if (Number.parseInt(local.split(":").pop() ?? "", 16) !== port) continue;
      if (fields[9] !== undefined && fields[9] !== "0") inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return [];
  const holders: PortHolder[] = [];
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    const holds = fds.some((fd) => {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        return match?.[1] !== undefined && inodes.has(match[1]);
      } catch {
        return false;
      }
    });
    if (!holds) continue;
    let command = "";
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
    } catch {
      // It exited meanwhile.
    }
    holders.push({
      pid: Number(pid),
      command: command.length > 120 ? `${command.slice(0, 117)}…` : command,
    });
  }
  return holders;
}

/** The stack's message for a port it cannot bind: who holds it and how to stop it. */
export function describePortHolder(port: number, what: string): string {
  const holders = findPortHolders(port);
  if (holders.length === 0) {
    return (
      `port ${port} (${what}) is in use, by a process this user cannot see. Is \`npm start\` ` +
      `(or another emulator) already running? Find it with \`ss -ltnp 'sport = :${port}'\` ` +
      `(Linux) or \`lsof -iTCP:${port} -sTCP:LISTEN\` (macOS), stop it, and try again.`
    );
  }
  const list = holders.map((h) => `PID ${h.pid} (${h.command || "?"})`).join(", ");
  const pids = holders.map((h) => h.pid).join(" ");
  return (
    `port ${port} (${what}) is in use by ${list}, perhaps left over from an earlier ` +
    `\`npm start\`. Stop it with \`kill ${pids}\` (or \`kill -9 ${pids}\` if it does not ` +
    "exit), then try again."
  );
}
