import { describe, expect, it } from "vitest";
import { refusalKind, servedModes, UPSTREAM_RETRY_SECONDS, upstreamFailure } from "../src/failure";
import { UpstreamError } from "../src/openai";

describe("upstreamFailure", () => {
  it.each([
    [new UpstreamError("auth", "401"), { kind: "misconfigured", callable: "realtimeCall" }],
    // Retrying a refused session or offer cannot help: misconfigured, never unavailable.
    [
      new UpstreamError("rejected", "400 bad model"),
      { kind: "misconfigured", callable: "realtimeCall" },
    ],
    // A refused offer or choice is the caller's to fix, naming the field.
    [
      new UpstreamError("rejected", "400 Invalid SDP offer", {
        status: 400,
        code: "invalid_offer",
        param: null,
      }),
      { kind: "bad-input", field: "offer", message: expect.stringMatching(/offer/) },
    ],
    [
      new UpstreamError("rejected", "400", { status: 400, code: "invalid_value", param: "sdp" }),
      { kind: "bad-input", field: "offer", message: expect.stringMatching(/offer/) },
    ],
    [
      new UpstreamError("rejected", "400", { param: "session.audio.output.voice" }),
      { kind: "bad-input", field: "voice", message: expect.stringMatching(/another voice/) },
    ],
    [
      new UpstreamError("rejected", "400", {
        param: "session.audio.input.turn_detection.eagerness",
      }),
      { kind: "bad-input", field: "eagerness", message: expect.stringMatching(/eagerness/) },
    ],
    [
      new UpstreamError("rejected", "400", { param: "session.audio.input.turn_detection.type" }),
      { kind: "bad-input", field: "turnDetection", message: expect.any(String) },
    ],
    [
      new UpstreamError("rejected", "400", { param: "session.output_modalities[0]" }),
      { kind: "bad-input", field: "outputModality", message: expect.any(String) },
    ],
    [
      new UpstreamError("rejected", "400", {
        param: "session.audio.input.transcription.language",
      }),
      { kind: "bad-input", field: "language", message: expect.any(String) },
    ],
    // The server's own settings are not: misconfigured.
    [
      new UpstreamError("rejected", "400", { param: "session.model" }),
      { kind: "misconfigured", callable: "realtimeCall" },
    ],
    [
      new UpstreamError("rejected", "400", { param: "session.audio.input.transcription.model" }),
      { kind: "misconfigured", callable: "realtimeCall" },
    ],
    [
      new UpstreamError("rejected", "400", { param: "session.audio.output.voices" }),
      { kind: "misconfigured", callable: "realtimeCall" },
    ],
    [
      new UpstreamError("rate", "429", { retryAfterSeconds: 3 }),
      { kind: "refused", refusal: { reason: "upstream-rate", retryAfterSeconds: 3 } },
    ],
    [
      new UpstreamError("rate", "429 without Retry-After"),
      {
        kind: "refused",
        refusal: { reason: "upstream-rate", retryAfterSeconds: UPSTREAM_RETRY_SECONDS },
      },
    ],
    [
      new UpstreamError("unavailable", "503"),
      { kind: "upstream-unavailable", failure: "unavailable" },
    ],
    [
      new UpstreamError("malformed", "no Location"),
      { kind: "upstream-unavailable", failure: "malformed" },
    ],
    [new TypeError("fetch failed"), { kind: "upstream-unavailable", failure: "unknown" }],
    // OpenAI too slow: the caller is told it was OpenAI, not the function.
    [
      new UpstreamError("unavailable", "The call request to OpenAI timed out.", { timedOut: true }),
      { kind: "upstream-unavailable", failure: "timeout" },
    ],
  ])("classifies %s", (error, failure) => {
    expect(upstreamFailure("realtimeCall", error)).toEqual(failure);
  });
});

describe("servedModes", () => {
  it("lists what REALTIME_MODES serves", () => {
    const voice = {
      limits: { dailySeconds: 60, monthlySeconds: 0, maxCallSeconds: 60 },
      callsPerNetworkPerMinute: 1,
      apis: ["realtime"] as ["realtime"],
      liveModel: "gpt-live-1",
    };
    expect(servedModes({ ...voice, serveSecret: true, serveBrokered: true })).toEqual([
      "secret",
      "brokered",
    ]);
    expect(servedModes({ ...voice, serveSecret: false, serveBrokered: true })).toEqual([
      "brokered",
    ]);
  });
});

describe("refusalKind", () => {
  it("counts limits by their reason, plans and unserved modes and APIs by kind, and nothing else", () => {
    expect(
      refusalKind({ kind: "refused", refusal: { reason: "daily-minutes", retryAfterSeconds: 9 } }),
    ).toBe("daily-minutes");
    expect(
      refusalKind({ kind: "mode-not-served", callable: "realtimeCall", served: ["secret"] }),
    ).toBe("mode-not-served");
    expect(refusalKind({ kind: "api-not-served", api: "live", served: ["realtime"] })).toBe(
      "api-not-served",
    );
    expect(refusalKind({ kind: "signed-out", callable: "realtimeCall" })).toBeUndefined();
  });
});
