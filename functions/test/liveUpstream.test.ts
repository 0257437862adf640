import type { MediaSessionConfig } from "openai/resources/live/live";
import { describe, expect, it } from "vitest";
import { LIVE_ALLOWED_CLIENT_EVENTS } from "voice-contract";
import {
  checkLiveAnswer,
  closeLiveSession,
  type ConnectSideband,
  createOpenAiLiveUpstream,
  type SidebandHandlers,
  sidebandUrl,
} from "../src/liveUpstream";
import { hangupProvesEnd } from "../src/upstream";
import { addFault, type RunningStandin, standinState, useStandin } from "./helpers/standin";
import { REAL_TIME } from "./helpers/timeouts";
import { CHROMIUM_OFFER as OFFER, inSeconds, upstreamFailure as failure } from "./helpers/upstream";

const KEY = "sk-test-live-upstream-key-1234567890";
const ANSWER = OFFER.replaceAll("a=setup:actpass", "a=setup:active");
const SESSION: MediaSessionConfig = {
  model: "gpt-live-1",
  instructions: "Server-built instructions.",
  audio: { output: { voice: "cedar" } },
  client: { data_channel: { allowed_client_events: [...LIVE_ALLOWED_CLIENT_EVENTS] } },
  safety_identifier: "uid-hash-abc",
};

/** A Live session as `GET /_standin/state` lists it (the fields read here). */
interface StandinLiveSession {
  id: string;
  config: Record<string, unknown>;
  allowedClientEvents: unknown;
  endedBy: string | null;
  closeReason: string | null;
  usageSeconds: number;
}

async function liveSessions(standin: RunningStandin): Promise<StandinLiveSession[]> {
  const state = (await standinState(standin)) as unknown as {
    liveSessions: StandinLiveSession[];
  };
  return state.liveSessions;
}

