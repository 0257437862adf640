import { describe, expect, it } from "vitest";
import { RealtimeCallError, RealtimeConnectError } from "../src/realtime/errors";
import type { RealtimeTool } from "../src/realtime/types";
import {
  FAKE_ANSWER_SDP,
  FAKE_OFFER_SDP,
  FakeAudioElement,
  FakePeerConnection,
  FakeStream,
  deferred,
  fakeFetch,
  flush,
} from "./fakes";
import { CALLS_URL, TOKEN, connected, setup } from "./harness";

describe("RealtimeSession.connect", () => {
  it("asks for the microphone and the token in parallel, before either answers", async () => {
    const token = deferred<string>();
    const micStream = deferred<FakeStream>();
    let tokenAsked = false;
    let micAsked = false;
    const t = setup({
      getToken: () => {
        tokenAsked = true;
        return token.promise;
      },
      getUserMedia: () => {
        micAsked = true;
        return micStream.promise;
      },
    });
    const connecting = t.session.connect();
    await flush();
    expect(tokenAsked).toBe(true);
    expect(micAsked).toBe(true);
    // Nothing is posted until both are in hand.
    expect(t.fetch.requests).toHaveLength(0);
    token.resolve(TOKEN);
    await flush();
    expect(t.fetch.requests).toHaveLength(0);
    micStream.resolve(t.mic);
    await flush();
    expect(t.fetch.requests).toHaveLength(1);
    t.pc.channel.open();
    await connecting;
    expect(t.session.state.status).toBe("connected");
  });

  it("asks for the microphone and the token before it builds the peer connection", async () => {
    const order: string[] = [];
    const t = setup({
      getToken: async () => {
        order.push("token");
        return TOKEN;
      },
      getUserMedia: async () => {
        order.push("microphone");
        return new FakeStream();
      },
      createPeerConnection: () => {
        order.push("peer connection");
        return new FakePeerConnection();
      },
    });
    void t.session.connect().catch(() => undefined);
    // Both are asked for synchronously inside connect(), ahead of the peer connection.
    expect(order).toEqual(["microphone", "token", "peer connection"]);
    t.session.dispose();
  });

  it("fails cleanly when the peer connection cannot be built, releasing a late microphone", async () => {
    const micStream = deferred<FakeStream>();
    const t = setup({
      getUserMedia: () => micStream.promise,
      getToken: () => Promise.reject(new Error("no token either")),
      createPeerConnection: () => {
        throw new Error("RTCPeerConnection is not available");
      },
    });
    await expect(t.session.connect()).rejects.toMatchObject({ stage: "channel" });
    expect(t.session.state.status).toBe("closed");
    micStream.resolve(t.mic);
    await flush();
    expect(t.mic.tracks.every((track) => track.stopped)).toBe(true);
  });

  it("puts the track on the sender alongside the SDP exchange, not before it", async () => {
    const sent = deferred<void>();
    const pc = new FakePeerConnection();
    const addTransceiver = pc.addTransceiver.bind(pc);
    pc.addTransceiver = (kind, init) => {
      const added = addTransceiver(kind, init);
      const replaceTrack = added.sender.replaceTrack.bind(added.sender);
      added.sender.replaceTrack = async (track) => {
        await sent.promise;
        return replaceTrack(track);
      };
      return added;
    };
    const t = setup({ createPeerConnection: () => pc });
    const connecting = t.session.connect();
    await flush();
    expect(t.fetch.requests).toHaveLength(1);
    // The answer waits for the track, so the call never starts without the microphone.
    expect(pc.remoteDescription).toBeNull();
    expect(t.session.mic.live).toBe(false);
    sent.resolve();
    await flush();
    expect(pc.remoteDescription?.sdp).toBe(FAKE_ANSWER_SDP);
    expect(pc.sender.current).toBe(t.mic.tracks[0]);
    expect(t.session.mic.live).toBe(true);
    pc.channel.open();
    await connecting;
  });

  it("fails at the microphone stage when the track cannot be sent", async () => {
    const pc = new FakePeerConnection();
    const addTransceiver = pc.addTransceiver.bind(pc);
    pc.addTransceiver = (kind, init) => {
      const added = addTransceiver(kind, init);
      added.sender.failNext = new Error("InvalidModificationError");
      return added;
    };
    const t = setup({ createPeerConnection: () => pc });
    await expect(t.session.connect()).rejects.toMatchObject({
      stage: "microphone",
      message: expect.stringContaining("Could not send the microphone"),
    });
    expect(t.session.state.status).toBe("closed");
    expect(pc.remoteDescription).toBeNull();
    expect(t.mic.tracks[0]?.stopped).toBe(true);
  });

  it("posts the offer to the calls URL with the secret and applies the answer", async () => {
    const t = await connected();
    expect(t.pc.transceivers).toHaveLength(1);
    expect(t.pc.transceivers[0]).toMatchObject({ kind: "audio", init: { direction: "sendrecv" } });
    expect(t.pc.channels.map((c) => c.label)).toEqual(["oai-events"]);
    expect(t.pc.sender.current).toBe(t.mic.tracks[0]);

    expect(t.fetch.requests).toHaveLength(1);
    const [request] = t.fetch.requests;
    expect(request).toMatchObject({
      url: CALLS_URL,
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/sdp" },
      body: FAKE_OFFER_SDP,
    });
    expect(t.pc.localDescription?.sdp).toBe(FAKE_OFFER_SDP);
    expect(t.pc.remoteDescription).toEqual({ type: "answer", sdp: FAKE_ANSWER_SDP });
    expect(t.session.callId).toBe("rtc_test123");
    expect(t.states.map((s) => s.status)).toEqual(["connecting", "connected"]);
    expect(t.session.state).toEqual({ status: "connected", callId: "rtc_test123" });
    expect(t.session.mic).toEqual({ muted: false, live: true });
  });

  it("records how long each step took on the injected clock", async () => {
    const token = deferred<string>();
    const t = setup({ getToken: () => token.promise });
    const connecting = t.session.connect();
    await flush();
    t.clock.advance(120);
    token.resolve(TOKEN);
    await flush();
    t.clock.advance(30);
    t.pc.channel.open();
    t.pc.channel.receive({ type: "session.created" });
    await connecting;
    expect(t.session.timings).toMatchObject({
      microphone: 0,
      offer: 0,
      token: 120,
      offerSent: 120,
      sdpAnswer: 120,
      channelOpen: 150,
      sessionCreated: 150,
    });
  });

  it("records session.created when it arrives after the channel opened", async () => {
    const t = await connected();
    t.clock.advance(40);
    t.pc.channel.receive({ type: "session.created" });
    expect(t.session.timings.sessionCreated).toBe(40);
  });

  it("surfaces OpenAI's error message from a non-2xx answer instead of parsing it as SDP", async () => {
    const body = JSON.stringify({
      error: {
        message: "Invalid ephemeral key provided.",
        type: "invalid_request_error",
        code: "invalid_api_key",
      },
    });
    const t = setup({ fetch: fakeFetch(() => ({ status: 401, body })) });
    const error = await t.session.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RealtimeConnectError);
    const connectError = error as RealtimeConnectError;
    expect(connectError.stage).toBe("sdp");
    expect(connectError.message).toContain("401");
    expect(connectError.message).toContain("Invalid ephemeral key provided.");
    expect(connectError.cause).toBeInstanceOf(RealtimeCallError);
    expect(connectError.cause).toMatchObject({ status: 401, code: "invalid_api_key" });
    expect(t.pc.remoteDescription).toBeNull();
    expect(t.session.state).toEqual({
      status: "closed",
      reason: { kind: "connect-failed", error: connectError },
    });
    expect(t.mic.tracks[0]?.stopped).toBe(true);
    expect(t.pc.closeCount).toBe(1);
  });

  it("keeps a non-JSON error body readable", async () => {
    const t = setup({
      fetch: fakeFetch(() => ({ status: 502, statusText: "Bad Gateway", body: "upstream hiccup" })),
    });
    await expect(t.session.connect()).rejects.toThrow(/HTTP 502.*upstream hiccup/);
  });

  it("rejects a 2xx answer that is not SDP", async () => {
    const t = setup({ fetch: fakeFetch(() => ({ status: 200, body: '{"ok":true}' })) });
    await expect(t.session.connect()).rejects.toMatchObject({ stage: "sdp" });
    expect(t.pc.remoteDescription).toBeNull();
  });

  it("fails at the token stage, stops the microphone and posts nothing", async () => {
    const t = setup({
      getToken: async () => {
        throw new Error("Try again in 4 s.");
      },
    });
    const error = await t.session.connect().catch((e: unknown) => e);
    expect(error).toMatchObject({ stage: "token", message: "Try again in 4 s." });
    expect(t.fetch.requests).toHaveLength(0);
    await flush();
    expect(t.mic.tracks[0]?.stopped).toBe(true);
  });

  it("fails at the microphone stage with a readable message and posts nothing", async () => {
    const denied = Object.assign(new Error("Permission denied"), { name: "NotAllowedError" });
    const t = setup({
      getUserMedia: async () => {
        throw denied;
      },
    });
    const error = await t.session.connect().catch((e: unknown) => e);
    expect(error).toMatchObject({ stage: "microphone", message: "Microphone access was denied." });
    expect((error as RealtimeConnectError).cause).toBe(denied);
    expect(t.fetch.requests).toHaveLength(0);
  });

  it("times out when the channel never opens after the answer", async () => {
    const t = setup({ deadlines: { channel: 10_000 } });
    const connecting = t.session.connect().catch((e: unknown) => e);
    await flush();
    t.clock.advance(9_999);
    expect(t.session.state.status).toBe("connecting");
    t.clock.advance(1);
    const error = await connecting;
    expect(error).toMatchObject({ stage: "channel" });
    expect(t.session.state.status).toBe("closed");
    expect(t.mic.tracks[0]?.stopped).toBe(true);
  });

  it("refuses a second connect", async () => {
    const t = await connected();
    await expect(t.session.connect()).rejects.toThrow(/idle/);
  });
});

