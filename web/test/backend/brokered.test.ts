import { FunctionsError } from "firebase/functions";
import { describe, expect, it } from "vitest";
import type {
  EndRealtimeCallRequest,
  RealtimeCallPrepared,
  RealtimeCallRequest,
  RealtimeCallResponse,
} from "voice-contract";
import type { AppConfig } from "../../src/config";
import type { FirebaseServices } from "../../src/firebase";
import { RealtimeConnectError } from "../../src/realtime/errors";
import {
  BrokeredCallError,
  brokeredExchange,
  toBrokeredConnectError,
  type BrokeredCallOpened,
} from "../../src/backend/brokered";
import { callableBrokeredCalls } from "../../src/backend/callable";
import { PageHideEnd } from "../../src/backend/pageHideEnd";
import { BrokeredCalls } from "../../src/app/brokeredCalls";
import {
  SERVER_CHOICES,
  deferred,
  FakeMinutesHub,
  fakeCallResponse,
  fakeMinutesElements,
  flush,
} from "../fakes";
import { setup } from "../harness";
import { REAL_TIME } from "../timeouts";
import { functionsAt, hangs, listen, type Reply } from "./callableServer";

const OFFER =
  "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
const ANSWER = "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=answer\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";

function result(callId = "rtc_1"): RealtimeCallResponse {
  return fakeCallResponse({ answer: ANSWER, callId });
}

/** A hand-written broker: `call` answers as told; both record their requests. */
function broker(
  answer: (request: RealtimeCallRequest) => Promise<RealtimeCallResponse>,
  choices: Omit<RealtimeCallRequest, "offer"> = { voice: "cedar", turnDetection: "push_to_talk" },
) {
  const calls: RealtimeCallRequest[] = [];
  const ends: EndRealtimeCallRequest[] = [];
  const opened: BrokeredCallOpened[] = [];
  const endGate = deferred<void>();
  const exchange = brokeredExchange({
    call: (request) => {
      calls.push(request);
      return answer(request);
    },
    end: async (request) => {
      ends.push(request);
      endGate.resolve();
      throw new FunctionsError("unavailable", "end fails; the exchange must not care");
    },
    choices,
    onOpened: (o) => opened.push(o),
  });
  return { exchange, calls, ends, opened, ended: endGate.promise };
}

async function failureOf(error: unknown): Promise<RealtimeConnectError> {
  const { exchange } = broker(() => Promise.reject(error));
  const thrown = await exchange.exchangeOffer(OFFER, new AbortController().signal).then(
    () => null,
    (e: unknown) => e,
  );
  expect(thrown).toBeInstanceOf(RealtimeConnectError);
  return thrown as RealtimeConnectError;
}

describe("brokeredExchange", () => {
  it("sends the offer with the choices and returns the answer and call id", async () => {
    const { exchange, calls, ends, opened } = broker(async () => result("rtc_ok"));
    const got = await exchange.exchangeOffer(OFFER, new AbortController().signal);
    expect(got).toEqual({ answer: ANSWER, callId: "rtc_ok" });
    expect(calls).toEqual([{ voice: "cedar", turnDetection: "push_to_talk", offer: OFFER }]);
    const { answer: _answer, ...rest } = result("rtc_ok");
    expect(opened).toEqual([rest]);
    expect(opened[0]).toMatchObject({ endsAtMs: 1_780_000_000_000, sliceSeconds: 300 });
    expect(ends).toEqual([]);
  });

  it("does not call at all when the signal aborted before", async () => {
    const { exchange, calls } = broker(async () => result());
    const controller = new AbortController();
    const reason = new Error("disposed");
    controller.abort(reason);
    await expect(exchange.exchangeOffer(OFFER, controller.signal)).rejects.toBe(reason);
    expect(calls).toEqual([]);
  });

  it("rejects at once on abort and ends the call that opens afterwards", async () => {
    const gate = deferred<RealtimeCallResponse>();
    const { exchange, ends, opened, ended } = broker(() => gate.promise);
    const controller = new AbortController();
    const pending = exchange.exchangeOffer(OFFER, controller.signal);
    const reason = new Error("deadline");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(ends).toEqual([]);
    gate.resolve(result("rtc_late"));
    await ended;
    expect(ends).toEqual([{ callId: "rtc_late" }]);
    expect(opened).toEqual([]);
  });

  it("ends nothing when the call aborted and then failed", async () => {
    const gate = deferred<RealtimeCallResponse>();
    const { exchange, ends } = broker(() => gate.promise);
    const controller = new AbortController();
    const pending = exchange.exchangeOffer(OFFER, controller.signal);
    controller.abort(new Error("gone"));
    await expect(pending).rejects.toThrow("gone");
    gate.reject(new FunctionsError("unavailable", "x"));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(ends).toEqual([]);
  });

  it("sends the API and prior turns asked for, and ends a call opened on another API", async () => {
    const priorTurns = [{ role: "user" as const, text: "Hi" }];
    const live = broker(async () => ({ ...result("sess_ok"), api: "live" }), {
      api: "live",
      priorTurns,
    });
    await expect(live.exchange.exchangeOffer(OFFER, new AbortController().signal)).resolves.toEqual(
      { answer: ANSWER, callId: "sess_ok" },
    );
    expect(live.calls).toEqual([{ api: "live", priorTurns, offer: OFFER }]);

    const wrong = broker(async () => ({ ...result("rtc_wrong"), api: "realtime" }), {
      api: "live",
    });
    const error = await wrong.exchange
      .exchangeOffer(OFFER, new AbortController().signal)
      .catch((e: unknown) => e as RealtimeConnectError);
    expect(error).toMatchObject({ stage: "sdp", failure: "invalid-answer" });
    await wrong.ended;
    expect(wrong.ends).toEqual([{ callId: "rtc_wrong" }]);
    expect(wrong.opened).toEqual([]);
  });

  it("ends a call whose result carries no SDP answer", async () => {
    const { exchange, ends, opened, ended } = broker(async () => ({
      ...result("rtc_bad"),
      answer: "<html>",
    }));
    const error = await exchange
      .exchangeOffer(OFFER, new AbortController().signal)
      .catch((e: unknown) => e as RealtimeConnectError);
    expect(error).toMatchObject({ stage: "sdp", failure: "invalid-answer" });
    await ended;
    expect(ends).toEqual([{ callId: "rtc_bad" }]);
    expect(opened).toEqual([]);
  });
});

