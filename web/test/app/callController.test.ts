import { describe, expect, it } from "vitest";
import { CallController, type CallViews } from "../../src/app/callController";
import { LazyModule } from "../../src/app/lazyModule";
import { LiveLoader, type LiveModule } from "../../src/app/liveLoader";
import type { CallMode, PrefetchTrigger } from "../../src/app/mode";
import { priorTurnsOf } from "../../src/app/priorTurns";
import type { SdpExchange } from "../../src/realtime/exchange";
import type { PriorTurn } from "voice-contract";
import {
  LiveSession,
  RealtimeSession,
  Reconnector,
  classifyDrop,
  type LiveSessionOptions,
  type MicState,
  type RealtimeSessionOptions,
} from "../../src/realtime";
import { tokenDropClass } from "../../src/backend";
import { CostView } from "../../src/ui/costView";
import type { BannerContent } from "../../src/ui/messages";
import { muteButton, type CallPanelState } from "../../src/ui/callPanel";
import type { TalkBinding } from "../../src/ui/talkControls";
import {
  FakeAudioElement,
  FakeClock,
  FakePeerConnection,
  FakeStream,
  deferred,
  FAKE_ANSWER_SDP,
  fakeFetch,
  flush,
} from "../fakes";

const cell = () => ({ dataset: {}, textContent: "" }) as unknown as HTMLElement;

/**
 * A CallController on recording views, a mode that fetches a fixed secret, and session code
 * whose sessions run on the fake peer connection, microphone and clock.
 */
