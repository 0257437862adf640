import { describe, expect, it } from "vitest";
import { connected } from "./harness";

describe("connection loss", () => {
  it("closes with ice-failed when ICE fails", async () => {
    const t = await connected();
    t.pc.setConnectionState("failed");
    expect(t.session.state).toEqual({ status: "closed", reason: { kind: "ice-failed" } });
    expect(t.mic.tracks[0]?.stopped).toBe(true);
  });

  it("tolerates a short disconnection but closes after the grace period", async () => {
    const t = await connected({ disconnectGraceMs: 4_000 });
    t.pc.setIceState("disconnected");
    t.clock.advance(3_000);
    t.pc.setIceState("connected");
    t.clock.advance(10_000);
    expect(t.session.state.status).toBe("connected");

    t.pc.setIceState("disconnected");
    t.clock.advance(3_999);
    expect(t.session.state.status).toBe("connected");
    t.clock.advance(1);
    expect(t.session.state).toEqual({
      status: "closed",
      reason: { kind: "ice-disconnected", graceMs: 4_000 },
    });
  });

  it("closes with channel-closed when the server closes the channel", async () => {
    const t = await connected();
    t.pc.channel.remoteClose();
    expect(t.session.state).toEqual({ status: "closed", reason: { kind: "channel-closed" } });
  });

  it("closes with server-limit when the server ends the session", async () => {
    const t = await connected();
    t.pc.channel.receive({
      type: "error",
      error: {
        type: "invalid_request_error",
        code: "session_expired",
        message: "Your session hit the maximum duration of 60 minutes.",
      },
    });
    expect(t.session.state).toEqual({
      status: "closed",
      reason: {
        kind: "server-limit",
        message: "Your session hit the maximum duration of 60 minutes.",
      },
    });
  });

  it("reports recoverable server errors without closing", async () => {
    const t = await connected();
    const problems: unknown[] = [];
    t.session.on("problem", (p) => problems.push(p));
    t.pc.channel.receive({
      type: "error",
      error: { type: "invalid_request_error", code: "bad", message: "Nope" },
    });
    expect(t.session.state.status).toBe("connected");
    expect(problems).toEqual([
      { source: "server", error: { type: "invalid_request_error", code: "bad", message: "Nope" } },
    ]);
  });
});