describe("sending", () => {
  it("queues events until the channel opens and sends them in order, after the tool setup", async () => {
    const tool: RealtimeTool = {
      name: "get_local_time",
      description: "Time",
      parameters: { type: "object", properties: {} },
      handler: () => "noon",
    };
    const t = setup({ tools: [tool] });
    t.session.updateSession({ instructions: "Be brief." });
    t.session.send({ type: "response.create" });
    const connecting = t.session.connect();
    await flush();
    expect(t.pc.channel.sent).toEqual([]);
    t.pc.channel.open();
    await connecting;
    const sent = t.pc.channel.sentEvents;
    expect(sent.map((e) => e.type)).toEqual([
      "session.update",
      "session.update",
      "response.create",
    ]);
    expect(sent[0]).toEqual({
      type: "session.update",
      session: {
        type: "realtime",
        tools: [
          {
            type: "function",
            name: "get_local_time",
            description: "Time",
            parameters: { type: "object", properties: {} },
          },
        ],
        tool_choice: "auto",
      },
    });
    expect(sent[1]).toEqual({
      type: "session.update",
      session: { type: "realtime", instructions: "Be brief." },
    });
  });

  it("sends at once when open, and drops sends after close", async () => {
    const t = await connected();
    expect(t.session.send({ type: "input_audio_buffer.clear" })).toBe(true);
    expect(t.pc.channel.sentTypes).toEqual(["input_audio_buffer.clear"]);
    t.session.dispose();
    expect(t.session.send({ type: "response.create" })).toBe(false);
  });

  it("sendText adds the message to the log and asks for a response", async () => {
    const t = await connected();
    expect(t.session.sendText("  hello there ")).toBe(true);
    expect(t.session.sendText("   ")).toBe(false);
    expect(t.pc.channel.sentEvents).toEqual([
      {
        type: "conversation.item.create",
        item: {
          type: "message",
          role: "user",
          content: [{ type: "input_text", text: "hello there" }],
        },
      },
      { type: "response.create" },
    ]);
    expect(t.session.conversation).toEqual([
      { kind: "user", id: "local_1", source: "text", text: "hello there", status: "sending" },
    ]);
    // The server's copy lends the entry its real id.
    t.pc.channel.receive({
      type: "conversation.item.added",
      item: {
        id: "item_u1",
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: "hello there" }],
      },
    });
    expect(t.session.conversation[0]).toMatchObject({ id: "item_u1", status: "done" });
  });
});

