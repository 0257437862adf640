import { afterEach, describe, expect, it } from "vitest";
import type {
  EndRealtimeCallResponse,
  RealtimeCallPrepared,
  RealtimeCallRequest,
  RealtimeTokenRequest,
  VoiceApi,
} from "voice-contract";
import { BrokeredCalls, type BrokeredCallsOptions } from "../../src/app/brokeredCalls";
import { BrokeredMode } from "../../src/app/brokeredMode";
import type { LiveModule } from "../../src/app/liveLoader";
import type { ServerOffer } from "../../src/app/mode";
import type { AppConfig } from "../../src/config";
import type { FirebaseServices } from "../../src/firebase";
import { classifyDrop } from "../../src/realtime/reconnect";
import { PageHideEnd } from "../../src/backend/pageHideEnd";
import { tokenDropClass } from "../../src/backend/reconnect";
import type { BannerContent } from "../../src/ui/messages";
import {
  FAKE_OFFER_SDP,
  SERVER_CHOICES,
  deferred,
  fakeCallResponse,
  fakeMinutesElements,
  flush,
  FakeMinutesHub,
} from "../fakes";
import type { ConnectBlock } from "../../src/ui/callPanel";

const NOW = Date.parse("2026-11-10T21:00:00Z");
const MINUTES = {
  daySeconds: 1800,
  dayResetsAtMs: Date.parse("2026-11-11T00:00:00Z"),
  monthSeconds: null,
  monthResetsAtMs: null,
  readAtMs: NOW,
};
const made: BrokeredCalls[] = [];

/** A BrokeredMode whose BrokeredCalls run on hand-written callables. */
function harness(
  options: {
    request?: RealtimeTokenRequest;
    uid?: string | null;
    daySeconds?: number;
    api?: VoiceApi;
  } = {},
) {
  const requests: RealtimeCallRequest[] = [];
  const clock = { now: NOW, uid: options.uid === undefined ? "u1" : options.uid };
  const ending = deferred<EndRealtimeCallResponse>();
  let prepares = 0;
  const prepared: RealtimeCallPrepared = {
    prepared: true,
    minutes: { ...MINUTES, daySeconds: options.daySeconds ?? MINUTES.daySeconds },
    maxCallSeconds: 12,
    model: "gpt-realtime-2",
    apis: ["realtime"],
    choices: SERVER_CHOICES,
  };
  class TestCalls extends BrokeredCalls {
    constructor(base: BrokeredCallsOptions) {
      super({
        ...base,
        calls: {
          call: async (request) => {
            requests.push(request);
            return fakeCallResponse({
              endsAtMs: NOW + 12_000,
              sliceSeconds: 12,
              minutes: MINUTES,
              api: request.api ?? "realtime",
            });
          },
          end: () => ending.promise,
          prepare: async () => {
            prepares++;
            return prepared;
          },
        },
        pageHide: new PageHideEnd({
          url: "http://127.0.0.1:5001/p/r/endRealtimeCall",
          idToken: async () => "id",
          appCheckToken: async () => null,
          fetch: async () => {},
        }),
        now: () => clock.now,
        storage: null,
      });
      made.push(this);
    }
  }
  const live = {
    classifyDrop,
    tokenDropClass,
  } as unknown as LiveModule;
  const offers: ServerOffer[] = [];
  const models: string[] = [];
  const notices: BannerContent[] = [];
  const blocks: Array<ConnectBlock | null> = [];
  const mode = new BrokeredMode({
    config: { api: options.api ?? "realtime" } as AppConfig,
    firebase: {} as FirebaseServices,
    uid: () => clock.uid,
    choices: { request: () => options.request ?? {}, show: (offer) => offers.push(offer) },
    details: { renderModel: (model) => models.push(model) },
    notice: (banner) => notices.push(banner),
    withdrawNotice: () => undefined,
    blockConnect: (block) => void blocks.push(block),
    createCalls: (base) =>
      new TestCalls({
        ...base,
        elements: fakeMinutesElements(),
        minutesChannel: new FakeMinutesHub().channel,
      }),
  });
  return {
    mode,
    live,
    clock,
    offers,
    models,
    notices,
    blocks,
    ending,
    requests,
    prepares: () => prepares,
  };
}

afterEach(() => {
  for (const calls of made.splice(0)) calls.pageHide();
});

