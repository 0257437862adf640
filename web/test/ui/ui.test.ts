import { describe, expect, it } from "vitest";
import { RealtimeCallError, RealtimeConnectError } from "../../src/realtime/errors";
import { TokenError } from "../../src/backend/tokenError";
import { formatBytes, formatCount } from "../../src/ui/dom";
import { describeAuthError, describeConnectError, describeProblem } from "../../src/ui/messages";
import { createLocalTimeTool } from "../../src/ui/tools";

describe("get_local_time", () => {
  it("answers with the device's time in its zone", async () => {
    const tool = createLocalTimeTool(
      () => new Date("2026-06-01T12:34:56Z"),
      () => "Europe/Paris",
    );
    expect(tool.name).toBe("get_local_time");
    expect(await tool.handler({}, { callId: "call_1" })).toEqual({
      timeZone: "Europe/Paris",
      localTime: expect.stringMatching(/^Monday, June 1, 2026 at 2:34:56\sPM GMT\+2$/),
      iso: "2026-06-01T12:34:56.000Z",
    });
  });
});

describe("describeConnectError", () => {
  const tokenFailure = (error: TokenError) =>
    new RealtimeConnectError("token", "token", error.message, { cause: error });

  it("passes the token error's own advice through, with a retry", () => {
    const banner = describeConnectError(
      tokenFailure(
        new TokenError("rate-limited", "You're starting sessions too quickly. Try again in 4 s.", {
          code: "resource-exhausted",
          retryAfterSeconds: 4,
        }),
      ),
    );
    expect(banner).toEqual({
      kind: "token-rate-limited",
      message: "You're starting sessions too quickly. Try again in 4 s.",
      action: "retry",
    });
  });

  it("offers a reload for App Check and no retry for an exhausted quota", () => {
    expect(
      describeConnectError(
        tokenFailure(new TokenError("app-check", "x", { code: "permission-denied" })),
      )?.action,
    ).toBe("reload");
    expect(
      describeConnectError(
        tokenFailure(new TokenError("daily-quota", "x", { code: "resource-exhausted" })),
      )?.action,
    ).toBeNull();
  });

  it("tells the user how to allow the microphone", () => {
    const banner = describeConnectError(
      new RealtimeConnectError("microphone", "denied", "Microphone access was denied."),
    );
    expect(banner?.message).toMatch(/denied\. Allow the microphone/);
  });

  it("keeps OpenAI's message for a rejected call", () => {
    const cause = new RealtimeCallError(401, "OpenAI rejected the call (HTTP 401): Bad key");
    const banner = describeConnectError(
      new RealtimeConnectError("sdp", "rejected", cause.message, { cause }),
    );
    expect(banner).toMatchObject({ kind: "openai-rejected", action: "retry" });
    expect(banner?.message).toContain("HTTP 401): Bad key");
  });

  it("stays silent when the user cancelled", () => {
    expect(
      describeConnectError(new RealtimeConnectError("aborted", "aborted", "closed")),
    ).toBeNull();
  });
});

describe("describeAuthError", () => {
  it("ignores a closed popup and explains a blocked one", () => {
    expect(describeAuthError({ code: "auth/popup-closed-by-user" })).toBeNull();
    expect(describeAuthError({ code: "auth/popup-blocked" })?.message).toMatch(/Allow pop-ups/);
    expect(describeAuthError({ code: "auth/admin-restricted-operation" })?.kind).toBe(
      "auth-guest-disabled",
    );
  });
});

describe("formatCount and formatBytes", () => {
  it("format with en-US thousands whatever the locale, reusing one formatter", () => {
    expect(formatCount(0)).toBe("0");
    expect(formatCount(1234567)).toBe("1,234,567");
    expect(formatBytes(2048)).toBe("2 KB");
    expect(formatBytes(3 * 1024 * 1024)).toBe("3.0 MB");
  });
});

describe("describeProblem", () => {
  it("reports OpenAI's errors and a failed playback, and keeps protocol slips off the banner", () => {
    expect(
      describeProblem({
        source: "server",
        error: { type: "invalid_request_error", message: "Bad item" },
      } as Parameters<typeof describeProblem>[0]),
    ).toEqual({
      kind: "openai-error",
      message: "OpenAI reported a problem: Bad item",
      action: null,
    });
    expect(describeProblem({ source: "audio", message: "NotSupportedError" })).toMatchObject({
      kind: "autoplay",
      action: "enable-audio",
    });
    expect(describeProblem({ source: "protocol", message: "unparsable", raw: "{" })).toBeNull();
  });
});
