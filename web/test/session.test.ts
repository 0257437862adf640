import { describe, expect, it } from "vitest";
import { RealtimeSession, type RealtimeSessionOptions } from "../src/realtime/session";
import { RealtimeCallError, RealtimeConnectError } from "../src/realtime/errors";
import type { RealtimeSessionState, RealtimeTool } from "../src/realtime/types";
import {
  FAKE_ANSWER_SDP,
  FAKE_OFFER_SDP,
  FakeAudioElement,
  FakeClock,
  FakePeerConnection,
  FakeStream,
  deferred,
  fakeFetch,
  flush,
} from "./fakes";

const TOKEN = "ek_test_secret";
const CALLS_URL = "http://127.0.0.1:8790/v1/realtime/calls";

function setup(overrides: Partial<RealtimeSessionOptions> = {}) {
  const clock = new FakeClock();
  const pcs: FakePeerConnection[] = [];
  const mic = new FakeStream();
  const fetch = fakeFetch();
  let micRequests = 0;
  const options: RealtimeSessionOptions = {
    getToken: async () => TOKEN,
    callsUrl: CALLS_URL,
    createPeerConnection: () => {
      const pc = new FakePeerConnection();
      pcs.push(pc);
      return pc;
    },
    getUserMedia: async () => {
      micRequests += 1;
      return mic;
    },
    fetch,
    clock,
    isAndroid: false,
    ...overrides,
  };
  const session = new RealtimeSession(options);
  const states: RealtimeSessionState[] = [];
  session.on("state", (state) => states.push(state));
  return {
    session,
    clock,
    mic,
    fetch,
    states,
    get micRequests() {
      return micRequests;
    },
    get pc(): FakePeerConnection {
      const pc = pcs[0];
      if (!pc) throw new Error("no peer connection yet");
      return pc;
    },
  };
}

/** Connects through the fakes: waits for the SDP exchange, then opens the channel. */
async function connected(overrides: Partial<RealtimeSessionOptions> = {}) {
  const t = setup(overrides);
  const connecting = t.session.connect();
  await flush();
  t.pc.channel.open();
  await connecting;
  return t;
}

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
      sdpAnswer: 120,
      channelOpen: 150,
      sessionCreated: 150,
    });
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
    const t = setup({ channelOpenTimeoutMs: 10_000 });
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
      { kind: "user", id: "local_1", source: "text", text: "hello there", status: "done" },
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
    expect(t.session.conversation[0]?.id).toBe("item_u1");
  });
});

/** Plays the server side of a response whose audio started at `startAt`. */
function startAudioResponse(t: Awaited<ReturnType<typeof connected>>, startAt: number) {
  const ch = t.pc.channel;
  ch.receive({ type: "response.created", response: { id: "resp_1", status: "in_progress" } });
  ch.receive({
    type: "response.output_item.added",
    response_id: "resp_1",
    output_index: 0,
    item: { id: "item_a1", type: "message", role: "assistant", content: [] },
  });
  t.clock.advance(startAt - t.clock.now());
  ch.receive({ type: "output_audio_buffer.started", response_id: "resp_1" });
}

