import { afterEach, describe, expect, it, vi } from "vitest";
import type {
  EndRealtimeCallRequest,
  EndRealtimeCallResponse,
  RealtimeCallPrepared,
  RealtimeCallRequest,
  RealtimeCallResponse,
  VoiceMinutes,
} from "voice-contract";
import type { AppConfig } from "../../src/config";
import type { FirebaseServices } from "../../src/firebase";
import { PageHideEnd } from "../../src/backend/pageHideEnd";
import { BrokeredCalls, HANG_UP_WAIT_MS, PREPARE_FRESH_MS } from "../../src/app/brokeredCalls";
import type { BannerContent } from "../../src/ui/messages";
import {
  FAKE_ANSWER_SDP,
  FAKE_OFFER_SDP,
  SERVER_CHOICES,
  deferred,
  fakeCallResponse,
  fakeMinutesElements,
  flush,
} from "../fakes";

const NOW = Date.parse("2026-11-10T21:00:00Z");
const minutes = (daySeconds: number): VoiceMinutes => ({
  daySeconds,
  dayResetsAtMs: Date.parse("2026-11-11T00:00:00Z"),
  monthSeconds: null,
  monthResetsAtMs: null,
});

function opened(overrides: Partial<RealtimeCallResponse> = {}): RealtimeCallResponse {
  return fakeCallResponse({
    endsAtMs: NOW + 12_000,
    sliceSeconds: 12,
    model: "gpt-realtime-2",
    minutes: minutes(1788),
    ...overrides,
  });
}

const live: BrokeredCalls[] = [];

const preparedAnswer = (daySeconds: number): RealtimeCallPrepared => ({
  prepared: true,
  minutes: minutes(daySeconds),
  maxCallSeconds: 12,
  model: "gpt-realtime-2",
  choices: SERVER_CHOICES,
});

/** A BrokeredCalls on hand-written callables, fake elements and a clock the test moves. */
function harness(
  end: (request: EndRealtimeCallRequest) => Promise<unknown>,
  call: () => Promise<RealtimeCallResponse> = async () => opened(),
  prepare: () => Promise<RealtimeCallPrepared> = async () => preparedAnswer(1800),
) {
  const elements = fakeMinutesElements();
  const requests: RealtimeCallRequest[] = [];
  const ends: EndRealtimeCallRequest[] = [];
  const beacons: string[] = [];
  let prepares = 0;
  const notices: BannerContent[] = [];
  const clock = { now: NOW };
  const pageHide = new PageHideEnd({
    url: "http://127.0.0.1:5001/p/r/endRealtimeCall",
    idToken: async () => "id",
    appCheckToken: async () => null,
    fetch: async (_url, init) => void beacons.push(init.body),
  });
  // The rendering BrokeredCalls defers to a later task; `open` runs it, `exchange` does not.
  const later: Array<() => void> = [];
  const runLater = () => {
    for (const work of later.splice(0)) work();
  };
  const calls = new BrokeredCalls({
    config: {} as AppConfig,
    firebase: {} as FirebaseServices,
    elements,
    onNotice: (banner) => notices.push(banner),
    calls: {
      call: async (request) => {
        requests.push(request);
        return call();
      },
      end: (request) => {
        ends.push(request);
        return end(request);
      },
      prepare: () => {
        prepares++;
        return prepare();
      },
    },
    pageHide,
    now: () => clock.now,
    defer: (work) => later.push(work),
  });
  live.push(calls);
  const exchange = () =>
    calls.exchange({ voice: "cedar" }).exchangeOffer(FAKE_OFFER_SDP, new AbortController().signal);
  const open = async () => {
    const result = await exchange();
    runLater();
    return result;
  };
  return {
    calls,
    elements,
    requests,
    ends,
    beacons,
    notices,
    clock,
    open,
    exchange,
    runLater,
    pageHide,
    prepares: () => prepares,
  };
}

afterEach(() => {
  // Stops any countdown timer a test left running.
  for (const calls of live.splice(0)) calls.pageHide();
});

const ended = (daySeconds: number): EndRealtimeCallResponse => ({
  outcome: "ended",
  usedSeconds: 3,
  minutes: minutes(daySeconds),
});

