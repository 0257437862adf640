import { FunctionsError } from "firebase/functions";
import { describe, expect, it } from "vitest";
import { RealtimeCallError, RealtimeConnectError } from "../src/realtime/errors";
import {
  backoffDelayMs,
  classifyDrop,
  decideReconnect,
  DEFAULT_RECONNECT_POLICY,
  type DropClass,
  type ReconnectPolicy,
} from "../src/realtime/reconnect";
import type { ConnectFailure, ConnectStage } from "../src/realtime/errors";
import type { CloseReason } from "../src/realtime/types";
import { toBrokeredConnectError } from "../src/backend/brokered";
import { toTokenError } from "../src/backend/errors";
import { tokenDropClass } from "../src/backend/reconnect";

const policy: ReconnectPolicy = { maxTries: 4, baseDelayMs: 1000, maxDelayMs: 6000 };
const low = () => 0;
const high = () => 0.999_999;

function failed(stage: ConnectStage, failure: ConnectFailure, cause?: unknown): CloseReason {
  return {
    kind: "connect-failed",
    error: new RealtimeConnectError(stage, failure, "failed", { cause }),
  };
}

describe("backoffDelayMs", () => {
  it("doubles per try up to the bound, with half of each delay random", () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, policy, low))).toEqual([
      500, 1000, 2000, 3000, 3000,
    ]);
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, policy, high))).toEqual([
      1000, 2000, 4000, 6000, 6000,
    ]);
    expect(backoffDelayMs(2, policy, () => 0.5)).toBe(1500);
  });

  it("stays within bounds whatever the random source returns", () => {
    expect(backoffDelayMs(1, policy, () => -3)).toBe(500);
    expect(backoffDelayMs(1, policy, () => 7)).toBe(1000);
    expect(backoffDelayMs(40, policy, high)).toBe(6000);
  });
});

describe("decideReconnect", () => {
  it("retries a transient drop with growing delays, then gives up after maxTries", () => {
    const transient: DropClass = { kind: "transient" };
    const steps = [];
    let tries = 0;
    for (;;) {
      const decision = decideReconnect(transient, tries, policy, low);
      steps.push(decision);
      if (decision.action !== "reconnect") break;
      tries = decision.tries;
    }
    expect(steps).toEqual([
      { action: "reconnect", delayMs: 500, tries: 1 },
      { action: "reconnect", delayMs: 1000, tries: 2 },
      { action: "reconnect", delayMs: 2000, tries: 3 },
      { action: "reconnect", delayMs: 3000, tries: 4 },
      { action: "give-up", reason: "exhausted", tries: 4 },
    ]);
  });

  it("opens the next call at once at the session cap, without spending a try", () => {
    expect(decideReconnect({ kind: "rollover" }, 0, policy, high)).toEqual({
      action: "reconnect",
      delayMs: 0,
      tries: 0,
    });
  });

  it("waits at least as long as the server asked, even past the backoff bound", () => {
    expect(decideReconnect({ kind: "wait", ms: 5000 }, 0, policy, low)).toEqual({
      action: "reconnect",
      delayMs: 5000,
      tries: 1,
    });
    expect(decideReconnect({ kind: "wait", ms: 100 }, 2, policy, high)).toMatchObject({
      delayMs: 4000,
    });
    expect(decideReconnect({ kind: "wait", ms: 60_000 }, 0, policy, low)).toMatchObject({
      delayMs: 60_000,
    });
    expect(decideReconnect({ kind: "wait", ms: 10 }, 4, policy, low).action).toBe("give-up");
  });

  it("stops for the user and gives up at once on what retrying cannot fix", () => {
    expect(decideReconnect({ kind: "user" }, 0, policy, low)).toEqual({ action: "stop" });
    expect(decideReconnect({ kind: "fatal", why: "mic" }, 2, policy, low)).toEqual({
      action: "give-up",
      reason: "fatal",
      tries: 2,
    });
  });

  it("ends without a reconnect when the backend ended the call on purpose", () => {
    expect(decideReconnect({ kind: "ended" }, 0, policy, low)).toEqual({ action: "end" });
  });

  it("has defaults that give up within a minute of backoff", () => {
    let total = 0;
    for (let n = 1; n <= DEFAULT_RECONNECT_POLICY.maxTries; n++) {
      total += backoffDelayMs(n, DEFAULT_RECONNECT_POLICY, high);
    }
    expect(total).toBeLessThan(60_000);
  });
});

