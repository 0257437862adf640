/**
 * The caller's network, for the per-IP limit: which address to trust, how to group it, and
 * how to keep it out of storage in the clear. Pure.
 */
import { createHash, createHmac } from "node:crypto";
import { isIP } from "node:net";

/** The parts of an HTTP request this module reads. */
export interface RequestAddressInfo {
  headers: Record<string, string | string[] | undefined>;
  socket?: { remoteAddress?: string | undefined } | undefined;
}

/**
 * The client address of a request that reached the function through Google's front end.
 *
 * Google appends the address it saw to `X-Forwarded-For`; anything to the left of it came from
 * the client and can be forged. So the rightmost public address is taken, not the leftmost one
 * that `req.ip` returns when Express trusts proxies.
 */
export function clientAddress(req: RequestAddressInfo): string | null {
  const header = req.headers["x-forwarded-for"];
  const entries = (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((entry) => stripZone(entry.trim()))
    .filter((entry) => isIP(entry) !== 0);
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i];
    if (entry !== undefined && !isInternal(entry)) return entry;
  }
  const socketAddress = req.socket?.remoteAddress;
  if (socketAddress !== undefined && isIP(stripZone(socketAddress)) !== 0) {
    return stripZone(socketAddress);
  }
  return entries.at(-1) ?? null;
}

function stripZone(address: string): string {
  const zone = address.indexOf("%");
  return zone === -1 ? address : address.slice(0, zone);
}

/**
 * The unit the per-IP limit counts: an IPv4 address, or the /64 of an IPv6 address (one
 * subscriber usually holds a whole /64, so per-address limits would be trivial to dodge).
 */
export function networkOf(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (isIP(address) !== 6) return address;
  const groups = expandIpv6(address);
  return `${groups.slice(0, 4).join(":")}::/64`;
}

function expandIpv6(address: string): string[] {
  const [head = "", tail] = address.toLowerCase().split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const fill = Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0");
  return [...left, ...fill, ...right].map((group) => group.replace(/^0+(?=.)/, ""));
}

function isInternal(address: string): boolean {
  if (isIP(address) === 4) {
    const [a = 0, b = 0] = address.split(".").map(Number);
    return (
      a === 10 ||
      a === 127 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  const lower = address.toLowerCase();
  if (lower.startsWith("::ffff:")) return isInternal(lower.slice(7));
  return lower === "::1" || /^f[cd]/.test(lower) || /^fe[89ab]/.test(lower);
}

/**
 * A keyed pseudonym of a network: stable for counting, useless for recovering the address
 * (an unkeyed hash of an IPv4 address is reversed by trying all 2^32).
 */
export function hashNetwork(network: string, secret: string): string {
  const key = createHash("sha256").update(`realtimeToken/network/v1\0${secret}`).digest();
  return createHmac("sha256", key).update(network).digest("hex").slice(0, 32);
}
