/*
 * A RealtimeSession wired to the fakes, shared by the tests of the session and of the
 * modules it routes to (which are tested through it, as a user of the session sees them).
 */
import { RealtimeSession, type RealtimeSessionOptions } from "../src/realtime/session";
import type { RealtimeSessionState } from "../src/realtime/types";
import { FakeClock, FakePeerConnection, FakeStream, fakeFetch, flush } from "./fakes";

export const TOKEN = "ek_test_secret";
export const CALLS_URL = "http://127.0.0.1:8790/v1/realtime/calls";

export function setup(overrides: Partial<RealtimeSessionOptions> = {}) {
  const clock = new FakeClock();
  const pcs: FakePeerConnection[] = [];
  const mic = new FakeStream();
  const fetch = fakeFetch();
  let micRequests = 0;
  const options: RealtimeSessionOptions = {
    getToken: async () => TOKEN,
    callsUrl: CALLS_URL,
    createPeerConnection: () => {
      const pc = new FakePeerConnection();
      pcs.push(pc);
      return pc;
    },
    getUserMedia: async () => {
      micRequests += 1;
      return mic;
    },
    fetch,
    clock,
    isAndroid: false,
    ...overrides,
  };
  const session = new RealtimeSession(options);
  const states: RealtimeSessionState[] = [];
  session.on("state", (state) => states.push(state));
  return {
    session,
    clock,
    mic,
    fetch,
    states,
    get micRequests() {
      return micRequests;
    },
    get pc(): FakePeerConnection {
      const pc = pcs[0];
      if (!pc) throw new Error("no peer connection yet");
      return pc;
    },
  };
}

/** Connects through the fakes: waits for the SDP exchange, then opens the channel. */
export async function connected(overrides: Partial<RealtimeSessionOptions> = {}) {
  const t = setup(overrides);
  const connecting = t.session.connect();
  await flush();
  t.pc.channel.open();
  await connecting;
  return t;
}

/** A session that {@link connected} has connected. */
export type Connected = Awaited<ReturnType<typeof connected>>;

/** Plays the server side of a response whose audio started at `startAt`. */
export function startAudioResponse(t: Connected, startAt: number) {
  const ch = t.pc.channel;
  ch.receive({ type: "response.created", response: { id: "resp_1", status: "in_progress" } });
  ch.receive({
    type: "response.output_item.added",
    response_id: "resp_1",
    output_index: 0,
    item: { id: "item_a1", type: "message", role: "assistant", content: [] },
  });
  t.clock.advance(startAt - t.clock.now());
  ch.receive({ type: "output_audio_buffer.started", response_id: "resp_1" });
}

/**
 * Sets the receiver's statistics as Chromium reports them: `ms` of the assistant's audio
 * played out of the jitter buffer so far (Opus, 48 samples a millisecond). `fields` replaces
 * the inbound-rtp entry's fields, e.g. to leave the count out as some browsers do.
 */
export function playedOut(t: Connected, ms: number, fields?: Record<string, unknown>): void {
  t.pc.stats.set("COT01_111", { type: "codec", id: "COT01_111", clockRate: 48_000 });
  t.pc.stats.set(
    "IT01A1",
    fields ?? {
      type: "inbound-rtp",
      kind: "audio",
      codecId: "COT01_111",
      jitterBufferEmittedCount: ms * 48,
    },
  );
}

/**
 * Lets `ms` pass in 20 ms steps while the receiver plays out `rate` ms of audio per ms (1: the
 * audio arrives as fast as it plays; less: packets are late), starting from `fromMs` played.
 * Returns the milliseconds played out at the end.
 */
export async function play(t: Connected, ms: number, rate = 1, fromMs = 0): Promise<number> {
  let played = fromMs;
  for (let elapsed = 0; elapsed < ms; elapsed += 20) {
    const step = Math.min(20, ms - elapsed);
    played += step * rate;
    playedOut(t, played);
    t.clock.advance(step);
    await flush();
  }
  return played;
}
