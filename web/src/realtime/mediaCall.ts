/**
 * The call under every voice session, whichever API it speaks: `connect()`'s steps under their
 * deadlines (`connect.ts`), the transport it adopts (`transport/webrtc.ts`), the microphone,
 * the assistant's audio and the ICE and link watches, the queue of client events sent before
 * the channel opens, the connect timings, and the one close that releases all of it.
 * `RealtimeSession` and `LiveSession` compose one and add their vocabulary (`protocol/`).
 */
import { DEFAULT_DEADLINES, closedBeforeOpen, type ConnectDeadlines } from "./call";
import { asConnectError, runConnect } from "./connect";
import { messageOf } from "./errors";
import type { SdpExchange } from "./exchange";
import { IceWatch, LinkWatch } from "./liveness";
import { Microphone, resolveMuteStrategy, type MicrophoneSource } from "./microphone";
import type { PreparedCall } from "./prepare";
import { RemoteAudio } from "./remoteAudio";
import type { EventTransport } from "./transport/transport";
import { WebRtcTransport, audioBytes, type AudioBytes } from "./transport/webrtc";
import type {
  AudioSinkLike,
  Clock,
  CloseReason,
  ConnectTimings,
  LinkState,
  MediaStreamLike,
  MicState,
  MuteStrategy,
  PeerConnectionLike,
  RealtimeSessionState,
  SessionProblem,
} from "./types";

/** What a call is made with; everything that touches the world is injectable. */
export interface MediaCallOptions extends MicrophoneSource {
  /** Plays the assistant. Without one, listen to `remote-stream` and route it yourself. */
  audioElement?: AudioSinkLike;
  createPeerConnection?: () => PeerConnectionLike;
  clock?: Clock;
  /**
   * A peer connection with its offer made before `connect()` (see `CallPreparer`), or null to
   * build one in `connect()`. Called once per `connect()`; the call owns what it returns.
   */
  preparedCall?: () => PreparedCall | null;
  /** Defaults to `auto`. */
  muteStrategy?: MuteStrategy;
  /** Decides what `auto` means; defaults to sniffing `navigator.userAgent`. */
  isAndroid?: boolean;
  /** How long each step of `connect()` may take; see {@link DEFAULT_DEADLINES}. */
  deadlines?: Partial<ConnectDeadlines>;
  /** Nothing received from the server for this long marks the link stalled. Default 3000 ms. */
  stallMs?: number;
  /** Nothing received for this long ends the call as `unresponsive`. Default 8000 ms. */
  silentMs?: number;
}

/** The events a call reports; every session's event map has them, with these payloads. */
export interface MediaCallEventMap<ClientEvent> {
  state: RealtimeSessionState;
  /** Every client event, when it is written to the channel. */
  sent: ClientEvent;
  mic: MicState;
  timings: ConnectTimings;
  /** The link went quiet (`stalled`) or came back; see {@link LinkState}. */
  link: LinkState;
  problem: SessionProblem;
  /** The microphone stream, once acquired (for level meters). */
  "local-stream": MediaStreamLike;
  /** The assistant's audio stream, once it arrives. */
  "remote-stream": MediaStreamLike;
}

/** Where a call reports its events: the session's emitter, whose map includes the call's. */
export interface MediaCallEvents<ClientEvent> {
  emit<K extends keyof MediaCallEventMap<ClientEvent>>(
    type: K,
    payload: MediaCallEventMap<ClientEvent>[K],
  ): void;
}

/** What the session composing a call adds: its exchange, its events and its vocabulary. */
export interface MediaCallHooks<ClientEvent> {
  exchange: SdpExchange;
  events: MediaCallEvents<ClientEvent>;
  /** One data-channel message, for the session's protocol. */
  receive(data: unknown): void;
  /** Written first when the channel opens, before the queued events (or nothing). */
  opening?(): ClientEvent | null;
  /** The call closed: the session's own units stop (the media is released by then). */
  closing(): void;
}

/** The stages of a call's life (see {@link MediaCall.phase}). */
export type MediaCallPhase = Phase<unknown>["name"];

/**
 * What exists in each phase of the call's life; nothing outlives its phase. Client events sent
 * before the channel opens wait in the phase's queue.
 */
type Phase<ClientEvent> =
  | { name: "idle"; queue: ClientEvent[] }
  /** `connect()` has asked for the microphone and the offer's answer; no peer connection yet. */
  | { name: "opening"; attempt: Attempt; queue: ClientEvent[] }
  | { name: "connecting"; attempt: Attempt; transport: EventTransport; queue: ClientEvent[] }
  | { name: "connected"; transport: EventTransport }
  | { name: "closed"; reason: CloseReason };

