import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkOffer, MAX_OFFER_BYTES, type OfferProblem } from "../src/sdp";

/** Captured from Chromium (getUserMedia audio track + "oai-events" data channel). */
const CHROMIUM = readFileSync(join(__dirname, "fixtures", "chromium-offer.sdp"), "utf8");
/** Captured from werift, the stand-in's and the tests' WebRTC stack. */
const WERIFT = readFileSync(join(__dirname, "fixtures", "werift-offer.sdp"), "utf8");

const problem = (input: unknown): OfferProblem | null => {
  const result = checkOffer(input);
  return result.ok ? null : result.problem;
};

/** Drops the lines that match, keeping CRLF line ends. */
const without = (sdp: string, pattern: RegExp) =>
  sdp
    .split("\r\n")
    .filter((l) => !pattern.test(l))
    .join("\r\n");

describe("checkOffer", () => {
  it.each([
    ["Chromium", CHROMIUM],
    ["werift", WERIFT],
    ["Chromium with LF line ends", CHROMIUM.replaceAll("\r\n", "\n")],
  ])("accepts a real %s offer, verbatim", (_, sdp) => {
    expect(checkOffer(sdp)).toEqual({ ok: true, sdp });
  });

  it("uses offers that really are what the tests claim", () => {
    for (const sdp of [CHROMIUM, WERIFT]) {
      expect(sdp).toMatch(/^v=0\r\n/);
      expect(sdp).toContain("m=audio ");
      expect(sdp).toContain("webrtc-datachannel");
      expect(sdp).toContain("a=setup:actpass");
    }
  });

  it.each<[string, unknown, OfferProblem, RegExp]>([
    ["a number", 42, "not-a-string", /SDP text/],
    ["an object", { type: "offer", sdp: CHROMIUM }, "not-a-string", /SDP text/],
    ["blank text", "  \r\n", "empty", /empty/],
    ["an oversized offer", CHROMIUM + "a=x\r\n".repeat(4000), "too-large", /at most 16384/],
    ["a NUL byte", CHROMIUM.replace("s=-", "s=\u0000"), "bad-characters", /characters/],
    ["non-ASCII text", CHROMIUM.replace("s=-", "s=é"), "bad-characters", /characters/],
    ["HTML", "<html>hello</html>", "not-sdp", /v=0/],
    ["SDP without v=0 first", `\r\n${CHROMIUM}`, "not-sdp", /v=0/],
    ["SDP without an origin", without(CHROMIUM, /^o=/), "not-sdp", /origin/],
    [
      "nine media sections",
      CHROMIUM + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n".repeat(7),
      "too-many-sections",
      /9 media sections/,
    ],
  ])("refuses %s (%s)", (_, input, expected, message) => {
    const result = checkOffer(input);
    expect(result).toMatchObject({ ok: false, problem: expected });
    expect(!result.ok && result.message).toMatch(message);
  });

  it("refuses an offer without audio, naming the microphone track", () => {
    const noAudio = CHROMIUM.replace(/m=audio[\s\S]*?(?=m=application)/, "");
    const result = checkOffer(noAudio);
    expect(result).toMatchObject({ ok: false, problem: "no-audio" });
    expect(!result.ok && result.message).toMatch(/m=audio/);
    // An audio m-line with a transport WebRTC does not use does not count either.
    expect(problem(CHROMIUM.replace("m=audio 43959 UDP/TLS/RTP/SAVPF", "m=audio 43959 FOO"))).toBe(
      "no-audio",
    );
  });

  it.each([
    ["no payload type", "m=audio 9 UDP/TLS/RTP/SAVPF"],
    ["no payload type, a trailing space", "m=audio 9 UDP/TLS/RTP/SAVPF "],
    ["a dynamic payload type without its a=rtpmap", "m=audio 9 UDP/TLS/RTP/SAVPF 120"],
    ["a payload type that is no number", "m=audio 9 UDP/TLS/RTP/SAVPF opus"],
    ["a payload type out of range", "m=audio 9 UDP/TLS/RTP/SAVPF 200"],
  ])("refuses an audio section with %s, before anything is charged", (_, mLine) => {
    const result = checkOffer(WERIFT.replace("m=audio 9 UDP/TLS/RTP/SAVPF 96 0", mLine));
    expect(result).toMatchObject({ ok: false, problem: "no-audio-codec" });
    expect(!result.ok && result.message).toMatch(/m=audio.*lists no codec/);
  });

  it("accepts an audio section with a static payload type alone, or a mapped dynamic one", () => {
    expect(
      problem(WERIFT.replace("m=audio 9 UDP/TLS/RTP/SAVPF 96 0", "m=audio 9 UDP/TLS/RTP/SAVPF 0")),
    ).toBeNull();
    expect(
      problem(CHROMIUM.replace(/(m=audio \d+ UDP\/TLS\/RTP\/SAVPF) [^\r]*/, "$1 111")),
    ).toBeNull();
  });

  it("refuses an offer without the data channel, naming oai-events", () => {
    const noData = CHROMIUM.slice(0, CHROMIUM.indexOf("m=application"));
    const result = checkOffer(noData);
    expect(result).toMatchObject({ ok: false, problem: "no-data-channel" });
    expect(!result.ok && result.message).toMatch(/oai-events/);
    expect(problem(WERIFT.replace("webrtc-datachannel", "something-else"))).toBe("no-data-channel");
  });

  it("refuses an answer: a=setup:active or passive", () => {
    for (const role of ["active", "passive"]) {
      const answer = CHROMIUM.replaceAll("a=setup:actpass", `a=setup:${role}`);
      const result = checkOffer(answer);
      expect(result).toMatchObject({ ok: false, problem: "not-an-offer" });
      expect(!result.ok && result.message).toMatch(/answer, not an offer/);
    }
  });

  it("refuses sections without ICE credentials or a fingerprint", () => {
    expect(problem(without(CHROMIUM, /^a=ice-pwd:/))).toBe("no-ice-credentials");
    expect(problem(without(WERIFT, /^a=ice-ufrag:/))).toBe("no-ice-credentials");
    expect(problem(without(CHROMIUM, /^a=fingerprint:/))).toBe("no-fingerprint");
  });

  it("accepts session-level ICE credentials and fingerprint (some stacks put them there)", () => {
    const [head = "", ...rest] = CHROMIUM.split("m=audio");
    const session = `${head}a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\na=fingerprint:sha-256 AA:BB\r\n`;
    const media = without(`m=audio${rest.join("m=audio")}`, /^a=(ice-ufrag|ice-pwd|fingerprint):/);
    expect(problem(session + media)).toBeNull();
  });

  it("accepts an offer of exactly the maximum size", () => {
    const pad = MAX_OFFER_BYTES - Buffer.byteLength(CHROMIUM, "utf8");
    const padded = `${CHROMIUM}a=x-pad:${"p".repeat(pad - 10)}\r\n`;
    expect(Buffer.byteLength(padded, "utf8")).toBe(MAX_OFFER_BYTES);
    expect(problem(padded)).toBeNull();
    expect(problem(`${padded}x`)).toBe("too-large");
  });
});
