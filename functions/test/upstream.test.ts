import { describe, expect, it } from "vitest";
import {
  callIdFromLocation,
  checkAnswer,
  createOpenAiRealtimeUpstream,
  hangupProvesEnd,
} from "../src/upstream";
import { addFault, standinState, useStandin } from "./helpers/standin";
import { REAL_TIME } from "./helpers/timeouts";
import { CHROMIUM_OFFER as OFFER, inSeconds, upstreamFailure as failure } from "./helpers/upstream";

const KEY = "sk-test-upstream-key-1234567890";
const SESSION = {
  type: "realtime" as const,
  model: "gpt-realtime-2",
  instructions: "Server-built instructions.",
  audio: { output: { voice: "cedar" as const } },
};

describe("createOpenAiRealtimeUpstream against the stand-in", REAL_TIME, () => {
  const running = useStandin({ idleCallSeconds: 5 });
  const upstream = () => createOpenAiRealtimeUpstream({ apiKey: KEY, baseURL: running().baseUrl });

  it("opens a call with the server's session and safety identifier, then hangs it up", async () => {
    const created = await upstream().createCall({
      sdp: OFFER,
      session: SESSION,
      safetyIdentifier: "uid-hash-abc",
      deadline: inSeconds(5),
    });
    expect(created.callId).toMatch(/^rtc_[A-Za-z0-9]+$/);
    expect(created.requestId).toMatch(/^req_/);
    expect(checkAnswer(created.answer, "application/sdp")).toBeNull();
    expect(created.answer).toContain("a=setup:active");

    const [call] = (await standinState(running())).calls;
    expect(call).toMatchObject({
      id: created.callId,
      session: { model: "gpt-realtime-2", instructions: "Server-built instructions." },
      safetyIdentifier: "uid-hash-abc",
      endedAt: null,
    });

    const before = Date.now();
    await expect(upstream().hangup(created.callId, { deadline: inSeconds(5) })).resolves.toBe(
      "ended",
    );
    const [ended] = (await standinState(running())).calls;
    expect(ended).toMatchObject({ state: "ended", endedReason: "hangup" });
    expect(ended?.endedAt).toBeGreaterThanOrEqual(before);
    // Idempotent: hanging up an ended call again is fine.
    await expect(upstream().hangup(created.callId, { deadline: inSeconds(5) })).resolves.toBe(
      "ended",
    );
  });

  it("sends no safety identifier header when none is given", async () => {
    await upstream().createCall({ sdp: OFFER, session: SESSION, deadline: inSeconds(5) });
    expect((await standinState(running())).calls[0]?.safetyIdentifier).toBeNull();
  });

  it("reports an unknown call's hang-up as not-found, which proves no end", async () => {
    const outcome = await upstream().hangup("rtc_unknown", { deadline: inSeconds(5) });
    expect(outcome).toBe("not-found");
    expect(hangupProvesEnd(outcome)).toBe(false);
    // A 404 injected for a call that is still running (issue 19, item 10): the same answer.
    const created = await upstream().createCall({
      sdp: OFFER,
      session: SESSION,
      deadline: inSeconds(5),
    });
    await addFault(running(), { route: "hangup", kind: "status", status: 404 });
    expect(await upstream().hangup(created.callId, { deadline: inSeconds(5) })).toBe("not-found");
    expect((await standinState(running())).calls[0]?.endedAt).toBeNull();
    const confirmed = await upstream().hangup(created.callId, { deadline: inSeconds(5) });
    expect(hangupProvesEnd(confirmed)).toBe(true);
  });

  it("classifies upstream's refusals and failures, once each (no retries)", async () => {
    const create = () =>
      failure(upstream().createCall({ sdp: OFFER, session: SESSION, deadline: inSeconds(5) }));

    await addFault(running(), { route: "calls", kind: "status", status: 401 });
    const auth = await create();
    expect(auth).toMatchObject({ kind: "auth", details: { status: 401 } });
    expect(auth.message).not.toContain(KEY);

    await addFault(running(), { route: "calls", kind: "status", status: 429 });
    expect(await create()).toMatchObject({
      kind: "rate",
      details: { status: 429, retryAfterSeconds: expect.any(Number) },
    });

    await addFault(running(), { route: "calls", kind: "status", status: 503 });
    expect(await create()).toMatchObject({ kind: "unavailable", details: { status: 503 } });

    await addFault(running(), { route: "calls", kind: "garbage" });
    expect(await create()).toMatchObject({ kind: "malformed", details: { status: 200 } });

    await addFault(running(), { route: "calls", kind: "garbage", body: OFFER });
    expect((await create()).message).toMatch(/offer instead of an answer/);

    expect((await standinState(running())).requests.calls).toBe(5);
    expect((await standinState(running())).calls).toEqual([]);
  });

  it("passes upstream's rejection of a session through as rejected, naming the field", async () => {
    const error = await failure(
      upstream().createCall({
        sdp: OFFER,
        session: { type: "realtime", audio: { output: { voice: "nova" as "cedar" } } },
        deadline: inSeconds(5),
      }),
    );
    expect(error).toMatchObject({
      kind: "rejected",
      details: { status: 400, code: "invalid_value", param: "session.audio.output.voice" },
    });
  });

  it("times out at the deadline when upstream hangs, and the next request works", async () => {
    await addFault(running(), { route: "calls", kind: "hang" });
    const started = Date.now();
    const error = await failure(
      upstream().createCall({ sdp: OFFER, session: SESSION, deadline: Date.now() + 400 }),
    );
    expect(error).toMatchObject({ kind: "unavailable", details: { timedOut: true } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(Date.now() - started).toBeLessThan(2000);

    await addFault(running(), { route: "hangup", kind: "hang" });
    expect(await failure(upstream().hangup("rtc_x", { deadline: Date.now() + 300 }))).toMatchObject(
      { kind: "unavailable", details: { timedOut: true } },
    );

    await expect(
      upstream().createCall({ sdp: OFFER, session: SESSION, deadline: inSeconds(5) }),
    ).resolves.toMatchObject({ callId: expect.stringMatching(/^rtc_/) });
  });

  it("classifies a failed hang-up so the caller retries it", async () => {
    await addFault(running(), { route: "hangup", kind: "status", status: 500 });
    expect(await failure(upstream().hangup("rtc_x", { deadline: inSeconds(5) }))).toMatchObject({
      kind: "unavailable",
      details: { status: 500 },
    });
  });
});

interface Seen {
  url: string;
  method: string;
  headers: Headers;
  body: unknown;
}

/** A hand-written fetch: records the request, answers with `respond`. */
function fakeFetch(respond: (seen: Seen, signal: AbortSignal | undefined) => Promise<Response>) {
  const calls: Seen[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const seen = {
      url: String(input instanceof Request ? input.url : input),
      method: init?.method ?? "GET",
      headers: new Headers(init?.headers),
      body: init?.body,
    };
    calls.push(seen);
    return respond(seen, init?.signal ?? undefined);
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

const ANSWER = OFFER.replaceAll("a=setup:actpass", "a=setup:active");

function sdpResponse(
  body: ConstructorParameters<typeof Response>[0],
  headers: Record<string, string> = {},
  status = 201,
) {
  return new Response(body, {
    status,
    headers: {
      "content-type": "application/sdp",
      location: "/v1/realtime/calls/rtc_abc123",
      "x-request-id": "req_1",
      ...headers,
    },
  });
}

/** A response whose headers arrive but whose body never ends, until the signal aborts. */
function stalledBody(signal: AbortSignal | undefined): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("v=0\r\n"));
      signal?.addEventListener("abort", () => controller.error(signal.reason));
    },
  });
  return sdpResponse(body);
}

