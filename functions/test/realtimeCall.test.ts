import { HttpsError } from "firebase-functions/v2/https";
import { describe, expect, it, vi } from "vitest";
import type { BrokeredSettings } from "../src/brokered";
import { StoreUnavailableError } from "../src/firestoreOps";
import { safetyIdentifier } from "../src/callRequests";
import type { GuardedRequest } from "../src/guards";
import { hangupTaskId } from "../src/hangupQueue";
import { createHangupTaskHandler } from "../src/hangupTask";
import { UpstreamError } from "../src/openai";
import {
  type BrokeredDeps,
  createEndRealtimeCallHandler,
  createRealtimeCallHandler,
} from "../src/realtimeCall";
import { ConfigError, type Settings } from "../src/settings";
import { unitSettings } from "./helpers/settings";
import { resolveVoiceSettings } from "../src/voiceSettings";
import { OPENER_GRACE_MS, STRANDED_AFTER_MS } from "../src/minutes";
import { parsePlans } from "../src/plans";
import {
  LIVE_ALLOWED_CLIENT_EVENTS,
  type RealtimeCallPrepared,
  type RealtimeCallResponse,
} from "voice-contract";
import {
  ANSWER_SDP,
  FakeLiveUpstream,
  FakeLog,
  FakeMinuteStore,
  FakeQueue,
  FakeUpstream,
} from "./helpers/brokered";
import { CHROMIUM_OFFER as offer } from "./helpers/upstream";

const settings: Settings = unitSettings;

// ---- The handlers, with hand-written fakes (test/helpers/brokered.ts) ----

const API_KEY = "sk-unit-brokered-key-0123456789";
/** Mid-month, midday UTC: the day resets in 12 h, the month on Dec 1. */
const NOW = Date.UTC(2026, 10, 15, 12, 0, 0);
const TO_MIDNIGHT_S = 12 * 3600;
const TO_MONTH_END_S = 15 * 86_400 + TO_MIDNIGHT_S;

function brokered(
  raw: Partial<{
    modes: string;
    daily: number;
    monthly: number;
    maxCall: number;
    ipPerMinute: number;
    apis: string;
  }> = {},
): BrokeredSettings {
  return {
    ...settings,
    // Short, so that a queue that never answers times out within the test.
    firestoreTimeoutMs: 100,
    voice: resolveVoiceSettings({
      REALTIME_MODES: raw.modes ?? "both",
      DAILY_VOICE_MINUTES: raw.daily ?? 1,
      MONTHLY_VOICE_MINUTES: raw.monthly ?? 0,
      MAX_CALL_SECONDS: raw.maxCall ?? 40,
      IP_CALLS_PER_MINUTE: raw.ipPerMinute ?? 30,
      BROKERED_APIS: raw.apis ?? "realtime",
      LIVE_MODEL: "gpt-live-1",
    }),
  };
}

function setupBrokered(overrides: Partial<BrokeredDeps> = {}) {
  let now = NOW;
  const events: string[] = [];
  const store = new FakeMinuteStore(() => now);
  const upstream = new FakeUpstream(events);
  const liveUpstream = new FakeLiveUpstream(events);
  const queue = new FakeQueue(events);
  const log = new FakeLog();
  const deps: BrokeredDeps = {
    settings: () => brokered(),
    apiKey: () => API_KEY,
    store: () => store,
    upstream: (key) => {
      expect(key).toBe(API_KEY);
      return upstream;
    },
    liveUpstream: (key) => {
      expect(key).toBe(API_KEY);
      return liveUpstream;
    },
    queue: () => queue,
    now: () => now,
    log,
    ...overrides,
  };
  const handle = createRealtimeCallHandler(deps);
  return {
    /** The handler, for a request that opens a call. */
    open: async (req: GuardedRequest): Promise<RealtimeCallResponse> => {
      const result = await handle(req);
      if ("prepared" in result) throw new Error("expected a call, got a prepare result");
      return result;
    },
    /** The handler, for a prepare request. */
    prepare: async (req: GuardedRequest): Promise<RealtimeCallPrepared> => {
      const result = await handle(req);
      if (!("prepared" in result)) throw new Error("expected a prepare result, got a call");
      return result;
    },
    end: createEndRealtimeCallHandler(deps),
    store,
    upstream,
    liveUpstream,
    queue,
    log,
    events,
    advance: (ms: number) => (now += ms),
  };
}

function request(data: unknown, uid: string | null = "u1"): GuardedRequest {
  return {
    data,
    auth: uid === null ? undefined : { uid },
    app: { alreadyConsumed: false },
    rawRequest: { headers: { "x-forwarded-for": "203.0.113.9" } },
  };
}

async function refusal(promise: Promise<unknown>): Promise<HttpsError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(HttpsError);
    return error as HttpsError;
  }
  throw new Error("expected the call to be refused");
}

