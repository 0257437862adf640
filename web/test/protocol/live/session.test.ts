import { LIVE_ALLOWED_CLIENT_EVENTS } from "voice-contract";
import { describe, expect, it } from "vitest";
import type { LiveClientEvent } from "../../../src/realtime/protocol/live/protocol";
import { LiveSession, type LiveSessionOptions } from "../../../src/realtime/protocol/live/session";
import type { SdpExchange } from "../../../src/realtime/exchange";
import type { RealtimeSessionState, SessionProblem } from "../../../src/realtime/types";
import { FAKE_ANSWER_SDP, FakeClock, FakePeerConnection, FakeStream, flush } from "../../fakes";

function setup(overrides: Partial<LiveSessionOptions> = {}) {
  const pcs: FakePeerConnection[] = [];
  const offers: string[] = [];
  const exchange: SdpExchange = {
    answeredBy: "backend",
    exchangeOffer: async (offer) => {
      offers.push(offer);
      return { answer: FAKE_ANSWER_SDP, callId: "sess_1" };
    },
  };
  const session = new LiveSession({
    exchange,
    createPeerConnection: () => {
      const pc = new FakePeerConnection();
      pcs.push(pc);
      return pc;
    },
    getUserMedia: async () => new FakeStream(),
    clock: new FakeClock(),
    isAndroid: false,
    ...overrides,
  });
  const states: RealtimeSessionState[] = [];
  const problems: SessionProblem[] = [];
  const seconds: number[] = [];
  session.on("state", (state) => states.push(state));
  session.on("problem", (problem) => problems.push(problem));
  session.on("usage-seconds", (s) => seconds.push(s));
  const pc = () => {
    const first = pcs[0];
    if (!first) throw new Error("no peer connection yet");
    return first;
  };
  return { session, states, problems, seconds, offers, pc };
}

/** What the server sends on a Live data channel (the fake's `receive` speaks Realtime's types). */
function serve(
  t: { pc: () => FakePeerConnection },
  event: { type: string; [key: string]: unknown },
) {
  t.pc().channel.receiveRaw(JSON.stringify({ event_id: "evt_test", ...event }));
}

async function connected() {
  const t = setup();
  const connecting = t.session.connect();
  await flush();
  t.pc().channel.open();
  await connecting;
  return t;
}

const SESSION = { id: "sess_1", model: "gpt-live-1", expires_at: 1, status: "active" };