describe("brokeredExchange in a session", () => {
  it("a callable slower than the SDP deadline is the function's timeout, never OpenAI's", async () => {
    const { exchange } = broker(() => new Promise<never>(() => undefined));
    const t = setup({ exchange });
    const connecting = t.session.connect().catch((e: unknown) => e);
    await flush();
    t.clock.advance(15_000);
    const error = await connecting;
    expect(error).toMatchObject({ stage: "sdp", failure: "timeout", waited: "backend-answer" });
    expect((error as Error).message).toBe(
      "The voice server (this app's function) did not answer within 15 s.",
    );
  });
});

describe("brokeredExchange, odd callables", () => {
  it("maps a callable that throws synchronously", async () => {
    const exchange = brokeredExchange({
      call: () => {
        throw new FunctionsError("unavailable", "down");
      },
      end: async () => undefined,
    });
    await expect(exchange.exchangeOffer(OFFER, new AbortController().signal)).rejects.toMatchObject(
      { stage: "sdp", failure: "unavailable" },
    );
  });

  it("refuses a result without a call id", async () => {
    const { exchange, opened } = broker(async () => ({ ...result(), callId: "" }));
    await expect(exchange.exchangeOffer(OFFER, new AbortController().signal)).rejects.toMatchObject(
      { stage: "sdp", failure: "invalid-answer" },
    );
    expect(opened).toEqual([]);
  });
});