describe("realtimeCall: guards", () => {
  it("refuses, before charging anything or calling upstream, each request a guard stops", async () => {
    const w = setupBrokered();
    const cases: [GuardedRequest, string, RegExp][] = [
      [request({ offer }, null), "unauthenticated", /Sign in before calling realtimeCall/],
      [request({ offer }, ""), "unauthenticated", /Sign in/],
      [{ ...request({ offer }), app: undefined }, "unauthenticated", /App Check token/],
      [
        { ...request({ offer }), app: { alreadyConsumed: true } },
        "permission-denied",
        /already used.*limitedUseAppCheckTokens/,
      ],
      [request("not an object"), "invalid-argument", /with an object/],
      [request({ offer, voice: "nope" }), "invalid-argument", /voice/],
    ];
    for (const [req, code, message] of cases) {
      const error = await refusal(w.open(req));
      expect(error.code).toBe(code);
      expect(error.message).toMatch(message);
    }
    expect(w.store.calls).toEqual([]);
    expect(w.upstream.created).toEqual([]);
  });

  it("answers internal for an empty key or a bad param, and names the param in the log only", async () => {
    const noKey = setupBrokered({ apiKey: () => "" });
    const error = await refusal(noKey.open(request({ offer })));
    expect(error.code).toBe("internal");
    expect(error.message).not.toContain("OPENAI_API_KEY");
    expect(noKey.log.entries).toContainEqual(
      expect.objectContaining({
        message: "realtime_call_config",
        fields: expect.objectContaining({ param: "OPENAI_API_KEY" }),
      }),
    );
    const badParam = setupBrokered({
      settings: () => {
        throw new ConfigError("OPENAI_TIMEOUT_MS", "must be an integer >= 100, got 5");
      },
    });
    expect((await refusal(badParam.open(request({ offer })))).code).toBe("internal");
    expect(badParam.log.entries[0]?.fields).toMatchObject({ param: "OPENAI_TIMEOUT_MS" });
    expect([...noKey.store.calls, ...badParam.store.calls]).toEqual([]);
  });

  it("refuses both callables with failed-precondition when only secrets are served", async () => {
    const w = setupBrokered({ settings: () => brokered({ modes: "secret" }) });
    for (const promise of [w.open(request({ offer })), w.end(request({ callId: "rtc_x" }))]) {
      const error = await refusal(promise);
      expect(error.code).toBe("failed-precondition");
      expect(error.details).toEqual({ reason: "mode-not-served", served: ["secret"] });
    }
    expect(w.store.calls).toEqual([]);
  });

  it("refuses bad offers with invalid-argument naming the offer and what is wrong", async () => {
    const w = setupBrokered();
    const noData = offer.replace(/m=application[\s\S]*$/, "");
    for (const [data, message] of [
      [{ voice: "cedar" }, /no offer/],
      [{ offer: noData }, /no data channel/],
      [{ offer: "hello" }, /not SDP/],
      [{ offer: offer + "a=x\r\n".repeat(5000) }, /too large|bytes/i],
      [{ offer: 42 }, /./],
    ] as const) {
      const error = await refusal(w.open(request(data)));
      expect(error.code).toBe("invalid-argument");
      expect(error.details).toEqual({ field: "offer" });
      expect(error.message).toMatch(message);
    }
    expect(w.store.calls).toEqual([]);
    expect(w.upstream.created).toEqual([]);
  });
});

describe("realtimeCall: prepare", () => {
  it("answers the caller's minutes and what a call would run, and holds nothing", async () => {
    const w = setupBrokered();
    const prepared = await w.prepare(request({ prepare: true }));
    expect(prepared).toEqual({
      prepared: true,
      minutes: {
        daySeconds: 60,
        monthSeconds: null,
        dayResetsAtMs: NOW + TO_MIDNIGHT_S * 1000,
        monthResetsAtMs: null,
        readAtMs: NOW,
      },
      maxCallSeconds: 40,
      model: "gpt-realtime-2",
      apis: ["realtime"],
      choices: expect.objectContaining({ voices: ["marin", "cedar"] }),
    });
    expect(w.store.calls).toEqual(["settleStranded", "remaining"]);
    expect(w.upstream.created).toEqual([]);
    expect(w.queue.tasks).toEqual([]);
    // A call after it gets the whole budget the prepare reported.
    expect((await w.open(request({ offer }))).minutes.daySeconds).toBe(20);
    expect((await w.prepare(request({ prepare: true }))).minutes.daySeconds).toBe(20);
  });

  it("runs the same guards as a call: no user, a replayed token, a mode not served", async () => {
    const w = setupBrokered();
    expect((await refusal(w.prepare(request({ prepare: true }, null)))).code).toBe(
      "unauthenticated",
    );
    const replayed = { ...request({ prepare: true }), app: { alreadyConsumed: true } };
    expect((await refusal(w.prepare(replayed))).code).toBe("permission-denied");
    const secretOnly = setupBrokered({ settings: () => brokered({ modes: "secret" }) });
    expect((await refusal(secretOnly.prepare(request({ prepare: true })))).code).toBe(
      "failed-precondition",
    );
    expect([...w.store.calls, ...secretOnly.store.calls]).toEqual([]);
  });

  it("hands a stranded reservation's slice back before it reads the minutes", async () => {
    const w = setupBrokered();
    // A reservation whose handler stopped before the call went live or failed.
    await w.store.reserve("u1", brokered().voice.limits);
    w.advance(40_000 + STRANDED_AFTER_MS - 1);
    expect((await w.prepare(request({ prepare: true }))).minutes.daySeconds).toBe(20);
    w.advance(1);
    expect((await w.prepare(request({ prepare: true }))).minutes.daySeconds).toBe(60);
    expect(w.store.recordsOf("u1")).toEqual([
      expect.objectContaining({ status: "failed", failure: "abandoned" }),
    ]);
    expect(w.log.entries).toContainEqual(
      expect.objectContaining({ fields: expect.objectContaining({ settled: 1 }) }),
    );
  });

  it("answers the minutes even when the sweep of stranded reservations fails", async () => {
    const w = setupBrokered();
    w.store.failNext.settleStranded = new StoreUnavailableError("the sweep timed out");
    expect((await w.prepare(request({ prepare: true }))).minutes.daySeconds).toBe(60);
  });

  it("answers unavailable when the minutes cannot be read, and logs the stage", async () => {
    const w = setupBrokered();
    w.store.failNext.remaining = new StoreUnavailableError("the minute lookup timed out");
    const error = await refusal(w.prepare(request({ prepare: true })));
    expect(error.code).toBe("unavailable");
    expect(w.log.entries).toContainEqual(
      expect.objectContaining({ fields: expect.objectContaining({ stage: "prepare" }) }),
    );
    // The next one reads them.
    expect((await w.prepare(request({ prepare: true }))).minutes.daySeconds).toBe(60);
  });
});

