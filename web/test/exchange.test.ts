import { describe, expect, it } from "vitest";
import { RealtimeCallError, RealtimeConnectError, isSecretRejected } from "../src/realtime/errors";
import { callIdFromLocation, secretExchange, type SdpExchange } from "../src/realtime/exchange";
import { FAKE_ANSWER_SDP, FAKE_OFFER_SDP, deferred, fakeFetch, flush } from "./fakes";
import { CALLS_URL, TOKEN, connected, setup } from "./harness";

const failureOf = (error: unknown) => {
  expect(error).toBeInstanceOf(RealtimeConnectError);
  const { stage, failure, message } = error as RealtimeConnectError;
  return { stage, failure, message };
};

describe("secretExchange", () => {
  it("posts the offer with the secret and reads the call id from Location", async () => {
    const fetch = fakeFetch();
    const exchange = secretExchange({ getToken: async () => TOKEN, callsUrl: CALLS_URL, fetch });
    await exchange.prepare?.(new AbortController().signal);
    const result = await exchange.exchangeOffer(FAKE_OFFER_SDP, new AbortController().signal);
    expect(result).toEqual({ answer: FAKE_ANSWER_SDP, callId: "rtc_test123" });
    expect(fetch.requests[0]?.headers.Authorization).toBe(`Bearer ${TOKEN}`);
  });

  it("asks for a new secret on each connect", async () => {
    let asked = 0;
    const exchange = secretExchange({ getToken: async () => `ek_${++asked}`, fetch: fakeFetch() });
    const signal = new AbortController().signal;
    await exchange.prepare?.(signal);
    await exchange.exchangeOffer(FAKE_OFFER_SDP, signal);
    await exchange.prepare?.(signal);
    await exchange.exchangeOffer(FAKE_OFFER_SDP, signal);
    expect(asked).toBe(2);
  });

  it("reports a refused connection as unreachable, with a full stop after the browser's text", async () => {
    const t = setup({
      fetch: async () => {
        throw new TypeError("Failed to fetch");
      },
    });
    const error = await t.session.connect().catch((e: unknown) => e);
    expect(failureOf(error)).toEqual({
      stage: "sdp",
      failure: "unreachable",
      message: "Couldn't reach OpenAI: Failed to fetch.",
    });
  });

  it("reports a 401 as a rejected secret, and a 500 as rejected but not the secret's fault", async () => {
    const body = JSON.stringify({ error: { message: "Bad key", code: "invalid_api_key" } });
    const rejected = await setup({ fetch: fakeFetch(() => ({ status: 401, body })) })
      .session.connect()
      .catch((e: unknown) => e);
    expect(failureOf(rejected)).toMatchObject({ stage: "sdp", failure: "rejected" });
    expect((rejected as RealtimeConnectError).cause).toBeInstanceOf(RealtimeCallError);
    expect(isSecretRejected(rejected)).toBe(true);
    const failed = await setup({ fetch: fakeFetch(() => ({ status: 500, body: "oops" })) })
      .session.connect()
      .catch((e: unknown) => e);
    expect(failureOf(failed)).toMatchObject({ failure: "rejected" });
    expect(isSecretRejected(failed)).toBe(false);
  });

  it("reports a garbage answer as invalid-answer", async () => {
    const error = await setup({ fetch: fakeFetch(() => ({ status: 200, body: "<html>" })) })
      .session.connect()
      .catch((e: unknown) => e);
    expect(failureOf(error)).toMatchObject({ stage: "sdp", failure: "invalid-answer" });
  });

  it("parses call ids", () => {
    expect(callIdFromLocation("/v1/realtime/calls/rtc_1?x=1")).toBe("rtc_1");
    expect(callIdFromLocation(null)).toBeNull();
  });
});

describe("the exchange seam", () => {
  it("lets another exchange open the call without the session knowing who posted the offer", async () => {
    const offers: string[] = [];
    const exchange: SdpExchange = {
      exchangeOffer: async (offer) => {
        offers.push(offer);
        return { answer: FAKE_ANSWER_SDP, callId: "rtc_brokered" };
      },
    };
    const t = await connected({ exchange });
    expect(offers).toEqual([FAKE_OFFER_SDP]);
    expect(t.fetch.requests).toHaveLength(0);
    expect(t.session.state).toEqual({ status: "connected", callId: "rtc_brokered" });
    expect(t.session.timings.token).toBe(0);
  });

  it("bounds a hung exchange with the sdp deadline and aborts its request", async () => {
    let signal: AbortSignal | undefined;
    const hung = deferred<never>();
    const t = setup({
      deadlines: { sdp: 10_000 },
      fetch: fakeFetch((request) => {
        signal = request.signal;
        return hung.promise;
      }),
    });
    const connecting = t.session.connect().catch((e: unknown) => e);
    await flush();
    t.clock.advance(9_999);
    expect(t.session.state.status).toBe("connecting");
    t.clock.advance(1);
    expect(failureOf(await connecting)).toEqual({
      stage: "sdp",
      failure: "timeout",
      message: "OpenAI's answer did not come within 10 s.",
    });
    expect(signal?.aborted).toBe(true);
    expect(t.session.state.status).toBe("closed");
    expect(t.mic.tracks[0]?.stopped).toBe(true);
    expect(t.clock.pendingTimers).toBe(0);
  });

  it("wraps what a custom exchange throws at the sdp stage", async () => {
    const exchange: SdpExchange = {
      exchangeOffer: async () => {
        throw new Error("the backend said no");
      },
    };
    const error = await setup({ exchange })
      .session.connect()
      .catch((e: unknown) => e);
    expect(failureOf(error)).toEqual({
      stage: "sdp",
      failure: "rejected",
      message: "the backend said no.",
    });
  });
});
