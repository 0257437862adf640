import { describe, expect, it } from "vitest";
import { Emitter } from "../src/realtime/emitter";
import type { SdpExchange } from "../src/realtime/exchange";
import { MediaCall, type MediaCallEventMap } from "../src/realtime/mediaCall";
import { FAKE_ANSWER_SDP, FakeClock, FakePeerConnection, FakeStream, flush } from "./fakes";

interface Ping {
  type: "ping" | "hello";
  n?: number;
}

function setup(options: { opening?: Ping | null; stream?: FakeStream } = {}) {
  const events = new Emitter<MediaCallEventMap<Ping>>();
  const pcs: FakePeerConnection[] = [];
  const received: unknown[] = [];
  const log: string[] = [];
  const exchange: SdpExchange = {
    answeredBy: "backend",
    exchangeOffer: async () => ({ answer: FAKE_ANSWER_SDP, callId: "call_1" }),
  };
  const clock = new FakeClock();
  const mic = options.stream ?? new FakeStream();
  const call = new MediaCall<Ping>(
    {
      createPeerConnection: () => {
        const pc = new FakePeerConnection();
        pcs.push(pc);
        return pc;
      },
      ...(options.stream ? { mediaStream: options.stream } : { getUserMedia: async () => mic }),
      clock,
      isAndroid: false,
    },
    {
      exchange,
      events,
      receive: (data) => received.push(data),
      ...(options.opening !== undefined ? { opening: () => options.opening ?? null } : {}),
      closing: () => log.push("closing"),
    },
  );
  events.on("state", (state) => log.push(`state:${state.status}`));
  events.on("sent", (event) => log.push(`sent:${event.type}`));
  const pc = () => {
    const first = pcs[0];
    if (!first) throw new Error("no peer connection yet");
    return first;
  };
  return { call, clock, mic, log, received, pc };
}

async function connected(options: Parameters<typeof setup>[0] = {}) {
  const t = setup(options);
  const connecting = t.call.connect();
  await flush();
  t.pc().channel.open();
  await connecting;
  return t;
}

describe("MediaCall", () => {
  it("queues events sent before the channel opens; the opening event goes first", async () => {
    const t = setup({ opening: { type: "hello" } });
    expect(t.call.send({ type: "ping", n: 1 })).toBe(true);
    const connecting = t.call.connect();
    await flush();
    t.call.send({ type: "ping", n: 2 });
    t.pc().channel.open();
    await connecting;
    t.call.send({ type: "ping", n: 3 });
    expect(t.pc().channel.sentEvents).toEqual([
      { type: "hello" },
      { type: "ping", n: 1 },
      { type: "ping", n: 2 },
      { type: "ping", n: 3 },
    ]);
    expect(t.call.state).toEqual({ status: "connected", callId: "call_1" });
    expect(t.call.phase).toBe("connected");
  });

  it("hands every channel message to the session's receive", async () => {
    const t = await connected();
    t.pc().channel.receiveRaw('{"type":"x"}');
    expect(t.received).toEqual(['{"type":"x"}']);
  });

  it("closes once: the session's units stop after the media, and the state goes last", async () => {
    const t = await connected();
    t.log.length = 0;
    t.call.close({ kind: "client" });
    t.call.close({ kind: "client" });
    expect(t.log).toEqual(["closing", "state:closed"]);
    expect(t.pc().closeCount).toBe(1);
    expect(t.mic.tracks.every((track) => track.stopped)).toBe(true);
    expect(t.call.send({ type: "ping" })).toBe(false);
    expect(t.call.transport).toBeNull();
  });

  it("never stops a microphone stream it was given", async () => {
    const given = new FakeStream();
    const t = await connected({ stream: given });
    t.call.close({ kind: "client" });
    expect(given.tracks.some((track) => track.stopped)).toBe(false);
  });

  it("counts a loss only while there is a call to lose, and marks no timings before connect()", () => {
    const t = setup();
    t.call.lost({ kind: "channel-closed" });
    t.call.mark("channelOpen");
    expect(t.call.phase).toBe("idle");
    expect(t.call.timings).toEqual({});
  });

  it("a channel that closes ends the call as channel-closed", async () => {
    const t = await connected();
    t.pc().channel.remoteClose();
    expect(t.call.state).toEqual({ status: "closed", reason: { kind: "channel-closed" } });
  });
});