describe("realtimeCall: the upstream", () => {
  it("refuses an api BROKERED_APIS does not list before it reserves anything", async () => {
    const w = setupBrokered();
    const error = await refusal(w.open(request({ offer, api: "live" })));
    expect(error.code).toBe("failed-precondition");
    expect(error.details).toEqual({ reason: "api-not-served", served: ["realtime"] });
    expect(w.store.calls).toEqual([]);
    expect(w.upstream.created).toEqual([]);
  });

  it("opens a Live call on the Live upstream with the server's locked session", async () => {
    const w = setupBrokered({ settings: () => brokered({ apis: "realtime,live" }) });
    const priorTurns = [
      { role: "user", text: "Hi" },
      { role: "assistant", text: "Hello!" },
    ];
    const result = await w.open(
      request({ offer, api: "live", voice: "cedar", language: "de", priorTurns }),
    );
    expect(result).toMatchObject({
      api: "live",
      callId: "live_fake1",
      model: "gpt-live-1",
      session: { voice: "cedar", language: "de", transcription: true },
      sliceSeconds: 40,
    });
    expect(w.upstream.created).toEqual([]);
    expect(w.liveUpstream.created).toEqual([
      {
        sdp: offer,
        deadline: NOW + settings.timeoutMs,
        session: expect.objectContaining({
          model: "gpt-live-1",
          instructions: expect.stringContaining('"de"') as unknown,
          audio: { output: { voice: "cedar" } },
          client: { data_channel: { allowed_client_events: [...LIVE_ALLOWED_CLIENT_EVENTS] } },
          safety_identifier: safetyIdentifier("u1", API_KEY),
          input: [
            { type: "message", role: "user", content: [{ type: "input_text", text: "Hi" }] },
            {
              type: "message",
              role: "assistant",
              content: [{ type: "output_text", text: "Hello!" }],
            },
          ],
        }) as unknown,
      },
    ]);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({
      status: "live",
      callId: "live_fake1",
      api: "live",
      model: "gpt-live-1",
    });
    expect(w.queue.tasks[0]?.data).toEqual({
      uid: "u1",
      seq: 1,
      callId: "live_fake1",
      deadlineMs: NOW + 40_000,
      api: "live",
    });
    // A Realtime call's task stays as it was.
    await w.open(request({ offer }));
    expect(w.queue.tasks[1]?.data).not.toHaveProperty("api");
  });

  it("ends a Live call early over its upstream and charges the seconds Live counted", async () => {
    const w = setupBrokered({ settings: () => brokered({ apis: "live" }) });
    const opened = await w.open(request({ offer }));
    expect(opened.api).toBe("live");
    w.liveUpstream.usageSeconds.push(7.4);
    w.advance(12_000);
    const ended = await w.end(request({ callId: opened.callId, endedAfterSeconds: 11 }));
    expect(ended).toMatchObject({ outcome: "ended", usedSeconds: 8 });
    expect(w.liveUpstream.hungUp).toEqual([opened.callId]);
    expect(w.upstream.hungUp).toEqual([]);
    expect(w.store.charged("u1")).toBe(8);
  });

  it("ends a Live call as today when Live reports no usage", async () => {
    const w = setupBrokered({ settings: () => brokered({ apis: "live" }) });
    const opened = await w.open(request({ offer }));
    w.advance(12_000);
    await w.end(request({ callId: opened.callId, endedAfterSeconds: 11 }));
    expect(w.store.charged("u1")).toBe(11);
  });

  it.each([
    [
      "a 400 naming the offer",
      new UpstreamError("rejected", "x", { status: 400, code: "invalid_offer" }),
      "invalid-argument",
    ],
    ["a refused key", new UpstreamError("auth", "x", { status: 401 }), "internal"],
    [
      "a rate limit",
      new UpstreamError("rate", "x", { status: 429, retryAfterSeconds: 3 }),
      "resource-exhausted",
    ],
    ["a 5xx", new UpstreamError("unavailable", "x", { status: 503 }), "unavailable"],
    ["garbage", new UpstreamError("malformed", "x", { status: 200 }), "unavailable"],
    ["a hang", new UpstreamError("unavailable", "x", { timedOut: true }), "unavailable"],
  ])("maps a Live upstream's %s like a Realtime one, and refunds", async (_, error, code) => {
    const w = setupBrokered({ settings: () => brokered({ apis: "live" }) });
    w.liveUpstream.createResults.push(error);
    const refused = await refusal(w.open(request({ offer })));
    expect(refused.code).toBe(code);
    if (code === "resource-exhausted")
      expect(refused.details).toMatchObject({ reason: "upstream-rate" });
    expect(w.store.charged("u1")).toBe(0);
    expect(w.queue.tasks).toEqual([]);
  });

  it("refuses what a Live call cannot do, and prior turns on a Realtime call", async () => {
    const w = setupBrokered({ settings: () => brokered({ apis: "realtime,live" }) });
    const text = await refusal(w.open(request({ offer, api: "live", outputModality: "text" })));
    expect(text.code).toBe("invalid-argument");
    expect(text.details).toEqual({ field: "outputModality" });
    const turns = [{ role: "user", text: "hi" }];
    const realtime = await refusal(w.open(request({ offer, priorTurns: turns })));
    expect(realtime.details).toEqual({ field: "priorTurns" });
    expect(w.store.calls).toEqual([]);
  });

  it("refuses a Live call to a plan whose models leave LIVE_MODEL out, and lists no live for it", async () => {
    const plans = parsePlans('{"cheap":{"models":["gpt-realtime-2"]}}');
    const w = setupBrokered({
      settings: () => ({ ...brokered({ apis: "live" }), plans }),
    });
    const cheap = (data: unknown) => ({
      ...request(data),
      auth: { uid: "u1", token: { voicePlan: "cheap" } },
    });
    const error = await refusal(w.open(cheap({ offer })));
    expect(error.code).toBe("failed-precondition");
    expect(error.details).toEqual({ reason: "plan-model-not-allowed", plan: "cheap" });
    expect(w.store.calls).toEqual([]);
    const both = setupBrokered({
      settings: () => ({ ...brokered({ apis: "realtime,live" }), plans }),
    });
    expect(await both.prepare(cheap({ prepare: true }))).toMatchObject({ apis: ["realtime"] });
    expect((await refusal(both.open(cheap({ offer, api: "live" })))).details).toEqual({
      reason: "api-not-served",
      served: ["realtime"],
    });
  });

  it("lists the upstreams a caller may open, the default first", async () => {
    const w = setupBrokered({ settings: () => brokered({ apis: "live,realtime" }) });
    expect(await w.prepare(request({ prepare: true }))).toMatchObject({
      apis: ["live", "realtime"],
    });
  });
});

