/**
 * Server-posted calls ("unified interface"): `POST /v1/realtime/calls` with a standard key and
 * the multipart form `sdp` + `session`, over real WebRTC (werift as the browser), through plain
 * fetch and through the openai SDK's own request machinery.
 */
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RTCPeerConnection } from "werift";
import { parseCallForm } from "../src/call-form.js";
import { startStandin, type Standin, type StandinState } from "../src/server.js";
import { CLIENT_CONFIG, TestClient, until } from "./helpers/client.js";
import { HOOK_MS, REAL_TIME } from "./helpers/timeouts.js";

const KEY = "sk-test-standin-key";

let standin: Standin;
const clients: TestClient[] = [];
const peers: RTCPeerConnection[] = [];

beforeAll(async () => {
  standin = await startStandin({ responseAudioMs: 600 });
}, HOOK_MS);
beforeEach(async () => {
  await fetch(`${standin.url}/_standin/reset`, { method: "POST" });
}, HOOK_MS);
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(peers.splice(0).map((pc) => pc.close()));
}, HOOK_MS);
afterAll(async () => {
  await standin.close();
}, HOOK_MS);

/** The form as the openai SDKs build it: both parts typed file parts. */
function form(parts: { sdp?: string; session?: unknown; extra?: Record<string, string> }) {
  const data = new FormData();
  if (parts.sdp !== undefined)
    data.append("sdp", new Blob([parts.sdp], { type: "application/sdp" }), "offer.sdp");
  if (parts.session !== undefined)
    data.append(
      "session",
      new Blob(
        [typeof parts.session === "string" ? parts.session : JSON.stringify(parts.session)],
        {
          type: "application/json",
        },
      ),
      "session.json",
    );
  for (const [name, value] of Object.entries(parts.extra ?? {})) data.append(name, value);
  return data;
}

function postForm(body: FormData, key = KEY, target: Standin = standin, headers = {}) {
  return fetch(`${target.baseUrl}/realtime/calls`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, ...headers },
    body,
  });
}

async function offer(): Promise<string> {
  const pc = new RTCPeerConnection(CLIENT_CONFIG);
  peers.push(pc);
  pc.addTransceiver("audio", { direction: "sendrecv" });
  pc.createDataChannel("oai-events");
  await pc.setLocalDescription(await pc.createOffer());
  return pc.localDescription?.sdp ?? "";
}

async function state(target: Standin = standin): Promise<StandinState> {
  return (await (await fetch(`${target.url}/_standin/state`)).json()) as StandinState;
}

async function callState(id: string, target: Standin = standin) {
  const call = (await state(target)).calls.find((c) => c.id === id);
  if (!call) throw new Error(`call ${id} not in state`);
  return call;
}

async function brokered(session: unknown, target: Standin = standin, headers = {}) {
  const client = await TestClient.connectWith((sdp) =>
    postForm(form({ sdp, session }), KEY, target, headers),
  );
  clients.push(client);
  return client;
}

async function expectError(response: Response, status: number, error: Record<string, unknown>) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/json");
  const body = (await response.json()) as { error: Record<string, unknown> };
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(body.error).toMatchObject(error);
  return body.error;
}

const SESSION = {
  type: "realtime",
  model: "gpt-realtime-2",
  instructions: "Server-chosen instructions.",
  audio: { output: { voice: "cedar" } },
};