describe("server events", () => {
  it("reports malformed messages without throwing and keeps going", async () => {
    const t = await connected();
    const problems: unknown[] = [];
    t.session.on("problem", (p) => problems.push(p));
    t.pc.channel.receiveRaw("{not json");
    t.pc.channel.receiveRaw(JSON.stringify({ no: "type" }));
    t.pc.channel.receiveRaw(new Uint8Array([1]));
    // A known type with a broken body is reported, not thrown.
    t.pc.channel.receiveRaw(JSON.stringify({ type: "conversation.item.added" }));
    expect(problems).toHaveLength(4);
    expect(problems.every((p) => (p as { source: string }).source === "protocol")).toBe(true);
    t.pc.channel.receive({ type: "input_audio_buffer.speech_started", item_id: "x" });
    expect(t.session.speaking.user).toBe(true);
  });

  it("emits typed server events", async () => {
    const t = await connected();
    const seen: string[] = [];
    t.session.onServerEvent("output_audio_buffer.started", (event) => seen.push(event.response_id));
    t.pc.channel.receive({ type: "output_audio_buffer.started", response_id: "resp_x" });
    t.pc.channel.receive({ type: "output_audio_buffer.stopped", response_id: "resp_x" });
    expect(seen).toEqual(["resp_x"]);
  });
});