describe("realtimeCall: the minute budget", () => {
  it("opens a call: posts the offer and the server's session, schedules the hang-up, answers the slice", async () => {
    const w = setupBrokered();
    const result = await w.open(request({ offer, voice: "cedar", language: "de" }));
    expect(result).toMatchObject({
      answer: ANSWER_SDP,
      callId: "rtc_fake1",
      api: "realtime",
      endsAtMs: NOW + 40_000,
      sliceSeconds: 40,
      model: "gpt-realtime-2",
      session: { voice: "cedar", language: "de" },
      minutes: { daySeconds: 20, monthSeconds: null, dayResetsAtMs: NOW + TO_MIDNIGHT_S * 1000 },
    });
    expect(w.upstream.created[0]).toMatchObject({
      sdp: offer,
      session: { model: "gpt-realtime-2", audio: { output: { voice: "cedar" } } },
      safetyIdentifier: safetyIdentifier("u1", API_KEY),
      deadline: NOW + settings.timeoutMs,
    });
    expect(w.queue.tasks).toEqual([
      {
        data: { uid: "u1", seq: 1, callId: "rtc_fake1", deadlineMs: NOW + 40_000 },
        options: { id: hangupTaskId("rtc_fake1"), scheduleTime: new Date(NOW + 40_000) },
      },
    ]);
    expect(w.events).toEqual(["createCall", "enqueue"]);
    expect(w.store.calls).toEqual(["reserve", "start"]);
    expect(w.store.charged("u1")).toBe(40);
  });

  it("refuses past today's budget with resource-exhausted, daily-minutes and retryAfterSeconds to midnight", async () => {
    const w = setupBrokered();
    expect((await w.open(request({ offer }))).sliceSeconds).toBe(40);
    expect((await w.open(request({ offer }))).sliceSeconds).toBe(20);
    const error = await refusal(w.open(request({ offer })));
    expect(error.code).toBe("resource-exhausted");
    expect(error.details).toMatchObject({
      reason: "daily-minutes",
      retryAfterSeconds: TO_MIDNIGHT_S,
      minutes: { daySeconds: 0 },
    });
    expect(error.message).toContain("today's voice minutes");
    expect(w.upstream.created).toHaveLength(2);
    expect(w.store.charged("u1")).toBe(60);
  });

  it("refuses past this month's budget with monthly-minutes and retryAfterSeconds to the 1st", async () => {
    const w = setupBrokered({ settings: () => brokered({ daily: 5, monthly: 1, maxCall: 60 }) });
    expect((await w.open(request({ offer }))).minutes).toMatchObject({
      daySeconds: 240,
      monthSeconds: 0,
    });
    const error = await refusal(w.open(request({ offer })));
    expect(error.details).toMatchObject({
      reason: "monthly-minutes",
      retryAfterSeconds: TO_MONTH_END_S,
    });
    expect(error.message).toContain("this month's voice minutes");
  });

  it("answers unavailable when the store cannot reserve, and calls nobody", async () => {
    const w = setupBrokered();
    w.store.failNext.reserve = new StoreUnavailableError("the call reservation timed out");
    const error = await refusal(w.open(request({ offer })));
    expect(error.code).toBe("unavailable");
    expect(error.message).toContain("Could not check your usage limits");
    expect(w.upstream.created).toEqual([]);
  });
});

