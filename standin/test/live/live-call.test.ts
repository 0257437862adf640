/**
 * Live sessions over real WebRTC on loopback (werift as the page, the stand-in's werift as
 * upstream) with the sideband as a server would attach it: plain `ws` and the openai SDK's
 * own clients. Waits are event-driven with timeouts.
 */
import OpenAI from "openai";
import { SidebandWS } from "openai/resources/live/sideband/ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startStandin, type Standin, type StandinState } from "../../src/server.js";
import { until } from "../helpers/client.js";
import { KEY, LiveEvents, LiveTestClient, createLiveSession } from "../helpers/live-client.js";
import { HOOK_MS, REAL_TIME } from "../helpers/timeouts.js";

const SESSION = {
  model: "gpt-live-1",
  instructions: "Server instructions.",
  audio: { output: { voice: "cedar" } },
  client: {
    data_channel: {
      allowed_client_events: ["session.input_audio.mute", "session.input_audio.unmute"],
    },
  },
};

let standin: Standin;
const clients: LiveTestClient[] = [];
const sockets: WebSocket[] = [];

beforeAll(async () => {
  standin = await startStandin({ responseAudioMs: 400, liveUsageIntervalMs: 200 });
}, HOOK_MS);
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await Promise.all(clients.splice(0).map((c) => c.close()));
}, HOOK_MS);
afterAll(async () => {
  await standin.close();
}, HOOK_MS);

async function open(session: object = SESSION) {
  const client = await LiveTestClient.open(standin.baseUrl, session);
  clients.push(client);
  return client;
}

async function liveState(id: string) {
  const state = (await (await fetch(`${standin.url}/_standin/state`)).json()) as StandinState;
  const session = state.liveSessions.find((s) => s.id === id);
  if (!session) throw new Error(`live session ${id} not in state`);
  return session;
}

