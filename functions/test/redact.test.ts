import { describe, expect, it } from "vitest";
import { clip, redactCredentials, redactSdp } from "../src/redact";

describe("redactCredentials", () => {
  it("removes keys and client secrets, keeps the rest", () => {
    expect(redactCredentials("Incorrect API key provided: sk-proj-abc***xyz. ok")).toBe(
      "Incorrect API key provided: [redacted] ok",
    );
    expect(redactCredentials("secret ek_123 and rk-9")).toBe("secret [redacted] and [redacted]");
  });
});

describe("redactSdp", () => {
  it("removes a quoted description from its v=0 line on, and stray credential lines", () => {
    expect(redactSdp('Invalid SDP: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\na=ice-pwd:p4ss\r\n"')).toBe(
      'Invalid SDP: "[sdp redacted]',
    );
    expect(redactSdp("bad line a=fingerprint:sha-256 AA:BB; a=ice-pwd:p4ss\nnext")).toBe(
      "bad line [sdp redacted]\nnext",
    );
    expect(redactSdp("OpenAI is down (503)")).toBe("OpenAI is down (503)");
  });
});

describe("redactSdp on what upstream quotes", () => {
  it("cuts a quoted description at its first line, whichever line comes first", () => {
    const offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
    expect(redactSdp(`bad offer: ${offer}`)).toBe("bad offer: [sdp redacted]");
    expect(redactSdp("bad media: m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0")).toBe(
      "bad media: [sdp redacted]",
    );
    expect(redactSdp("no sdp here")).toBe("no sdp here");
  });

  it("redacts stray candidate and bundle lines", () => {
    expect(redactSdp("saw a=candidate:1 1 udp 1 10.0.0.1 9 typ host\nand a=group:BUNDLE 0")).toBe(
      "saw [sdp redacted]\nand [sdp redacted]",
    );
  });
});

describe("clip", () => {
  it("bounds the length and marks the cut", () => {
    expect(clip("x".repeat(500))).toHaveLength(301);
    expect(clip("x".repeat(300))).toBe("x".repeat(300));
    expect(clip("abcdef", 3)).toBe("abc…");
  });
});
