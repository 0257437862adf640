import { describe, expect, it } from "vitest";
import { RealtimeCallError, RealtimeConnectError } from "../../src/realtime/errors";
import { TokenError } from "../../src/backend/tokenError";
import { formatBytes, formatCount } from "../../src/ui/dom";
import type { ConnectStage, ConnectWait } from "../../src/realtime/errors";
import {
  describeAuthError,
  describeConnectError,
  describeProblem,
  type BannerContent,
} from "../../src/ui/messages";
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

  it("names who was slow after a timeout, and advises by that alone", () => {
    const timeout = (stage: ConnectStage, waited: ConnectWait, message: string) =>
      describeConnectError(
        new RealtimeConnectError(stage, "timeout", message, { waited }),
      ) as BannerContent;
    const slowFunction = timeout("sdp", "backend-answer", "Whatever the text says.");
    expect(slowFunction.kind).toBe("timeout-backend-answer");
    expect(slowFunction.message).toBe(
      "Whatever the text says. It may be busy or starting up; press Connect to try again in a moment.",
    );
    expect(slowFunction.action).toBe("retry");
    // The same words from another party get that party's advice, never the function's.
    const slowOpenAI = timeout("sdp", "openai-answer", "Whatever the text says.");
    expect(slowOpenAI.kind).toBe("timeout-openai-answer");
    expect(slowOpenAI.message).toMatch(/Check your network/);
    expect(timeout("sdp", "upstream-answer", "x.").message).toMatch(/OpenAI may be busy/);
    expect(timeout("channel", "ice", "x.").message).toMatch(/VPN or firewall/);
    expect(timeout("channel", "channel", "x.").kind).toBe("timeout-channel");
    expect(timeout("microphone", "microphone", "x.").message).toMatch(/asking for the microphone/);
    // Network advice only where the user's network is on the way.
    for (const waited of ["backend-answer", "upstream-answer", "token"] as const) {
      expect(timeout("sdp", waited, "x.").message).not.toMatch(/network/i);
    }
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

describe("describeLiveClose", () => {
  it("says the server's reason in words and as given, and points at Reconnect unless the line dropped", async () => {
    const { describeLiveClose } = await import("../../src/ui/messages");
    expect(describeLiveClose("close_requested")).toEqual({
      kind: "live-closed-close_requested",
      message:
        "The call ended: the server hung up (close_requested). Press Reconnect to start a new call.",
      action: null,
    });
    expect(describeLiveClose("connection_lost")).toMatchObject({
      kind: "live-closed-connection_lost",
      message: "The call ended: the connection was lost (connection_lost).",
      action: null,
    });
  });
});