/** Attaches a sideband as a server would, with plain `ws`; resolves once it is open. */
async function attach(id: string, key = KEY) {
  const url = `${standin.url.replace("http", "ws")}/v1/live/sessions/${id}/attach`;
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${key}` } });
  sockets.push(socket);
  const events = new LiveEvents();
  socket.on("message", (data: Buffer) => events.receive(data.toString()));
  const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return { socket, events, closed };
}

describe("POST /v1/live/sessions", REAL_TIME, () => {
  it("answers like upstream: 401 for a bad key, 400 with the parameter, unknown models", async () => {
    const offer = { type: "webrtc", sdp: "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" };
    const bad = await createLiveSession(
      standin.baseUrl,
      { session: SESSION, transport: offer },
      "nope",
    );
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ error: { code: "invalid_api_key" } });

    const noModel = await createLiveSession(standin.baseUrl, { session: {}, transport: offer });
    expect(noModel.status).toBe(400);
    expect(await noModel.json()).toEqual({
      error: {
        message: "Missing required parameter: 'session.model'.",
        type: "invalid_request_error",
        code: "missing_required_parameter",
        param: "session.model",
      },
    });
    const realtime = await createLiveSession(standin.baseUrl, {
      session: { model: "gpt-realtime-2" },
      transport: offer,
    });
    expect(await realtime.json()).toMatchObject({
      error: { code: "invalid_model", param: "session.model" },
    });
    const notSdp = await createLiveSession(standin.baseUrl, {
      session: SESSION,
      transport: { type: "webrtc", sdp: "hello" },
    });
    expect(notSdp.status).toBe(400);
    expect(await notSdp.json()).toMatchObject({
      error: { code: "invalid_offer", param: "transport.sdp" },
    });

    const sdk = new OpenAI({ apiKey: "wrong", baseURL: standin.baseUrl, maxRetries: 0 });
    const error = await sdk.live
      .create({
        session: { model: "gpt-live-1" },
        transport: offer as { type: "webrtc"; sdp: string },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("takes injected faults on route live_sessions", async () => {
    const fault = (body: object) =>
      fetch(`${standin.url}/_standin/faults`, { method: "POST", body: JSON.stringify(body) });
    await fault({ route: "live_sessions", kind: "status", status: 503 });
    await fault({ route: "live_sessions", kind: "garbage", body: "{}" });
    const offer = { type: "webrtc", sdp: "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" };
    const failed = await createLiveSession(standin.baseUrl, { session: SESSION, transport: offer });
    expect(failed.status).toBe(503);
    expect(await failed.json()).toMatchObject({ error: { code: "server_error" } });
    const garbage = await createLiveSession(standin.baseUrl, {
      session: SESSION,
      transport: offer,
    });
    expect([garbage.status, await garbage.text()]).toEqual([200, "{}"]);
  });

  it("opens a session the page joins, enforces the allowlist, and closes over the sideband", async () => {
    const client = await open();
    const started = client.events[0];
    expect(started).toMatchObject({
      type: "session.started",
      session: {
        id: client.sessionId,
        model: "gpt-live-1",
        instructions: "Server instructions.",
        audio: { output: { voice: "cedar" } },
        status: "active",
      },
    });
    expect(client.sessionId).toMatch(/^live_/);
    await client.waitFor("info", (e) => e.code === "data_channel_permissions");

    client.send({ type: "session.input_audio.mute", event_id: "m1" });
    await client.waitFor("session.input_audio.muted", (e) => e.client_event_id === "m1");
    client.send({
      type: "session.update",
      event_id: "forged",
      session: { instructions: "Forged instructions." },
    });
    await client.waitFor("error", (e) => e.client_event_id === "forged");
    expect(await liveState(client.sessionId)).toMatchObject({
      refusedEvents: ["session.update"],
      session: { instructions: "Server instructions." },
      muted: true,
    });

    const sideband = await attach(client.sessionId);
    await sideband.events.waitFor("session.usage.updated", () => true, 3000);
    sideband.socket.send(JSON.stringify({ type: "session.close", event_id: "bye" }));
    const closed = await sideband.events.waitFor("session.closed");
    expect(closed).toMatchObject({ reason: "close_requested", client_event_id: "bye" });
    expect(closed.usage.seconds).toBeGreaterThan(0);
    const pageClosed = await client.waitFor("session.closed");
    expect(pageClosed.reason).toBe("close_requested");
    expect(await sideband.closed).toBe(1000);
    await until(
      "the data channel to close",
      () => client.channel.readyState,
      (s) => s === "closed",
    );

    const record = await liveState(client.sessionId);
    expect(record).toMatchObject({
      state: "ended",
      endedReason: "hangup",
      endedBy: "sideband",
      closeReason: "close_requested",
      config: SESSION,
      allowedClientEvents: ["session.input_audio.mute", "session.input_audio.unmute"],
      allowedServerEvents: "all",
      sidebandsAttached: 1,
      sidebandEventsReceived: ["session.close"],
      eventsReceived: ["session.input_audio.mute", "session.update"],
      usageSeconds: closed.usage.seconds,
    });
    expect(record.endedAt).toBeGreaterThanOrEqual(record.startedAt);
    expect(client.malformed).toEqual([]);
    expect(sideband.events.malformed).toEqual([]);
  });

  it("speaks with transcripts both ways and reports usage to the page", async () => {
    const client = await open({ model: "gpt-live-1.1" });
    await client.speak(25);
    const heard = await client.waitFor("session.input_transcript.delta", () => true, 8000);
    expect(heard.delta.length).toBeGreaterThan(0);
    await client.waitFor("session.output_transcript.delta", () => true, 8000);
    await until(
      "the answer's audio",
      () => client.rtpIn,
      (n) => n > 5,
      8000,
    );
    const usage = client.events.filter((e) => e.type === "session.usage.updated");
    expect(usage.length).toBeGreaterThan(0);
    expect(client.malformed).toEqual([]);
  });

  it("refuses a sideband with a bad key or for an unknown session", async () => {
    const client = await open();
    await expect(attach(client.sessionId, "nope")).rejects.toThrow(/401/);
    await expect(attach("live_nope")).rejects.toThrow(/404/);
  });

  it("works with the openai SDK's live.create and its sideband client", async () => {
    const sdk = new OpenAI({ apiKey: KEY, baseURL: standin.baseUrl, maxRetries: 0 });
    const client = await LiveTestClient.openWith(async (sdp) =>
      sdk.live.create({ session: SESSION, transport: { type: "webrtc", sdp } }),
    );
    clients.push(client);
    const sideband = new SidebandWS(sdk, { session_id: client.sessionId });
    const events = new LiveEvents();
    sideband.on("event", (event) => events.receive(JSON.stringify(event)));
    // Sent while the socket connects: the SDK queues it.
    sideband.send({ type: "session.close" });
    await events.waitFor("session.closed", (e) => e.reason === "close_requested");
    await client.waitFor("session.closed");
    expect((await liveState(client.sessionId)).endedBy).toBe("sideband");
    sideband.close();
  });

  it("tells the sideband when the page hangs up, and ends the session at expires_at", async () => {
    const client = await open();
    const sideband = await attach(client.sessionId);
    await client.close();
    clients.splice(clients.indexOf(client), 1);
    const closed = await sideband.events.waitFor("session.closed", () => true, 10_000);
    expect(closed.reason).toBe("remote_hangup");
    expect(await liveState(client.sessionId)).toMatchObject({
      endedBy: "peer",
      closeReason: "remote_hangup",
    });

    await fetch(`${standin.url}/_standin/limits`, {
      method: "POST",
      body: JSON.stringify({ maxCallSeconds: 1 }),
    });
    try {
      const short = await open();
      const expired = await short.waitFor("session.closed", () => true, 5000);
      expect(expired.reason).toBe("expired");
      // The record is final once the transport closes, just after session.closed went out.
      const record = await until(
        "the session to end",
        () => liveState(short.sessionId),
        (s) => s.state === "ended",
      );
      expect(record).toMatchObject({ endedBy: "expiry", endedReason: "max_duration" });
    } finally {
      await fetch(`${standin.url}/_standin/limits`, { method: "DELETE" });
    }
  });
});
