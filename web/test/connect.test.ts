import { describe, expect, it } from "vitest";
import { DEFAULT_DEADLINES } from "../src/realtime/call";
import { asConnectError, runConnect, type ConnectRun } from "../src/realtime/connect";
import { RealtimeConnectError } from "../src/realtime/errors";
import type { SdpExchange } from "../src/realtime/exchange";
import { Microphone } from "../src/realtime/microphone";
import type { PreparedCall } from "../src/realtime/prepare";
import { WebRtcTransport } from "../src/realtime/transport/webrtc";
import {
  FAKE_ANSWER_SDP,
  FAKE_OFFER_SDP,
  FakeClock,
  FakePeerConnection,
  FakeStream,
  deferred,
  flush,
} from "./fakes";

/** One run of the connect steps over fakes, with the order of what happened recorded. */
function setup(overrides: Partial<ConnectRun> = {}) {
  const pc = new FakePeerConnection();
  const steps: string[] = [];
  const offers: string[] = [];
  const opened = deferred<void>();
  const mic = deferred<FakeStream>();
  const exchange: SdpExchange = {
    exchangeOffer: async (offer) => {
      offers.push(offer);
      return { answer: FAKE_ANSWER_SDP, callId: "rtc_1" };
    },
  };
  const run: ConnectRun = {
    source: { getUserMedia: () => mic.promise, microphoneGranted: async () => false },
    preparedCall: undefined,
    exchange,
    microphone: new Microphone({
      strategy: "standard",
      onChange: () => undefined,
      onProblem: () => undefined,
    }),
    clock: new FakeClock(),
    deadlines: DEFAULT_DEADLINES,
    signal: new AbortController().signal,
    opened: opened.promise,
    mark: (step) => steps.push(step),
    openTransport: (prepared: PreparedCall | null) =>
      new WebRtcTransport({
        prepared,
        createPeerConnection: () => pc,
        onOpen: () => undefined,
        onClose: () => undefined,
        onMessage: () => undefined,
        onRemoteStream: () => undefined,
      }),
    onLocalStream: () => steps.push("local-stream"),
    ...overrides,
  };
  return { run, pc, steps, offers, opened, mic };
}

describe("runConnect", () => {
  it("sends the offer once the microphone is open, applies the answer, waits for the channel", async () => {
    const t = setup();
    const connecting = runConnect(t.run);
    await flush();
    expect(t.offers).toEqual([]);
    t.mic.resolve(new FakeStream());
    await flush();
    expect(t.offers).toEqual([FAKE_OFFER_SDP]);
    expect(t.pc.remoteDescription).toEqual({ type: "answer", sdp: FAKE_ANSWER_SDP });
    t.opened.resolve();
    const transport = await connecting;
    expect(transport.callId).toBe("rtc_1");
    expect(t.steps).toEqual([
      "token",
      "offer",
      "microphone",
      "offerSent",
      "local-stream",
      "sdpAnswer",
    ]);
  });

  it("does not wait for a microphone already allowed", async () => {
    const t = setup();
    t.run.source = { getUserMedia: () => t.mic.promise, microphoneGranted: async () => true };
    void runConnect(t.run).catch(() => undefined);
    await flush();
    expect(t.offers).toEqual([FAKE_OFFER_SDP]);
    expect(t.pc.remoteDescription).toBeNull();
  });

  it("fails at the sdp stage as rejected when the exchange throws", async () => {
    const t = setup({
      exchange: {
        exchangeOffer: async () => {
          throw new Error("HTTP 500");
        },
      },
    });
    t.mic.resolve(new FakeStream());
    const error = await runConnect(t.run).catch((e: unknown) => e);
    expect(error).toMatchObject({ stage: "sdp", failure: "rejected", message: "HTTP 500." });
  });
});

describe("asConnectError", () => {
  it("keeps a connect error and wraps anything else at the stage given", () => {
    const own = new RealtimeConnectError("token", "token", "No key");
    expect(asConnectError(own, "sdp", "rejected")).toBe(own);
    const wrapped = asConnectError("boom", "channel", "connection");
    expect(wrapped).toMatchObject({ stage: "channel", failure: "connection", message: "boom." });
    expect(wrapped.cause).toBe("boom");
  });
});