function harness(
  options: {
    failToken?: boolean;
    hangsUp?: boolean;
    /** The hang-up mutes, then its end request fails (the function is down) before it stops. */
    endFails?: boolean;
    connectOnLoad?: boolean;
    /** What the mode's hang-up resolves with: the server's answer (default at once). */
    hangUpDone?: Promise<void>;
    /** A brokered mode on GPT-Live: its exchange answers each offer with a Live session. */
    live?: boolean;
  } = {},
) {
  const pcs: FakePeerConnection[] = [];
  const clock = new FakeClock();
  class TestSession extends RealtimeSession {
    constructor(sessionOptions: RealtimeSessionOptions) {
      super({
        ...sessionOptions,
        createPeerConnection: () => {
          const pc = new FakePeerConnection();
          pcs.push(pc);
          return pc;
        },
        getUserMedia: async () => new FakeStream(),
        clock,
        isAndroid: false,
      });
    }
  }
  class TestLiveSession extends LiveSession {
    constructor(sessionOptions: LiveSessionOptions) {
      super({
        ...sessionOptions,
        createPeerConnection: () => {
          const pc = new FakePeerConnection();
          pcs.push(pc);
          return pc;
        },
        getUserMedia: async () => new FakeStream(),
        clock,
        isAndroid: false,
      });
    }
  }
  class NoPreparer {
    prepare(): void {}
    take(): null {
      return null;
    }
    dispose(): void {}
  }
  const live = {
    RealtimeSession: TestSession,
    LiveSession: TestLiveSession,
    priorTurnsOf,
    Reconnector,
    CallPreparer: NoPreparer,
    CostView,
    classifyDrop,
    tokenDropClass,
  } as unknown as LiveModule;

  const seen = {
    modeImports: 0,
    prefetches: [] as PrefetchTrigger[],
    priorTurns: [] as (PriorTurn[] | undefined)[],
    models: [] as string[],
    hangUps: 0,
    panels: [] as CallPanelState[],
    banners: [] as Array<BannerContent | "hidden">,
    callIds: [] as Array<string | null>,
    unlocks: 0,
    prepares: 0,
    busy: [] as boolean[],
    textEnabled: [] as boolean[],
    mics: [] as MicState[],
    inCall: [] as boolean[],
    seconds: [] as number[],
  };
  const liveExchange = (): SdpExchange => ({
    answeredBy: "backend",
    exchangeOffer: async () => ({
      answer: FAKE_ANSWER_SDP,
      callId: `live_${seen.priorTurns.length}`,
    }),
  });
  const mode: CallMode = {
    kind: options.live ? "brokered" : "secret",
    api: options.live ? "live" : "realtime",
    prefetch: (trigger) => void seen.prefetches.push(trigger),
    connection: (_live, _request, _hooks, priorTurns) =>
      options.live
        ? (seen.priorTurns.push(priorTurns), { exchange: liveExchange() })
        : {
            getToken: async () => {
              if (options.failToken) throw new Error("no secret today");
              return "ek_test";
            },
            callsUrl: "http://127.0.0.1:8790/v1/realtime/calls",
            fetch: fakeFetch(),
          },
    describeConnectError: (error) => ({
      kind: "network",
      message: `failed: ${error.failure}`,
      action: null,
    }),
    closed: () => null,
    classify: (_live, reason) => classifyDrop(reason),
    hangUp: (mute, stop) => {
      seen.hangUps++;
      if (options.endFails) {
        mute();
        return Promise.reject(new Error("internal [0]")).catch(() => stop());
      }
      if (!options.hangsUp) return false;
      mute();
      stop();
      return options.hangUpDone ?? Promise.resolve();
    },
    userChanged: () => {},
    pageHide: () => {},
  };
  const binding: TalkBinding = { attach: () => {}, resolved: () => {}, dispose: () => {} };
  const views: CallViews = {
    panel: {
      render: (state) => void seen.panels.push(state),
      renderMic: (mic) => void seen.mics.push(mic),
      renderSpeaking: () => {},
    },
    banner: {
      show: (content) => void (content && seen.banners.push(content)),
      hide: () => void seen.banners.push("hidden"),
    },
    audio: {
      unlock: async () => {
        seen.unlocks++;
        return { status: "playing" };
      },
      sink: () => new FakeAudioElement(),
      paused: false,
      setBusy: () => {},
    },
    meter: {
      prepare: () => void seen.prepares++,
      attach: () => {},
      detach: () => {},
      renderLive: () => {},
    },
    transcript: { render: () => {}, setInCall: (inCall) => void seen.inCall.push(inCall) },
    usage: {
      render: () => {},
      renderSeconds: (seconds) => void seen.seconds.push(seconds),
      costCells: { call: cell(), page: cell() },
    },
    details: {
      renderCallId: (callId) => void seen.callIds.push(callId),
      renderSessionId: () => {},
      renderTimings: () => {},
      renderBytes: () => {},
      renderModel: (model, api) => void seen.models.push(`${model}:${api ?? ""}`),
    },
    messages: { setEnabled: (enabled) => void seen.textEnabled.push(enabled) },
  };
  const calls = new CallController({
    mode: new LazyModule(
      () => {},
      async () => {
        seen.modeImports++;
        return mode;
      },
    ),
    live: new LiveLoader(
      () => {},
      async () => live,
    ),
    choices: {
      request: () => ({}),
      setBusy: (busy) => void seen.busy.push(busy),
      pushToTalk: false,
      bindTalk: () => binding,
    },
    views,
    connectOnLoad: options.connectOnLoad ?? false,
  });
  const last = () => seen.panels.at(-1);
  /** Connects: the secret's exchange, then the event channel opens. */
  const connect = async () => {
    const connecting = calls.connect();
    for (let i = 0; i < 5 && pcs.length === 0; i++) await flush();
    await flush();
    pcs.at(-1)?.channel.open();
    await connecting;
  };
  return { calls, seen, last, connect, pcs };
}

