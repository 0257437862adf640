/**
 * The HTTP surface: what upstream's clients (fetch, the openai SDK, browsers) see.
 */
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RTCPeerConnection } from "werift";
import { startStandin, type Standin, type StandinState } from "../src/server.js";
import { CLIENT_CONFIG } from "./helpers/client.js";
import { HOOK_MS, REAL_TIME } from "./helpers/timeouts.js";

const KEY = "sk-test-standin-key";
const START = Date.parse("2026-11-23T12:00:00Z");

let standin: Standin;
let nowMs = START;
const logs: string[] = [];
const peers: RTCPeerConnection[] = [];

beforeAll(async () => {
  standin = await startStandin({ now: () => nowMs, log: (line) => logs.push(line) });
}, HOOK_MS);
beforeEach(async () => {
  nowMs = START;
  await fetch(`${standin.url}/_standin/reset`, { method: "POST" });
}, HOOK_MS);
afterEach(async () => {
  await Promise.all(peers.splice(0).map((pc) => pc.close()));
}, HOOK_MS);
afterAll(async () => {
  await standin.close();
}, HOOK_MS);

const sdk = (options: { maxRetries?: number; timeout?: number } = {}) =>
  new OpenAI({ apiKey: KEY, baseURL: standin.baseUrl, maxRetries: 0, ...options });

function post(
  path: string,
  init: { auth?: string; type?: string; body?: string; origin?: string; signal?: AbortSignal } = {},
) {
  const headers: Record<string, string> = {};
  if (init.auth !== undefined) headers.authorization = init.auth;
  if (init.type !== undefined) headers["content-type"] = init.type;
  if (init.origin !== undefined) headers.origin = init.origin;
  return fetch(`${standin.url}${path}`, {
    method: "POST",
    headers,
    body: init.body,
    signal: init.signal,
  });
}

/** `auth: null` sends no Authorization header. */
const mint = (body: unknown, auth: string | null = `Bearer ${KEY}`) =>
  post("/v1/realtime/client_secrets", {
    auth: auth ?? undefined,
    type: "application/json",
    body: JSON.stringify(body),
  });

async function state(): Promise<StandinState> {
  return (await (await fetch(`${standin.url}/_standin/state`)).json()) as StandinState;
}

async function offer(): Promise<string> {
  const pc = new RTCPeerConnection(CLIENT_CONFIG);
  peers.push(pc);
  pc.addTransceiver("audio", { direction: "sendrecv" });
  pc.createDataChannel("oai-events");
  await pc.setLocalDescription(await pc.createOffer());
  return pc.localDescription?.sdp ?? "";
}

const call = async (secret: string, sdp?: string, type = "application/sdp", origin?: string) =>
  post("/v1/realtime/calls", {
    auth: `Bearer ${secret}`,
    type,
    body: sdp ?? (await offer()),
    origin,
  });

async function expectError(response: Response, status: number, error: Record<string, unknown>) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/json");
  const body = (await response.json()) as { error: Record<string, unknown> };
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(body.error).toMatchObject(error);
  expect(body.error.message).toEqual(expect.any(String));
  return body.error;
}