describe("BrokeredCalls", () => {
  it("opens through realtimeCall and shows the minutes and the countdown", async () => {
    const h = harness(async () => ended(1797));
    const result = await h.open();
    expect(result).toEqual({ answer: FAKE_ANSWER_SDP, callId: "rtc_1" });
    expect(h.requests).toEqual([{ voice: "cedar", offer: FAKE_OFFER_SDP }]);
    expect(h.elements.left.dataset).toMatchObject({ state: "known", daySeconds: "1788" });
    // A 12 s call is warned in its last 3 s, not from its first second.
    expect(h.elements.clock.dataset).toMatchObject({
      phase: "running",
      secondsLeft: "12",
      endsAt: String(NOW + 12_000),
    });
    expect(h.elements.warning.hidden).toBe(true);
  });

  it("holds the call at once but shows it only in a later task, after the answer's own", async () => {
    const h = harness(async () => ended(1797));
    const seen: string[] = [];
    const result = await h.calls
      .exchange({ voice: "cedar" }, (call) => seen.push(call.callId))
      .exchangeOffer(FAKE_OFFER_SDP, new AbortController().signal);
    expect(result.callId).toBe("rtc_1");
    // Open already (Disconnect would hang it up), but nothing drawn and nothing armed yet.
    expect(h.calls.hasOpenCall).toBe(true);
    expect(h.elements.left.dataset.state).toBeUndefined();
    expect(h.elements.clock.hidden).toBe(true);
    expect(h.pageHide.status).toBe("idle");
    expect(seen).toEqual([]);
    h.runLater();
    expect(h.elements.left.dataset).toMatchObject({ state: "known", daySeconds: "1788" });
    expect(h.elements.clock.hidden).toBe(false);
    expect(h.pageHide.status).not.toBe("idle");
    expect(seen).toEqual(["rtc_1"]);
  });

  it("draws nothing of a call that closed before its rendering ran: no countdown, nothing armed", async () => {
    const answer = deferred<EndRealtimeCallResponse>();
    const h = harness(() => answer.promise);
    const seen: string[] = [];
    await h.calls
      .exchange({ voice: "cedar" }, (call) => seen.push(call.callId))
      .exchangeOffer(FAKE_OFFER_SDP, new AbortController().signal);
    expect(h.calls.closed({ kind: "client" })).toEqual({ banner: null, byUser: false });
    h.runLater();
    expect(h.elements.clock.hidden).toBe(true);
    expect(h.elements.clock.dataset.secondsLeft).toBeUndefined();
    expect(h.pageHide.status).toBe("idle");
    expect(seen).toEqual([]);
    // The close ended the call with the minutes the call had, as a drawn call's close does.
    expect(h.ends).toEqual([{ callId: "rtc_1" }]);
    expect(h.elements.left.dataset).toMatchObject({ state: "ending", daySeconds: "1788" });
    answer.resolve(ended(1797));
    await flush();
    expect(h.elements.left.dataset).toMatchObject({ state: "known", daySeconds: "1797" });
  });

  it("on Disconnect has the server hang up first, then closes the page's side", async () => {
    const answer = deferred<EndRealtimeCallResponse>();
    const h = harness(() => answer.promise);
    await h.open();
    expect(h.calls.hasOpenCall).toBe(true);
    let disposed = 0;
    const hangingUp = h.calls.hangUp(() => disposed++);
    expect(h.ends).toEqual([{ callId: "rtc_1" }]);
    expect(h.calls.hasOpenCall).toBe(false);
    expect(h.elements.left.dataset.state).toBe("ending");
    await flush();
    expect(disposed).toBe(0);
    // The server's hang-up reaches the page first: that close is the user's Disconnect.
    expect(h.calls.closed({ kind: "channel-closed" })).toEqual({ banner: null, byUser: true });
    answer.resolve(ended(1797));
    await hangingUp;
    expect(disposed).toBe(1);
    expect(h.elements.left.dataset).toMatchObject({ state: "known", daySeconds: "1797" });
    expect(h.ends).toHaveLength(1);
    // Nothing open any more: a second Disconnect does not ask again.
    await h.calls.hangUp(() => disposed++);
    expect(disposed).toBe(1);
  });

  it("on Disconnect closes the page's side after HANG_UP_WAIT_MS when the server is slow", async () => {
    vi.useFakeTimers();
    try {
      const answer = deferred<EndRealtimeCallResponse>();
      const h = harness(() => answer.promise);
      await h.open();
      let disposed = 0;
      const hangingUp = h.calls.hangUp(() => disposed++);
      await vi.advanceTimersByTimeAsync(HANG_UP_WAIT_MS - 1);
      expect(disposed).toBe(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(disposed).toBe(1);
      expect(h.elements.left.dataset.state).toBe("ending");
      answer.resolve(ended(1797));
      await hangingUp;
      expect(h.elements.left.dataset).toMatchObject({ state: "known", daySeconds: "1797" });
    } finally {
      vi.useRealTimers();
    }
  });

  it("after a close ends the call, waits for the answer, then shows the minutes that came back", async () => {
    const answer = deferred<EndRealtimeCallResponse>();
    const h = harness(() => answer.promise);
    await h.open();
    h.clock.now += 3_000;
    expect(h.calls.closed({ kind: "client" })).toEqual({ banner: null, byUser: false });
    expect(h.ends).toEqual([{ callId: "rtc_1" }]);
    expect(h.elements.clock.hidden).toBe(true);
    expect(h.elements.left.dataset.state).toBe("ending");
    answer.resolve(ended(1797));
    await flush();
    expect(h.elements.left.dataset).toMatchObject({ state: "known", daySeconds: "1797" });
    // Closing again (another state change) asks nothing more.
    expect(h.calls.closed({ kind: "client" }).banner).toBeNull();
    expect(h.ends).toHaveLength(1);
    expect(h.notices).toEqual([]);
  });

  it("explains a loss at the deadline as the server's hang-up, and still ends the call", async () => {
    const h = harness(async () => ({
      ...ended(1788),
      outcome: "already-ended",
      usedSeconds: null,
    }));
    await h.open();
    h.clock.now = NOW + 12_400;
    const { banner, byUser } = h.calls.closed({ kind: "channel-closed" });
    expect(byUser).toBe(false);
    expect(banner?.kind).toBe("ended-call-limit");
    expect(banner?.message).toContain("12 s limit");
    await flush();
    expect(h.ends).toEqual([{ callId: "rtc_1" }]);
    expect(h.elements.left.dataset.state).toBe("known");
  });

  it("takes a server that fell silent well before the deadline for a drop, even when noticed after it", async () => {
    const h = harness(async () => ended(1791));
    await h.open();
    // Silent since 4 s into a 12 s call; the link watch gives up 8 s later, at 12.4 s.
    h.clock.now = NOW + 12_400;
    const { banner, byUser } = h.calls.closed({ kind: "unresponsive", silentMs: 8_000 });
    expect(byUser).toBe(false);
    expect(banner).toBeNull();
    await flush();
    expect(h.ends).toEqual([{ callId: "rtc_1" }]);
    expect(h.elements.left.dataset).toMatchObject({ state: "known", daySeconds: "1791" });
  });

  it("opens the next call (a reconnect) only once the dropped call's end has answered", async () => {
    const answer = deferred<EndRealtimeCallResponse>();
    const h = harness(() => answer.promise);
    await h.open();
    h.calls.closed({ kind: "ice-failed" });
    expect(h.ends).toEqual([{ callId: "rtc_1" }]);
    const next = h.open();
    await flush();
    // The dropped call's unused minutes come back before the next reservation asks for some.
    expect(h.requests).toHaveLength(1);
    answer.resolve(ended(1797));
    await next;
    expect(h.requests).toHaveLength(2);
  });

  it("opens no call for a reconnect abandoned while it waited for the dropped call's end", async () => {
    const answer = deferred<EndRealtimeCallResponse>();
    const h = harness(() => answer.promise);
    await h.open();
    h.calls.closed({ kind: "ice-failed" });
    const disconnect = new AbortController();
    const next = h.calls
      .exchange({ voice: "cedar" })
      .exchangeOffer(FAKE_OFFER_SDP, disconnect.signal)
      .catch((error: unknown) => error);
    await flush();
    disconnect.abort(new Error("disposed"));
    expect(await next).toEqual(new Error("disposed"));
    answer.resolve(ended(1797));
    await flush();
    // Nothing reserved, opened upstream and hung up again: one realtimeCall, one end.
    expect(h.requests).toHaveLength(1);
    expect(h.ends).toEqual([{ callId: "rtc_1" }]);
    expect(h.elements.left.dataset.daySeconds).toBe("1797");
  });

  it("ends a call that opened after its connect was abandoned, and shows the minutes that came back", async () => {
    const late = deferred<RealtimeCallResponse>();
    const second = deferred<RealtimeCallResponse>();
    const answer = deferred<EndRealtimeCallResponse>();
    let calls = 0;
    const h = harness(
      () => answer.promise,
      () => (++calls === 1 ? late.promise : second.promise),
    );
    const disconnect = new AbortController();
    const first = h.calls
      .exchange({ voice: "cedar" })
      .exchangeOffer(FAKE_OFFER_SDP, disconnect.signal)
      .catch((error: unknown) => error);
    await flush();
    // Disconnect while realtimeCall is on its way: the connect gives up at once.
    disconnect.abort(new Error("disposed"));
    expect(await first).toEqual(new Error("disposed"));
    // The server opened the call anyway (its slice reserved): the page ends it.
    late.resolve(opened({ minutes: minutes(1788) }));
    await flush();
    expect(h.ends).toEqual([{ callId: "rtc_1" }]);
    expect(h.calls.hasOpenCall).toBe(false);
    // A Connect meanwhile waits for that end, as after a drop.
    const next = h.open();
    await flush();
    expect(h.requests).toHaveLength(1);
    answer.resolve(ended(1799));
    await flush();
    // What the server has left after the unheld call's end, not the figure from before it.
    expect(h.elements.left.dataset).toMatchObject({ state: "known", daySeconds: "1799" });
    expect(h.notices).toEqual([]);
    expect(h.requests).toHaveLength(2);
    second.resolve(opened({ callId: "rtc_2", minutes: minutes(1787) }));
    await next;
    expect(h.elements.left.dataset.daySeconds).toBe("1787");
  });

  it("does not hold the next call longer than HANG_UP_WAIT_MS when the end request hangs", async () => {
    vi.useFakeTimers();
    try {
      const h = harness(() => new Promise(() => undefined));
      await h.open();
      h.calls.closed({ kind: "ice-failed" });
      const next = h.open();
      await vi.advanceTimersByTimeAsync(HANG_UP_WAIT_MS - 1);
      expect(h.requests).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      await next;
      expect(h.requests).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it("leaves a loss long before the deadline to the generic message", async () => {
    const h = harness(async () => ended(1797));
    await h.open();
    h.clock.now = NOW + 2_000;
    expect(h.calls.closed({ kind: "ice-failed" })).toEqual({ banner: null, byUser: false });
    expect(h.ends).toHaveLength(1);
  });

  it("says so when the end call fails, and shows the minutes it had", async () => {
    const h = harness(() => Promise.reject(new Error("internal [0]")));
    await h.open();
    h.calls.closed({ kind: "client" });
    await flush();
    expect(h.notices.map((n) => n.kind)).toEqual(["end-call-failed"]);
    expect(h.elements.left.dataset).toMatchObject({ state: "known", daySeconds: "1788" });
  });

  it("treats an answer that is not an end result as a failure", async () => {
    const h = harness(async () => ({ outcome: "ended" }));
    await h.open();
    h.calls.closed({ kind: "client" });
    await flush();
    expect(h.notices.map((n) => n.kind)).toEqual(["end-call-failed"]);
  });

  it("on pagehide sends the keepalive end instead of the callable", async () => {
    const h = harness(async () => ended(1797));
    await h.open();
    await flush(); // the beacon's tokens
    h.calls.pageHide();
    expect(h.beacons).toEqual(['{"data":{"callId":"rtc_1"}}']);
    expect(h.calls.closed({ kind: "client" }).banner).toBeNull();
    expect(h.ends).toEqual([]);
  });
});

describe("BrokeredCalls.prepare", () => {
  it("shows the minutes before any call and reuses a fresh answer for the same user", async () => {
    const h = harness(async () => ended(1797));
    expect(await h.calls.prepare("u1")).toMatchObject({ prepared: true, model: "gpt-realtime-2" });
    expect(h.elements.left.dataset).toMatchObject({ state: "known", daySeconds: "1800" });
    h.clock.now += PREPARE_FRESH_MS - 1;
    await h.calls.prepare("u1");
    expect(h.prepares()).toBe(1);
    // Another user, or an answer grown stale, is asked again.
    await h.calls.prepare("u2");
    expect(h.prepares()).toBe(2);
    h.clock.now += PREPARE_FRESH_MS;
    await h.calls.prepare("u2");
    expect(h.prepares()).toBe(3);
  });

  it("does not show an answer that arrives after a call started: the call's minutes are newer", async () => {
    const late = deferred<RealtimeCallPrepared>();
    const h = harness(
      async () => ended(1797),
      undefined,
      () => late.promise,
    );
    const preparing = h.calls.prepare("u1");
    await h.open();
    expect(h.elements.left.dataset).toMatchObject({ daySeconds: "1788" });
    late.resolve(preparedAnswer(1800));
    expect(await preparing).not.toBeNull();
    expect(h.elements.left.dataset).toMatchObject({ daySeconds: "1788" });
  });

  it("resolves null on a failure or a malformed answer, shows nothing, and asks again next time", async () => {
    let answer: () => Promise<RealtimeCallPrepared> = () => Promise.reject(new Error("down"));
    const h = harness(
      async () => ended(1797),
      undefined,
      () => answer(),
    );
    expect(await h.calls.prepare("u1")).toBeNull();
    answer = async () => ({ prepared: true }) as unknown as RealtimeCallPrepared;
    expect(await h.calls.prepare("u1")).toBeNull();
    expect(h.elements.left.dataset).not.toHaveProperty("state");
    answer = async () => preparedAnswer(30);
    expect(await h.calls.prepare("u1")).not.toBeNull();
    expect(h.prepares()).toBe(3);
    expect(h.elements.left.dataset).toMatchObject({ state: "known", daySeconds: "30" });
  });
});