describe("interrupt", () => {
  it("cancels, clears and truncates at the milliseconds played since the audio started", async () => {
    const t = await connected();
    t.clock.advance(200); // response.created arrives before the audio starts
    startAudioResponse(t, 1_000);
    expect(t.session.speaking.assistant).toBe(true);
    t.clock.advance(1_234.7);
    expect(t.session.interrupt()).toBe(true);
    expect(t.pc.channel.sentEvents).toEqual([
      { type: "response.cancel" },
      { type: "output_audio_buffer.clear" },
      {
        type: "conversation.item.truncate",
        item_id: "item_a1",
        content_index: 0,
        audio_end_ms: 1_234,
      },
    ]);
    expect(t.session.speaking.assistant).toBe(false);
    expect(t.session.conversation.find((e) => e.id === "item_a1")).toMatchObject({
      status: "interrupted",
    });
  });

  it("does not cancel a response that is already done but still playing", async () => {
    const t = await connected();
    startAudioResponse(t, 500);
    t.pc.channel.receive({
      type: "response.done",
      response: { id: "resp_1", status: "completed", output: [] },
    });
    t.clock.advance(800);
    expect(t.session.interrupt()).toBe(true);
    expect(t.pc.channel.sentEvents).toEqual([
      { type: "output_audio_buffer.clear" },
      {
        type: "conversation.item.truncate",
        item_id: "item_a1",
        content_index: 0,
        audio_end_ms: 800,
      },
    ]);
  });

  it("cancels a response whose audio has not started, without a truncate", async () => {
    const t = await connected();
    t.pc.channel.receive({ type: "response.created", response: { id: "resp_1" } });
    expect(t.session.interrupt()).toBe(true);
    expect(t.pc.channel.sentTypes).toEqual(["response.cancel", "output_audio_buffer.clear"]);
  });

  it("does nothing once the audio has stopped", async () => {
    const t = await connected();
    startAudioResponse(t, 100);
    t.pc.channel.receive({ type: "response.done", response: { id: "resp_1", output: [] } });
    t.clock.advance(3_000);
    t.pc.channel.receive({ type: "output_audio_buffer.stopped", response_id: "resp_1" });
    t.clock.advance(500);
    expect(t.session.interrupt()).toBe(false);
    expect(t.pc.channel.sent).toEqual([]);
  });

  it("never truncates past what played when the item id arrives late", async () => {
    const t = await connected();
    const ch = t.pc.channel;
    ch.receive({ type: "response.created", response: { id: "resp_2" } });
    t.clock.advance(50);
    ch.receive({ type: "output_audio_buffer.started", response_id: "resp_2" });
    t.clock.advance(300);
    ch.receive({
      type: "response.output_item.added",
      response_id: "resp_2",
      output_index: 0,
      item: { id: "item_late", type: "message", role: "assistant", content: [] },
    });
    t.clock.advance(400);
    t.session.interrupt();
    expect(ch.sentEvents.at(-1)).toEqual({
      type: "conversation.item.truncate",
      item_id: "item_late",
      content_index: 0,
      audio_end_ms: 700,
    });
  });
});