describe("realtimeCall: upstream failures refund the slice", () => {
  for (const [name, failure, code, details] of [
    [
      "unavailable",
      new UpstreamError("unavailable", "down", { status: 503 }),
      "unavailable",
      undefined,
    ],
    [
      "a timeout",
      new UpstreamError("unavailable", "no answer", { timedOut: true }),
      "unavailable",
      { reason: "upstream-timeout" },
    ],
    ["garbage", new UpstreamError("malformed", "no Location header"), "unavailable", undefined],
    ["something else", new TypeError("fetch failed"), "unavailable", undefined],
    [
      "a rate limit",
      new UpstreamError("rate", "slow down", { status: 429, retryAfterSeconds: 7 }),
      "resource-exhausted",
      { reason: "upstream-rate", retryAfterSeconds: 7 },
    ],
    [
      "a rejected key",
      new UpstreamError("auth", "bad key", { status: 401 }),
      "internal",
      undefined,
    ],
    // As for realtimeToken: a refused session or offer is a misconfiguration, not retryable.
    [
      "a rejected request",
      new UpstreamError("rejected", "OpenAI answered 400: bad model", { status: 400 }),
      "internal",
      undefined,
    ],
    // A refused offer or choice is the caller's to fix: named, refunded, not retryable as is.
    [
      "a refused offer",
      new UpstreamError("rejected", "OpenAI answered 400: Invalid SDP offer", {
        status: 400,
        code: "invalid_offer",
        param: null,
      }),
      "invalid-argument",
      { field: "offer" },
    ],
    [
      "a refused voice",
      new UpstreamError("rejected", "OpenAI answered 400: Invalid value", {
        status: 400,
        code: "invalid_value",
        param: "session.audio.output.voice",
      }),
      "invalid-argument",
      { field: "voice" },
    ],
  ] as const) {
    it(`refunds the whole slice on ${name} (${code}), schedules nothing, and the next call works`, async () => {
      const w = setupBrokered();
      w.upstream.createResults.push(failure);
      const error = await refusal(w.open(request({ offer })));
      expect(error.code).toBe(code);
      if (details !== undefined) expect(error.details).toEqual(details);
      expect(w.store.charged("u1")).toBe(0);
      expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "failed" });
      expect(w.queue.tasks).toEqual([]);
      const next = await w.open(request({ offer }));
      expect(next.minutes.daySeconds).toBe(20);
      expect(w.store.charged("u1")).toBe(40);
    });
  }

  it("keeps the charge (and says so in the log) when even the refund fails; never refunds twice", async () => {
    const w = setupBrokered();
    w.upstream.createResults.push(new UpstreamError("unavailable", "down"));
    w.store.failNext.fail = new StoreUnavailableError("the call refund timed out");
    expect((await refusal(w.open(request({ offer })))).code).toBe("unavailable");
    expect(w.store.charged("u1")).toBe(40);
    expect(w.log.entries).toContainEqual(
      expect.objectContaining({
        message: "realtime_call_store_failed",
        fields: expect.objectContaining({ stage: "refund" }),
      }),
    );
  });
});

/** Runs the deadline task the call's handler enqueued, against the same store and upstream. */
function runTask(w: ReturnType<typeof setupBrokered>, index = 0, retryCount = 0) {
  const queued = w.queue.tasks[index];
  if (queued === undefined) throw new Error(`no task ${index} was enqueued`);
  const handler = createHangupTaskHandler({
    store: () => w.store,
    upstream: () => w.upstream,
    timeoutMs: () => 1_000,
    maxWaitMs: 60_000,
    now: () => w.advance(0),
    sleep: async (ms) => void w.advance(ms),
    log: w.log,
  });
  return handler({ data: queued.data, retryCount });
}