describe("POST /v1/realtime/client_secrets", REAL_TIME, () => {
  it.each([
    ["no header", null as string | null],
    ["a client secret", "Bearer ek_abcdef123456"],
    ["a short sk- key", "Bearer sk-abc"],
    ["a project key without sk-", "Bearer pk-1234567890"],
    ["basic auth", `Basic ${KEY}`],
  ])("rejects %s with 401 invalid_api_key", async (_, auth) => {
    await expectError(await mint({}, auth), 401, {
      type: "invalid_request_error",
      code: "invalid_api_key",
      param: null,
    });
  });

  it.each([
    [
      { expires_after: { anchor: "created_at", seconds: 5 } },
      "integer_below_min_value",
      "expires_after.seconds",
    ],
    [
      { expires_after: { anchor: "created_at", seconds: 7201 } },
      "integer_above_max_value",
      "expires_after.seconds",
    ],
    [
      { expires_after: { anchor: "expires_at", seconds: 60 } },
      "invalid_value",
      "expires_after.anchor",
    ],
    [{ model: "gpt-realtime" }, "unknown_parameter", "model"],
    [{ session: { type: "transcription" } }, "unsupported_value", "session.type"],
    [{ session: { model: "gpt-realtime" } }, "missing_required_parameter", "session.type"],
    [
      { session: { type: "realtime", model: "gpt-4o-realtime-preview-2024-12-17" } },
      "invalid_value",
      "session.model",
    ],
    [
      { session: { type: "realtime", audio: { output: { voice: "nova" } } } },
      "invalid_value",
      "session.audio.output.voice",
    ],
    [
      {
        session: {
          type: "realtime",
          audio: { input: { format: { type: "audio/pcm", rate: 16000 } } },
        },
      },
      "invalid_value",
      "session.audio.input.format.rate",
    ],
    [
      { session: { type: "realtime", output_modalities: ["text", "audio"] } },
      "invalid_value",
      "session.output_modalities",
    ],
    [
      { session: { type: "realtime", modalities: ["text"] } },
      "unknown_parameter",
      "session.modalities",
    ],
  ])("rejects %j with 400 %s (%s)", async (body, code, param) => {
    await expectError(await mint(body), 400, { type: "invalid_request_error", code, param });
  });

  it("rejects a body that is not JSON", async () => {
    const response = await post("/v1/realtime/client_secrets", {
      auth: `Bearer ${KEY}`,
      type: "application/json",
      body: "{",
    });
    await expectError(response, 400, { type: "invalid_request_error" });
  });

  it("takes an empty body as no options, like upstream", async () => {
    const response = await post("/v1/realtime/client_secrets", {
      auth: `Bearer ${KEY}`,
      type: "application/json",
      body: "",
    });
    expect(response.status).toBe(200);
  });

  it("mints a secret with the resolved session and a request id", async () => {
    const response = await mint({
      expires_after: { anchor: "created_at", seconds: 120 },
      session: { type: "realtime", model: "gpt-realtime-2", instructions: "Hi." },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
    const body = (await response.json()) as OpenAI.Realtime.ClientSecretCreateResponse;
    expect(body.value).toMatch(/^ek_[A-Za-z0-9]{20,}$/);
    expect(body.expires_at).toBe(START / 1000 + 120);
    expect(body.session).toMatchObject({
      id: expect.stringMatching(/^sess_/),
      object: "realtime.session",
      type: "realtime",
      model: "gpt-realtime-2",
      instructions: "Hi.",
      output_modalities: ["audio"],
      audio: { output: { voice: "alloy" }, input: { turn_detection: { type: "server_vad" } } },
    });
    const listed = (await state()).secrets;
    expect(listed).toEqual([
      { value: body.value, expiresAt: body.expires_at, session: body.session },
    ]);
    // Fake secrets may be listed in the state endpoint, never logged.
    expect(logs.join("\n")).not.toContain(body.value);
    expect(logs.join("\n")).not.toContain(KEY);
  });

  it("works with the openai SDK, including its error classes", async () => {
    const secret = await sdk().realtime.clientSecrets.create({
      expires_after: { anchor: "created_at", seconds: 60 },
      session: { type: "realtime", output_modalities: ["text"] },
    });
    expect(secret.value).toMatch(/^ek_/);
    expect(secret.session).toMatchObject({ type: "realtime", output_modalities: ["text"] });

    const error = await sdk()
      .realtime.clientSecrets.create({
        session: { type: "realtime", audio: { output: { voice: "nova" } } },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({
      status: 400,
      code: "invalid_value",
      param: "session.audio.output.voice",
    });
    expect((error as InstanceType<typeof OpenAI.APIError>).requestID).toMatch(/^req_/);
    expect((await state()).requests.clientSecrets).toBe(2);
  });
});

describe("POST /v1/realtime/calls", REAL_TIME, () => {
  async function secret(seconds = 600): Promise<string> {
    const response = await mint({
      expires_after: { anchor: "created_at", seconds },
      session: { type: "realtime" },
    });
    return ((await response.json()) as { value: string }).value;
  }

  it("answers an offer with 201, the SDP answer and the call's Location", async () => {
    const response = await call(await secret());
    expect(response.status).toBe(201);
    expect(response.headers.get("content-type")).toBe("application/sdp");
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    const location = response.headers.get("location") ?? "";
    expect(location).toMatch(/^\/v1\/realtime\/calls\/rtc_[A-Za-z0-9]+$/);
    const answer = await response.text();
    expect(answer).toMatch(/^v=0\r\n/);
    expect(answer).toContain("a=candidate:");
    expect(answer).toContain(" 127.0.0.1 ");
    expect(answer).toMatch(/a=rtpmap:\d+ opus\/48000\/2/i);
    expect(answer).toContain("webrtc-datachannel");
    const calls = (await state()).calls;
    expect(calls.map((c) => c.id)).toEqual([location.split("/").at(-1)]);
  });

  it("also accepts a standard key, with the default session", async () => {
    const response = await call(KEY);
    expect(response.status).toBe(201);
    const [only] = (await state()).calls;
    expect(only).toMatchObject({
      secret: null,
      session: { model: "gpt-realtime", type: "realtime" },
    });
  });

  it("rejects missing, unknown and malformed credentials with 401", async () => {
    const sdp = await offer();
    for (const auth of [undefined, "Bearer ek_doesnotexist000000", "Bearer nonsense"])
      await expectError(
        await post("/v1/realtime/calls", { auth, type: "application/sdp", body: sdp }),
        401,
        { code: "invalid_api_key" },
      );
    expect((await state()).calls).toEqual([]);
  });

  it("accepts a secret until it expires, on the injected clock", async () => {
    const value = await secret(10);
    expect((await call(value)).status).toBe(201);
    nowMs = START + 9_999;
    expect((await call(value)).status).toBe(201);
    nowMs = START + 10_000;
    const error = await expectError(await call(value), 401, { code: "invalid_api_key" });
    expect(error.message).toMatch(/expired/);
    expect((await state()).calls).toHaveLength(2);
  });

  it("requires application/sdp and an SDP body", async () => {
    const value = await secret();
    await expectError(await call(value, await offer(), "application/json"), 400, {
      type: "invalid_request_error",
      code: "unsupported_content_type",
    });
    await expectError(await call(value, await offer(), "multipart/form-data; boundary=x"), 400, {
      code: "unsupported_content_type",
    });
    await expectError(await call(value, "hello"), 400, { code: "invalid_offer" });
    await expectError(await call(value, "v=0\r\nnot really sdp\r\n"), 400, {
      code: "invalid_offer",
    });
  });

  it("serves browsers: CORS preflight, reflected origin, exposed Location", async () => {
    const preflight = await fetch(`${standin.url}/v1/realtime/calls`, {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:5173",
        "access-control-request-method": "POST",
        // What @openai/agents-realtime's WebRTC transport asks for.
        "access-control-request-headers": "authorization, content-type, x-openai-agents-sdk",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    const allowed = (preflight.headers.get("access-control-allow-headers") ?? "").toLowerCase();
    expect(allowed).toContain("authorization");
    expect(allowed).toContain("content-type");
    expect(allowed).toContain("x-openai-agents-sdk");

    const response = await call(
      await secret(),
      undefined,
      "application/sdp",
      "http://localhost:5173",
    );
    expect(response.status).toBe(201);
    expect(response.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(response.headers.get("access-control-expose-headers")).toContain("Location");
  });
});

describe("POST /v1/realtime/calls/{id}/hangup", REAL_TIME, () => {
  it("needs the standard key, 404s unknown calls, and ends known ones", async () => {
    const created = await mint({ session: { type: "realtime" } });
    const { value } = (await created.json()) as { value: string };
    const id = (await call(value)).headers.get("location")?.split("/").at(-1) ?? "";

    await expectError(
      await post(`/v1/realtime/calls/${id}/hangup`, { auth: `Bearer ${value}` }),
      401,
      {
        code: "invalid_api_key",
      },
    );
    await expectError(
      await post("/v1/realtime/calls/rtc_unknown/hangup", { auth: `Bearer ${KEY}` }),
      404,
      {
        type: "invalid_request_error",
      },
    );
    await sdk().realtime.calls.hangup(id);
    expect((await state()).calls[0]).toMatchObject({ id, state: "ended", endedReason: "hangup" });
  });
});

describe("injected faults", REAL_TIME, () => {
  const addFault = (fault: object) =>
    fetch(`${standin.url}/_standin/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(fault),
    });

  it("fails the next count requests with OpenAI's error bodies", async () => {
    expect(
      (await addFault({ route: "client_secrets", kind: "status", status: 429, count: 2 })).status,
    ).toBe(200);
    for (let i = 0; i < 2; i++) {
      const error = await sdk()
        .realtime.clientSecrets.create({})
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect(error).toMatchObject({ status: 429, code: "rate_limit_exceeded" });
    }
    expect((await sdk().realtime.clientSecrets.create({})).value).toMatch(/^ek_/);

    await addFault({ route: "calls", kind: "status", status: 500 });
    await expectError(await call("ek_whatever"), 500, {
      type: "server_error",
      code: "server_error",
    });
    await addFault({ route: "hangup", kind: "status", status: 401 });
    await expectError(
      await post("/v1/realtime/calls/rtc_x/hangup", { auth: `Bearer ${KEY}` }),
      401,
      {
        code: "invalid_api_key",
      },
    );
    expect((await state()).requests).toEqual({ clientSecrets: 3, calls: 1, liveSessions: 0 });
  });

  it("names the code and param a status fault is given, as a refusal of one field", async () => {
    await addFault({ route: "calls", kind: "status", status: 400, code: "invalid_offer" });
    await expectError(await call("ek_whatever"), 400, {
      type: "invalid_request_error",
      code: "invalid_offer",
      param: null,
    });
    await addFault({
      route: "client_secrets",
      kind: "status",
      status: 400,
      code: "invalid_value",
      param: "session.audio.output.voice",
    });
    const error = await sdk()
      .realtime.clientSecrets.create({})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ code: "invalid_value", param: "session.audio.output.voice" });
  });

  it("hangs: the caller's timeout has to fire", async () => {
    await addFault({ route: "client_secrets", kind: "hang" });
    const error = await sdk({ timeout: 300 })
      .realtime.clientSecrets.create({})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect((await sdk().realtime.clientSecrets.create({})).value).toMatch(/^ek_/);
  });

  it("delays: the request is served as usual after ms, and a caller that gave up opens no call", async () => {
    const from = logs.length;
    await addFault({ route: "calls", kind: "delay", ms: 400, count: 2 });
    const sent = Date.now();
    const answered = await call(KEY);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(400);
    expect(answered.status).toBe(201);
    const id = answered.headers.get("location")?.split("/").at(-1);
    expect((await state()).calls.map((c) => c.id)).toEqual([id]);

    // The second delayed request: the caller aborts it halfway, so no call opens.
    const sdp = await offer();
    const aborted = await post("/v1/realtime/calls", {
      auth: `Bearer ${KEY}`,
      type: "application/sdp",
      body: sdp,
      signal: AbortSignal.timeout(150),
    }).catch((e: unknown) => e);
    expect(aborted).toBeInstanceOf(Error);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const after = await state();
    expect(after.calls.map((c) => c.id)).toEqual([id]);
    expect(after.requests.calls).toBe(2);
    expect(after.faults).toEqual([]);
    // Gave up, not failed: reading the aborted request's body would have thrown.
    expect(logs.slice(from)).toEqual([
      "calls: injected delay 400 ms",
      expect.stringMatching(/^call rtc_\w+ answered/),
      "calls: injected delay 400 ms",
    ]);
  });

  it("delays: a hang-up its caller gave up on ends nothing, and the next one ends the call", async () => {
    const id = (await call(KEY)).headers.get("location")?.split("/").at(-1) ?? "";
    const from = logs.length;
    await addFault({ route: "hangup", kind: "delay", ms: 400 });
    const aborted = await post(`/v1/realtime/calls/${id}/hangup`, {
      auth: `Bearer ${KEY}`,
      signal: AbortSignal.timeout(150),
    }).catch((e: unknown) => e);
    expect(aborted).toBeInstanceOf(Error);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await state()).calls[0]).toMatchObject({ id, endedAt: null, endedReason: null });
    expect(logs.slice(from)).toEqual(["hangup: injected delay 400 ms"]);

    await sdk().realtime.calls.hangup(id);
    expect((await state()).calls[0]).toMatchObject({ id, state: "ended", endedReason: "hangup" });
  });

  it("answers garbage: a non-JSON page, or a body of the test's choosing", async () => {
    await addFault({ route: "client_secrets", kind: "garbage" });
    const error = await sdk()
      .realtime.clientSecrets.create({})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(OpenAI.APIError);

    await addFault({ route: "client_secrets", kind: "garbage", body: '{"value":42}' });
    const response = await mint({});
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ value: 42 });

    await addFault({ route: "calls", kind: "garbage" });
    const answer = await call("ek_whatever");
    expect(answer.status).toBe(200);
    expect(await answer.text()).not.toMatch(/^v=0/);
  });

  it("validates fault specs and clears them", async () => {
    await expectError(await addFault({ route: "client_secrets", kind: "explode" }), 400, {
      param: "kind",
    });
    await addFault({ route: "calls", kind: "hang", count: 3 });
    expect((await state()).faults).toEqual([{ route: "calls", kind: "hang", count: 3 }]);
    expect((await fetch(`${standin.url}/_standin/faults`, { method: "DELETE" })).status).toBe(200);
    expect((await state()).faults).toEqual([]);
  });

  it("refuses control bodies that are not JSON, an empty one included", async () => {
    for (const path of ["/_standin/faults", "/_standin/limits"])
      for (const body of ["{", ""])
        await expectError(await fetch(`${standin.url}${path}`, { method: "POST", body }), 400, {
          type: "invalid_request_error",
          code: null,
          param: null,
          message: expect.stringContaining("could not parse the JSON body"),
        });
    expect((await state()).faults).toEqual([]);
  });
});

describe("everything else", REAL_TIME, () => {
  it("answers unknown and beta routes like upstream: 404 Invalid URL", async () => {
    const error = await expectError(
      await post("/v1/realtime/sessions", {
        auth: `Bearer ${KEY}`,
        type: "application/json",
        body: "{}",
      }),
      404,
      { type: "invalid_request_error", code: null, param: null },
    );
    expect(error.message).toBe("Invalid URL (POST /v1/realtime/sessions)");
    const get = await fetch(`${standin.baseUrl}/realtime/client_secrets`);
    expect(get.status).toBe(404);
    expect(get.headers.get("x-request-id")).toMatch(/^req_/);
  });

  it("answers 404 on each endpoint the README lists as not implemented", async () => {
    const unimplemented: [string, string][] = [
      ["GET", "/v1/realtime?model=gpt-realtime"],
      ["GET", "/v1/realtime?call_id=rtc_123"],
      ["POST", "/v1/realtime/calls/rtc_123/accept"],
      ["POST", "/v1/realtime/calls/rtc_123/reject"],
      ["POST", "/v1/realtime/calls/rtc_123/refer"],
      ["POST", "/v1/realtime/transcription_sessions"],
      ["POST", "/v1/realtime/sessions"],
      ["GET", "/v1/live"],
      ["POST", "/v1/live/sessions/live_123/hangup"],
      ["POST", "/v1/live/sessions/live_123/fork"],
      ["GET", "/v1/models"],
    ];
    for (const [method, path] of unimplemented) {
      const response = await fetch(`${standin.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${KEY}` },
        ...(method === "POST" ? { body: "{}" } : {}),
      });
      expect(response.status, `${method} ${path}`).toBe(404);
      const { error } = (await response.json()) as { error: { message: string } };
      expect(error.message).toBe(`Invalid URL (${method} ${path.split("?")[0]})`);
    }
  });

  it("resets secrets, calls, faults and counters", async () => {
    const { value } = (await (await mint({})).json()) as { value: string };
    await call(value);
    await fetch(`${standin.url}/_standin/faults`, {
      method: "POST",
      body: JSON.stringify({ route: "calls", kind: "hang" }),
    });
    const before = await state();
    expect(before.secrets).toHaveLength(1);
    expect(before.calls).toHaveLength(1);
    await fetch(`${standin.url}/_standin/reset`, { method: "POST" });
    expect(await state()).toEqual({
      secrets: [],
      calls: [],
      liveSessions: [],
      requests: { clientSecrets: 0, calls: 0, liveSessions: 0 },
      faults: [],
    });
  });

  it("closes idempotently, hung requests included", async () => {
    const other = await startStandin();
    await fetch(`${other.url}/_standin/faults`, {
      method: "POST",
      body: JSON.stringify({ route: "client_secrets", kind: "hang" }),
    });
    const hung = fetch(`${other.baseUrl}/realtime/client_secrets`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}` },
    }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await Promise.all([other.close(), other.close()]);
    expect(await hung).toBeInstanceOf(Error);
    await expect(fetch(`${other.url}/_standin/state`)).rejects.toThrow();
  });
});