const withFetch = (fetch: typeof globalThis.fetch, now?: () => number) =>
  createOpenAiRealtimeUpstream({
    apiKey: KEY,
    baseURL: "http://127.0.0.1:9/v1",
    fetch,
    ...(now ? { now } : {}),
  });

describe("createOpenAiRealtimeUpstream with a fake fetch", REAL_TIME, () => {
  it("posts the multipart form, the key, Accept and the safety identifier", async () => {
    const { fetch, calls } = fakeFetch(async () => sdpResponse(ANSWER));
    await expect(
      withFetch(fetch).createCall({
        sdp: OFFER,
        session: SESSION,
        safetyIdentifier: "hash-1",
        deadline: inSeconds(5),
      }),
    ).resolves.toEqual({ answer: ANSWER, callId: "rtc_abc123", requestId: "req_1" });
    const [call] = calls;
    expect(call?.url).toBe("http://127.0.0.1:9/v1/realtime/calls");
    expect(call?.method).toBe("POST");
    expect(call?.headers.get("authorization")).toBe(`Bearer ${KEY}`);
    expect(call?.headers.get("accept")).toBe("application/sdp");
    expect(call?.headers.get("openai-safety-identifier")).toBe("hash-1");
    expect(call?.body).toBeInstanceOf(FormData);
    const form = call?.body as FormData;
    expect([...form.keys()]).toEqual(["sdp", "session"]);
    const sdp = form.get("sdp") as File;
    expect(sdp.type).toBe("application/sdp");
    expect(await sdp.text()).toBe(OFFER);
    const session = form.get("session") as File;
    expect(session.type).toBe("application/json");
    expect(JSON.parse(await session.text())).toEqual(SESSION);
  });

  it.each([
    ["a JSON body", () => Response.json({ sdp: "v=0" }, { status: 201 }), /instead of an SDP/],
    ["an empty body", () => sdpResponse(""), /empty body/],
    ["HTML", () => sdpResponse("<html>502</html>"), /not SDP/],
    ["an SDP without media", () => sdpResponse("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"), /media/],
    ["the offer echoed", () => sdpResponse(OFFER), /offer instead of an answer/],
    ["a huge body", () => sdpResponse(`v=0\r\nm=audio\r\n${"a=x\r\n".repeat(20_000)}`), /over/],
    ["no Location", () => sdpResponse(ANSWER, { location: "" }), /Location/],
    ["a Location without a call id", () => sdpResponse(ANSWER, { location: "/v1/x" }), /Location/],
    [
      "a Location with a strange id",
      () => sdpResponse(ANSWER, { location: "/v1/realtime/calls/a%20b" }),
      /Location/,
    ],
  ])("refuses a 201 with %s as malformed", async (_, respond, message) => {
    const { fetch } = fakeFetch(async () => respond());
    const error = await failure(
      withFetch(fetch).createCall({ sdp: OFFER, session: SESSION, deadline: inSeconds(5) }),
    );
    expect(error.kind).toBe("malformed");
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain("a=ice-pwd");
  });

  it("times out when the headers come but the answer never ends", async () => {
    const { fetch } = fakeFetch(async (_, signal) => stalledBody(signal));
    const started = Date.now();
    const error = await failure(
      withFetch(fetch).createCall({ sdp: OFFER, session: SESSION, deadline: Date.now() + 300 }),
    );
    expect(error).toMatchObject({ kind: "unavailable", details: { timedOut: true } });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("sends nothing once the deadline has passed", async () => {
    const { fetch, calls } = fakeFetch(async () => sdpResponse(ANSWER));
    const upstream = withFetch(fetch, () => 1_000_000);
    expect(
      await failure(upstream.createCall({ sdp: OFFER, session: SESSION, deadline: 1_000_000 })),
    ).toMatchObject({ kind: "unavailable", details: { timedOut: true } });
    expect(await failure(upstream.hangup("rtc_1", { deadline: 999_000 }))).toMatchObject({
      kind: "unavailable",
    });
    expect(calls).toEqual([]);
  });

  it("classifies a network failure as unavailable", async () => {
    const { fetch } = fakeFetch(async () => {
      throw new TypeError("fetch failed");
    });
    expect(
      await failure(
        withFetch(fetch).createCall({ sdp: OFFER, session: SESSION, deadline: inSeconds(5) }),
      ),
    ).toMatchObject({ kind: "unavailable" });
  });

  it("keeps SDP and the key out of upstream's error text", async () => {
    const { fetch } = fakeFetch(async () =>
      Response.json(
        {
          error: {
            message: `Invalid SDP offer for key ${KEY}: ${OFFER}`,
            type: "invalid_request_error",
            code: "invalid_offer",
            param: null,
          },
        },
        { status: 400 },
      ),
    );
    const error = await failure(
      withFetch(fetch).createCall({ sdp: OFFER, session: SESSION, deadline: inSeconds(5) }),
    );
    expect(error).toMatchObject({ kind: "rejected", details: { code: "invalid_offer" } });
    expect(error.message).toContain("Invalid SDP offer");
    expect(error.message).not.toContain(KEY);
    expect(error.message).not.toContain("ice-pwd");
    expect(error.message).not.toContain("fingerprint");
    expect(error.message).not.toContain("v=0");
  });

  it("hangs up with POST …/calls/{id}/hangup and the key", async () => {
    const { fetch, calls } = fakeFetch(async () => new Response(null, { status: 200 }));
    await expect(withFetch(fetch).hangup("rtc_abc", { deadline: inSeconds(5) })).resolves.toBe(
      "ended",
    );
    expect(calls[0]?.url).toBe("http://127.0.0.1:9/v1/realtime/calls/rtc_abc/hangup");
    expect(calls[0]?.method).toBe("POST");
    expect(calls[0]?.headers.get("authorization")).toBe(`Bearer ${KEY}`);
  });
});

describe("callIdFromLocation", () => {
  it.each([
    ["/v1/realtime/calls/rtc_abc", "rtc_abc"],
    ["https://api.openai.com/v1/realtime/calls/rtc_X-1_y", "rtc_X-1_y"],
    ["/v1/realtime/calls/rtc_abc/", "rtc_abc"],
    [null, null],
    ["", null],
    ["/v1/realtime/calls/", null],
    ["/v1/realtime/calls/rtc_abc/hangup", null],
    ["/v1/realtime/calls/..%2Fx", null],
    [`/v1/realtime/calls/${"a".repeat(129)}`, null],
  ])("%s → %s", (location, id) => {
    expect(callIdFromLocation(location)).toBe(id);
  });
});
