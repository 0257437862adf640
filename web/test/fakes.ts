/*
 * Hand-written fakes of the browser APIs the realtime session uses. Each records what was
 * done to it and exposes methods that play the remote side (open the channel, deliver a
 * server event, fail ICE).
 */
import type { RealtimeServerEvent } from "openai/resources/realtime/realtime";
import type {
  AudioSinkLike,
  Clock,
  DataChannelLike,
  FetchLike,
  MediaStreamLike,
  MediaStreamTrackLike,
  PeerConnectionLike,
  RtpSenderLike,
  TimerHandle,
  TrackEventLike,
} from "../src/realtime/types";
import type { RealtimeCallResponse, CallSession, SessionChoiceOptions } from "voice-contract";
import type { MinutesElements } from "../src/ui/minutes";
import type { MinutesChannel, MinutesMessage, Timer } from "../src/app/minutesState";

type Listener = (event: never) => void;

class FakeEventTarget {
  readonly #listeners = new Map<string, Set<Listener>>();

  addEventListener(type: string, listener: Listener): void {
    let set = this.#listeners.get(type);
    if (!set) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener);
  }

  protected dispatch(type: string, event: unknown = {}): void {
    for (const listener of this.#listeners.get(type) ?? [])
      (listener as (e: unknown) => void)(event);
  }
}

export class FakeClock implements Clock {
  #now = 0;
  #timers = new Map<number, { at: number; callback: () => void }>();
  #nextId = 1;

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + ms, callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time forward, running the timers that fall due, in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      const due = [...this.#timers.entries()]
        .filter(([, timer]) => timer.at <= target)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = due[1].at;
      due[1].callback();
    }
    this.#now = target;
  }
}

export class FakeTrack implements MediaStreamTrackLike {
  readonly kind = "audio";
  enabled = true;
  stopCount = 0;

  get stopped(): boolean {
    return this.stopCount > 0;
  }

  stop(): void {
    this.stopCount += 1;
  }
}

export class FakeStream implements MediaStreamLike {
  constructor(readonly tracks: FakeTrack[] = [new FakeTrack()]) {}

  getTracks(): FakeTrack[] {
    return [...this.tracks];
  }

  getAudioTracks(): FakeTrack[] {
    return this.tracks.filter((track) => track.kind === "audio");
  }
}

export class FakeSender implements RtpSenderLike {
  readonly replaced: (MediaStreamTrackLike | null)[] = [];
  failNext: Error | null = null;

  async replaceTrack(track: MediaStreamTrackLike | null): Promise<void> {
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = null;
      throw error;
    }
    this.replaced.push(track);
  }

  get current(): MediaStreamTrackLike | null | undefined {
    return this.replaced.at(-1);
  }
}

export class FakeDataChannel extends FakeEventTarget implements DataChannelLike {
  readyState: RTCDataChannelState = "connecting";
  readonly sent: string[] = [];
  closeCount = 0;

  constructor(readonly label: string) {
    super();
  }

  send(data: string): void {
    if (this.readyState !== "open") throw new Error(`send() on a ${this.readyState} channel`);
    this.sent.push(data);
  }

  close(): void {
    this.closeCount += 1;
    if (this.readyState === "closed") return;
    this.readyState = "closed";
  }

  /** The events written so far, parsed. */
  get sentEvents(): { type: string; [key: string]: unknown }[] {
    return this.sent.map((text) => JSON.parse(text) as { type: string });
  }

  get sentTypes(): string[] {
    return this.sentEvents.map((event) => event.type);
  }

  // Remote side.
  open(): void {
    this.readyState = "open";
    this.dispatch("open");
  }

  receive(event: Partial<RealtimeServerEvent> & { type: string; [key: string]: unknown }): void {
    this.dispatch("message", { data: JSON.stringify({ event_id: "evt_test", ...event }) });
  }

  receiveRaw(data: unknown): void {
    this.dispatch("message", { data });
  }

  remoteClose(): void {
    this.readyState = "closed";
    this.dispatch("close");
  }
}

export const FAKE_OFFER_SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=fake-offer\r\n";
export const FAKE_ANSWER_SDP = "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=fake-answer\r\n";