describe("toBrokeredConnectError with the SDK's FunctionsError", () => {
  const cases: [string, FunctionsError, string, Partial<BrokeredCallError["details"]>][] = [
    [
      "daily minutes",
      new FunctionsError("resource-exhausted", "used", {
        reason: "daily-minutes",
        retryAfterSeconds: 3600,
        minutes: {
          daySeconds: 0,
          dayResetsAtMs: 1_000,
          monthSeconds: null,
          monthResetsAtMs: null,
          readAtMs: 500,
        },
      }),
      "out-of-minutes",
      { code: "resource-exhausted", reason: "daily-minutes", retryAfterSeconds: 3600 },
    ],
    [
      "monthly minutes",
      new FunctionsError("resource-exhausted", "used", {
        reason: "monthly-minutes",
        retryAfterSeconds: 86_400,
      }),
      "out-of-minutes",
      { reason: "monthly-minutes", retryAfterSeconds: 86_400 },
    ],
    [
      "an upstream rate limit",
      new FunctionsError("resource-exhausted", "slow", {
        reason: "upstream-rate",
        retryAfterSeconds: 7,
      }),
      "rate-limited",
      { reason: "upstream-rate", retryAfterSeconds: 7 },
    ],
    [
      "the caller's network over its allowance, with the caller's minutes",
      new FunctionsError("resource-exhausted", "busy", {
        reason: "ip-rate",
        retryAfterSeconds: 20,
        minutes: {
          daySeconds: 1800,
          dayResetsAtMs: 1_000,
          monthSeconds: null,
          monthResetsAtMs: null,
          readAtMs: 500,
        },
      }),
      "rate-limited",
      {
        reason: "ip-rate",
        retryAfterSeconds: 20,
        minutes: {
          daySeconds: 1800,
          dayResetsAtMs: 1_000,
          monthSeconds: null,
          monthResetsAtMs: null,
          readAtMs: 500,
        },
      },
    ],
    [
      "a refused offer",
      new FunctionsError("invalid-argument", `The offer has no audio section: ${OFFER}`, {
        field: "offer",
      }),
      "invalid-offer",
      { code: "invalid-argument", field: "offer" },
    ],
    [
      "a refused choice",
      new FunctionsError("invalid-argument", "bad voice", { field: "voice" }),
      "invalid-request",
      { field: "voice" },
    ],
    [
      "a mode the backend does not serve",
      new FunctionsError("failed-precondition", "secret only", {
        reason: "mode-not-served",
        served: ["secret"],
      }),
      "not-served",
      { served: ["secret"] },
    ],
    [
      "an API the backend does not serve",
      new FunctionsError("failed-precondition", "realtime only", {
        reason: "api-not-served",
        served: ["realtime"],
      }),
      "not-served",
      { reason: "api-not-served", servedApis: ["realtime"] },
    ],
    [
      "another failed precondition",
      new FunctionsError("failed-precondition", "x"),
      "misconfigured",
      {},
    ],
    ["unavailable", new FunctionsError("unavailable", "down"), "unavailable", {}],
    [
      "OpenAI not answering the function in time",
      new FunctionsError("unavailable", "OpenAI did not answer in time.", {
        reason: "upstream-timeout",
      }),
      "timeout",
      { reason: "upstream-timeout" },
    ],
    [
      "unauthenticated",
      new FunctionsError("unauthenticated", "Unauthenticated"),
      "unauthenticated",
      {},
    ],
    [
      "deadline-exceeded",
      new FunctionsError("deadline-exceeded", "deadline-exceeded"),
      "timeout",
      {},
    ],
    ["internal [0]", new FunctionsError("internal", "internal [0]"), "unreachable", {}],
    [
      "a deliberate internal error",
      new FunctionsError("internal", "The realtimeCall service is misconfigured."),
      "misconfigured",
      {},
    ],
    ["an unknown code", new FunctionsError("aborted", "x"), "rejected", {}],
  ];

  it.each(cases)("maps %s", async (_name, error, failure, details) => {
    const mapped = await failureOf(error);
    expect(mapped).toMatchObject({ stage: "sdp", failure });
    expect(mapped.cause).toBeInstanceOf(BrokeredCallError);
    const cause = mapped.cause as BrokeredCallError;
    expect(cause.details).toMatchObject(details);
    expect(cause.cause).toBe(error);
    // Neither message carries SDP text, even when the server's message did.
    for (const text of [mapped.message, cause.message]) {
      expect(text).not.toMatch(/v=0|m=audio|IN IP4/);
      expect(text).toMatch(/[.!?]$/);
    }
  });

  it("keeps the minutes a refusal reported", () => {
    const minutes = {
      daySeconds: 0,
      dayResetsAtMs: 9_000,
      monthSeconds: 40,
      monthResetsAtMs: 99_000,
      readAtMs: 8_000,
    };
    const mapped = toBrokeredConnectError(
      new FunctionsError("resource-exhausted", "x", {
        reason: "daily-minutes",
        retryAfterSeconds: 1.2,
        minutes,
      }),
    );
    expect((mapped.cause as BrokeredCallError).details).toEqual({
      code: "resource-exhausted",
      reason: "daily-minutes",
      retryAfterSeconds: 2,
      minutes,
    });
  });

  it("drops minutes that are not VoiceMinutes", () => {
    const mapped = toBrokeredConnectError(
      new FunctionsError("resource-exhausted", "x", {
        reason: "monthly-minutes",
        retryAfterSeconds: 5,
        minutes: { daySeconds: "lots" },
      }),
    );
    expect((mapped.cause as BrokeredCallError).details).not.toHaveProperty("minutes");
  });
});