describe("LiveSession", () => {
  it("connects through the exchange and sends nothing of its own when the channel opens", async () => {
    const t = await connected();
    expect(t.offers).toHaveLength(1);
    expect(t.session.state).toEqual({ status: "connected", callId: "sess_1" });
    expect(t.pc().channel.sent).toEqual([]);
  });

  it("reports session.started's id and model and marks it in the timings", async () => {
    const t = await connected();
    const started: unknown[] = [];
    t.session.on("started", (s) => started.push(s));
    serve(t, { type: "session.started", session: SESSION });
    expect(started).toEqual([SESSION]);
    expect(t.session.started).toEqual(SESSION);
    expect(t.session.timings.sessionCreated).toBeTypeOf("number");
  });

  it("shows transcript deltas as turns: one side's deltas are one turn until the other speaks", async () => {
    const t = await connected();
    const d = (type: string, delta: string) => serve(t, { type, delta, start_ms: 0, end_ms: 0 });
    d("session.input_transcript.delta", "Hello ");
    d("session.input_transcript.delta", "there");
    d("session.output_transcript.delta", "Hi, ");
    d("session.output_transcript.delta", "how can I help?");
    expect(t.session.conversation).toMatchObject([
      { kind: "user", source: "voice", text: "Hello there", status: "done" },
      { kind: "assistant", text: "Hi, how can I help?", status: "in_progress" },
    ]);
    d("session.input_transcript.delta", "Bye");
    expect(t.session.conversation.map((e) => e.kind === "tool" || e.status)).toEqual([
      "done",
      "done",
      "in_progress",
    ]);
    t.session.dispose();
    expect(t.session.conversation.at(-1)).toMatchObject({ text: "Bye", status: "done" });
    expect(new Set(t.session.conversation.map((e) => e.id)).size).toBe(3);
  });

  it("mutes with Live's own events (and silences the track), once per change", async () => {
    const t = await connected();
    t.session.setMuted(true);
    t.session.setMuted(true);
    t.session.setMuted(false);
    expect(t.pc().channel.sentTypes).toEqual([
      "session.input_audio.mute",
      "session.input_audio.unmute",
    ]);
    expect(t.session.mic.muted).toBe(false);
  });

  it("push-to-talk mutes the server between holds with Live's events, and a user's mute wins", async () => {
    const t = setup();
    // The push-to-talk session closes its gate before the call goes live: queued, sent first.
    t.session.setPushToTalkOpen(false);
    const connecting = t.session.connect();
    await flush();
    t.pc().channel.open();
    await connecting;
    t.session.setPushToTalkOpen(true);
    t.session.setPushToTalkOpen(false);
    t.session.setMuted(true);
    t.session.setPushToTalkOpen(true);
    t.session.setMuted(false);
    expect(t.pc().channel.sentTypes).toEqual([
      "session.input_audio.mute",
      "session.input_audio.unmute",
      "session.input_audio.mute",
      "session.input_audio.unmute",
    ]);
  });

  it("sends only what the server's allowlist lets the page send", () => {
    const sent: LiveClientEvent["type"][] = [
      "session.input_audio.mute",
      "session.input_audio.unmute",
    ];
    expect([...sent].sort()).toEqual([...LIVE_ALLOWED_CLIENT_EVENTS].sort());
  });

  it("has no interrupt and no typed text: Live gives the client no such event", async () => {
    const t = await connected();
    expect(t.session.interrupt()).toBe(false);
    expect(t.session.sendText("hello")).toBe(false);
    expect(t.pc().channel.sent).toEqual([]);
  });

  it("reports cumulative usage seconds, never lower than before", async () => {
    const t = await connected();
    serve(t, { type: "session.usage.updated", usage: { seconds: 1.2 } });
    serve(t, { type: "session.usage.updated", usage: { seconds: 0.8 } });
    serve(t, { type: "session.usage.updated", usage: { seconds: 2.5 } });
    expect(t.seconds).toEqual([1.2, 2.5]);
    expect(t.session.usageSeconds).toBe(2.5);
  });

  it("closes on session.closed with the server's reason and final seconds", async () => {
    const t = await connected();
    serve(t, {
      type: "session.input_transcript.delta",
      delta: "hi",
      start_ms: 0,
      end_ms: 0,
    });
    serve(t, {
      type: "session.closed",
      reason: "close_requested",
      session: SESSION,
      usage: { seconds: 4.2 },
    });
    expect(t.states.at(-1)).toEqual({
      status: "closed",
      reason: { kind: "live-closed", reason: "close_requested", usageSeconds: 4.2 },
    });
    expect(t.session.conversation[0]).toMatchObject({ status: "done" });
  });

  it("types errors by kind: a refused client event, a rejected request, the server's", async () => {
    const t = await connected();
    const error = (error: Record<string, string>) =>
      serve(t, {
        type: "error",
        error: { type: "invalid_request_error", message: "m", ...error },
      });
    error({ code: "client_event_not_allowed", client_event_id: "c1" });
    error({ code: "unknown_parameter", client_event_id: "c2" });
    error({ code: "server_error" });
    expect(t.problems.map((p) => p.source === "live" && p.kind)).toEqual([
      "refused",
      "request",
      "server",
    ]);
    expect(t.session.state.status).toBe("connected");
  });

  it("takes info as a notice, and junk as a protocol problem, without closing", async () => {
    const t = await connected();
    const infos: unknown[] = [];
    t.session.on("info", (info) => infos.push(info));
    serve(t, { type: "info", code: "data_channel_permissions", message: "limited" });
    t.pc().channel.receiveRaw("not json");
    expect(infos).toEqual([{ code: "data_channel_permissions", message: "limited" }]);
    expect(t.problems).toMatchObject([{ source: "protocol" }]);
    expect(t.session.state.status).toBe("connected");
  });

  it("dispose() is idempotent and closes as the client's", async () => {
    const t = await connected();
    t.session.dispose();
    t.session.dispose();
    expect(t.states.filter((s) => s.status === "closed")).toEqual([
      { status: "closed", reason: { kind: "client" } },
    ]);
    t.session.setMuted(true);
    expect(t.pc().channel.sent).toEqual([]);
  });
});