describe("tools", () => {
  function functionCall(t: Awaited<ReturnType<typeof connected>>, args: string, name = "add") {
    const ch = t.pc.channel;
    ch.receive({ type: "response.created", response: { id: "resp_t" } });
    ch.receive({
      type: "response.function_call_arguments.done",
      response_id: "resp_t",
      item_id: "item_fc",
      output_index: 0,
      call_id: "call_1",
      name,
      arguments: args,
    });
  }

  function responseDone(
    t: Awaited<ReturnType<typeof connected>>,
    status: "completed" | "cancelled" = "completed",
  ) {
    t.pc.channel.receive({
      type: "response.done",
      response: {
        id: "resp_t",
        status,
        output: [
          { type: "function_call", id: "item_fc", call_id: "call_1", name: "add", arguments: "{}" },
        ],
      },
    });
  }

  const add: RealtimeTool<{ a: number; b: number }> = {
    name: "add",
    description: "Adds two numbers",
    parameters: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } } },
    handler: ({ a, b }) => ({ sum: a + b }),
  };

  it("runs the handler, returns its result, then asks for a response once the turn is done", async () => {
    const calls: unknown[] = [];
    const t = await connected({
      tools: [
        {
          ...add,
          handler: (args, ctx) => (
            calls.push([args, ctx]),
            add.handler(args as { a: number; b: number }, ctx)
          ),
        },
      ],
    });
    t.pc.channel.sent.length = 0;
    functionCall(t, '{"a":2,"b":3}');
    await flush();
    expect(calls).toEqual([[{ a: 2, b: 3 }, { callId: "call_1" }]]);
    // The output may go at once, but a new response must wait for this one to end.
    expect(t.pc.channel.sentEvents).toEqual([
      {
        type: "conversation.item.create",
        item: { type: "function_call_output", call_id: "call_1", output: '{"sum":5}' },
      },
    ]);
    responseDone(t);
    await flush();
    expect(t.pc.channel.sentTypes).toEqual(["conversation.item.create", "response.create"]);
    expect(calls).toHaveLength(1); // the call listed again in response.done is not re-run
    expect(t.session.conversation).toContainEqual({
      kind: "tool",
      id: "call_1",
      name: "add",
      arguments: '{"a":2,"b":3}',
      status: "done",
      output: '{"sum":5}',
    });
  });

  it("waits for a slow handler that finishes after the response is done", async () => {
    const gate = deferred<string>();
    const t = await connected({ tools: [{ ...add, handler: () => gate.promise }] });
    t.pc.channel.sent.length = 0;
    functionCall(t, "{}");
    responseDone(t);
    await flush();
    expect(t.pc.channel.sent).toEqual([]);
    gate.resolve("done later");
    await flush();
    expect(t.pc.channel.sentEvents).toEqual([
      {
        type: "conversation.item.create",
        item: { type: "function_call_output", call_id: "call_1", output: "done later" },
      },
      { type: "response.create" },
    ]);
  });

  it("sends a throwing handler's error back to the model and still continues", async () => {
    const t = await connected({
      tools: [
        {
          ...add,
          handler: () => {
            throw new Error("the clock is broken");
          },
        },
      ],
    });
    t.pc.channel.sent.length = 0;
    functionCall(t, "{}");
    responseDone(t);
    await flush();
    expect(t.pc.channel.sentEvents).toEqual([
      {
        type: "conversation.item.create",
        item: {
          type: "function_call_output",
          call_id: "call_1",
          output: '{"error":"the clock is broken"}',
        },
      },
      { type: "response.create" },
    ]);
    expect(t.session.conversation.find((e) => e.id === "call_1")).toMatchObject({
      status: "error",
    });
  });

  it("answers unknown tools and malformed arguments with an error", async () => {
    const t = await connected({ tools: [add] });
    t.pc.channel.sent.length = 0;
    functionCall(t, "{}", "nope");
    await flush();
    expect(t.pc.channel.sentEvents[0]).toMatchObject({
      item: { output: '{"error":"Unknown tool \\"nope\\"."}' },
    });

    const t2 = await connected({ tools: [add] });
    t2.pc.channel.sent.length = 0;
    functionCall(t2, "{not json");
    await flush();
    expect(t2.pc.channel.sentEvents[0]).toMatchObject({
      item: { output: '{"error":"The arguments are not valid JSON."}' },
    });
  });

  it("does not start a new response after a cancelled one", async () => {
    const t = await connected({ tools: [add] });
    t.pc.channel.sent.length = 0;
    functionCall(t, '{"a":1,"b":1}');
    responseDone(t, "cancelled");
    await flush();
    expect(t.pc.channel.sentTypes).toEqual(["conversation.item.create"]);
  });

  it("sends the new tool list when a tool is registered while connected", async () => {
    const t = await connected();
    t.pc.channel.sent.length = 0;
    const remove = t.session.registerTool(add);
    remove();
    expect(t.pc.channel.sentEvents).toMatchObject([
      { type: "session.update", session: { tools: [{ name: "add" }] } },
      { type: "session.update", session: { tools: [] } },
    ]);
  });
});