export class FakePeerConnection extends FakeEventTarget implements PeerConnectionLike {
  connectionState: RTCPeerConnectionState = "new";
  iceConnectionState: RTCIceConnectionState = "new";
  readonly transceivers: { kind: string; init: { direction: string }; sender: FakeSender }[] = [];
  readonly channels: FakeDataChannel[] = [];
  localDescription: { type: RTCSdpType; sdp?: string } | null = null;
  remoteDescription: { type: RTCSdpType; sdp: string } | null = null;
  closeCount = 0;
  stats = new Map<string, unknown>();
  /** When set, setRemoteDescription rejects with it. */
  rejectRemote: Error | null = null;

  addTransceiver(kind: "audio", init: { direction: "sendrecv" }): { sender: FakeSender } {
    const sender = new FakeSender();
    this.transceivers.push({ kind, init, sender });
    return { sender };
  }

  createDataChannel(label: string): FakeDataChannel {
    const channel = new FakeDataChannel(label);
    this.channels.push(channel);
    return channel;
  }

  async createOffer(): Promise<{ type: RTCSdpType; sdp: string }> {
    return { type: "offer", sdp: FAKE_OFFER_SDP };
  }

  async setLocalDescription(description: { type: RTCSdpType; sdp?: string }): Promise<void> {
    this.localDescription = description;
  }

  async setRemoteDescription(description: { type: RTCSdpType; sdp: string }): Promise<void> {
    if (this.rejectRemote) throw this.rejectRemote;
    this.remoteDescription = description;
  }

  /** When set, getStats() never answers (as a wedged stats call). */
  statsHang = false;
  /** When set, getStats() rejects. */
  statsFail = false;

  async getStats(): Promise<ReadonlyMap<string, unknown>> {
    if (this.statsHang) return new Promise<never>(() => undefined);
    if (this.statsFail) throw new Error("getStats failed");
    return this.stats;
  }

  close(): void {
    this.closeCount += 1;
    this.connectionState = "closed";
  }

  get channel(): FakeDataChannel {
    const channel = this.channels[0];
    if (!channel) throw new Error("no data channel was created");
    return channel;
  }

  get sender(): FakeSender {
    const transceiver = this.transceivers[0];
    if (!transceiver) throw new Error("no transceiver was added");
    return transceiver.sender;
  }

  // Remote side.
  setIceState(state: RTCIceConnectionState): void {
    this.iceConnectionState = state;
    this.dispatch("iceconnectionstatechange");
  }

  setConnectionState(state: RTCPeerConnectionState): void {
    this.connectionState = state;
    this.dispatch("connectionstatechange");
  }

  emitTrack(stream: MediaStreamLike): void {
    const event: TrackEventLike = { streams: [stream] };
    this.dispatch("track", event);
  }
}

export class FakeAudioElement implements AudioSinkLike {
  srcObject: unknown = null;
  playCount = 0;
  rejectPlay: Error | null = null;

  async play(): Promise<void> {
    this.playCount += 1;
    if (this.rejectPlay) throw this.rejectPlay;
  }
}

export interface RecordedRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
}

export interface FakeResponseInit {
  status?: number;
  statusText?: string;
  body?: string;
  headers?: Record<string, string>;
}

/** A `fetch` that records requests and answers with `respond` (201 + an answer by default). */
export function fakeFetch(
  respond: (request: RecordedRequest) => FakeResponseInit | Promise<FakeResponseInit> = () => ({
    status: 201,
    body: FAKE_ANSWER_SDP,
    headers: { Location: "/v1/realtime/calls/rtc_test123" },
  }),
): FetchLike & { requests: RecordedRequest[] } {
  const requests: RecordedRequest[] = [];
  const fetch = async (url: string, init: Omit<RecordedRequest, "url">) => {
    const request = { url, ...init };
    requests.push(request);
    const result = await respond(request);
    const status = result.status ?? 200;
    const headers = new Map(
      Object.entries(result.headers ?? {}).map(([key, value]) => [key.toLowerCase(), value]),
    );
    return {
      ok: status >= 200 && status < 300,
      status,
      statusText: result.statusText ?? "",
      headers: { get: (name: string) => headers.get(name.toLowerCase()) ?? null },
      text: async () => result.body ?? "",
    };
  };
  return Object.assign(fetch, { requests });
}