describe("realtimeCall: marking the call live and scheduling its hang-up", () => {
  it("sends both at once, with one deadline: the enqueue does not wait for the start write", async () => {
    const w = setupBrokered();
    let release!: () => void;
    w.store.holdNext.start = new Promise<void>((resolve) => (release = resolve));
    const opening = w.open(request({ offer }));
    // Without the overlap the enqueue would only go out once the start write finished, which
    // waits for release(): a longer wait cannot let that pass.
    await vi.waitFor(() => expect(w.queue.tasks).toHaveLength(1), { timeout: 3_000 });
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "reserved" });
    release();
    const result = await opening;
    expect(result.endsAtMs).toBe(NOW + 40_000);
    expect(w.queue.tasks[0]?.data.deadlineMs).toBe(result.endsAtMs);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({
      status: "live",
      callId: "rtc_fake1",
      startedAtMs: NOW,
      deadlineMs: result.endsAtMs,
    });
    expect(w.log.entries).toContainEqual(
      expect.objectContaining({
        message: "realtime_call_opened",
        fields: expect.objectContaining({ stagesMs: { reserve: 0, upstream: 0, live: 0 } }),
      }),
    );
  });

  it("start fails, enqueue works: hangs up, refunds it all, unavailable; the task then does nothing", async () => {
    const w = setupBrokered();
    w.store.failNext.start = new StoreUnavailableError("the call start timed out");
    const error = await refusal(w.open(request({ offer })));
    expect(error.code).toBe("unavailable");
    expect(w.events).toEqual(["createCall", "enqueue", "hangup rtc_fake1"]);
    expect(w.store.charged("u1")).toBe(0);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({
      status: "failed",
      failure: "store-unavailable",
    });
    expect(w.log.entries).toContainEqual(
      expect.objectContaining({
        message: "realtime_call_store_failed",
        fields: expect.objectContaining({ stage: "start" }),
      }),
    );

    // The task that did get enqueued, at its deadline: nothing to hang up, nothing to end.
    w.advance(40_000);
    await runTask(w);
    expect(w.upstream.hungUp).toEqual(["rtc_fake1"]);
    expect(w.store.calls.filter((c) => c.startsWith("end"))).toEqual([]);
    expect(w.store.charged("u1")).toBe(0);

    const next = await w.open(request({ offer }));
    expect(next.sliceSeconds).toBe(40);
    expect(w.store.charged("u1")).toBe(40);
  });

  it("start and the refund fail: the charge stays, and the task later charges nothing more", async () => {
    const w = setupBrokered();
    w.store.failNext.start = new StoreUnavailableError("the call start timed out");
    w.store.failNext.fail = new StoreUnavailableError("the call refund timed out");
    expect((await refusal(w.open(request({ offer })))).code).toBe("unavailable");
    expect(w.upstream.hungUp).toEqual(["rtc_fake1"]);
    expect(w.store.charged("u1")).toBe(40);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "reserved" });

    // The record never went live: the task hangs up again at the deadline (harmless: the
    // call is over), leaves the record to its opener for OPENER_GRACE_MS (it may still hand
    // the slice back), then closes it as having used its slice, which was charged anyway.
    w.advance(40_000);
    await expect(runTask(w)).rejects.toThrow(/still reserved/);
    expect(w.upstream.hungUp).toEqual(["rtc_fake1", "rtc_fake1"]);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "reserved" });
    w.advance(OPENER_GRACE_MS);
    await runTask(w, 0, 5);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({
      status: "ended",
      endedBy: "deadline",
      usedSeconds: 40,
      unusedSeconds: 0,
    });
    expect(w.store.charged("u1")).toBe(40);
    expect((await w.open(request({ offer }))).sliceSeconds).toBe(20);
  });

  it("a task at the deadline leaves a record still reserved to its opener, whose refund then stands", async () => {
    // The opener gave up on its start write at the deadline; the task, dispatched then too,
    // ended the record first and charged the whole slice of a call answered unavailable.
    const w = setupBrokered();
    let release!: () => void;
    w.store.holdNext.start = new Promise<void>((resolve) => (release = resolve));
    w.store.failNext.start = new StoreUnavailableError("the call start timed out");
    const pending = refusal(w.open(request({ offer })));
    await vi.waitFor(() => expect(w.queue.tasks).toHaveLength(1), { timeout: 3_000 });
    w.advance(40_000);
    await expect(runTask(w)).rejects.toThrow(/still reserved/);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "reserved" });
    release();
    expect((await pending).code).toBe("unavailable");
    await runTask(w, 0, 1);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "failed" });
    expect(w.store.charged("u1")).toBe(0);
  });

  it("start fails and its hang-up is not confirmed: the slice back, and the task still hangs up at the deadline", async () => {
    for (const hangup of [new UpstreamError("unavailable", "down"), "not-found" as const]) {
      const w = setupBrokered();
      w.store.failNext.start = new StoreUnavailableError("the call start timed out");
      w.upstream.hangupResults.push(hangup);
      expect((await refusal(w.open(request({ offer })))).code).toBe("unavailable");
      expect(w.store.charged("u1")).toBe(0);
      expect(w.store.recordsOf("u1")[0]).toMatchObject({
        status: "failed",
        failure: "store-unavailable",
        upstreamOpen: true,
      });

      w.advance(40_000);
      await runTask(w);
      expect(w.events.filter((e) => e.startsWith("hangup"))).toEqual([
        "hangup rtc_fake1",
        "hangup rtc_fake1",
      ]);
      expect(w.upstream.hungUp.at(-1)).toBe("rtc_fake1");
      // Settled: the task changes neither the record nor the charge.
      expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "failed" });
      expect(w.store.charged("u1")).toBe(0);
    }
  });

  it("gives up on a start write still pending at the call's deadline: hung up by then, the slice back", async () => {
    const w = setupBrokered({
      settings: () => ({ ...brokered({ maxCall: 1 }), firestoreTimeoutMs: 5_000 }),
    });
    // A start write that never answers (a store whose own deadline is longer than the slice).
    w.store.holdNext.start = new Promise<void>(() => {});
    const started = Date.now();
    const error = await refusal(w.open(request({ offer })));
    expect(error.code).toBe("unavailable");
    // Its 1 s slice, not the store's 5 s deadline.
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(w.upstream.hungUp).toEqual(["rtc_fake1"]);
    expect(w.store.charged("u1")).toBe(0);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "failed" });
  });

  for (const [name, failure] of [
    ["the queue refuses", new Error("queue down")],
    ["the queue never answers", "hang"],
  ] as const) {
    it(`start and enqueue both fail (${name}): one hang-up, the whole slice back, unavailable`, async () => {
      const w = setupBrokered();
      w.store.failNext.start = new StoreUnavailableError("the call start timed out");
      w.queue.failures.push(failure);
      const error = await refusal(w.open(request({ offer })));
      expect(error.code).toBe("unavailable");
      expect(w.events).toEqual(["createCall", "enqueue", "hangup rtc_fake1"]);
      expect(w.store.charged("u1")).toBe(0);
      expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "failed" });
      expect(w.queue.tasks).toEqual([]);
      expect(w.log.messages()).toEqual(
        expect.arrayContaining(["realtime_call_enqueue_failed", "realtime_call_store_failed"]),
      );

      const next = await w.open(request({ offer }));
      expect(next.sliceSeconds).toBe(40);
      expect(w.queue.tasks.map((t) => t.data.callId)).toEqual([next.callId]);
      expect(w.store.charged("u1")).toBe(40);
    });
  }
});