describe("POST /v1/realtime/calls with the multipart form", REAL_TIME, () => {
  it("answers like upstream and runs the call with the posted session", async () => {
    const started = Date.now();
    const client = await brokered(SESSION, standin, {
      "OpenAI-Safety-Identifier": "user-hash-1",
    });
    expect(client.location).toMatch(/^\/v1\/realtime\/calls\/rtc_[A-Za-z0-9]+$/);
    const created = client.events.find((e) => e.type === "session.created");
    expect(created).toMatchObject({ type: "session.created" });
    expect(created?.type === "session.created" && created.session).toMatchObject({
      model: "gpt-realtime-2",
      instructions: "Server-chosen instructions.",
      audio: { output: { voice: "cedar" } },
    });
    const call = await callState(client.callId);
    expect(call).toMatchObject({
      secret: null,
      state: expect.stringMatching(/connecting|connected/),
      session: { model: "gpt-realtime-2", instructions: "Server-chosen instructions." },
      endedAt: null,
      endedReason: null,
      safetyIdentifier: "user-hash-1",
    });
    expect(call.startedAt).toBeGreaterThanOrEqual(started - 1);
    expect(call.startedAt).toBeLessThanOrEqual(Date.now());
  });

  it("answers 201 with application/sdp, a Location and a request id", async () => {
    const response = await postForm(form({ sdp: await offer(), session: SESSION }));
    expect(response.status).toBe(201);
    expect(response.headers.get("content-type")).toBe("application/sdp");
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    expect(response.headers.get("location")).toMatch(/^\/v1\/realtime\/calls\/rtc_/);
    const answer = await response.text();
    expect(answer).toMatch(/^v=0\r\n/);
    expect(answer).toContain("webrtc-datachannel");
  });

  it("runs the default session when the form has no session part", async () => {
    const response = await postForm(form({ sdp: await offer() }));
    expect(response.status).toBe(201);
    const id = response.headers.get("location")?.split("/").at(-1) ?? "";
    expect((await callState(id)).session).toMatchObject({
      model: "gpt-realtime",
      type: "realtime",
    });
  });

  type Parts = { sdp?: string; session?: unknown; extra?: Record<string, string> };
  it.each<[string, Parts, string, string]>([
    ["no sdp part", { session: SESSION }, "missing_required_parameter", "sdp"],
    ["an empty sdp part", { sdp: "", session: SESSION }, "missing_required_parameter", "sdp"],
    ["a session that is not JSON", { sdp: "OFFER", session: "{" }, "invalid_json", "session"],
    [
      "a session without type",
      { sdp: "OFFER", session: { model: "gpt-realtime" } },
      "missing_required_parameter",
      "session.type",
    ],
    [
      "an unknown voice",
      { sdp: "OFFER", session: { type: "realtime", audio: { output: { voice: "nova" } } } },
      "invalid_value",
      "session.audio.output.voice",
    ],
    [
      "an unknown session field",
      { sdp: "OFFER", session: { type: "realtime", modalities: ["text"] } },
      "unknown_parameter",
      "session.modalities",
    ],
    [
      "an unknown part",
      { sdp: "OFFER", session: SESSION, extra: { model: "gpt-realtime" } },
      "unknown_parameter",
      "model",
    ],
  ])("rejects %s with a 400 naming it, opening no call", async (_, parts, code, param) => {
    const sdp = parts.sdp === "OFFER" ? await offer() : parts.sdp;
    await expectError(await postForm(form({ ...parts, sdp })), 400, {
      type: "invalid_request_error",
      code,
      param,
    });
    expect((await state()).calls).toEqual([]);
  });

  it("rejects a body that is not a multipart form, and an offer that is not SDP", async () => {
    const response = await fetch(`${standin.baseUrl}/realtime/calls`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "multipart/form-data" },
      body: "no boundary, no parts",
    });
    await expectError(response, 400, { code: "invalid_multipart_form" });
    await expectError(await postForm(form({ sdp: "hello", session: SESSION })), 400, {
      code: "invalid_offer",
    });
  });

  it("needs a standard key: 401 without one, and a client secret cannot post the form", async () => {
    const body = () => form({ sdp: "v=0\r\n", session: SESSION });
    await expectError(await postForm(body(), "nonsense"), 401, { code: "invalid_api_key" });
    const secret = await fetch(`${standin.baseUrl}/realtime/client_secrets`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: "{}",
    });
    const { value } = (await secret.json()) as { value: string };
    await expectError(await postForm(body(), value), 400, { code: "unsupported_content_type" });
  });

  it("applies injected faults to the route like any other call", async () => {
    await fetch(`${standin.url}/_standin/faults`, {
      method: "POST",
      body: JSON.stringify({ route: "calls", kind: "status", status: 503 }),
    });
    await expectError(await postForm(form({ sdp: await offer(), session: SESSION })), 503, {
      code: "server_error",
    });
  });
});