/** A promise with its settle functions exposed, for ordering tests. */
export function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending promise callback run (a macrotask turn drains the microtask queue). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** A server's `choices` with every turn-taking and noise value allowed (functions/.env's). */
export const SERVER_CHOICES: SessionChoiceOptions = {
  voices: ["marin", "cedar"],
  languages: ["en"],
  outputModalities: ["audio", "text"],
  noiseReductions: ["near_field", "far_field", "off"],
  turnDetections: ["server_vad", "semantic_vad", "push_to_talk"],
  eagerness: ["low", "medium", "high", "auto"],
  defaults: {
    voice: "marin",
    noiseReduction: "near_field",
    turnDetection: "semantic_vad",
    eagerness: "auto",
  },
};

/** The session the server describes for the default choices (a mint's or a call's `session`). */
export const SERVER_SESSION: CallSession = {
  voice: "marin",
  outputModality: "audio",
  language: null,
  transcription: true,
  noiseReduction: "near_field",
  turnDetection: "semantic_vad",
  eagerness: "auto",
};

/** A `realtimeCall` result as the broker answers it; each test overrides what it is about. */
export function fakeCallResponse(
  overrides: Partial<RealtimeCallResponse> = {},
): RealtimeCallResponse {
  return {
    answer: FAKE_ANSWER_SDP,
    callId: "rtc_1",
    api: "realtime",
    endsAtMs: 1_780_000_000_000,
    sliceSeconds: 300,
    limitedBy: "call",
    choices: SERVER_CHOICES,
    model: "gpt-realtime",
    session: { ...SERVER_SESSION },
    minutes: {
      daySeconds: 900,
      dayResetsAtMs: 1_780_012_800_000,
      monthSeconds: null,
      monthResetsAtMs: null,
      readAtMs: 1_779_999_990_000,
    },
    ...overrides,
  };
}

/** Plain objects standing in for the minutes view's three elements (no DOM library). */
export function fakeMinutesElements(): MinutesElements {
  const element = () => ({ dataset: {}, hidden: true, textContent: "" }) as unknown as HTMLElement;
  return { left: element(), clock: element(), warning: element() };
}

/**
 * The tabs of one browser, for MinutesState: each `channel(uid)` is one tab's end of that
 * user's channel; a post reaches the other open ends of the same name (never its own), at
 * once, or when `deliver()` runs if `held`. `posted` records every message.
 */
export class FakeMinutesHub {
  readonly posted: Array<{ name: string; message: MinutesMessage }> = [];
  held = false;
  readonly #ends = new Set<{ name: string; listeners: Array<(message: unknown) => void> }>();
  readonly #queue: Array<() => void> = [];

  /** The factory MinutesState takes (one tab's). */
  channel = (uid: string): MinutesChannel => {
    const end = { name: `voice-minutes:${uid}`, listeners: [] as Array<(m: unknown) => void> };
    this.#ends.add(end);
    return {
      post: (message) => {
        this.posted.push({ name: end.name, message });
        // Structured clone, as a BroadcastChannel does.
        const copy: unknown = JSON.parse(JSON.stringify(message));
        for (const other of this.#ends) {
          if (other === end || other.name !== end.name) continue;
          const send = () => {
            for (const listener of other.listeners) listener(copy);
          };
          if (this.held) this.#queue.push(send);
          else send();
        }
      },
      onMessage: (listener) => void end.listeners.push(listener),
      close: () => void this.#ends.delete(end),
    };
  };

  /** Sends `message` to every open end of `name`, as a tab (or a stranger) would. */
  inject(name: string, message: unknown): void {
    for (const end of this.#ends) {
      if (end.name === name) for (const listener of end.listeners) listener(message);
    }
  }

  /** Delivers the held posts. */
  deliver(): void {
    for (const send of this.#queue.splice(0)) send();
  }

  /** Open ends. */
  get open(): number {
    return this.#ends.size;
  }
}

/** Timers a test fires by hand: `due(nowMs)` runs those due by then. */
export class FakeTimers {
  readonly #pending = new Set<{ atMs: number; work: () => void }>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  timer: Timer = (work, ms) => {
    const entry = { atMs: this.#now() + ms, work };
    this.#pending.add(entry);
    return () => void this.#pending.delete(entry);
  };

  /** Runs every timer due at the clock's now (repeatedly, for timers they set). */
  run(): void {
    for (let guard = 0; guard < 1000; guard++) {
      const due = [...this.#pending].filter((entry) => entry.atMs <= this.#now());
      if (due.length === 0) return;
      for (const entry of due) {
        this.#pending.delete(entry);
        entry.work();
      }
    }
  }

  get pending(): number {
    return this.#pending.size;
  }
}
