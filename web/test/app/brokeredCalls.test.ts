import { FunctionsError } from "firebase/functions";
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
import { PENDING_ENDS_ITEM } from "../../src/backend/pendingEnds";
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
  FakeMinutesHub,
  FakeTimers,
} from "../fakes";
import type { ConnectBlock } from "../../src/ui/callPanel";

const NOW = Date.parse("2026-11-10T21:00:00Z");
/**
 * The server's figures, read at `readAtMs`. By default each figure is read a millisecond
 * later than the one made before it, as the answers of one tab's requests in turn are.
 */
let reads = 0;
const minutes = (daySeconds: number, readAtMs = NOW + ++reads): VoiceMinutes => ({
  daySeconds,
  dayResetsAtMs: Date.parse("2026-11-11T00:00:00Z"),
  monthSeconds: null,
  monthResetsAtMs: null,
  readAtMs,
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

/** `localStorage` as a map. */
class MapStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

const preparedAnswer = (daySeconds: number): RealtimeCallPrepared => ({
  prepared: true,
  minutes: minutes(daySeconds),
  maxCallSeconds: 12,
  model: "gpt-realtime-2",
  apis: ["realtime"],
  choices: SERVER_CHOICES,
});

/**
 * A BrokeredCalls on hand-written callables, fake elements and a clock the test moves; the
 * user's tabs share minutes over `hub` (a hub of its own by default).
 */
function harness(
  end: (request: EndRealtimeCallRequest) => Promise<unknown>,
  call: () => Promise<RealtimeCallResponse> = async () => opened(),
  prepare: () => Promise<RealtimeCallPrepared> = async () => preparedAnswer(1800),
  hub = new FakeMinutesHub(),
) {
  const elements = fakeMinutesElements();
  const requests: RealtimeCallRequest[] = [];
  const ends: EndRealtimeCallRequest[] = [];
  const beacons: string[] = [];
  let prepares = 0;
  const notices: BannerContent[] = [];
  const withdrawn: string[] = [];
  // Wall clock and the page's monotonic clock, moved together by `advance`.
  const clock = { now: NOW, mono: 50_000, uid: "u1" as string | null };
  const advance = (ms: number) => {
    clock.now += ms;
    clock.mono += ms;
  };
  const storage = new MapStorage();
  const retries: Array<{ ms: number; work: () => void }> = [];
  const blocks: Array<ConnectBlock | null> = [];
  const timers = new FakeTimers(() => clock.now);
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
    onNoticeResolved: (kind) => withdrawn.push(kind),
    onBlock: (block) => void blocks.push(block),
    uid: () => clock.uid,
    minutesChannel: hub.channel,
    timer: timers.timer,
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
    monotonic: () => clock.mono,
    storage,
    schedule: (work, ms) => {
      retries.push({ ms, work });
      return () => undefined;
    },
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
    withdrawn,
    clock,
    advance,
    storage,
    retries,
    open,
    exchange,
    runLater,
    pageHide,
    blocks,
    timers,
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
    expect(h.ends).toEqual([{ callId: "rtc_1", endedAfterSeconds: 0 }]);
    expect(h.elements.left.dataset).toMatchObject({ state: "ending", daySeconds: "1788" });
    answer.resolve(ended(1797));
    await flush();
    expect(h.elements.left.dataset).toMatchObject({ state: "known", daySeconds: "1797" });
  });

  it("on Disconnect closes the page's side at once and tells the server how long the call ran", async () => {
    const answer = deferred<EndRealtimeCallResponse>();
    const h = harness(() => answer.promise);
    await h.open();
    expect(h.calls.hasOpenCall).toBe(true);
    h.advance(7_400);
    let disposed = 0;
    let over = false;
    const hangingUp = h.calls.hangUp(() => disposed++).then(() => (over = true));
    // Before the server answers: nothing more is sent, and the claim is this moment's.
    expect(disposed).toBe(1);
    expect(h.ends).toEqual([{ callId: "rtc_1", endedAfterSeconds: 8 }]);
    expect(h.calls.hasOpenCall).toBe(false);
    expect(h.elements.left.dataset.state).toBe("ending");
    // The close that follows is the user's Disconnect.
    expect(h.calls.closed({ kind: "channel-closed" })).toEqual({ banner: null, byUser: true });
    // However long the answer takes, the claim does not grow.
    h.advance(9_900);
    await flush();
    expect(over).toBe(false);
    answer.resolve(ended(1797));
    await hangingUp;
    expect(h.elements.left.dataset).toMatchObject({ state: "known", daySeconds: "1797" });
    expect(h.ends).toHaveLength(1);
    // Nothing open any more: a second Disconnect does not ask again.
    await h.calls.hangUp(() => disposed++);
    expect(disposed).toBe(1);
  });

  it("on Disconnect stops waiting after HANG_UP_WAIT_MS when the server is slow, and shows the answer later", async () => {
    vi.useFakeTimers();
    try {
      const answer = deferred<EndRealtimeCallResponse>();
      const h = harness(() => answer.promise);
      await h.open();
      let disposed = 0;
      let over = false;
      const hangingUp = h.calls.hangUp(() => disposed++).then(() => (over = true));
      expect(disposed).toBe(1);
      await vi.advanceTimersByTimeAsync(HANG_UP_WAIT_MS - 1);
      expect(over).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(over).toBe(true);
      expect(h.elements.left.dataset.state).toBe("ending");
      answer.resolve(ended(1797));
      await hangingUp;
      await vi.advanceTimersByTimeAsync(0);
      expect(h.elements.left.dataset).toMatchObject({ state: "known", daySeconds: "1797" });
    } finally {
      vi.useRealTimers();
    }
  });

  it("keeps an end the server did not hear and retries it with the click's claim; the refund shows when it gets through", async () => {
    let down = true;
    const h = harness(async () => {
      if (down) throw new FunctionsError("internal", "internal [0]");
      return ended(1795);
    });
    await h.open();
    h.advance(4_200);
    await h.calls.hangUp(() => undefined);
    await flush();
    expect(h.notices.map((n) => n.kind)).toEqual(["end-call-failed"]);
    expect(h.notices[0]?.message).toContain("keeps telling it until the call's deadline");
    // Kept for a reload or the next visit, until the call's deadline.
    expect(JSON.parse(h.storage.getItem(PENDING_ENDS_ITEM) ?? "[]")).toEqual([
      { uid: "u1", callId: "rtc_1", endedAfterSeconds: 5, untilMs: NOW + 12_000 },
    ]);
    expect(h.retries.map((r) => r.ms)).toEqual([1_000]);
    h.advance(1_000);
    down = false;
    h.retries.shift()?.work();
    await flush();
    expect(h.ends).toEqual([
      { callId: "rtc_1", endedAfterSeconds: 5 },
      { callId: "rtc_1", endedAfterSeconds: 5 },
    ]);
    expect(h.elements.left.dataset).toMatchObject({ state: "known", daySeconds: "1795" });
    expect(h.storage.getItem(PENDING_ENDS_ITEM)).toBeNull();
    // The banner's "could not be told yet" is no longer true.
    expect(h.withdrawn).toEqual(["end-call-failed"]);
  });

  it("sends an end an earlier page kept when the user's page loads", async () => {
    const h = harness(async () => ended(1799));
    h.storage.setItem(
      PENDING_ENDS_ITEM,
      JSON.stringify([{ uid: "u1", callId: "rtc_0", endedAfterSeconds: 3, untilMs: NOW + 9_000 }]),
    );
    await h.calls.prepare("u1");
    await flush();
    expect(h.ends).toEqual([{ callId: "rtc_0", endedAfterSeconds: 3 }]);
    expect(h.storage.getItem(PENDING_ENDS_ITEM)).toBeNull();
  });

  it("after a close ends the call, waits for the answer, then shows the minutes that came back", async () => {
    const answer = deferred<EndRealtimeCallResponse>();
    const h = harness(() => answer.promise);
    await h.open();
    h.clock.now += 3_000;
    expect(h.calls.closed({ kind: "client" })).toEqual({ banner: null, byUser: false });
    expect(h.ends).toEqual([{ callId: "rtc_1", endedAfterSeconds: 0 }]);
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
    expect(h.ends).toEqual([{ callId: "rtc_1", endedAfterSeconds: 0 }]);
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
    expect(h.ends).toEqual([{ callId: "rtc_1", endedAfterSeconds: 0 }]);
    expect(h.elements.left.dataset).toMatchObject({ state: "known", daySeconds: "1791" });
  });

  it("opens the next call (a reconnect) only once the dropped call's end has answered", async () => {
    const answer = deferred<EndRealtimeCallResponse>();
    const h = harness(() => answer.promise);
    await h.open();
    h.calls.closed({ kind: "ice-failed" });
    expect(h.ends).toEqual([{ callId: "rtc_1", endedAfterSeconds: 0 }]);
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
    expect(h.ends).toEqual([{ callId: "rtc_1", endedAfterSeconds: 0 }]);
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
    expect(h.ends).toEqual([{ callId: "rtc_1", endedAfterSeconds: 0 }]);
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
    h.advance(2_500);
    h.calls.pageHide();
    expect(h.beacons).toEqual(['{"data":{"callId":"rtc_1","endedAfterSeconds":3}}']);
    expect(h.calls.closed({ kind: "client" }).banner).toBeNull();
    expect(h.ends).toEqual([]);
    // Kept as well, for the next page to send should the keepalive never arrive.
    expect(JSON.parse(h.storage.getItem(PENDING_ENDS_ITEM) ?? "[]")).toEqual([
      { uid: "u1", callId: "rtc_1", endedAfterSeconds: 3, untilMs: NOW + 12_000 },
    ]);
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
    // The server read the prepare's minutes before the call's reservation...
    const before = preparedAnswer(1800);
    await h.open();
    expect(h.elements.left.dataset).toMatchObject({ daySeconds: "1788" });
    // ...and its answer arrives after the call's.
    late.resolve(before);
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

describe("BrokeredCalls in two tabs of one user", () => {
  /** The budget: 60 s a day, 30 s calls. */
  const slice = (callId: string, daySeconds: number, limitedBy: "call" | "daily-minutes") =>
    opened({
      callId,
      endsAtMs: NOW + 30_000,
      sliceSeconds: 30,
      limitedBy,
      minutes: minutes(daySeconds),
    });

  it("shows one figure in both, the newest, and no banner quotes the figure a call opened with", async () => {
    const hub = new FakeMinutesHub();
    const endA = deferred<EndRealtimeCallResponse>();
    const b = harness(
      async () => ({ outcome: "already-ended", usedSeconds: null, minutes: minutes(16) }),
      async () => slice("rtc_b", 30, "call"),
      undefined,
      hub,
    );
    const a = harness(
      () => endA.promise,
      async () => slice("rtc_a", 0, "daily-minutes"),
      undefined,
      hub,
    );
    const days = () => [a.elements.left.dataset.daySeconds, b.elements.left.dataset.daySeconds];
    await b.open();
    await a.open();
    // Both in calls: B's open left 30 s, then A's (later) left none.
    expect(days()).toEqual(["0", "0"]);
    // A hangs up early; its end hands 16 s back, which both tabs show.
    const hangingUp = a.calls.hangUp(() => {});
    endA.resolve({ outcome: "ended", usedSeconds: 14, minutes: minutes(16) });
    await hangingUp;
    expect(days()).toEqual(["16", "16"]);
    expect(b.elements.left.dataset.state).toBe("known");
    // B's call runs to its limit: the banner says what ended it and that a call can start,
    // not the 30 s B's call opened with.
    b.clock.now = NOW + 30_400;
    const { banner } = b.calls.closed({ kind: "channel-closed" });
    expect(banner).toEqual({
      kind: "ended-call-limit",
      message:
        "The call reached its 30 s limit, so the server ended it. Press Reconnect to start a new call.",
      action: null,
    });
    await flush();
    expect(days()).toEqual(["16", "16"]);
    expect(a.blocks.at(-1)).toBeNull();
    expect(b.blocks.at(-1)).toBeNull();
  });

  it("a figure one tab got late does not undo the other tab's newer one", async () => {
    const hub = new FakeMinutesHub();
    const late = deferred<RealtimeCallPrepared>();
    const a = harness(
      async () => ended(0),
      undefined,
      () => late.promise,
      hub,
    );
    const b = harness(async () => ended(16), undefined, undefined, hub);
    const preparing = a.calls.prepare("u1");
    const stale = preparedAnswer(30);
    await b.calls.prepare("u1");
    await flush();
    expect(a.elements.left.dataset.daySeconds).toBe("1800");
    late.resolve(stale);
    await preparing;
    expect([a.elements.left.dataset.daySeconds, b.elements.left.dataset.daySeconds]).toEqual([
      "1800",
      "1800",
    ]);
  });
});

describe("BrokeredCalls: Connect while the minutes are spent", () => {
  const spentAnswer = (): RealtimeCallPrepared => ({ ...preparedAnswer(0) });

  it("is blocked with the reason and the reset once the server says none are left", async () => {
    const h = harness(
      async () => ended(0),
      undefined,
      async () => spentAnswer(),
    );
    expect(h.blocks).toEqual([]);
    await h.calls.prepare("u1");
    expect(h.blocks).toHaveLength(1);
    expect(h.blocks[0]).toMatchObject({
      reason: "daily-minutes",
      message: "You have used today's voice minutes. They come back in 3 h (midnight UTC).",
    });
  });

  it("after the server's hang-up at the budget: the budget's banner, no retry, Connect blocked", async () => {
    const h = harness(
      async () => ({ outcome: "already-ended", usedSeconds: null, minutes: minutes(0) }),
      async () => opened({ limitedBy: "daily-minutes", sliceSeconds: 12, minutes: minutes(0) }),
    );
    await h.open();
    h.clock.now = NOW + 12_400;
    const { banner } = h.calls.closed({ kind: "channel-closed" });
    expect(banner?.kind).toBe("ended-daily-minutes");
    expect(banner?.action).toBeNull();
    await flush();
    expect(h.blocks.at(-1)?.reason).toBe("daily-minutes");
  });

  it("asks the server again when the reset passes, and lifts the block when it says minutes are back", async () => {
    let prepared = spentAnswer();
    const h = harness(
      async () => ended(40),
      undefined,
      async () => prepared,
    );
    await h.calls.prepare("u1");
    expect(h.blocks.at(-1)?.reason).toBe("daily-minutes");
    // The reset passes on the page's clock: the server is asked again, and says minutes are back.
    prepared = preparedAnswer(1800);
    h.clock.now = Date.parse("2026-11-11T00:00:00Z");
    h.timers.run();
    await flush();
    expect(h.prepares()).toBe(2);
    expect(h.blocks.at(-1)).toBeNull();
    expect(h.elements.left.dataset.daySeconds).toBe("1800");
  });

  it("forgets the last user's minutes when the user changes", async () => {
    const h = harness(
      async () => ended(0),
      undefined,
      async () => spentAnswer(),
    );
    await h.calls.prepare("u1");
    expect(h.blocks.at(-1)?.reason).toBe("daily-minutes");
    h.clock.uid = "u2";
    h.calls.userChanged();
    expect(h.blocks.at(-1)).toBeNull();
    expect(h.elements.left.dataset.state).toBe("unknown");
  });
});
