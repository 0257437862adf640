import { describe, expect, it } from "vitest";
import { flush } from "./fakes";
import { connected, type Connected } from "./harness";

/** Moves the clock one stats poll at a time, letting each getStats() settle. */
async function seconds(t: Connected, n: number, received?: () => number) {
  for (let i = 0; i < n; i++) {
    if (received) t.pc.stats.set("T01", { type: "transport", bytesReceived: received() });
    t.clock.advance(1000);
    await flush();
  }
}

describe("connection loss", () => {
  it("closes with ice-failed when ICE fails", async () => {
    const t = await connected();
    t.pc.setConnectionState("failed");
    expect(t.session.state).toEqual({ status: "closed", reason: { kind: "ice-failed" } });
    expect(t.mic.tracks[0]?.stopped).toBe(true);
  });

  it("leaves an ICE disconnection to the link watch: only silence ends the session", async () => {
    const t = await connected();
    let bytes = 1_000;
    t.pc.setIceState("disconnected");
    await seconds(t, 12, () => (bytes += 100));
    expect(t.session.state.status).toBe("connected");
    await seconds(t, 9, () => bytes);
    expect(t.session.state).toMatchObject({ status: "closed", reason: { kind: "unresponsive" } });
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

describe("a server that goes silent", () => {
  it("is reported stalled after 3 s of nothing, and recovers when packets come back", async () => {
    const t = await connected();
    let packets = 10;
    const links: boolean[] = [];
    t.session.on("link", (link) => links.push(link.stalled));
    await seconds(t, 5, () => ++packets);
    expect(links).toEqual([]);
    await seconds(t, 4, () => packets);
    expect(links).toEqual([true]);
    expect(t.session.link).toEqual({ stalled: true });
    expect(t.session.state.status).toBe("connected");
    await seconds(t, 1, () => ++packets);
    expect(links).toEqual([true, false]);
  });

  it("ends as unresponsive after 8 s of nothing, well before ICE gives up", async () => {
    const t = await connected();
    const packets = 10;
    t.session.sendText("anyone there?");
    await seconds(t, 9, () => packets);
    expect(t.session.state).toEqual({
      status: "closed",
      reason: { kind: "unresponsive", silentMs: 8_000 },
    });
    // The server never acknowledged the message: it is not shown as sent.
    expect(t.session.conversation[0]).toMatchObject({ source: "text", status: "not-delivered" });
    expect(t.session.link).toEqual({ stalled: false });
    expect(t.clock.pendingTimers).toBe(0);
  });

  it("still ends as unresponsive when a stats call never answers", async () => {
    const t = await connected();
    await seconds(t, 2, () => 10);
    t.pc.statsHang = true;
    const links: boolean[] = [];
    t.session.on("link", (link) => links.push(link.stalled));
    await seconds(t, 4);
    expect(links).toEqual([true]);
    await seconds(t, 5);
    expect(t.session.state).toEqual({
      status: "closed",
      reason: { kind: "unresponsive", silentMs: 8_000 },
    });
    expect(t.clock.pendingTimers).toBe(0);
  });

  it("ends as unresponsive when every stats call fails", async () => {
    const t = await connected();
    t.pc.statsFail = true;
    await seconds(t, 9);
    expect(t.session.state).toMatchObject({ status: "closed", reason: { kind: "unresponsive" } });
  });

  it("falls back to candidate-pair bytes where there is no transport", async () => {
    const t = await connected({ silentMs: 4_000 });
    let bytes = 100;
    for (let i = 0; i < 6; i++) {
      t.pc.stats.set("CP", { type: "candidate-pair", bytesReceived: (bytes += 50) });
      t.clock.advance(1000);
      await flush();
    }
    expect(t.session.state.status).toBe("connected");
    await seconds(t, 5);
    expect(t.session.state).toMatchObject({ status: "closed", reason: { kind: "unresponsive" } });
  });
});