describe("dispose", () => {
  it("reports the speakers silent and the microphone offline before closed", async () => {
    const t = await connected();
    t.pc.channel.receive({ type: "input_audio_buffer.speech_started" });
    t.pc.channel.receive({ type: "output_audio_buffer.started", response_id: "resp_1" });
    const seen: string[] = [];
    t.session.on("speaking", (s) => seen.push(`speaking ${s.user} ${s.assistant}`));
    t.session.on("mic", (mic) => seen.push(`mic live ${mic.live}`));
    t.session.on("state", (state) => seen.push(state.status));
    t.session.dispose();
    expect(seen).toEqual(["speaking false false", "mic live false", "closed"]);
  });

  it("dispose is idempotent and releases everything once", async () => {
    const audio = new FakeAudioElement();
    const t = await connected({ audioElement: audio });
    const remote = new FakeStream();
    t.pc.emitTrack(remote);
    expect(audio.srcObject).toBe(remote);
    expect(audio.playCount).toBe(1);

    t.session.dispose();
    t.session.dispose();
    expect(t.states.map((s) => s.status)).toEqual(["connecting", "connected", "closed"]);
    expect(t.session.state).toEqual({ status: "closed", reason: { kind: "client" } });
    expect(t.mic.tracks[0]?.stopCount).toBe(1);
    expect(t.pc.closeCount).toBe(1);
    expect(t.pc.channel.closeCount).toBe(1);
    expect(audio.srcObject).toBeNull();
    expect(t.clock.pendingTimers).toBe(0);
    // Events after close are ignored.
    t.pc.channel.receive({ type: "input_audio_buffer.speech_started" });
    expect(t.session.speaking.user).toBe(false);
  });

  it("dispose while connecting aborts, and stops a microphone that arrives late", async () => {
    const micStream = deferred<FakeStream>();
    const t = setup({ getUserMedia: () => micStream.promise });
    const connecting = t.session.connect().catch((e: unknown) => e);
    await flush();
    t.session.dispose();
    micStream.resolve(t.mic);
    const error = await connecting;
    expect(error).toMatchObject({ stage: "aborted" });
    expect(t.session.state).toEqual({ status: "closed", reason: { kind: "client" } });
    expect(t.mic.tracks[0]?.stopped).toBe(true);
    expect(t.fetch.requests).toHaveLength(0);
  });

  it("does not report connected when disposed as the channel opens", async () => {
    const t = setup();
    const connecting = t.session.connect().catch((e: unknown) => e);
    await flush();
    // Runs after the session's own open handler, before connect() resumes.
    t.pc.channel.addEventListener("open", () => t.session.dispose());
    t.pc.channel.open();
    expect(await connecting).toMatchObject({ stage: "aborted" });
    expect(t.states.map((s) => s.status)).toEqual(["connecting", "closed"]);
    expect(t.session.state).toEqual({ status: "closed", reason: { kind: "client" } });
  });

  it("aborts the SDP request when disposed during it", async () => {
    const answer = deferred<{ status: number; body: string }>();
    let signal: AbortSignal | undefined;
    const t = setup({
      fetch: fakeFetch((request) => {
        signal = request.signal;
        return answer.promise;
      }),
    });
    const connecting = t.session.connect().catch((e: unknown) => e);
    await flush();
    t.session.dispose();
    expect(signal?.aborted).toBe(true);
    answer.resolve({ status: 201, body: FAKE_ANSWER_SDP });
    expect(await connecting).toMatchObject({ stage: "aborted" });
    expect(t.pc.remoteDescription).toBeNull();
  });

  it("reports blocked autoplay as a problem", async () => {
    const audio = new FakeAudioElement();
    audio.rejectPlay = new Error("NotAllowedError");
    const t = await connected({ audioElement: audio });
    const problems: unknown[] = [];
    t.session.on("problem", (p) => problems.push(p));
    t.pc.emitTrack(new FakeStream());
    await flush();
    expect(problems).toMatchObject([{ source: "audio" }]);
  });

  it("sums audio bytes from the statistics", async () => {
    const t = await connected();
    t.pc.stats.set("a", { type: "inbound-rtp", kind: "audio", bytesReceived: 1200 });
    t.pc.stats.set("b", { type: "outbound-rtp", kind: "audio", bytesSent: 800 });
    t.pc.stats.set("c", { type: "inbound-rtp", kind: "video", bytesReceived: 99 });
    expect(await t.session.getStats()).toEqual({
      inboundAudioBytes: 1200,
      outboundAudioBytes: 800,
    });
  });
});