describe("classifyDrop", () => {
  it.each<[string, CloseReason, DropClass["kind"]]>([
    ["Disconnect", { kind: "client" }, "user"],
    ["the session cap", { kind: "server-limit", message: "Session expired" }, "rollover"],
    ["ICE failure", { kind: "ice-failed" }, "transient"],
    ["nothing arriving", { kind: "unresponsive", silentMs: 8000 }, "transient"],
    ["the channel closing", { kind: "channel-closed" }, "transient"],
    ["an aborted connect", failed("aborted", "aborted"), "user"],
    ["a denied microphone", failed("microphone", "denied"), "fatal"],
    ["a failed offer", failed("offer", "unsupported"), "fatal"],
    ["a channel that never opened", failed("channel", "timeout"), "transient"],
    [
      "a network error on the SDP post",
      failed("sdp", "unreachable", new TypeError("fetch failed")),
      "transient",
    ],
    [
      "an expired secret",
      failed("sdp", "rejected", new RealtimeCallError(401, "expired")),
      "transient",
    ],
    [
      "OpenAI's rate limit",
      failed("sdp", "rejected", new RealtimeCallError(429, "slow down")),
      "transient",
    ],
    [
      "OpenAI failing",
      failed("sdp", "rejected", new RealtimeCallError(502, "bad gateway")),
      "transient",
    ],
    ["a bad request", failed("sdp", "rejected", new RealtimeCallError(400, "bad sdp")), "fatal"],
    ["a token failure without a hook", failed("token", "token", new Error("x")), "transient"],
    ["a brokered rate limit that named no wait", failed("sdp", "rate-limited"), "transient"],
    ["a broker that is down", failed("sdp", "unavailable"), "transient"],
    ["spent voice minutes", failed("sdp", "out-of-minutes"), "fatal"],
    ["a mode the backend does not serve", failed("sdp", "not-served"), "fatal"],
  ])("%s", (_name, reason, kind) => {
    expect(classifyDrop(reason).kind).toBe(kind);
  });
});

describe("classifyDrop of a brokered refusal, from the Functions SDK's own errors", () => {
  it("waits out the network's calls per minute for as long as the server says", () => {
    const error = toBrokeredConnectError(
      new FunctionsError("resource-exhausted", "busy", {
        reason: "ip-rate",
        retryAfterSeconds: 37,
      }),
    );
    expect(error.retryAfterMs).toBe(37_000);
    expect(classifyDrop({ kind: "connect-failed", error })).toEqual({ kind: "wait", ms: 37_000 });
  });

  it.each([
    ["a refused offer", { field: "offer" }],
    ["a refused choice", { field: "voice" }],
    ["a refused request", undefined],
  ])("gives up at once on %s: sent again, it is refused again", (_name, details) => {
    const error = toBrokeredConnectError(new FunctionsError("invalid-argument", "no", details));
    expect(classifyDrop({ kind: "connect-failed", error }).kind).toBe("fatal");
  });

  it("still gives up at once on spent minutes, whatever their wait", () => {
    const error = toBrokeredConnectError(
      new FunctionsError("resource-exhausted", "used", {
        reason: "daily-minutes",
        retryAfterSeconds: 3600,
      }),
    );
    expect(error.retryAfterMs).toBeNull();
    expect(classifyDrop({ kind: "connect-failed", error }).kind).toBe("fatal");
  });
});

describe("tokenDropClass, from the Functions SDK's own errors", () => {
  const classify = (error: FunctionsError) =>
    classifyDrop(failed("token", "token", toTokenError(error, { signedIn: true })), tokenDropClass);

  it("waits out a rate limit for as long as the server says", () => {
    const error = new FunctionsError("resource-exhausted", "Too many", {
      reason: "user-interval",
      retryAfterSeconds: 4,
    });
    expect(classify(error)).toEqual({ kind: "wait", ms: 4000 });
  });

  it.each([
    ["a spent daily quota", "resource-exhausted", { reason: "daily-quota", retryAfterSeconds: 9 }],
    ["App Check", "permission-denied", undefined],
    ["a misconfigured server", "internal", undefined],
    ["a rejected field", "invalid-argument", { field: "voice" }],
  ] as const)("gives up on %s", (_name, code, details) => {
    expect(classify(new FunctionsError(code, "no", details)).kind).toBe("fatal");
  });

  it("retries an unavailable backend and anything that is not a token error", () => {
    expect(classify(new FunctionsError("unavailable", "down")).kind).toBe("transient");
    expect(tokenDropClass(new Error("odd"))).toEqual({ kind: "transient" });
  });
});

describe("classifyDrop of a GPT-Live session.closed", () => {
  it("reconnects only a lost connection; every other reason was meant", () => {
    const closed = (reason: Extract<CloseReason, { kind: "live-closed" }>["reason"]) =>
      classifyDrop({ kind: "live-closed", reason, usageSeconds: 1 });
    expect(closed("connection_lost")).toEqual({ kind: "transient" });
    for (const reason of ["close_requested", "expired", "content", "remote_hangup"] as const) {
      expect(closed(reason), reason).toEqual({ kind: "ended" });
    }
  });
});