describe("how a server-posted call ends, as the state endpoint reports it", REAL_TIME, () => {
  it("records a hang-up by the server with its time", async () => {
    const client = await brokered(SESSION);
    const before = Date.now();
    const response = await fetch(`${standin.baseUrl}/realtime/calls/${client.callId}/hangup`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(response.status).toBe(200);
    const call = await callState(client.callId);
    expect(call).toMatchObject({ state: "ended", endedReason: "hangup" });
    expect(call.endedAt).toBeGreaterThanOrEqual(before);
    expect(call.endedAt).toBeLessThanOrEqual(Date.now());
    // A second hang-up of an ended call is fine, and does not move the record.
    const again = await fetch(`${standin.baseUrl}/realtime/calls/${client.callId}/hangup`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(again.status).toBe(200);
    expect(await callState(client.callId)).toMatchObject({ endedAt: call.endedAt });
  });

  it("records the peer closing", async () => {
    const client = await brokered(SESSION);
    await client.close();
    const call = await until(
      "the call to end",
      () => callState(client.callId),
      (c) => c.state === "ended",
    );
    expect(call.endedReason).toBe("peer_closed");
    expect(call.endedAt).not.toBeNull();
  });

  it("records the session cap (max_duration) within a second of it", async () => {
    const capped = await startStandin({ maxCallSeconds: 1 });
    try {
      const client = await brokered(SESSION, capped);
      await client.waitFor("error", (e) => e.error.code === "session_expired", 3000);
      const call = await until(
        "the call to end",
        () => callState(client.callId, capped),
        (c) => c.state === "ended",
      );
      expect(call.endedReason).toBe("max_duration");
      const lateness = (call.endedAt ?? 0) - (call.startedAt + 1000);
      expect(lateness).toBeGreaterThanOrEqual(0);
      expect(lateness).toBeLessThan(1000);
    } finally {
      await capped.close();
    }
  });
});

describe("through the openai SDK", REAL_TIME, () => {
  it("posts the form with client.post and hangs up with client.realtime.calls.hangup", async () => {
    const sdk = new OpenAI({ apiKey: KEY, baseURL: standin.baseUrl, maxRetries: 0 });
    const client = await TestClient.connectWith(async (sdp) => {
      // The SDK's request machinery sends a FormData body as multipart.
      const { data, response } = await sdk
        .post<string>("/realtime/calls", {
          body: form({ sdp, session: SESSION }),
          headers: { Accept: "application/sdp" },
        })
        .withResponse();
      expect(typeof data).toBe("string");
      return new Response(data, { status: response.status, headers: response.headers });
    });
    clients.push(client);
    const created = client.events.find((e) => e.type === "session.created");
    expect(created?.type === "session.created" && created.session).toMatchObject({
      instructions: "Server-chosen instructions.",
    });

    await sdk.realtime.calls.hangup(client.callId);
    expect(await callState(client.callId)).toMatchObject({
      state: "ended",
      endedReason: "hangup",
    });

    const error = await sdk
      .post("/realtime/calls", { body: form({ session: SESSION }) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, code: "missing_required_parameter", param: "sdp" });
  });
});

describe("through openai@7's calls.create", REAL_TIME, () => {
  it("posts the offer and the session as the form and gets the answer", async () => {
    const sdk = new OpenAI({ apiKey: KEY, baseURL: standin.baseUrl, maxRetries: 0 });
    const client = await TestClient.connectWith(async (sdp) => {
      const response = await sdk.realtime.calls.create({
        sdp,
        session: { type: "realtime", instructions: "Server-chosen instructions." },
      });
      return new Response(await response.text(), {
        status: response.status,
        headers: response.headers,
      });
    });
    clients.push(client);
    const created = client.events.find((e) => e.type === "session.created");
    expect(created?.type === "session.created" && created.session).toMatchObject({
      instructions: "Server-chosen instructions.",
    });
  });
});

describe("parseCallForm", () => {
  it("reads plain fields as well as file parts", async () => {
    const data = new FormData();
    data.append("sdp", "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n");
    data.append("session", JSON.stringify({ type: "realtime", instructions: "x" }));
    const request = new Request("http://x", { method: "POST", body: data });
    const parsed = await parseCallForm(
      Buffer.from(await request.arrayBuffer()),
      request.headers.get("content-type") ?? "",
    );
    expect(parsed).toEqual({
      ok: true,
      value: {
        sdp: "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n",
        session: { type: "realtime", instructions: "x" },
      },
    });
  });
});