describe("CallController", () => {
  it("offers Connect only once signed in, and fetches ahead then", async () => {
    const t = harness();
    t.calls.start();
    expect(t.last()).toMatchObject({ view: { ui: "idle" }, signedIn: false });
    await t.calls.connect();
    expect(t.pcs).toHaveLength(0);
    t.calls.signedIn(true);
    expect(t.last()).toMatchObject({ view: { ui: "idle" }, signedIn: true });
    expect(t.seen.prefetches).toEqual(["load"]);
  });

  it("loads the mode's code on first paint, and fetches ahead once it is there", async () => {
    const t = harness();
    expect(t.seen.modeImports).toBe(0);
    t.calls.start();
    expect(t.seen.modeImports).toBe(1);
    t.calls.signedIn(true);
    expect(t.seen.prefetches).toEqual([]);
    await flush();
    expect(t.seen.prefetches).toEqual(["load"]);
    t.calls.signedIn(true);
    expect(t.seen.prefetches).toEqual(["load", "load"]);
    expect(t.seen.modeImports).toBe(1);
  });

  it("connects: the call's state, id and controls follow the session", async () => {
    const t = harness();
    t.calls.start();
    t.calls.signedIn(true);
    await t.connect();
    expect(t.last()).toMatchObject({ view: { ui: "connected" }, link: "ok" });
    expect(t.seen.callIds.at(-1)).toBe("rtc_test123");
    expect(t.seen.textEnabled.at(-1)).toBe(true);
    expect(t.seen.busy.at(-1)).toBe(true);
    expect(t.seen.banners).toEqual(["hidden"]);
    expect(t.seen.prepares).toBe(1);
    expect(t.seen.unlocks).toBe(1);
    expect(t.calls.sendText("hello")).toBe(true);
  });

  it("disconnects through the mode's hang-up when it has one, else stops at once", async () => {
    for (const hangsUp of [false, true]) {
      const t = harness({ hangsUp });
      t.calls.start();
      t.calls.signedIn(true);
      await t.connect();
      t.calls.disconnect();
      await flush();
      expect(t.seen.hangUps).toBe(1);
      expect(t.last()).toMatchObject({ view: { ui: "idle" } });
      expect(t.seen.textEnabled.at(-1)).toBe(false);
      expect(t.calls.sendText("hello")).toBe(false);
    }
  });

  it("shows Disconnecting… from the click until the mode's hang-up is over, then Not connected", async () => {
    const done = deferred<void>();
    const t = harness({ hangsUp: true, hangUpDone: done.promise });
    t.calls.start();
    t.calls.signedIn(true);
    await t.connect();
    t.calls.disconnect();
    // At once: the page's side is closed (nothing more is sent) and says what it is doing.
    expect(t.last()).toMatchObject({ view: { ui: "disconnecting", label: "Disconnecting…" } });
    expect(t.seen.textEnabled.at(-1)).toBe(false);
    expect(t.calls.sendText("hello")).toBe(false);
    await flush();
    expect(t.last()).toMatchObject({ view: { ui: "disconnecting" } });
    done.resolve();
    await flush();
    expect(t.last()).toMatchObject({ view: { ui: "idle", label: "Not connected" } });
  });

  it("hides the hint to press Connect during a call, and shows it again after", async () => {
    const t = harness();
    t.calls.start();
    expect(t.seen.inCall.at(-1)).toBe(false);
    t.calls.signedIn(true);
    await t.connect();
    expect(t.seen.inCall).toContain(true);
    expect(t.seen.inCall.at(-1)).toBe(true);
    t.calls.disconnect();
    await flush();
    expect(t.seen.inCall.at(-1)).toBe(false);
  });

  it("leaves a fresh, disabled Mute after a Disconnect whose end request failed", async () => {
    const t = harness({ endFails: true });
    t.calls.start();
    t.calls.signedIn(true);
    await t.connect();
    t.calls.disconnect();
    await flush();
    expect(t.last()).toMatchObject({ view: { ui: "idle" } });
    // The hang-up muted the microphone; the button must not say "Unmute" for the next call.
    expect(t.seen.mics.at(-1)).toMatchObject({ muted: true });
    const ui = t.last()?.view.ui ?? "idle";
    expect(muteButton(ui, t.seen.mics.at(-1) ?? { muted: false, live: false })).toEqual({
      label: "Mute",
      pressed: false,
      disabled: true,
    });
  });

  it("shows the mode's banner for a failed connect and stays ready for the next", async () => {
    const t = harness({ failToken: true });
    t.calls.start();
    t.calls.signedIn(true);
    await t.calls.connect();
    expect(t.seen.banners.at(-1)).toMatchObject({ message: "failed: token" });
    expect(t.last()).toMatchObject({ view: { ui: "idle" }, signedIn: true });
  });

  it("keeps Connect off while the mode blocks it, whatever asks for a call, and on once lifted", async () => {
    const t = harness();
    t.calls.start();
    t.calls.signedIn(true);
    const block = { reason: "daily-minutes", message: "You have used today's voice minutes." };
    t.calls.blockConnect(block);
    expect(t.last()).toMatchObject({ view: { ui: "idle" }, signedIn: true, blocked: block });
    // A banner's "Try again" calls connect() without the (disabled) button.
    await t.calls.connect();
    for (let i = 0; i < 5; i++) await flush();
    expect(t.pcs).toHaveLength(0);
    t.calls.blockConnect(null);
    expect(t.last()).toMatchObject({ blocked: null });
    await t.connect();
    expect(t.last()).toMatchObject({ view: { ui: "connected" } });
  });

  it("connects once on sign-in when asked to (?connect=load)", async () => {
    const t = harness({ connectOnLoad: true });
    t.calls.start();
    t.calls.signedIn(true);
    for (let i = 0; i < 5 && t.pcs.length === 0; i++) await flush();
    await flush();
    t.pcs[0]?.channel.open();
    await flush();
    expect(t.last()).toMatchObject({ view: { ui: "connected" } });
    t.calls.signedIn(true);
    await flush();
    expect(t.pcs).toHaveLength(1);
  });
});