describe("callableBrokeredCalls with the SDK's real errors", REAL_TIME, () => {
  async function callAt(port: number, timeout?: number): Promise<unknown> {
    const { functions, close } = functionsAt(port);
    const exchange = brokeredExchange({ ...callableBrokeredCalls(functions, timeout) });
    const error = await exchange.exchangeOffer(OFFER, new AbortController().signal).then(
      () => null,
      (e: unknown) => e,
    );
    await close();
    return error;
  }

  it("reads a refused port as unreachable", async () => {
    const { port, close } = await listen();
    close();
    const error = await callAt(port);
    expect(error).toMatchObject({ stage: "sdp", failure: "unreachable" });
    const cause = (error as RealtimeConnectError).cause as BrokeredCallError;
    expect(cause.cause).toBeInstanceOf(FunctionsError);
    expect(cause.cause).toMatchObject({ code: "functions/internal", message: "internal [0]" });
  });

  it("reads the SDK's own timeout as the function's timeout, not OpenAI's", async () => {
    const { port, close } = await listen(hangs);
    const error = await callAt(port, 200);
    close();
    expect(error).toMatchObject({ stage: "sdp", failure: "timeout", waited: "backend-answer" });
    expect((error as Error).message).toBe(
      "The voice server (this app's function) did not answer in time.",
    );
    expect(((error as RealtimeConnectError).cause as BrokeredCallError).cause).toMatchObject({
      code: "functions/deadline-exceeded",
    });
  });

  it("reads the function's upstream-timeout as OpenAI's timeout", async () => {
    const { port, close } = await listen(() => ({
      status: 503,
      body: {
        error: {
          status: "UNAVAILABLE",
          message: "OpenAI did not answer in time. Try again shortly.",
          details: { reason: "upstream-timeout" },
        },
      },
    }));
    const error = await callAt(port);
    close();
    expect(error).toMatchObject({ stage: "sdp", failure: "timeout", waited: "upstream-answer" });
    expect((error as Error).message).toBe("OpenAI did not answer the voice server in time.");
  });

  const PREPARED: RealtimeCallPrepared = {
    prepared: true,
    minutes: {
      daySeconds: 1500,
      dayResetsAtMs: 1_780_000_000_000,
      monthSeconds: null,
      monthResetsAtMs: null,
      readAtMs: 1_779_990_000_000,
    },
    maxCallSeconds: 300,
    model: "gpt-realtime-2",
    apis: ["realtime"],
    choices: SERVER_CHOICES,
  };
  const answers = (): Reply => ({ status: 200, body: { result: PREPARED } });

  /** The page's BrokeredCalls on the SDK's callables at `port`, with fake minutes elements. */
  function preparingAt(port: number, timeout?: number) {
    const { functions, close } = functionsAt(port);
    const elements = fakeMinutesElements();
    const calls = new BrokeredCalls({
      config: {} as AppConfig,
      firebase: {} as FirebaseServices,
      elements,
      onNotice: () => undefined,
      onNoticeResolved: () => undefined,
      onBlock: () => undefined,
      uid: () => "u1",
      minutesChannel: new FakeMinutesHub().channel,
      calls: callableBrokeredCalls(functions, timeout),
      pageHide: new PageHideEnd({
        url: `http://127.0.0.1:${port}/demo-sdk/us-central1/endRealtimeCall`,
        idToken: async () => "id",
        appCheckToken: async () => null,
        fetch: async () => undefined,
      }),
    });
    return { calls, left: elements.left, close };
  }

  it("prepare over a refused port: null, no minutes, and the next prepare asks again", async () => {
    const first = await listen();
    first.close();
    const { calls, left, close } = preparingAt(first.port);
    let server: Awaited<ReturnType<typeof listen>> | undefined;
    try {
      expect(await calls.prepare("u1")).toBeNull();
      expect(left.dataset).toEqual({});
      expect(left.textContent).toBe("");
      // The function is back, on the same port.
      server = await listen(answers, first.port);
      expect(await calls.prepare("u1")).toEqual(PREPARED);
      expect(server.requests).toEqual([{ data: { prepare: true } }]);
      expect(left.dataset).toMatchObject({ state: "known", daySeconds: "1500" });
      expect(left.textContent).toMatch(/25 min/);
    } finally {
      server?.close();
      await close();
    }
  });

  it("prepare past the SDK's own timeout: null, no minutes, and the next prepare asks again", async () => {
    let reply = hangs;
    const server = await listen(() => reply());
    const { calls, left, close } = preparingAt(server.port, 200);
    try {
      expect(await calls.prepare("u1")).toBeNull();
      expect(left.dataset).toEqual({});
      expect(left.textContent).toBe("");
      reply = answers;
      expect(await calls.prepare("u1")).toEqual(PREPARED);
      expect(server.requests).toEqual([{ data: { prepare: true } }, { data: { prepare: true } }]);
      expect(left.dataset).toMatchObject({ state: "known", daySeconds: "1500" });
    } finally {
      server.close();
      await close();
    }
  });
});