describe("RealtimeSession.connect with the microphone already allowed", () => {
  it("posts the offer before the microphone opens; applies the answer once its track is on", async () => {
    const micStream = deferred<FakeStream>();
    const t = setup({
      microphoneGranted: async () => true,
      getUserMedia: () => micStream.promise,
    });
    const connecting = t.session.connect();
    await flush();
    expect(t.fetch.requests).toHaveLength(1);
    // The answer is in, but the call does not start without the microphone.
    expect(t.pc.remoteDescription).toBeNull();
    expect(t.session.mic.live).toBe(false);
    micStream.resolve(t.mic);
    await flush();
    expect(t.pc.sender.current).toBe(t.mic.tracks[0]);
    expect(t.pc.remoteDescription?.sdp).toBe(FAKE_ANSWER_SDP);
    expect(t.session.mic.live).toBe(true);
    t.pc.channel.open();
    await connecting;
    expect(t.session.localStream).toBe(t.mic);
  });

  it("waits for the microphone when it is not allowed yet (a prompt may be showing)", async () => {
    for (const microphoneGranted of [async () => false, () => Promise.reject(new Error("?"))]) {
      const micStream = deferred<FakeStream>();
      const t = setup({ microphoneGranted, getUserMedia: () => micStream.promise });
      const connecting = t.session.connect();
      await flush();
      expect(t.fetch.requests).toHaveLength(0);
      micStream.resolve(t.mic);
      await flush();
      expect(t.fetch.requests).toHaveLength(1);
      t.pc.channel.open();
      await connecting;
    }
  });

  it("fails at the microphone stage when the allowed microphone then fails, and applies no answer", async () => {
    const micStream = deferred<FakeStream>();
    const t = setup({
      microphoneGranted: async () => true,
      getUserMedia: () => micStream.promise,
    });
    const connecting = t.session.connect().catch((e: unknown) => e);
    await flush();
    expect(t.fetch.requests).toHaveLength(1);
    micStream.reject(Object.assign(new Error("busy"), { name: "NotReadableError" }));
    expect(await connecting).toMatchObject({ stage: "microphone", failure: "in-use" });
    expect(t.pc.remoteDescription).toBeNull();
    expect(t.pc.closeCount).toBe(1);
    expect(t.session.state.status).toBe("closed");
  });

  it("does not attach a microphone that opens after the session closed", async () => {
    const micStream = deferred<FakeStream>();
    const t = setup({
      microphoneGranted: async () => true,
      getUserMedia: () => micStream.promise,
    });
    const streams: unknown[] = [];
    t.session.on("local-stream", (stream) => streams.push(stream));
    const connecting = t.session.connect().catch((e: unknown) => e);
    await flush();
    t.session.dispose();
    micStream.resolve(t.mic);
    expect(await connecting).toMatchObject({ stage: "aborted" });
    await flush();
    expect(streams).toEqual([]);
    expect(t.mic.tracks[0]?.stopped).toBe(true);
    expect(t.pc.sender.replaced).toEqual([]);
  });
});
