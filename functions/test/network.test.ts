import { describe, expect, it } from "vitest";
import { clientAddress, hashNetwork, networkOf } from "../src/network";

function request(xff?: string | string[], remoteAddress?: string) {
  return { headers: { "x-forwarded-for": xff }, socket: { remoteAddress } };
}

describe("clientAddress", () => {
  it("takes the address Google's front end appended, not one the client forged", () => {
    expect(clientAddress(request("6.6.6.6, 203.0.113.7", "169.254.1.1"))).toBe("203.0.113.7");
  });

  it("skips internal hops on the right", () => {
    expect(clientAddress(request("203.0.113.7, 10.1.2.3, 169.254.8.1"))).toBe("203.0.113.7");
    expect(clientAddress(request("2001:db8::5, fd00::1"))).toBe("2001:db8::5");
  });

  it("ignores entries that are not addresses", () => {
    expect(clientAddress(request("unknown, 198.51.100.4, garbage"))).toBe("198.51.100.4");
  });

  it("joins repeated headers", () => {
    expect(clientAddress(request(["1.1.1.1", "198.51.100.9"]))).toBe("198.51.100.9");
  });

  it("falls back to the socket, then to an internal address, then to null", () => {
    expect(clientAddress(request(undefined, "198.51.100.1"))).toBe("198.51.100.1");
    expect(clientAddress(request(undefined, "fe80::1%eth0"))).toBe("fe80::1");
    expect(clientAddress(request("10.0.0.8", undefined))).toBe("10.0.0.8");
    expect(clientAddress({ headers: {} })).toBeNull();
  });
});

describe("networkOf", () => {
  it("keeps IPv4 addresses and unwraps IPv4-mapped IPv6", () => {
    expect(networkOf("203.0.113.7")).toBe("203.0.113.7");
    expect(networkOf("::ffff:203.0.113.7")).toBe("203.0.113.7");
  });

  it("groups IPv6 by /64, however the address is written", () => {
    const a = networkOf("2001:db8:0:12:aaaa::1");
    expect(a).toBe("2001:db8:0:12::/64");
    expect(networkOf("2001:0db8:0000:0012:ffff:ffff:ffff:ffff")).toBe(a);
    expect(networkOf("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(networkOf("::1")).toBe("0:0:0:0::/64");
  });
});

describe("hashNetwork", () => {
  it("is stable per key, differs across keys and networks, and hides the address", () => {
    const a = hashNetwork("203.0.113.7", "sk-one");
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(hashNetwork("203.0.113.7", "sk-one")).toBe(a);
    expect(hashNetwork("203.0.113.8", "sk-one")).not.toBe(a);
    expect(hashNetwork("203.0.113.7", "sk-two")).not.toBe(a);
    expect(a).not.toContain("203");
  });
});
