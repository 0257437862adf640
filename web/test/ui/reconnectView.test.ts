import { FunctionsError } from "firebase/functions";
import { describe, expect, it } from "vitest";
import { RealtimeCallError, RealtimeConnectError } from "../../src/realtime/errors";
import { toBrokeredConnectError } from "../../src/backend/brokered";
import { describeGiveUp, stateView } from "../../src/ui/reconnectView";

describe("stateView", () => {
  it("counts the tries while reconnecting and names the drop", () => {
    expect(
      stateView({
        status: "reconnecting",
        attempt: 2,
        maxTries: 5,
        drop: { kind: "unresponsive", silentMs: 8000 },
        lastError: null,
      }),
    ).toEqual({
      ui: "reconnecting",
      label: "Reconnecting… (attempt 2 of 5)",
      reason: "unresponsive",
    });
  });

  it("shows a call the backend ended on purpose as closed, naming the drop", () => {
    expect(stateView({ status: "ended", drop: { kind: "channel-closed" } })).toEqual({
      ui: "closed",
      label: "Disconnected",
      reason: "channel-closed",
    });
  });

  it("shows a failed first call and a user's disconnect as ready to connect", () => {
    const error = new RealtimeConnectError("sdp", "unreachable", "Unreachable.");
    expect(stateView({ status: "failed", error }).ui).toBe("idle");
    expect(stateView({ status: "idle" }).ui).toBe("idle");
  });
});

describe("describeGiveUp", () => {
  it("keeps a spent minute budget's own message and offers no retry loop", () => {
    const error = toBrokeredConnectError(
      new FunctionsError("resource-exhausted", "You have used today's voice minutes.", {
        reason: "daily-minutes",
        retryAfterSeconds: 3600,
      }),
    );
    const banner = describeGiveUp({
      status: "gave-up",
      reason: "fatal",
      drop: { kind: "channel-closed" },
      error,
    });
    expect(banner.kind).toBe("minutes");
    expect(banner.message).toMatch(/^The call dropped and could not be reopened: /);
    expect(banner.message).toContain(error.message);
    expect(banner.message).toContain("Try again when your minutes come back.");
  });

  it("says how many tries failed and why the last one did, with Try again", () => {
    const lastError = new RealtimeConnectError(
      "sdp",
      "rejected",
      "OpenAI answered 503: Overloaded.",
      { cause: new RealtimeCallError(503, "Overloaded.", null) },
    );
    expect(
      describeGiveUp({
        status: "gave-up",
        reason: "exhausted",
        tries: 5,
        drop: { kind: "ice-failed" },
        lastError,
      }),
    ).toEqual({
      kind: "reconnect-failed",
      message:
        "The call dropped and 5 tries to reconnect failed. The last try failed: OpenAI answered 503: Overloaded. Press Try again to continue the conversation.",
      action: "retry",
    });
  });
});