describe("conversation log and usage", () => {
  it("builds user and assistant turns from transcript events", async () => {
    const t = await connected();
    const ch = t.pc.channel;
    ch.receive({
      type: "conversation.item.added",
      item: { id: "item_u", type: "message", role: "user", content: [{ type: "input_audio" }] },
    });
    ch.receive({
      type: "response.output_item.added",
      response_id: "r1",
      output_index: 0,
      item: { id: "item_a", type: "message", role: "assistant", content: [] },
    });
    ch.receive({ type: "response.output_audio_transcript.delta", item_id: "item_a", delta: "Hi" });
    ch.receive({
      type: "response.output_audio_transcript.delta",
      item_id: "item_a",
      delta: " you",
    });
    ch.receive({
      type: "conversation.item.input_audio_transcription.delta",
      item_id: "item_u",
      delta: "hel",
    });
    expect(t.session.conversation).toEqual([
      { kind: "user", id: "item_u", source: "voice", text: "hel", status: "in_progress" },
      { kind: "assistant", id: "item_a", text: "Hi you", status: "in_progress" },
    ]);
    ch.receive({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: "item_u",
      transcript: "hello",
    });
    ch.receive({
      type: "response.output_audio_transcript.done",
      item_id: "item_a",
      transcript: "Hi you!",
    });
    expect(t.session.conversation).toEqual([
      { kind: "user", id: "item_u", source: "voice", text: "hello", status: "done" },
      { kind: "assistant", id: "item_a", text: "Hi you!", status: "done" },
    ]);
  });

  it("settles a turn whose transcript never finished when its response ends", async () => {
    const t = await connected();
    const ch = t.pc.channel;
    for (const [response, item] of [
      ["r1", "item_1"],
      ["r2", "item_2"],
    ]) {
      ch.receive({
        type: "response.output_item.added",
        response_id: response,
        output_index: 0,
        item: { id: item, type: "message", role: "assistant", content: [] },
      });
      ch.receive({ type: "response.output_audio_transcript.delta", item_id: item, delta: "Par" });
    }
    const done = (id: string, item: string, status: "completed" | "cancelled") =>
      ch.receive({
        type: "response.done",
        response: {
          id,
          status,
          output: [{ id: item, type: "message", role: "assistant", content: [] }],
        },
      });
    done("r1", "item_1", "cancelled");
    done("r2", "item_2", "completed");
    expect(t.session.conversation.map((e) => e.status)).toEqual(["interrupted", "done"]);
  });

  it("sums usage over every response.done", async () => {
    const t = await connected();
    const usage = (input: number, output: number) => ({
      input_tokens: input,
      output_tokens: output,
      total_tokens: input + output,
      input_token_details: { text_tokens: 1, audio_tokens: input - 1, cached_tokens: 2 },
      output_token_details: { text_tokens: 3, audio_tokens: output - 3 },
    });
    t.pc.channel.receive({ type: "response.done", response: { id: "r1", usage: usage(10, 20) } });
    t.pc.channel.receive({ type: "response.done", response: { id: "r2", usage: usage(5, 7) } });
    t.pc.channel.receive({ type: "response.done", response: { id: "r3" } });
    expect(t.session.usage).toEqual({
      responses: 2,
      inputTokens: 15,
      outputTokens: 27,
      totalTokens: 42,
      inputTextTokens: 2,
      inputAudioTokens: 13,
      cachedInputTokens: 4,
      outputTextTokens: 6,
      outputAudioTokens: 21,
    });
  });

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

describe("mute", () => {
  it("mutes by disabling the track", async () => {
    const t = await connected();
    const states: unknown[] = [];
    t.session.on("mic", (mic) => states.push(mic));
    t.session.setMuted(true);
    expect(t.mic.tracks[0]?.enabled).toBe(false);
    t.session.setMuted(false);
    expect(t.mic.tracks[0]?.enabled).toBe(true);
    expect(states).toEqual([
      { muted: true, live: false },
      { muted: false, live: true },
    ]);
  });

  it("auto on Android detaches the microphone while the assistant speaks", async () => {
    const t = await connected({ isAndroid: true });
    expect(t.session.muteStrategy).toBe("aggressive");
    const track = t.mic.tracks[0];
    startAudioResponse(t, 10);
    await flush();
    expect(t.pc.sender.current).toBeNull();
    expect(t.session.mic.live).toBe(false);
    t.pc.channel.receive({ type: "output_audio_buffer.stopped", response_id: "resp_1" });
    await flush();
    expect(t.pc.sender.current).toBe(track);
    expect(t.session.mic.live).toBe(true);
  });

  it("auto elsewhere leaves the microphone attached", async () => {
    const t = await connected({ isAndroid: false });
    expect(t.session.muteStrategy).toBe("standard");
    const before = t.pc.sender.replaced.length;
    startAudioResponse(t, 10);
    await flush();
    expect(t.pc.sender.replaced).toHaveLength(before);
    expect(t.session.mic.live).toBe(true);
  });
});

describe("connection loss and dispose", () => {
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

  it("never stops a stream it was given", async () => {
    const own = new FakeStream();
    const t = await connected({ mediaStream: own });
    expect(t.micRequests).toBe(0);
    t.session.dispose();
    expect(own.tracks[0]?.stopped).toBe(false);
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