describe("BrokeredMode", () => {
  it("shows the user's minutes, model and choices ahead of the first call, not on a choice", async () => {
    const t = harness();
    t.mode.prefetch("choice");
    await flush();
    expect(t.prepares()).toBe(0);
    t.mode.prefetch("load");
    await flush();
    expect(t.prepares()).toBe(1);
    expect(t.models).toEqual(["gpt-realtime-2"]);
    expect(t.offers).toEqual([{ choices: SERVER_CHOICES, defaultVoice: "marin" }]);

    const voiced = harness({ request: { voice: "cedar" } });
    voiced.mode.prefetch("intent");
    await flush();
    expect(voiced.offers).toEqual([{ choices: SERVER_CHOICES }]);
  });

  it("fetches nothing signed out, and shows nothing for a user who left meanwhile", async () => {
    const signedOut = harness({ uid: null });
    signedOut.mode.prefetch("load");
    await flush();
    expect(signedOut.prepares()).toBe(0);

    const t = harness();
    t.mode.prefetch("load");
    t.clock.uid = "u2";
    await flush();
    expect(t.prepares()).toBe(1);
    expect(t.offers).toEqual([]);
  });

  it("opens calls through the broker and tells the page what the server set up", async () => {
    const t = harness();
    const resolved: string[] = [];
    const connection = t.mode.connection(
      t.live,
      {},
      {
        resolved: (model, session) => resolved.push(`${model}:${session.voice}`),
      },
    );
    if (connection.exchange === undefined) throw new Error("expected an exchange");
    await connection.exchange.exchangeOffer(FAKE_OFFER_SDP, new AbortController().signal);
    await flush();
    expect(resolved).toEqual(["gpt-realtime:marin"]);
    expect(t.models).toEqual(["gpt-realtime"]);
    expect(t.offers).toEqual([{ choices: SERVER_CHOICES, defaultVoice: "marin" }]);
  });

  it("explains a close at the deadline and does not reconnect it; other losses reconnect", async () => {
    const t = harness();
    const connection = t.mode.connection(t.live, {}, { resolved: () => {} });
    if (connection.exchange === undefined) throw new Error("expected an exchange");
    await connection.exchange.exchangeOffer(FAKE_OFFER_SDP, new AbortController().signal);
    t.clock.now = NOW + 12_000;
    const reason = { kind: "channel-closed" } as const;
    expect(t.mode.closed(reason)).toMatchObject({ kind: "ended-call-limit" });
    expect(t.mode.classify(t.live, reason)).toEqual({ kind: "ended" });
    expect(t.mode.classify(t.live, { kind: "channel-closed" })).toEqual({ kind: "transient" });
  });

  it("names its API in every request; a Live page sends a reconnect's prior turns, a Realtime one never", async () => {
    const turns = [{ role: "user" as const, text: "Hi" }];
    const open = async (t: ReturnType<typeof harness>, priorTurns?: typeof turns) => {
      const connection = t.mode.connection(t.live, {}, { resolved: () => {} }, priorTurns);
      if (connection.exchange === undefined) throw new Error("expected an exchange");
      await connection.exchange.exchangeOffer(FAKE_OFFER_SDP, new AbortController().signal);
    };
    const live = harness({ api: "live" });
    expect(live.mode.api).toBe("live");
    await open(live, turns);
    await open(live, []);
    expect(live.requests.map(({ api, priorTurns }) => ({ api, priorTurns }))).toEqual([
      { api: "live", priorTurns: turns },
      { api: "live", priorTurns: undefined },
    ]);
    const realtime = harness();
    await open(realtime, turns);
    expect(realtime.requests[0]).toMatchObject({ api: "realtime" });
    expect(realtime.requests[0]).not.toHaveProperty("priorTurns");
  });

  it("shows the server's reason when a Live session.closed ends the call before its deadline", async () => {
    const t = harness({ api: "live" });
    const connection = t.mode.connection(t.live, {}, { resolved: () => {} });
    if (connection.exchange === undefined) throw new Error("expected an exchange");
    await connection.exchange.exchangeOffer(FAKE_OFFER_SDP, new AbortController().signal);
    const reason = { kind: "live-closed", reason: "close_requested", usageSeconds: 3 } as const;
    expect(t.mode.closed(reason)).toMatchObject({ kind: "live-closed-close_requested" });
    expect(t.mode.classify(t.live, reason)).toEqual({ kind: "ended" });
  });

  it("adds Live's reason to the deadline's banner when session.closed ends the call there", async () => {
    const t = harness({ api: "live" });
    const connection = t.mode.connection(t.live, {}, { resolved: () => {} });
    if (connection.exchange === undefined) throw new Error("expected an exchange");
    await connection.exchange.exchangeOffer(FAKE_OFFER_SDP, new AbortController().signal);
    t.clock.now = NOW + 12_000;
    const banner = t.mode.closed({
      kind: "live-closed",
      reason: "close_requested",
      usageSeconds: 12,
    });
    expect(banner).toMatchObject({ kind: "ended-call-limit" });
    expect(banner?.message).toMatch(/so the server ended it\..*\(Live: close_requested\)$/);
  });

  it("closes the page's side at once and asks the server to end the call; without a call, the page stops", async () => {
    const t = harness();
    const steps: string[] = [];
    expect(
      t.mode.hangUp(
        () => steps.push("mute"),
        () => steps.push("stop"),
      ),
    ).toBe(false);
    const connection = t.mode.connection(t.live, {}, { resolved: () => {} });
    if (connection.exchange === undefined) throw new Error("expected an exchange");
    await connection.exchange.exchangeOffer(FAKE_OFFER_SDP, new AbortController().signal);
    const hangingUp = t.mode.hangUp(
      () => steps.push("mute"),
      () => steps.push("stop"),
    );
    expect(hangingUp).toBeInstanceOf(Promise);
    // Stopped before the server answers: nothing more is sent.
    expect(steps).toEqual(["mute", "stop"]);
    // The close that follows is the user's: no banner, not reconnected.
    const reason = { kind: "channel-closed" } as const;
    expect(t.mode.closed(reason)).toBeNull();
    expect(t.mode.classify(t.live, reason)).toEqual({ kind: "user" });
    let over = false;
    void (hangingUp as Promise<void>).then(() => (over = true));
    await flush();
    expect(over).toBe(false);
    t.ending.resolve({ outcome: "ended", usedSeconds: 3, minutes: MINUTES });
    await flush();
    expect(over).toBe(true);
  });

  it("blocks Connect when the user's minutes are spent, and lifts it for another user", async () => {
    const t = harness({ daySeconds: 0 });
    t.mode.prefetch("load");
    await flush();
    expect(t.blocks).toHaveLength(1);
    expect(t.blocks[0]).toMatchObject({ reason: "daily-minutes" });
    expect(t.blocks[0]?.message).toMatch(
      /^You have used today's voice minutes\. They come back in /,
    );
    t.clock.uid = "u2";
    t.mode.userChanged();
    expect(t.blocks.at(-1)).toBeNull();
  });
});
