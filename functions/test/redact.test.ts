import { describe, expect, it } from "vitest";
import { redactCredentials, redactSdp } from "../src/redact";

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