/** One `connect()`: aborting it rejects every step still running (and clears its timer). */
interface Attempt {
  abort: AbortController;
  /** Settles the promise `connect()` waits on for the event channel. */
  markOpened: () => void;
}

/** One call over WebRTC, used once; see the module comment. */
export class MediaCall<ClientEvent extends { type: string }> {
  readonly clock: Clock;
  readonly microphone: Microphone;
  readonly #options: MediaCallOptions;
  readonly #hooks: MediaCallHooks<ClientEvent>;
  readonly #deadlines: ConnectDeadlines;
  readonly #audio: RemoteAudio;
  readonly #ice: IceWatch;
  readonly #link: LinkWatch;

  #phase: Phase<ClientEvent> = { name: "idle", queue: [] };
  #timings: ConnectTimings = {};
  /** When `connect()` was called, on the call's clock; timings are relative to it. */
  #connectStartedAt = 0;
  #linkState: LinkState = { stalled: false };

  constructor(options: MediaCallOptions, hooks: MediaCallHooks<ClientEvent>) {
    this.#options = options;
    this.#hooks = hooks;
    const { events } = hooks;
    this.clock = options.clock ?? systemClock;
    this.#deadlines = { ...DEFAULT_DEADLINES, ...options.deadlines };
    this.microphone = new Microphone({
      strategy: resolveMuteStrategy(options.muteStrategy ?? "auto", options.isAndroid),
      onChange: (mic) => events.emit("mic", mic),
      onProblem: (message) => events.emit("problem", { source: "protocol", message, raw: null }),
    });
    this.#audio = new RemoteAudio(options.audioElement, {
      onStream: (stream) => events.emit("remote-stream", stream),
      onBlocked: (message) => events.emit("problem", { source: "audio", message }),
    });
    this.#ice = new IceWatch({
      onLost: (reason) => this.lost(reason),
      onConnected: () => this.mark("iceConnected"),
    });
    this.#link = new LinkWatch(this.clock, {
      stallMs: options.stallMs ?? 3_000,
      silentMs: options.silentMs ?? 8_000,
      onStalled: (stalled) => {
        this.#linkState = { stalled };
        events.emit("link", this.link);
      },
      onLost: (reason) => this.lost(reason),
    });
  }

  /** The lifecycle state, as sessions report it. */
  get state(): RealtimeSessionState {
    return stateOf(this.#phase);
  }

  /** Which stage of its life the call is in. */
  get phase(): MediaCallPhase {
    return this.#phase.name;
  }

  /** The call id the exchange returned, once known. */
  get callId(): string | null {
    return this.transport?.callId ?? null;
  }

  /** The transport, from the peer connection's creation until the call closes. */
  get transport(): EventTransport | null {
    const phase = this.#phase;
    return "transport" in phase ? phase.transport : null;
  }

  /** Whether anything is arriving from the server (see {@link LinkState}). */
  get link(): LinkState {
    return { ...this.#linkState };
  }

  /** When each connect step finished, in ms after `connect()` was called. */
  get timings(): ConnectTimings {
    return { ...this.#timings };
  }

  /** The microphone stream in use, once acquired. */
  get localStream(): MediaStreamLike | null {
    return this.microphone.stream;
  }

  /**
   * Opens the call (the steps and their deadlines: `connect.ts`); resolves once the event
   * channel is open. On failure the call is `closed` and the promise rejects with a
   * `RealtimeConnectError` whose `stage` says which step failed and `failure` what went wrong.
   */
  async connect(): Promise<void> {
    const idle = this.#phase;
    if (idle.name !== "idle") {
      throw new Error(`connect() needs an idle session; this one is ${this.state.status}.`);
    }
    let markOpened!: () => void;
    const opened = new Promise<void>((resolve) => (markOpened = resolve));
    this.#connectStartedAt = this.clock.now();
    const attempt: Attempt = { abort: new AbortController(), markOpened };
    const { signal } = attempt.abort;
    this.#phase = { name: "opening", attempt, queue: idle.queue };
    this.#emitState();
    try {
      const transport = await runConnect({
        source: this.#options,
        preparedCall: this.#options.preparedCall,
        exchange: this.#hooks.exchange,
        microphone: this.microphone,
        clock: this.clock,
        deadlines: this.#deadlines,
        signal,
        opened,
        mark: (step) => this.mark(step),
        openTransport: (prepared) => this.#openTransport(attempt, prepared),
        onLocalStream: (stream) => this.#hooks.events.emit("local-stream", stream),
      });
      this.#phase = { name: "connected", transport };
      this.#link.start(transport.peer);
      this.#emitState();
    } catch (error) {
      const connectError = asConnectError(error, "channel", "connection");
      // Closing aborts the attempt: not aborted means nothing has closed the call yet.
      if (!signal.aborted) this.close({ kind: "connect-failed", error: connectError });
      throw connectError;
    }
  }

  /**
   * Writes a client event, or queues it until the channel opens (then sent in order). Returns
   * false when the call is closed and the event was dropped.
   */
  send(event: ClientEvent): boolean {
    const phase = this.#phase;
    if (phase.name === "closed") return false;
    if ("transport" in phase && phase.transport.isOpen) this.#write(phase.transport, event);
    else if ("queue" in phase) phase.queue.push(event);
    return true;
  }

  /** Bytes of audio received and sent so far, from the peer connection's statistics. */
  async getStats(): Promise<AudioBytes> {
    const pending = this.transport?.getStats();
    return audioBytes(pending ? await pending : new Map());
  }

  /** Records when a connect step finished (the first time only, and not before `connect()`). */
  mark(step: keyof ConnectTimings): void {
    // The session's first server event usually arrives once connected: timings run on.
    if (this.#timings[step] !== undefined || this.#phase.name === "idle") return;
    this.#timings = {
      ...this.#timings,
      [step]: Math.round(this.clock.now() - this.#connectStartedAt),
    };
    this.#hooks.events.emit("timings", this.timings);
  }

  /** A loss only counts while there is a call to lose. */
  lost(reason: CloseReason): void {
    if (this.#phase.name === "connecting" || this.#phase.name === "connected") this.close(reason);
  }

  /**
   * Ends the call: rejects any connect step still running, closes the transport, stops the
   * microphone tracks the call acquired (never a stream it was given) and detaches the audio
   * element. Safe to call again.
   */
  close(reason: CloseReason): void {
    const phase = this.#phase;
    if (phase.name === "closed") return;
    // First, so that everything below (and every listener it calls) sees the call closed.
    this.#phase = { name: "closed", reason };
    this.#link.stop();
    if ("attempt" in phase) phase.attempt.abort.abort(closedBeforeOpen(reason));
    if ("transport" in phase) phase.transport.close();
    this.microphone.release();
    this.#audio.release();
    this.#hooks.closing();
    this.microphone.reportOffline();
    if (this.#linkState.stalled) {
      this.#linkState = { stalled: false };
      this.#hooks.events.emit("link", this.link);
    }
    this.#emitState();
  }

  /** Builds the call's transport; the call is `connecting` from now on. */
  #openTransport(attempt: Attempt, prepared: PreparedCall | null): WebRtcTransport {
    const createPeerConnection: () => PeerConnectionLike =
      this.#options.createPeerConnection ?? (() => new RTCPeerConnection());
    const transport = new WebRtcTransport({
      prepared,
      createPeerConnection,
      onOpen: () => this.#onOpen(),
      onClose: () => this.lost({ kind: "channel-closed" }),
      onMessage: (data) => this.#hooks.receive(data),
      onRemoteStream: (stream) => this.#audio.play(stream),
    });
    this.#ice.watch(transport.peer);
    const phase = this.#phase;
    const queue = phase.name === "opening" ? phase.queue : [];
    this.#phase = { name: "connecting", attempt, transport, queue };
    return transport;
  }

  #onOpen(): void {
    const phase = this.#phase;
    if (phase.name !== "connecting") return;
    this.mark("channelOpen");
    const opening = this.#hooks.opening?.() ?? null;
    if (opening) this.#write(phase.transport, opening);
    for (const event of phase.queue.splice(0)) this.#write(phase.transport, event);
    phase.attempt.markOpened();
  }

  #write(transport: EventTransport, event: ClientEvent): void {
    try {
      transport.send(JSON.stringify(event));
    } catch (error) {
      this.#hooks.events.emit("problem", {
        source: "protocol",
        message: `Could not send ${event.type}: ${messageOf(error)}`,
        raw: event,
      });
      return;
    }
    this.#hooks.events.emit("sent", event);
  }

  #emitState(): void {
    this.#hooks.events.emit("state", this.state);
  }
}

const systemClock: Clock = {
  now: () => globalThis.performance.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) =>
    globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]),
};

function stateOf(phase: Phase<unknown>): RealtimeSessionState {
  switch (phase.name) {
    case "idle":
      return { status: "idle" };
    case "opening":
    case "connecting":
      return { status: "connecting" };
    case "connected":
      return { status: "connected", callId: phase.transport.callId };
    case "closed":
      return { status: "closed", reason: phase.reason };
  }
}
