/**
 * End-to-end calls over real WebRTC on loopback: werift as the browser, the stand-in's
 * werift as upstream. Waits are event-driven with timeouts; nothing asserts wall-clock timing.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { StandinState } from "../src/server.js";
import { startStandin, type Standin } from "../src/server.js";
import { CLIENT_CONFIG, TestClient, mintSecret, until } from "./helpers/client.js";
import { HOOK_MS, REAL_TIME } from "./helpers/timeouts.js";

const AUDIO_MS = 1200;
const VANISHING_CLIENT = fileURLToPath(new URL("./helpers/vanishing-client.ts", import.meta.url));
const PACKETS = AUDIO_MS / 20;

let standin: Standin;
const clients: TestClient[] = [];

beforeAll(async () => {
  standin = await startStandin({ responseAudioMs: AUDIO_MS });
}, HOOK_MS);
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
}, HOOK_MS);
afterAll(async () => {
  await standin.close();
}, HOOK_MS);

async function open(session: object = { type: "realtime" }, target: Standin = standin) {
  const secret = await mintSecret(target.baseUrl, { session });
  const client = await TestClient.connect(target.baseUrl, secret);
  clients.push(client);
  return client;
}

async function state(target: Standin = standin): Promise<StandinState> {
  return (await (await fetch(`${target.url}/_standin/state`)).json()) as StandinState;
}

async function callState(id: string, target: Standin = standin) {
  const call = (await state(target)).calls.find((c) => c.id === id);
  if (!call) throw new Error(`call ${id} not in state`);
  return call;
}

function say(client: TestClient, text: string) {
  client.send({
    type: "conversation.item.create",
    item: { type: "message", role: "user", content: [{ type: "input_text", text }] },
  });
}

describe("a call", REAL_TIME, () => {
  it("runs a full spoken conversation with the GA event sequence and real-time audio", async () => {
    const client = await open({
      type: "realtime",
      instructions: "Be brief.",
      audio: { output: { voice: "marin" } },
    });
    const created = client.events[0];
    expect(created?.type).toBe("session.created");
    if (created?.type === "session.created")
      expect(created.session).toMatchObject({
        type: "realtime",
        instructions: "Be brief.",
        audio: { output: { voice: "marin" } },
      });

    say(client, "Hello stand-in");
    const added = await client.waitFor("conversation.item.added");
    expect(added.item).toMatchObject({ type: "message", role: "user" });
    await client.waitFor("conversation.item.done");
    const from = client.events.length;
    client.send({ type: "response.create" });
    const done = await client.waitFor("response.done");
    await client.waitFor("output_audio_buffer.stopped");

    const sequence = client.typesSince(from).filter((t) => !t.endsWith(".delta"));
    expect(sequence).toEqual([
      "response.created",
      "response.output_item.added",
      "conversation.item.added",
      "response.content_part.added",
      "output_audio_buffer.started",
      "response.output_audio_transcript.done",
      "response.content_part.done",
      "response.output_item.done",
      "conversation.item.done",
      "response.done",
      "output_audio_buffer.stopped",
    ]);
    expect(done.response.status).toBe("completed");
    expect(done.response.output?.[0]).toMatchObject({
      type: "message",
      role: "assistant",
      content: [{ type: "output_audio", transcript: 'You said: "Hello stand-in"' }],
    });
    expect(done.response.usage?.total_tokens).toBeGreaterThan(0);

    // The audio really crossed the wire, and the mic audio was counted.
    const call = await until(
      "the response's RTP",
      () => callState(client.callId),
      (c) => c.rtpPacketsOut === PACKETS,
    );
    await until(
      "client RTP",
      () => client.rtpIn,
      (n) => n >= PACKETS - 2,
    );
    expect(call.audioMsSent).toBe(AUDIO_MS);
    expect(call.rtpPacketsIn).toBeGreaterThan(0);
    // The client's mic runs steadily (silence frames, 3 bytes each): one burst, up to now.
    expect(call.rtpBytesIn).toBe(call.rtpPacketsIn * 3);
    expect(call.rtpInBursts).toHaveLength(1);
    expect(call.rtpInBursts[0]).toMatchObject({
      packets: call.rtpPacketsIn,
      bytes: call.rtpBytesIn,
    });
    expect(call.rtpInBursts[0]?.startedAt).toBeGreaterThanOrEqual(call.startedAt);
    expect(call.rtpInBursts[0]?.endedAt).toBeLessThanOrEqual(Date.now());
    expect(call.state).toBe("connected");
    expect(call.connectMs).toBeGreaterThan(0);
    expect(call.eventsReceived).toEqual(["conversation.item.create", "response.create"]);
    expect(call.eventsSent).toEqual(client.events.map((e) => e.type));
  });

  it("reports when the mic sent: a pause in the RTP splits the bursts", async () => {
    const client = await open({ type: "realtime", audio: { input: { turn_detection: null } } });
    await until(
      "mic RTP",
      () => callState(client.callId),
      (c) => c.rtpPacketsIn >= 10,
    );
    client.stopMic();
    const pausedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const resumedAt = Date.now();
    client.startMic();
    const call = await until(
      "a second burst",
      () => callState(client.callId),
      (c) => (c.rtpInBursts[1]?.packets ?? 0) >= 10,
    );
    const [first, second] = call.rtpInBursts;
    expect(call.rtpInBursts).toHaveLength(2);
    expect(first?.endedAt).toBeLessThanOrEqual(pausedAt + 50);
    expect(second?.startedAt).toBeGreaterThanOrEqual(resumedAt - 5);
    expect((first?.packets ?? 0) + (second?.packets ?? 0)).toBe(call.rtpPacketsIn);
  });

  it("answers text-only sessions with output_text events and no audio", async () => {
    const client = await open({ type: "realtime", output_modalities: ["text"] });
    say(client, "quiet please");
    client.send({ type: "response.create" });
    const text = await client.waitFor("response.output_text.done");
    expect(text.text).toBe('You said: "quiet please"');
    await client.waitFor("response.done");
    expect(client.events.some((e) => e.type.startsWith("output_audio_buffer"))).toBe(false);
    expect((await callState(client.callId)).rtpPacketsOut).toBe(0);
  });

  it("updates the session, refuses a model change, and survives bad input", async () => {
    const client = await open();
    client.send({
      type: "session.update",
      session: { type: "realtime", instructions: "Updated." },
    });
    expect((await client.waitFor("session.updated")).session).toMatchObject({
      instructions: "Updated.",
    });
    client.send({
      type: "session.update",
      event_id: "evt_model",
      session: { type: "realtime", model: "gpt-realtime-mini" },
    });
    expect((await client.waitFor("error")).error).toMatchObject({
      type: "invalid_request_error",
      param: "session.model",
      event_id: "evt_model",
    });

    client.send("{oops");
    expect((await client.waitFor("error")).error.code).toBe("invalid_json");
    client.send('{"type":"response.audio.delta","event_id":"evt_beta"}');
    expect((await client.waitFor("error")).error).toMatchObject({
      code: "invalid_value",
      param: "type",
      event_id: "evt_beta",
    });
    client.send('{"type":"conversation.item.create"}');
    const missing = await client.waitFor("error");
    expect(missing).toMatchObject({
      type: "error",
      error: { type: "invalid_request_error", code: "missing_required_parameter", param: "item" },
    });
    expect(missing.event_id).toMatch(/^event_/);

    // Still up: a normal turn works.
    say(client, "still there?");
    client.send({ type: "response.create", response: { output_modalities: ["text"] } });
    expect((await client.waitFor("response.output_text.done")).text).toBe(
      'You said: "still there?"',
    );
    const call = await callState(client.callId);
    expect(call.state).toBe("connected");
    expect(call.eventsReceived).toEqual([
      "session.update",
      "session.update",
      "(invalid)",
      "response.audio.delta",
      "conversation.item.create",
      "conversation.item.create",
      "response.create",
    ]);
  });

  it("cancels a response: status cancelled and the audio stops early", async () => {
    const client = await open();
    say(client, "tell me a long story about werift and loopback interfaces");
    client.send({ type: "response.create" });
    await client.waitFor("output_audio_buffer.started");
    await client.waitFor("response.output_audio_transcript.delta");
    client.send({ type: "response.cancel" });
    const done = await client.waitFor("response.done");
    expect(done.response.status).toBe("cancelled");
    expect(done.response.status_details).toEqual({ type: "cancelled", reason: "client_cancelled" });
    await client.waitFor("output_audio_buffer.stopped");
    const after = await callState(client.callId);
    expect(after.audioMsSent).toBeLessThan(AUDIO_MS);
    // Nothing more is streamed for the cancelled response.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await callState(client.callId)).rtpPacketsOut).toBe(after.rtpPacketsOut);

    client.send({ type: "response.cancel", event_id: "evt_late" });
    expect((await client.waitFor("error")).error).toMatchObject({
      code: "response_cancel_not_active",
      event_id: "evt_late",
    });
  });

  it("clears the output audio buffer: cleared, and the audio stops", async () => {
    const client = await open();
    say(client, "hi");
    client.send({ type: "response.create" });
    await client.waitFor("response.output_audio_transcript.delta");
    client.send({ type: "output_audio_buffer.clear" });
    const cleared = await client.waitFor("output_audio_buffer.cleared");
    const done = await client.waitFor("response.done");
    expect(cleared.response_id).toBe(done.response.id);
    const after = await callState(client.callId);
    expect(after.audioMsSent).toBeLessThan(AUDIO_MS);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await callState(client.callId)).rtpPacketsOut).toBe(after.rtpPacketsOut);
  });

  it("truncates inside the audio generated, and refuses to truncate beyond it", async () => {
    const client = await open();
    say(client, "interrupt me");
    client.send({ type: "response.create" });
    const added = await client.waitFor("response.output_item.added");
    const itemId = added.item.id ?? "";
    await client.waitFor("response.output_audio_transcript.delta");
    client.send({ type: "response.cancel" });
    await client.waitFor("response.done");
    const sent = (await callState(client.callId)).audioMsSent;
    expect(sent).toBeGreaterThan(0);

    client.send({
      type: "conversation.item.truncate",
      item_id: itemId,
      content_index: 0,
      audio_end_ms: AUDIO_MS + 20,
    });
    const refused = await client.waitFor("error");
    expect(refused.error).toMatchObject({ code: "invalid_value", param: "audio_end_ms" });
    const length = Number(
      /^Audio content of (\d+)ms is already shorter than/.exec(refused.error.message)?.[1],
    );
    // As upstream, generation ran ahead of what was sent.
    expect(length).toBeGreaterThan(sent);
    expect(length).toBeLessThanOrEqual(AUDIO_MS);

    const heard = Math.floor(sent / 2);
    client.send({
      type: "conversation.item.truncate",
      item_id: itemId,
      content_index: 0,
      audio_end_ms: heard,
    });
    expect(await client.waitFor("conversation.item.truncated")).toMatchObject({
      item_id: itemId,
      content_index: 0,
      audio_end_ms: heard,
    });
    // Only the accepted truncation is recorded for tests to inspect.
    expect((await callState(client.callId)).truncations).toEqual([
      { itemId, audioEndMs: heard, sentMs: sent },
    ]);
  });

  it("runs the tool loop: a function call, then an answer quoting the output", async () => {
    const client = await open({
      type: "realtime",
      tools: [
        {
          type: "function",
          name: "get_weather",
          description: "Weather for a city",
          parameters: {
            type: "object",
            properties: { city: { type: "string" } },
            required: ["city"],
          },
        },
      ],
    });
    say(client, "Use get_weather for Paris");
    client.send({ type: "response.create" });
    const args = await client.waitFor("response.function_call_arguments.done");
    expect(args.name).toBe("get_weather");
    expect(JSON.parse(args.arguments)).toEqual({ city: "Use get_weather for Paris" });
    const item = await client.waitFor("response.output_item.done");
    expect(item.item).toMatchObject({
      type: "function_call",
      call_id: args.call_id,
      status: "completed",
    });
    const called = await client.waitFor("response.done");
    expect(called.response.output?.[0]?.type).toBe("function_call");
    expect(client.events.some((e) => e.type === "response.function_call_arguments.delta")).toBe(
      true,
    );

    client.send({
      type: "conversation.item.create",
      item: { type: "function_call_output", call_id: args.call_id, output: '{"sky":"clear"}' },
    });
    await client.waitFor("conversation.item.done");
    client.send({ type: "response.create" });
    const answer = await client.waitFor("response.output_audio_transcript.done");
    expect(answer.transcript).toBe('The get_weather tool returned: {"sky":"clear"}');
  });

  it("turns mic speech into VAD events, a transcript and an automatic answer", async () => {
    const client = await open({
      type: "realtime",
      output_modalities: ["text"],
      audio: {
        input: {
          transcription: { model: "gpt-4o-mini-transcribe" },
          turn_detection: { type: "server_vad", silence_duration_ms: 200 },
        },
      },
    });
    await client.speak(25);
    const started = await client.waitFor("input_audio_buffer.speech_started");
    const stopped = await client.waitFor("input_audio_buffer.speech_stopped");
    expect(stopped.item_id).toBe(started.item_id);
    expect((await client.waitFor("input_audio_buffer.committed")).item_id).toBe(started.item_id);
    const transcript = await client.waitFor(
      "conversation.item.input_audio_transcription.completed",
    );
    // 25 voiced packets of 20 ms; loopback may lose a packet in theory, never gain one.
    const ms = Number(
      /^Placeholder transcript: (\d+) ms of speech\.$/.exec(transcript.transcript)?.[1],
    );
    expect(ms).toBeGreaterThanOrEqual(400);
    expect(ms).toBeLessThanOrEqual(500);
    const answer = await client.waitFor("response.output_text.done");
    expect(answer.text).toBe(`You said: "${transcript.transcript}"`);
  });

  it("lets one secret open several calls until it expires", async () => {
    const secret = await mintSecret(standin.baseUrl);
    const first = await TestClient.connect(standin.baseUrl, secret);
    const second = await TestClient.connect(standin.baseUrl, secret);
    clients.push(first, second);
    expect(first.callId).not.toBe(second.callId);
    const calls = (await state()).calls.filter((c) => c.secret === secret);
    expect(calls).toHaveLength(2);
  });

  it("ends on hangup with the standard key", async () => {
    const client = await open();
    const closed = new Promise<void>((resolve) =>
      client.channel.stateChange.subscribe((s) => s === "closed" && resolve()),
    );
    const response = await fetch(`${standin.baseUrl}/realtime/calls/${client.callId}/hangup`, {
      method: "POST",
      headers: { authorization: "Bearer sk-test-standin-key" },
    });
    expect(response.status).toBe(200);
    await closed;
    expect(await callState(client.callId)).toMatchObject({ state: "ended", endedReason: "hangup" });
  });

  it("notices when the peer closes", async () => {
    const client = await open();
    await client.close();
    await until(
      "the call to end",
      () => callState(client.callId),
      (c) => c.state === "ended",
    );
    expect((await callState(client.callId)).endedReason).toBe("peer_closed");
  });

  it("serves 10 calls at once, each with its own conversation", async () => {
    const secret = await mintSecret(standin.baseUrl);
    const started = Date.now();
    const many = await Promise.all(
      Array.from({ length: 10 }, () => TestClient.connect(standin.baseUrl, secret)),
    );
    clients.push(...many);
    const connectAll = Date.now() - started;
    many.forEach((client, i) => {
      say(client, `caller ${i}`);
      client.send({ type: "response.create" });
    });
    const transcripts = await Promise.all(
      many.map(async (client) => {
        const done = await client.waitFor("response.done", undefined, 15_000);
        await client.waitFor("output_audio_buffer.stopped", undefined, 15_000);
        return done.response;
      }),
    );
    transcripts.forEach((response, i) =>
      expect(response.output?.[0]).toMatchObject({
        content: [{ transcript: `You said: "caller ${i}"` }],
      }),
    );
    const snapshot = await state();
    const ours = snapshot.calls.filter((c) => c.secret === secret);
    expect(ours).toHaveLength(10);
    for (const call of ours) {
      expect(call.state).toBe("connected");
      expect(call.audioMsSent).toBe(AUDIO_MS);
    }
    const connectMs = ours.map((c) => c.connectMs ?? 0);
    console.log(
      `10 concurrent calls: all connected within ${connectAll} ms; per-call ICE+DTLS ${Math.min(...connectMs)}–${Math.max(...connectMs)} ms`,
    );
  }, 30_000);
});

describe("an upstream that vanishes", REAL_TIME, () => {
  it("stops answering without a goodbye: the client's channel stays open and hears nothing more", async () => {
    const client = await open();
    const response = await fetch(`${standin.url}/_standin/calls/${client.callId}/vanish`, {
      method: "POST",
    });
    expect(response.status).toBe(200);
    const snapshot = await until(
      "the call to end",
      async () => (await state()).calls.find((c) => c.id === client.callId),
      (c) => c?.state === "ended",
    );
    expect(snapshot?.endedReason).toBe("vanished");
    const events = client.events.length;
    // The call was gone without a DTLS close or an SCTP abort: nothing tells the client.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(client.channel.readyState).toBe("open");
    expect(client.events.length).toBe(events);
    client.send({ type: "response.create" });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(client.events.length).toBe(events);
    expect(
      (await fetch(`${standin.url}/_standin/calls/rtc_nope/vanish`, { method: "POST" })).status,
    ).toBe(404);
  });
});

describe("call limits", REAL_TIME, () => {
  it("ends calls at the maximum duration with session_expired", async () => {
    const limited = await startStandin({ maxCallSeconds: 1 });
    try {
      const client = await open({ type: "realtime" }, limited);
      const error = await client.waitFor("error", undefined, 5000);
      expect(error.error).toMatchObject({ code: "session_expired" });
      await until(
        "the call to end",
        () => callState(client.callId, limited),
        (c) => c.state === "ended",
      );
      expect((await callState(client.callId, limited)).endedReason).toBe("max_duration");
    } finally {
      await limited.close();
    }
  });

  it("caps calls opened after POST /_standin/limits, and DELETE restores the default", async () => {
    const set = (body: unknown, method = "POST") =>
      fetch(`${standin.url}/_standin/limits`, {
        method,
        headers: { "Content-Type": "application/json" },
        body: method === "POST" ? JSON.stringify(body) : undefined,
      });
    expect((await set({ maxCallSeconds: 0 })).status).toBe(400);
    expect((await set({ maxCallSeconds: 1, other: 1 })).status).toBe(400);
    const limited = await set({ maxCallSeconds: 1 });
    expect(await limited.json()).toEqual({ maxCallSeconds: 1 });
    try {
      const client = await open();
      const error = await client.waitFor("error", undefined, 5000);
      expect(error.error).toMatchObject({ code: "session_expired" });
      await until(
        "the call to end",
        () => callState(client.callId),
        (c) => c.state === "ended",
      );
      expect((await callState(client.callId)).endedReason).toBe("max_duration");
    } finally {
      expect(await (await set(undefined, "DELETE")).json()).toEqual({ maxCallSeconds: 1800 });
    }
    const normal = await open();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await callState(normal.callId)).state).toBe("connected");
  });

  it("reports the conversation's items in the call's state", async () => {
    const client = await open();
    client.send({
      type: "conversation.item.create",
      item: {
        id: "restored_1_0",
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: "Earlier question" }],
      },
    });
    await client.waitFor("conversation.item.done");
    expect((await callState(client.callId)).items).toEqual([
      { id: "restored_1_0", type: "message", role: "user", text: "Earlier question" },
    ]);
  });

  it("cleans up a peer that vanishes without closing", async () => {
    const idle = await startStandin({ idleCallSeconds: 1 });
    const secret = await mintSecret(idle.baseUrl);
    const child = spawn(
      process.execPath,
      ["--import", "tsx", VANISHING_CLIENT, idle.baseUrl, secret],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    try {
      const [line] = (await once(child.stdout, "data")) as [Buffer];
      const id = line.toString().trim();
      expect((await callState(id, idle)).state).toBe("connected");
      child.kill("SIGKILL");
      await until(
        "the vanished peer's call to end",
        () => callState(id, idle),
        (c) => c.state === "ended",
      );
      expect((await callState(id, idle)).endedReason).toBe("peer_gone");
    } finally {
      child.kill("SIGKILL");
      await idle.close();
    }
  });

  it("cleans up a peer that never connects", async () => {
    const idle = await startStandin({ idleCallSeconds: 1 });
    try {
      const secret = await mintSecret(idle.baseUrl);
      const { RTCPeerConnection } = await import("werift");
      const pc = new RTCPeerConnection(CLIENT_CONFIG);
      pc.createDataChannel("oai-events");
      await pc.setLocalDescription(await pc.createOffer());
      const response = await fetch(`${idle.baseUrl}/realtime/calls`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/sdp" },
        body: pc.localDescription?.sdp,
      });
      expect(response.status).toBe(201);
      await pc.close(); // never applies the answer: the stand-in's ICE never completes
      const id = response.headers.get("location")?.split("/").at(-1) ?? "";
      expect((await callState(id, idle)).state).toBe("connecting");
      await until(
        "the idle call to end",
        () => callState(id, idle),
        (c) => c.state === "ended",
      );
      expect((await callState(id, idle)).endedReason).toBe("idle");
    } finally {
      await idle.close();
    }
  });
});