describe("realtimeCall: the hang-up task cannot be enqueued", () => {
  for (const [name, failure] of [
    [
      "the queue refuses",
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9499"), {
        code: "app/network-error",
      }),
    ],
    [
      "permission is denied",
      Object.assign(new Error("denied"), { code: "functions/permission-denied" }),
    ],
    ["the queue never answers", "hang"],
  ] as const) {
    it(`when ${name}: hangs the call up, refunds it all, answers unavailable; the next call works`, async () => {
      const w = setupBrokered();
      w.queue.failures.push(failure);
      const error = await refusal(w.open(request({ offer })));
      expect(error.code).toBe("unavailable");
      expect(error.message).toBe(
        "Could not schedule the end of your call, so it was not opened. Try again shortly.",
      );
      // Nobody would end the call at its deadline: it is ended now, before the answer.
      expect(w.events).toEqual(["createCall", "enqueue", "hangup rtc_fake1"]);
      expect(w.store.charged("u1")).toBe(0);
      expect(w.store.recordsOf("u1")[0]).toMatchObject({
        status: "ended",
        endedBy: "server",
        usedSeconds: 0,
        unusedSeconds: 40,
      });
      expect(w.log.messages()).toContain("realtime_call_enqueue_failed");

      const next = await w.open(request({ offer }));
      expect(next.sliceSeconds).toBe(40);
      expect(w.queue.tasks.map((t) => t.data.callId)).toEqual([next.callId]);
      expect(w.store.charged("u1")).toBe(40);
    });
  }

  it("still refunds and answers unavailable when the hang-up fails too (the page never got the answer)", async () => {
    const w = setupBrokered();
    w.queue.failures.push(new Error("queue down"));
    w.upstream.hangupResults.push(new UpstreamError("unavailable", "down"));
    expect((await refusal(w.open(request({ offer })))).code).toBe("unavailable");
    expect(w.store.charged("u1")).toBe(0);
    expect(w.log.messages()).toEqual(
      expect.arrayContaining(["realtime_call_enqueue_failed", "realtime_call_hangup_failed"]),
    );
  });

  it("opens the call when a task for it already exists (a retried enqueue)", async () => {
    const w = setupBrokered();
    w.queue.failures.push(
      Object.assign(new Error("exists"), { code: "functions/task-already-exists" }),
    );
    const result = await w.open(request({ offer }));
    expect(result.callId).toBe("rtc_fake1");
    expect(w.upstream.hungUp).toEqual([]);
    expect(w.store.charged("u1")).toBe(40);
  });
});