describe("createOpenAiLiveUpstream against the stand-in", REAL_TIME, () => {
  const running = useStandin({ idleCallSeconds: 5 });
  const upstream = () => createOpenAiLiveUpstream({ apiKey: KEY, baseURL: running().baseUrl });

  it("opens a session with the server's config, then closes it over the sideband with its usage", async () => {
    const created = await upstream().createCall({
      sdp: OFFER,
      session: SESSION,
      deadline: inSeconds(5),
    });
    expect(created.callId).toMatch(/^live_/);
    expect(
      checkLiveAnswer({ session: { id: created.callId }, transport: { sdp: created.answer } }),
    ).toBeNull();
    const [session] = await liveSessions(running());
    expect(session).toMatchObject({
      id: created.callId,
      config: { model: "gpt-live-1", instructions: "Server-built instructions." },
      allowedClientEvents: [...LIVE_ALLOWED_CLIENT_EVENTS],
      endedBy: null,
    });

    const closed = await upstream().hangupMeasured?.(created.callId, { deadline: inSeconds(5) });
    expect(closed).toMatchObject({ outcome: "ended", usageSeconds: expect.any(Number) });
    expect(hangupProvesEnd(closed?.outcome ?? "not-found")).toBe(true);
    const [ended] = await liveSessions(running());
    expect(ended).toMatchObject({ endedBy: "sideband", closeReason: "close_requested" });
    expect(closed?.usageSeconds).toBe(ended?.usageSeconds);

    // Over now (the peer goes 100 ms after the sidebands): the sideband answers 404, which
    // proves nothing (upstream.ts).
    await new Promise((resolve) => setTimeout(resolve, 500));
    await expect(upstream().hangup(created.callId, { deadline: inSeconds(5) })).resolves.toBe(
      "not-found",
    );
  });

  it("classifies upstream's refusals and failures, once each (no retries)", async () => {
    const create = () =>
      failure(upstream().createCall({ sdp: OFFER, session: SESSION, deadline: inSeconds(5) }));

    await addFault(running(), { route: "live_sessions", kind: "status", status: 401 });
    const auth = await create();
    expect(auth).toMatchObject({ kind: "auth", details: { status: 401 } });
    expect(auth.message).not.toContain(KEY);

    await addFault(running(), { route: "live_sessions", kind: "status", status: 429 });
    expect(await create()).toMatchObject({ kind: "rate", details: { status: 429 } });

    await addFault(running(), { route: "live_sessions", kind: "status", status: 503 });
    expect(await create()).toMatchObject({ kind: "unavailable", details: { status: 503 } });

    await addFault(running(), { route: "live_sessions", kind: "garbage" });
    expect(await create()).toMatchObject({ kind: "malformed" });

    await addFault(running(), {
      route: "live_sessions",
      kind: "status",
      status: 400,
      code: "invalid_offer",
    });
    expect(await create()).toMatchObject({ kind: "rejected", details: { code: "invalid_offer" } });

    const state = (await standinState(running())) as unknown as {
      requests: { liveSessions: number };
    };
    expect(state.requests.liveSessions).toBe(5);
    expect(await liveSessions(running())).toEqual([]);
  });

  it("passes upstream's refusal of a Realtime model through as rejected, naming the field", async () => {
    const error = await failure(
      upstream().createCall({
        sdp: OFFER,
        session: { ...SESSION, model: "gpt-realtime-2" },
        deadline: inSeconds(5),
      }),
    );
    expect(error).toMatchObject({
      kind: "rejected",
      details: { status: 400, code: "invalid_model", param: "session.model" },
    });
  });

  it("times out at the deadline when upstream hangs", async () => {
    await addFault(running(), { route: "live_sessions", kind: "hang" });
    const started = Date.now();
    const error = await failure(
      upstream().createCall({ sdp: OFFER, session: SESSION, deadline: Date.now() + 400 }),
    );
    expect(error).toMatchObject({ kind: "unavailable", details: { timedOut: true } });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("reports a refused key at the sideband as auth", async () => {
    const created = await upstream().createCall({
      sdp: OFFER,
      session: SESSION,
      deadline: inSeconds(5),
    });
    const wrongKey = createOpenAiLiveUpstream({ apiKey: "sk-wrong", baseURL: running().baseUrl });
    const error = await failure(wrongKey.hangup(created.callId, { deadline: inSeconds(5) }));
    expect(error).toMatchObject({ kind: "auth", details: { status: 401 } });
    expect(error.message).not.toContain("sk-wrong");
    expect((await liveSessions(running()))[0]?.endedBy).toBeNull();
  });

  it("classifies a sideband upgrade that is refused, answers a page or hangs; the next close ends it", async () => {
    const created = await upstream().createCall({
      sdp: OFFER,
      session: SESSION,
      deadline: inSeconds(5),
    });
    const close = (deadline = inSeconds(5)) =>
      failure(upstream().hangup(created.callId, { deadline }));

    await addFault(running(), { route: "live_sideband", kind: "status", status: 503 });
    expect(await close()).toMatchObject({ kind: "unavailable", details: { status: 503 } });
    await addFault(running(), { route: "live_sideband", kind: "status", status: 429 });
    expect(await close()).toMatchObject({ kind: "rate", details: { status: 429 } });
    // A proxy's page instead of the switch to WebSocket.
    await addFault(running(), { route: "live_sideband", kind: "garbage" });
    expect(await close()).toMatchObject({ kind: "unavailable", details: { status: 200 } });
    await addFault(running(), { route: "live_sideband", kind: "hang" });
    const started = Date.now();
    expect(await close(Date.now() + 400)).toMatchObject({
      kind: "unavailable",
      details: { timedOut: true },
    });
    expect(Date.now() - started).toBeLessThan(2000);

    expect((await liveSessions(running()))[0]?.endedBy).toBeNull();
    const closed = await upstream().hangupMeasured?.(created.callId, { deadline: inSeconds(5) });
    expect(closed).toMatchObject({ outcome: "ended", usageSeconds: expect.any(Number) });
    expect((await liveSessions(running()))[0]).toMatchObject({ endedBy: "sideband" });
  });
});

/** A sideband that plays a script: what it answers when opened and to each command. */
function fakeSideband(
  script: (handlers: SidebandHandlers, sent: string[]) => void,
  onCommand?: (command: string, handlers: SidebandHandlers) => void,
) {
  const seen: { url: string; apiKey: string; sent: string[]; closed: number }[] = [];
  const connect: ConnectSideband = (url, apiKey, handlers) => {
    const entry = { url, apiKey, sent: [] as string[], closed: 0 };
    seen.push(entry);
    queueMicrotask(() => script(handlers, entry.sent));
    return {
      send: (text) => {
        entry.sent.push(text);
        queueMicrotask(() => onCommand?.(text, handlers));
      },
      close: () => {
        entry.closed += 1;
      },
    };
  };
  return { connect, seen };
}

describe("closeLiveSession with a fake sideband", REAL_TIME, () => {
  const URL = "wss://api.example/v1/live/sessions/live_1/attach";
  const closedEvent = (usage: unknown) =>
    JSON.stringify({ type: "session.closed", event_id: "e1", reason: "close_requested", usage });

  it("sends session.close once open and returns session.closed's usage seconds", async () => {
    const { connect, seen } = fakeSideband(
      (h) => h.onOpen(),
      (command, h) => {
        h.onMessage(JSON.stringify({ type: "session.usage.updated", usage: { seconds: 3 } }));
        if (JSON.parse(command).type === "session.close")
          h.onMessage(closedEvent({ seconds: 4.2 }));
      },
    );
    await expect(closeLiveSession(connect, URL, KEY, 2000)).resolves.toEqual({
      outcome: "ended",
      usageSeconds: 4.2,
    });
    expect(seen).toEqual([
      { url: URL, apiKey: KEY, sent: [JSON.stringify({ type: "session.close" })], closed: 1 },
    ]);
  });

  it.each([[undefined], [{}], [{ seconds: -1 }], [{ seconds: "4" }], [{ seconds: Infinity }]])(
    "ends without usage when session.closed carries %j",
    async (usage) => {
      const { connect } = fakeSideband(
        (h) => h.onOpen(),
        (_, h) => h.onMessage(closedEvent(usage)),
      );
      await expect(closeLiveSession(connect, URL, KEY, 2000)).resolves.toEqual({
        outcome: "ended",
        usageSeconds: null,
      });
    },
  );

  it("answers not-found for a 404 at the upgrade", async () => {
    const { connect } = fakeSideband((h) => {
      h.onRefused(404);
      h.onGone("the socket closed (1006)");
    });
    await expect(closeLiveSession(connect, URL, KEY, 2000)).resolves.toEqual({
      outcome: "not-found",
      usageSeconds: null,
    });
  });

  it.each([
    [401, "auth"],
    [403, "auth"],
    [429, "rate"],
    [400, "rejected"],
    [502, "unavailable"],
  ])("classifies a %i at the upgrade as %s", async (status, kind) => {
    const { connect } = fakeSideband((h) => {
      h.onGone("Unexpected server response");
      h.onRefused(status);
    });
    // Whichever the socket reports first, the status decides.
    const { connect: refusedFirst } = fakeSideband((h) => {
      h.onRefused(status);
      h.onGone("Unexpected server response");
    });
    for (const c of [refusedFirst])
      expect(await failure(closeLiveSession(c, URL, KEY, 2000))).toMatchObject({
        kind,
        details: { status },
      });
    // A socket that fails before any status is only unavailable.
    expect((await failure(closeLiveSession(connect, URL, KEY, 2000))).kind).toBe("unavailable");
  });

  it("fails unavailable when the socket goes before session.closed, or answers an error", async () => {
    const { connect: gone } = fakeSideband(
      (h) => h.onOpen(),
      (_, h) => h.onGone("the socket closed (1011)"),
    );
    expect(await failure(closeLiveSession(gone, URL, KEY, 2000))).toMatchObject({
      kind: "unavailable",
    });
    const { connect: refused } = fakeSideband(
      (h) => h.onOpen(),
      (_, h) =>
        h.onMessage(JSON.stringify({ type: "error", error: { code: "session_not_active" } })),
    );
    expect(await failure(closeLiveSession(refused, URL, KEY, 2000))).toMatchObject({
      kind: "unavailable",
      details: { code: "session_not_active" },
    });
  });

  it("times out when session.closed never comes, and closes its socket", async () => {
    const { connect, seen } = fakeSideband((h) => {
      h.onOpen();
      h.onMessage("not json");
    });
    const started = Date.now();
    expect(await failure(closeLiveSession(connect, URL, KEY, 300))).toMatchObject({
      kind: "unavailable",
      details: { timedOut: true },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(seen[0]?.closed).toBe(1);
  });

  it("sends nothing once the deadline has passed", async () => {
    const { connect, seen } = fakeSideband((h) => h.onOpen());
    const upstream = createOpenAiLiveUpstream({
      apiKey: KEY,
      baseURL: "http://127.0.0.1:9/v1",
      connectSideband: connect,
      now: () => 1_000_000,
    });
    expect(await failure(upstream.hangup("live_1", { deadline: 999_000 }))).toMatchObject({
      kind: "unavailable",
      details: { timedOut: true },
    });
    expect(seen).toEqual([]);
  });
});

describe("createOpenAiLiveUpstream with a fake fetch", REAL_TIME, () => {
  it("posts { session, transport } as JSON with the key, and reads the answer", async () => {
    const calls: { url: string; headers: Headers; body: unknown }[] = [];
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      calls.push({
        url: String(input instanceof Request ? input.url : input),
        headers: new Headers(init?.headers),
        body: JSON.parse(String(init?.body)),
      });
      return Response.json(
        { session: { id: "live_abc" }, transport: { type: "webrtc", sdp: ANSWER } },
        { headers: { "x-request-id": "req_9" } },
      );
    }) as typeof globalThis.fetch;
    const upstream = createOpenAiLiveUpstream({
      apiKey: KEY,
      baseURL: "http://127.0.0.1:9/v1",
      fetch,
    });
    await expect(
      upstream.createCall({ sdp: OFFER, session: SESSION, deadline: inSeconds(5) }),
    ).resolves.toEqual({ answer: ANSWER, callId: "live_abc", requestId: "req_9" });
    expect(calls).toEqual([
      {
        url: "http://127.0.0.1:9/v1/live/sessions",
        headers: expect.any(Headers),
        body: { session: SESSION, transport: { type: "webrtc", sdp: OFFER } },
      },
    ]);
    expect(calls[0]?.headers.get("authorization")).toBe(`Bearer ${KEY}`);
  });

  it.each([
    ["a non-object", "v=0", /not a Live session/],
    ["no session id", { transport: { sdp: ANSWER } }, /session id/],
    ["a strange session id", { session: { id: "a b" }, transport: { sdp: ANSWER } }, /session id/],
    ["no SDP", { session: { id: "live_1" }, transport: {} }, /transport\.sdp/],
    ["the offer echoed", { session: { id: "live_1" }, transport: { sdp: OFFER } }, /offer/],
  ])("refuses a 200 with %s as malformed", async (_, body, message) => {
    const fetch = (async () => Response.json(body)) as typeof globalThis.fetch;
    const upstream = createOpenAiLiveUpstream({
      apiKey: KEY,
      baseURL: "http://x.invalid/v1",
      fetch,
    });
    const error = await failure(
      upstream.createCall({ sdp: OFFER, session: SESSION, deadline: inSeconds(5) }),
    );
    expect(error.kind).toBe("malformed");
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain("a=ice-pwd");
  });
});

describe("sidebandUrl", () => {
  it("puts the session's attach path under the base URL, as a WebSocket URL", () => {
    expect(sidebandUrl("https://api.openai.com/v1", "live_1")).toBe(
      "wss://api.openai.com/v1/live/sessions/live_1/attach",
    );
    expect(sidebandUrl("http://127.0.0.1:4010/v1/", "live_a-b")).toBe(
      "ws://127.0.0.1:4010/v1/live/sessions/live_a-b/attach",
    );
  });
});
