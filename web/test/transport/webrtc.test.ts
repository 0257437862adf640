import { describe, expect, it } from "vitest";
import { RealtimeConnectError } from "../../src/realtime/errors";
import { WebRtcTransport, audioBytes } from "../../src/realtime/transport/webrtc";
import type { MediaStreamLike } from "../../src/realtime/types";
import {
  FAKE_ANSWER_SDP,
  FAKE_OFFER_SDP,
  FakePeerConnection,
  FakeSender,
  FakeStream,
} from "../fakes";

function setup(prepared = false) {
  const pc = new FakePeerConnection();
  const seen = {
    opened: 0,
    closed: 0,
    messages: [] as unknown[],
    streams: [] as MediaStreamLike[],
  };
  const ahead = prepared
    ? { pc, sender: new FakeSender(), channel: pc.createDataChannel("oai-events"), offer: "prep" }
    : null;
  let built = 0;
  const transport = new WebRtcTransport({
    prepared: ahead,
    createPeerConnection: () => {
      built += 1;
      return pc;
    },
    onOpen: () => (seen.opened += 1),
    onClose: () => (seen.closed += 1),
    onMessage: (data) => seen.messages.push(data),
    onRemoteStream: (stream) => seen.streams.push(stream),
  });
  return { pc, transport, seen, ahead, built: () => built };
}

describe("WebRtcTransport", () => {
  it("builds one sendrecv audio transceiver and the oai-events channel", async () => {
    const t = setup();
    expect(t.built()).toBe(1);
    expect(t.pc.transceivers).toMatchObject([{ kind: "audio", init: { direction: "sendrecv" } }]);
    expect(t.pc.channel.label).toBe("oai-events");
    expect(t.transport.sender).toBe(t.pc.sender);
    expect(t.transport.state.status).toBe("connecting");
    await expect(t.transport.offer()).resolves.toBe(FAKE_OFFER_SDP);
  });

  it("adopts a prepared call as it is", async () => {
    const t = setup(true);
    expect(t.built()).toBe(0);
    expect(t.pc.transceivers).toEqual([]);
    expect(t.transport.sender).toBe(t.ahead?.sender);
    await expect(t.transport.offer()).resolves.toBe("prep");
  });

  it("carries text both ways once the channel opens", () => {
    const t = setup();
    expect(t.transport.isOpen).toBe(false);
    expect(() => t.transport.send("early")).toThrow();
    t.pc.channel.open();
    expect(t.seen.opened).toBe(1);
    expect(t.transport.isOpen).toBe(true);
    expect(t.transport.state.status).toBe("connected");
    t.transport.send("hello");
    expect(t.pc.channel.sent).toEqual(["hello"]);
    t.pc.channel.receiveRaw("raw text");
    expect(t.seen.messages).toEqual(["raw text"]);
  });

  it("keeps the call id and refuses a bad answer as invalid-answer", async () => {
    const t = setup();
    t.transport.setCallId("rtc_1");
    expect(t.transport.callId).toBe("rtc_1");
    await t.transport.applyAnswer(FAKE_ANSWER_SDP);
    expect(t.pc.remoteDescription).toEqual({ type: "answer", sdp: FAKE_ANSWER_SDP });
    t.pc.rejectRemote = new Error("bad SDP");
    const error = await t.transport.applyAnswer("nope").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RealtimeConnectError);
    expect(error).toMatchObject({ stage: "sdp", failure: "invalid-answer" });
  });

  it("reports a remote close, and nothing after its own close, which is idempotent", () => {
    const t = setup();
    t.pc.channel.open();
    t.pc.emitTrack(new FakeStream());
    expect(t.seen.streams).toHaveLength(1);
    t.transport.close();
    t.transport.close();
    expect(t.pc.closeCount).toBe(1);
    expect(t.pc.channel.closeCount).toBe(1);
    expect(t.transport.state).toEqual({ status: "closed" });
    expect(t.transport.callId).toBeNull();
    expect(t.transport.getStats()).toBeUndefined();
    t.pc.channel.receiveRaw("late");
    t.pc.channel.remoteClose();
    t.pc.emitTrack(new FakeStream());
    expect(t.seen).toMatchObject({ messages: [], closed: 0, streams: [{}] });

    const other = setup();
    other.pc.channel.remoteClose();
    expect(other.seen.closed).toBe(1);
  });
});

describe("audioBytes", () => {
  it("sums the audio RTP byte counters and skips the rest", () => {
    const report = new Map<string, unknown>([
      ["a", { type: "inbound-rtp", kind: "audio", bytesReceived: 100 }],
      ["b", { type: "inbound-rtp", kind: "audio", bytesReceived: 20 }],
      ["c", { type: "outbound-rtp", kind: "audio", bytesSent: 7 }],
      ["d", { type: "inbound-rtp", kind: "video", bytesReceived: 999 }],
      ["e", { type: "outbound-rtp", kind: "audio", bytesSent: "7" }],
      ["f", null],
    ]);
    expect(audioBytes(report)).toEqual({ inboundAudioBytes: 120, outboundAudioBytes: 7 });
    expect(audioBytes(new Map())).toEqual({ inboundAudioBytes: 0, outboundAudioBytes: 0 });
  });
});