describe("endRealtimeCall", () => {
  it("lets the owner end a call: hung up first, then the unused seconds back", async () => {
    const w = setupBrokered();
    const opened = await w.open(request({ offer }));
    w.advance(12_300);
    const ended = await w.end(request({ callId: opened.callId }));
    expect(ended).toMatchObject({ outcome: "ended", usedSeconds: 13, minutes: { daySeconds: 47 } });
    expect(w.events.slice(-1)).toEqual([`hangup ${opened.callId}`]);
    expect(w.store.calls.slice(-3)).toEqual(["findCall", "end user", "remaining"]);
    expect(w.store.charged("u1")).toBe(13);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "ended", endedBy: "user" });
  });

  it("charges to when the page ended the call, not to when its request arrived, within 15 s", async () => {
    const w = setupBrokered();
    const opened = await w.open(request({ offer }));
    // Ended 8 s in; the request arrived 9.9 s later (a cold function).
    w.advance(17_900);
    const ended = await w.end(request({ callId: opened.callId, endedAfterSeconds: 8 }));
    expect(ended).toMatchObject({ outcome: "ended", usedSeconds: 8, minutes: { daySeconds: 52 } });
    expect(w.upstream.hungUp).toEqual([opened.callId]);
    expect(w.store.charged("u1")).toBe(8);

    // A page that says 0 s, 35 s in, is charged all but the bound.
    const next = await w.open(request({ offer }));
    w.advance(35_000);
    const capped = await w.end(request({ callId: next.callId, endedAfterSeconds: 0 }));
    expect(capped.usedSeconds).toBe(20);
  });

  it("refuses an endedAfterSeconds that is not whole seconds, naming it, and ends nothing", async () => {
    const w = setupBrokered();
    const opened = await w.open(request({ offer }));
    for (const endedAfterSeconds of [-1, 2.5, "3"]) {
      const error = await refusal(w.end(request({ callId: opened.callId, endedAfterSeconds })));
      expect(error.code).toBe("invalid-argument");
      expect(error.details).toEqual({ field: "endedAfterSeconds" });
    }
    expect(w.upstream.hungUp).toEqual([]);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "live" });
  });

  it("refuses another user's call as not found, and neither hangs up nor refunds", async () => {
    const w = setupBrokered();
    const opened = await w.open(request({ offer }));
    const error = await refusal(w.end(request({ callId: opened.callId }, "u2")));
    expect(error.code).toBe("not-found");
    expect(w.upstream.hungUp).toEqual([]);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "live" });
    expect(w.store.charged("u1")).toBe(40);
  });

  it("is idempotent: a second end hangs up nothing and refunds nothing", async () => {
    const w = setupBrokered();
    const opened = await w.open(request({ offer }));
    w.advance(5_000);
    const first = await w.end(request({ callId: opened.callId }));
    w.advance(5_000);
    const again = await w.end(request({ callId: opened.callId }));
    // The same figures, read 5 s later: the newer answer, should both reach a page.
    expect(again).toEqual({
      outcome: "already-ended",
      usedSeconds: null,
      minutes: { ...first.minutes, readAtMs: first.minutes.readAtMs + 5_000 },
    });
    expect(w.upstream.hungUp).toEqual([opened.callId]);
    expect(w.store.charged("u1")).toBe(5);
  });

  it("answers unavailable and refunds nothing when the hang-up fails; the retry ends it", async () => {
    const w = setupBrokered();
    const opened = await w.open(request({ offer }));
    w.upstream.hangupResults.push(
      new UpstreamError("unavailable", "no answer", { timedOut: true }),
    );
    const error = await refusal(w.end(request({ callId: opened.callId })));
    expect(error.code).toBe("unavailable");
    expect(error.message).toContain("still ends at its deadline");
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "live" });
    expect(w.store.charged("u1")).toBe(40);
    w.advance(2_000);
    expect((await w.end(request({ callId: opened.callId }))).usedSeconds).toBe(2);
    expect(w.store.charged("u1")).toBe(2);
  });

  it("takes a 404 from the hang-up as no proof: the record ends as the page asked, and the deadline task still hangs up", async () => {
    const w = setupBrokered();
    const opened = await w.open(request({ offer }));
    w.advance(3_000);
    w.upstream.hangupResults.push("not-found");
    const ended = await w.end(request({ callId: opened.callId }));
    expect(ended).toMatchObject({ outcome: "ended", usedSeconds: 3 });
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "ended", upstreamOpen: true });
    expect(w.store.charged("u1")).toBe(3);
    expect(w.log.entries).toContainEqual(
      expect.objectContaining({
        message: "end_realtime_call_hangup_unconfirmed",
        fields: expect.objectContaining({ upstream: "not-found" }),
      }),
    );

    // The task was not stood down: at the deadline it hangs up again, and charges nothing more.
    w.advance(37_000);
    await runTask(w);
    expect(w.upstream.hungUp).toEqual([opened.callId, opened.callId]);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "ended", endedBy: "user" });
    expect(w.store.charged("u1")).toBe(3);
  });

  it("answers unavailable and changes nothing when the hang-up fails; the task still ends the call", async () => {
    const w = setupBrokered();
    const opened = await w.open(request({ offer }));
    w.advance(3_000);
    w.upstream.hangupResults.push(new UpstreamError("unavailable", "the hang-up timed out", {}));
    const error = await refusal(w.end(request({ callId: opened.callId })));
    expect(error.code).toBe("unavailable");
    expect(error.message).toContain("still ends at its deadline");
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "live" });
    expect(w.store.charged("u1")).toBe(40);
    w.advance(37_000);
    await runTask(w);
    expect(w.store.recordsOf("u1")[0]).toMatchObject({ status: "ended", endedBy: "deadline" });
  });

  it("says the call is over but the refund is pending when the store fails after the hang-up; the retry refunds once", async () => {
    const w = setupBrokered();
    const opened = await w.open(request({ offer }));
    w.advance(3_000);
    w.store.failNext.end = new StoreUnavailableError("the call end timed out");
    const error = await refusal(w.end(request({ callId: opened.callId })));
    expect(error.code).toBe("unavailable");
    expect(error.message).toContain("The call is over");
    // Upstream confirms a call it knows to have ended (as the stand-in does).
    const retried = await w.end(request({ callId: opened.callId }));
    expect(retried.outcome).toBe("ended");
    expect(w.store.charged("u1")).toBe(retried.usedSeconds ?? -1);
  });

  it("refuses a missing or malformed call id with invalid-argument naming callId", async () => {
    const w = setupBrokered();
    for (const data of [{}, { callId: "" }, { callId: "a/b" }, null]) {
      const error = await refusal(w.end(request(data)));
      expect(error.code).toBe("invalid-argument");
      expect(error.details).toEqual({ field: "callId" });
    }
  });

  it("answers unavailable when the call cannot be looked up", async () => {
    const w = setupBrokered();
    w.store.failNext.findCall = new StoreUnavailableError("the call lookup timed out");
    const error = await refusal(w.end(request({ callId: "rtc_x" })));
    expect(error.code).toBe("unavailable");
    expect(error.message).toContain("Could not end the call");
  });
});

describe("the brokered handlers' logs", () => {
  it("never carry the key, the offer or the answer, whatever happened", async () => {
    const w = setupBrokered();
    const opened = await w.open(request({ offer }));
    w.upstream.createResults.push(
      new UpstreamError("unavailable", `upstream said: ${API_KEY} ${offer}`),
    );
    await refusal(w.open(request({ offer })));
    w.queue.failures.push(new Error(`enqueue failed for Bearer ${API_KEY}`));
    await refusal(w.open(request({ offer })));
    w.upstream.hangupResults.push(new UpstreamError("unavailable", "down"));
    await refusal(w.end(request({ callId: opened.callId })));
    await w.end(request({ callId: opened.callId }));

    const text = w.log.text();
    expect(w.log.entries.length).toBeGreaterThanOrEqual(5);
    expect(text).not.toContain(API_KEY);
    expect(text).not.toMatch(/sk-[A-Za-z0-9_-]{8,}/);
    for (const sdp of [offer, ANSWER_SDP])
      for (const line of sdp.split(/\r?\n/).filter((l) => /^a=(fingerprint|ice-pwd):/.test(l)))
        expect(text).not.toContain(line);
  });
});