describe("CallController on GPT-Live", () => {
  const serve = (pc: FakePeerConnection | undefined, event: Record<string, unknown>) =>
    pc?.channel.receiveRaw(JSON.stringify({ event_id: "evt_test", ...event }));

  it("runs a Live session, takes no typed text, and reopens a lost call with its prior turns and its own seconds", async () => {
    const t = harness({ live: true });
    t.calls.start();
    t.calls.signedIn(true);
    await t.connect();
    expect(t.last()).toMatchObject({ view: { ui: "connected" } });
    expect(t.seen.priorTurns).toEqual([[]]);
    const first = t.pcs.at(-1);
    serve(first, {
      type: "session.started",
      session: { id: "live_0", model: "gpt-live-1", expires_at: 1, status: "active" },
    });
    expect(t.seen.models.at(-1)).toBe("gpt-live-1:live");
    serve(first, {
      type: "session.input_transcript.delta",
      delta: "Hello",
      start_ms: 0,
      end_ms: 1,
    });
    serve(first, { type: "session.output_transcript.delta", delta: "Hi!", start_ms: 1, end_ms: 1 });
    expect(t.calls.sendText("typed")).toBe(false);
    expect(first?.channel.sent).toEqual([]);
    serve(first, { type: "session.usage.updated", usage: { seconds: 2 } });
    expect(t.seen.seconds).toEqual([0, 2]);

    serve(first, {
      type: "session.closed",
      reason: "connection_lost",
      session: { id: "live_0", model: "gpt-live-1", expires_at: 1, status: "active" },
      usage: { seconds: 3 },
    });
    for (let i = 0; i < 50 && t.pcs.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    await flush();
    t.pcs.at(-1)?.channel.open();
    await flush();
    expect(t.seen.priorTurns).toEqual([
      [],
      [
        { role: "user", text: "Hello" },
        { role: "assistant", text: "Hi!" },
      ],
    ]);
    expect(t.last()).toMatchObject({ view: { ui: "connected" } });
    // Nothing was replayed on the new call's channel: the page may send only mute and unmute.
    expect(t.pcs.at(-1)?.channel.sent).toEqual([]);
    // The reopened call is billed from its own zero, as its cost is.
    expect(t.seen.seconds).toEqual([0, 2, 3, 0]);
    serve(t.pcs.at(-1), { type: "session.usage.updated", usage: { seconds: 1 } });
    expect(t.seen.seconds.at(-1)).toBe(1);
  });
});
